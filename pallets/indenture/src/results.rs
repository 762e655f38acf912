//! Results of batch tasks: miners seal, then reveal; the majority result wins.

use super::*;

impl<T: Config> Pallet<T> {
	/// The sealing deadline of indenture `id` and the slot `who` holds in it, if `id` is
	/// collecting results and `who` is one of its miners.
	fn reporting_slot(
		id: IndentureId,
		who: &T::AccountId,
	) -> Result<(BlockNumberFor<T>, u32, SlotOf<T>), DispatchError> {
		let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.status == Status::Reporting, Error::<T>::NotReporting);
		let (index, slot) = Self::slot_of(id, who).ok_or(Error::<T>::NotMiner)?;
		Ok((ind.results_deadline.unwrap_or(ind.submitted), index, slot))
	}

	/// Miner `who` seals its result of indenture `id` (the `commit_result` call).
	pub(crate) fn do_commit_result(
		who: T::AccountId,
		id: IndentureId,
		seal: H256,
	) -> DispatchResult {
		let (seal_until, index, mut slot) = Self::reporting_slot(id, &who)?;
		ensure!(slot.result.is_none(), Error::<T>::AlreadySealed);
		ensure!(frame_system::Pallet::<T>::block_number() <= seal_until, Error::<T>::WindowClosed);
		slot.result = Some(SlotResult::Sealed(seal));
		Slots::<T>::insert(id, index, slot);
		Self::deposit_event(Event::ResultSealed { id, slot: index });
		Ok(())
	}

	/// Miner `who` reveals the result it sealed (the `reveal_result` call).
	pub(crate) fn do_reveal_result(
		who: T::AccountId,
		id: IndentureId,
		result: H256,
	) -> DispatchResult {
		let (seal_until, index, mut slot) = Self::reporting_slot(id, &who)?;
		let Some(SlotResult::Sealed(seal)) = slot.result else {
			return Err(Error::<T>::NotSealed.into());
		};
		let now = frame_system::Pallet::<T>::block_number();
		let all_sealed = Slots::<T>::iter_prefix_values(id).all(|s| s.result.is_some());
		ensure!(all_sealed || now > seal_until, Error::<T>::SealingOpen);
		ensure!(now <= seal_until.saturating_add(T::ResultWindow::get()), Error::<T>::WindowClosed);
		ensure!(Self::result_seal(&result, &who) == seal, Error::<T>::SealMismatch);
		slot.result = Some(SlotResult::Revealed(result));
		Slots::<T>::insert(id, index, slot);
		Self::deposit_event(Event::ResultRevealed { id, slot: index, result });
		if Slots::<T>::iter_prefix_values(id)
			.all(|s| matches!(s.result, Some(SlotResult::Revealed(_))))
		{
			Self::do_conclude_results(id)?;
		}
		Ok(())
	}

	pub(crate) fn do_conclude_results(id: IndentureId) -> DispatchResult {
		let mut ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.status == Status::Reporting, Error::<T>::NotReporting);
		let seal_until = ind.results_deadline.unwrap_or(ind.submitted);
		let reveal_until = seal_until.saturating_add(T::ResultWindow::get());
		let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
		let all_revealed =
			slots.iter().all(|(_, s)| matches!(s.result, Some(SlotResult::Revealed(_))));
		ensure!(
			all_revealed || frame_system::Pallet::<T>::block_number() > reveal_until,
			Error::<T>::RevealsOpen
		);
		// Count the revealed results; the winner needs more than half of all slots.
		let revealed: alloc::vec::Vec<H256> = slots
			.iter()
			.filter_map(|(_, s)| match s.result {
				Some(SlotResult::Revealed(r)) => Some(r),
				_ => None,
			})
			.collect();
		let (winner, votes) = revealed
			.iter()
			.map(|r| (*r, revealed.iter().filter(|x| *x == r).count() as u32))
			.max_by_key(|(_, n)| *n)
			.unwrap_or_default();
		let total = slots.len() as u32;
		let result = (votes * 2 > total).then_some(winner);
		Self::deposit_event(Event::ResultsConcluded { id, result, votes, slots: total });
		let per_slot = Self::result_part(&ind) / BalanceOf::<T>::from(total.max(1));
		let mut payouts = alloc::vec::Vec::new();
		for (_, slot) in &slots {
			let Some(miner) = slot.miner.clone() else { continue };
			let agrees = result.is_some() && slot.result == result.map(SlotResult::Revealed);
			if agrees {
				payouts.push((miner, per_slot));
			} else if result.is_some() || !matches!(slot.result, Some(SlotResult::Revealed(_))) {
				// Dissenters and miners that never revealed failed the task; when there is
				// no majority, those who revealed are not blamed.
				let end = slot.ended.unwrap_or(LeaseEnd { proven: 0, missed: 0, failed: false });
				Self::record(&ind, id, miner, false, end.proven, end.missed);
			}
		}
		ind.result = result;
		if ind.spec.replicas == 1 && result.is_some() {
			let until = frame_system::Pallet::<T>::block_number()
				.saturating_add(T::AcceptanceWindow::get());
			T::Escrow::await_acceptance(id, payouts, until)?;
			Self::schedule(until.saturating_add(One::one()), Deadline::Acceptance(id));
			ind.status = Status::Reported;
			Indentures::<T>::insert(id, ind);
		} else {
			let settlement = T::Escrow::settle(id, &payouts, Perbill::one())?;
			Self::record_agreeing(&ind, id);
			let status = if result.is_some() { Status::Settled } else { Status::Failed };
			Self::finalize(id, ind, settlement, status);
		}
		Ok(())
	}

	/// The part of the incentive a batch task pays for its result (zero for services).
	pub fn result_part(ind: &IndentureOf<T>) -> BalanceOf<T> {
		match ind.spec.task_type {
			TaskType::Batch => T::BatchResultShare::get().mul_floor(ind.spec.incentive),
			TaskType::Service => Zero::zero(),
		}
	}

	/// `blake2_256(SCALE(("cutopia/result", result, miner)))`: what a miner seals.
	pub fn result_seal(result: &H256, miner: &T::AccountId) -> H256 {
		cutopia_primitives::hashes::result_seal(result, miner)
	}

	/// The slot of indenture `id` held by `who`.
	pub(crate) fn slot_of(id: IndentureId, who: &T::AccountId) -> Option<(u32, SlotOf<T>)> {
		Slots::<T>::iter_prefix(id).find(|(_, s)| s.miner.as_ref() == Some(who))
	}
}
