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
		salt: H256,
	) -> DispatchResult {
		let (seal_until, index, mut slot) = Self::reporting_slot(id, &who)?;
		let Some(SlotResult::Sealed(seal)) = slot.result else {
			return Err(Error::<T>::NotSealed.into());
		};
		let now = frame_system::Pallet::<T>::block_number();
		let all_sealed = Slots::<T>::iter_prefix_values(id).all(|s| s.result.is_some());
		ensure!(all_sealed || now > seal_until, Error::<T>::SealingOpen);
		ensure!(now <= seal_until.saturating_add(T::ResultWindow::get()), Error::<T>::WindowClosed);
		ensure!(
			Self::result_seal(id, index, &who, &result, &salt) == seal,
			Error::<T>::SealMismatch
		);
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
		let revealed = Self::revealed(&slots);
		let total = slots.len() as u32;
		// Not revealing is an objective fault, whatever the others revealed.
		for (_, slot) in &slots {
			if let (Some(miner), false) =
				(slot.miner.clone(), matches!(slot.result, Some(SlotResult::Revealed(_))))
			{
				let end = slot.ended.unwrap_or(LeaseEnd { proven: 0, missed: 0, failed: false });
				Self::record(&ind, id, miner, false, end.proven, end.missed);
			}
		}
		// A revealer is owed its result share and its withheld rounds; a silent miner's
		// withheld rounds go back to the buyer with its unpaid share.
		let payouts: alloc::vec::Vec<_> = revealed
			.iter()
			.map(|(index, miner, _)| (miner.clone(), Self::owed_for_result(&ind, &slots, *index)))
			.collect();
		let first = revealed.first().map(|(_, _, r)| *r);
		if revealed.iter().any(|(_, _, r)| Some(*r) != first) {
			// Replicas disagree. Counting would let whoever runs most replicas (sock puppets
			// of the buyer) fail the honest ones and take their slashes: the operator judges.
			let deadline = T::Escrow::dispute_results(id, payouts)?;
			Self::schedule(deadline.saturating_add(One::one()), Deadline::DisputeDefault(id));
			ind.status = Status::Disputed;
			Indentures::<T>::insert(id, ind);
			let results = revealed.iter().map(|(slot, _, r)| (*slot, *r)).collect();
			Self::deposit_event(Event::ResultsDisputed { id, results, deadline });
			return Ok(());
		}
		let votes = revealed.len() as u32;
		Self::deposit_event(Event::ResultsConcluded { id, result: first, votes, slots: total });
		ind.result = first;
		// A result vouched for by more than half of a replicated task's slots is paid at once;
		// one replica's word (or too few agreeing) waits for the buyer's acceptance.
		if first.is_some() && (ind.spec.replicas == 1 || votes * 2 <= total) {
			let until = frame_system::Pallet::<T>::block_number()
				.saturating_add(T::AcceptanceWindow::get());
			T::Escrow::await_acceptance(id, payouts, until)?;
			Self::schedule(until.saturating_add(One::one()), Deadline::Acceptance(id));
			ind.status = Status::Reported;
			Indentures::<T>::insert(id, ind);
		} else {
			let settlement = T::Escrow::settle(id, &payouts, Perbill::one())?;
			Self::record_agreeing(&ind, id);
			let status = if first.is_some() { Status::Settled } else { Status::Failed };
			Self::finalize(id, ind, settlement, status);
		}
		Ok(())
	}

	/// `(slot, miner, result)` of every slot whose miner revealed, by slot.
	pub(crate) fn revealed(
		slots: &[(u32, SlotOf<T>)],
	) -> alloc::vec::Vec<(u32, T::AccountId, H256)> {
		let mut revealed: alloc::vec::Vec<_> = slots
			.iter()
			.filter_map(|(index, s)| match (&s.miner, s.result) {
				(Some(miner), Some(SlotResult::Revealed(r))) => Some((*index, miner.clone(), r)),
				_ => None,
			})
			.collect();
		revealed.sort_by_key(|(index, _, _)| *index);
		revealed
	}

	/// The escrow operator `who` judges the disputed results of `id` (the `judge` call).
	pub(crate) fn do_judge(
		who: T::AccountId,
		id: IndentureId,
		result: Option<H256>,
	) -> DispatchResult {
		let mut ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.status == Status::Disputed, Error::<T>::NotDisputed);
		ensure!(ind.spec.escrow_operator == who, Error::<T>::NotOperator);
		let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
		let revealed = Self::revealed(&slots);
		if let Some(r) = result {
			ensure!(revealed.iter().any(|(_, _, x)| *x == r), Error::<T>::NotAResult);
		}
		let payouts: alloc::vec::Vec<_> = revealed
			.iter()
			.filter(|(_, _, r)| Some(*r) == result)
			.map(|(index, miner, _)| (miner.clone(), Self::owed_for_result(&ind, &slots, *index)))
			.collect();
		let settlement = T::Escrow::resolve_with(id, &who, &payouts)?;
		Self::deposit_event(Event::Judged { id, result });
		for (index, miner, r) in revealed {
			let end = Slots::<T>::get(id, index).and_then(|s| s.ended).unwrap_or(LeaseEnd {
				proven: 0,
				missed: 0,
				failed: false,
			});
			let owed = Self::owed_for_result(&ind, &slots, index);
			let (outcome, decided) = match slots.iter().find(|(i, _)| *i == index) {
				Some((_, slot)) if Some(r) == result => {
					(Outcome::Success, Self::streamed(&ind, slot).saturating_add(owed))
				},
				_ => (Outcome::Failure, owed),
			};
			Self::record_decision(&ind, id, miner, outcome, end, decided);
		}
		ind.result = result;
		let status = if result.is_some() { Status::Settled } else { Status::Failed };
		Self::finalize(id, ind, settlement, status);
		Ok(())
	}

	/// What the miner of slot `index` is owed when its revealed result is the indenture's:
	/// its share of the result part and its withheld rounds.
	pub(crate) fn owed_for_result(
		ind: &IndentureOf<T>,
		slots: &[(u32, SlotOf<T>)],
		index: u32,
	) -> BalanceOf<T> {
		let per_slot = Self::result_part(ind) / BalanceOf::<T>::from((slots.len() as u32).max(1));
		let withheld = slots
			.iter()
			.find(|(i, _)| *i == index)
			.map(|(_, s)| Self::withheld(ind, s))
			.unwrap_or_default();
		per_slot.saturating_add(withheld)
	}

	/// The part of the incentive a batch task pays for its result (zero for services).
	pub fn result_part(ind: &IndentureOf<T>) -> BalanceOf<T> {
		match ind.spec.task_type {
			TaskType::Batch => T::BatchResultShare::get().mul_floor(ind.spec.incentive),
			TaskType::Service => Zero::zero(),
		}
	}

	/// What the miner `miner` of slot `slot` seals for `result` with its secret `salt`
	/// ([`cutopia_primitives::hashes::result_seal`]).
	pub fn result_seal(
		id: IndentureId,
		slot: u32,
		miner: &T::AccountId,
		result: &H256,
		salt: &H256,
	) -> H256 {
		cutopia_primitives::hashes::result_seal(id, slot, miner, result, salt)
	}

	/// The slot of indenture `id` held by `who`.
	pub(crate) fn slot_of(id: IndentureId, who: &T::AccountId) -> Option<(u32, SlotOf<T>)> {
		Slots::<T>::iter_prefix(id).find(|(_, s)| s.miner.as_ref() == Some(who))
	}
}
