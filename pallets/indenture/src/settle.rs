//! Settlement: RepChain records (one builder), the escrow's final split, the CIRecord and the
//! buyer's ratings.

use super::*;

impl<T: Config> Pallet<T> {
	/// Settles work paid per proven round: fees in proportion to the rounds proven, the
	/// unproven rest back to the buyer.
	pub(crate) fn settle_on_heartbeats(id: IndentureId, ind: IndentureOf<T>, failed: bool) {
		// Settling an open escrow with no payouts cannot fail; should it, the indenture stays
		// as it is (its leases ended) rather than losing track of the money.
		if let Err(e) =
			Self::settle_rounds(id, ind, if failed { Status::Failed } else { Status::Settled })
		{
			defensive!("settling on heartbeats failed", e);
		}
	}

	/// Pays the withheld rounds, the fees in proportion to the rounds proven, refunds the
	/// rest, records a success for every miner whose lease did not fail and ends the
	/// indenture as `status`. Returns what was refunded.
	fn settle_rounds(
		id: IndentureId,
		ind: IndentureOf<T>,
		status: Status,
	) -> Result<BalanceOf<T>, DispatchError> {
		let payouts = Self::withheld_payouts(id, &ind);
		let settlement = T::Escrow::settle(id, &payouts, Self::served_share(id, &ind))?;
		for slot in Slots::<T>::iter_prefix_values(id) {
			if let (Some(miner), Some(end)) = (slot.miner.clone(), slot.ended) {
				// Work stopped by its buyer is worth what it paid: a miner that proved nothing
				// before the stop gets no record (a puppet buyer cannot hand out records by
				// terminating at once).
				let stopped = status == Status::Terminated;
				let nothing_proven_before_the_stop = stopped && end.proven == 0;
				if !end.failed && !nothing_proven_before_the_stop {
					let paid = Self::pay_per_round(&ind).saturating_mul(end.proven.into());
					let mut record = Self::miner_record(
						&ind,
						id,
						miner,
						Outcome::Success,
						end.proven,
						end.missed,
					);
					if stopped {
						record.value = paid;
					}
					T::Reputation::append(record, None);
				}
			}
		}
		let refunded = settlement.refunded;
		Self::finalize(id, ind, settlement, status);
		Ok(refunded)
	}

	/// A service whose leases all completed: the withheld rounds wait for the buyer's
	/// acceptance (it may dispute them in Escrow), with the fees cut to the rounds proven.
	pub(crate) fn await_service_acceptance(id: IndentureId, mut ind: IndentureOf<T>) {
		Self::cut_fees(id, &mut ind);
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::AcceptanceWindow::get());
		let payouts = Self::withheld_payouts(id, &ind);
		// The escrow is active and the payouts are rounds proven, within its incentive: this
		// cannot fail. Should it, the work settles on its heartbeats rather than stay stuck.
		if let Err(e) = T::Escrow::await_acceptance(id, payouts, until) {
			defensive!("awaiting a service's acceptance failed", e);
			return Self::settle_on_heartbeats(id, ind, false);
		}
		Self::schedule(until.saturating_add(One::one()), Deadline::Acceptance(id));
		ind.status = Status::Reported;
		Indentures::<T>::insert(id, ind);
	}

	/// Cuts both fees of `ind` (and of its escrow) to the share of rounds its leases proved.
	fn cut_fees(id: IndentureId, ind: &mut IndentureOf<T>) {
		let share = Self::served_share(id, ind);
		T::Escrow::scale_fees(id, share);
		ind.exchange_fee = share.mul_floor(ind.exchange_fee);
		ind.escrow_fee = share.mul_floor(ind.escrow_fee);
	}

	/// Leased indenture `id` of buyer `who` (for `terminate` and `dispute`).
	fn leased_by(who: &T::AccountId, id: IndentureId) -> Result<IndentureOf<T>, DispatchError> {
		let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
		ensure!(ind.buyer == *who, Error::<T>::NotBuyer);
		ensure!(ind.status == Status::Leased, Error::<T>::NotLeased);
		Ok(ind)
	}

	/// Stops every running lease of leased indenture `id`: each miner is freed, a lease
	/// already past its miss tolerance is recorded as failed.
	fn stop_leases(id: IndentureId, ind: &IndentureOf<T>) -> DispatchResult {
		let running: alloc::vec::Vec<_> =
			Slots::<T>::iter_prefix(id).filter(|(_, s)| s.ended.is_none()).collect();
		for (index, mut slot) in running {
			let (Some(miner), Some(lease)) = (slot.miner.clone(), slot.lease) else { continue };
			SlotOfLease::<T>::remove(lease);
			let (proven, missed) = T::Challenges::stop_lease(lease)?;
			T::Registry::end_work(&miner, Role::Miner);
			Self::release_address(ind, id, index, &slot);
			// A lease already past its miss tolerance (not yet reported) failed: stopping it
			// must not turn that into a success.
			let failed = missed > T::MaxMissedRounds::get();
			if failed {
				Self::record(ind, id, miner, false, proven, missed);
			}
			let end = LeaseEnd { proven, missed, failed };
			slot.ended = Some(end);
			Slots::<T>::insert(id, index, slot);
			Self::deposit_event(Event::LeaseEnded { id, slot: index, end });
		}
		Ok(())
	}

	/// The buyer `who` ends indenture `id`'s leases early (the `terminate` call): the
	/// withheld rounds are paid, undisputed.
	pub(crate) fn do_terminate(who: T::AccountId, id: IndentureId) -> DispatchResult {
		let ind = Self::leased_by(&who, id)?;
		Self::stop_leases(id, &ind)?;
		let refunded = Self::settle_rounds(id, ind, Status::Terminated)?;
		Self::deposit_event(Event::Terminated { id, refunded });
		Ok(())
	}

	/// The buyer `who` disputes indenture `id`'s leased work (the `dispute` call).
	pub(crate) fn do_dispute(who: T::AccountId, id: IndentureId) -> DispatchResult {
		let mut ind = Self::leased_by(&who, id)?;
		ensure!(
			Slots::<T>::iter_prefix_values(id).any(|s| s.rounds_held > 0),
			Error::<T>::NothingWithheld
		);
		Self::stop_leases(id, &ind)?;
		Self::cut_fees(id, &mut ind);
		let payouts = Self::withheld_payouts(id, &ind);
		let withheld =
			payouts.iter().fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a));
		let deadline = T::Escrow::dispute_results(id, payouts)?;
		Self::schedule(deadline.saturating_add(One::one()), Deadline::DisputeDefault(id));
		ind.status = Status::Contested;
		Indentures::<T>::insert(id, ind);
		Self::deposit_event(Event::LeaseDisputed { id, withheld, deadline });
		Ok(())
	}

	/// Records the miners of leased work whose withheld pay was settled (a service accepted,
	/// or a dispute of leased work decided), each by what it got of what it was owed: all of
	/// it is a success, none a failure, part of it undecided. Never a slash: the decision is
	/// the buyer's or its chosen operator's word, not an objective fault. Leases that failed
	/// were recorded when they did.
	pub(crate) fn record_by_share(
		ind: &IndentureOf<T>,
		id: IndentureId,
		settlement: &Settlement<T::AccountId, BalanceOf<T>>,
	) {
		for slot in Slots::<T>::iter_prefix_values(id) {
			let (Some(miner), Some(end)) = (slot.miner.clone(), slot.ended) else { continue };
			if end.failed || end.proven == 0 {
				continue;
			}
			let owed = Self::withheld(ind, &slot);
			let got = Self::paid_at_settlement(settlement, &miner);
			let (outcome, decided) = if got >= owed {
				(Outcome::Success, Self::streamed(ind, &slot).saturating_add(got))
			} else if got.is_zero() {
				(Outcome::Failure, owed)
			} else {
				(Outcome::Undecided, owed.saturating_sub(got))
			};
			Self::record_decision(ind, id, miner, outcome, end, decided);
		}
	}

	/// What `settlement` paid `miner`.
	pub(crate) fn paid_at_settlement(
		settlement: &Settlement<T::AccountId, BalanceOf<T>>,
		miner: &T::AccountId,
	) -> BalanceOf<T> {
		settlement
			.payouts
			.iter()
			.filter(|(m, _)| m == miner)
			.fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a))
	}

	/// The one place a RepChain record is built: `subject`'s `outcome` in `role` on indenture
	/// `id`, worth `value` (what `counterparty` paid the subject, or what was at stake on a
	/// failure), recorded now; callers fill in heartbeats, duration or rating.
	pub(crate) fn work_record(
		subject: T::AccountId,
		role: Role,
		id: IndentureId,
		outcome: Outcome,
		value: BalanceOf<T>,
		counterparty: Option<T::AccountId>,
	) -> WorkRecordOf<T> {
		WorkRecord {
			subject,
			role,
			indenture: id,
			outcome,
			value,
			counterparty,
			heartbeats_proven: 0,
			heartbeats_missed: 0,
			duration: Zero::zero(),
			rating: None,
			at: frame_system::Pallet::<T>::block_number(),
		}
	}

	/// Appends a miner's record of an objective outcome to RepChain: a failure (missed
	/// heartbeats, no result revealed) slashes part of its bond to the buyer, at most the
	/// unserved part of its slot (the slot's value less what its proven rounds paid), so a
	/// buyer never gains from a miner's failure more than the failure cost it.
	pub(crate) fn record(
		ind: &IndentureOf<T>,
		id: IndentureId,
		miner: T::AccountId,
		success: bool,
		proven: u32,
		missed: u32,
	) {
		let outcome = if success { Outcome::Success } else { Outcome::Failure };
		let record = Self::miner_record(ind, id, miner, outcome, proven, missed);
		let unserved = Self::slot_value(ind)
			.saturating_sub(Self::pay_per_round(ind).saturating_mul(proven.into()));
		T::Reputation::append(record, (!success).then_some((&ind.buyer, unserved)));
	}

	/// Appends a miner's record of a decision (a judgement, an operator's share, or none) to
	/// RepChain, with no slash: the judge is chosen by the buyer, so its word may cost a miner
	/// its pay and its record, never its bond. The record weighs what the decision was about
	/// (`decided`: what it paid the miner for the slot, or what it denied it), not the slot's
	/// value: a puppet buyer and operator can neither mint a full slot's success from one
	/// proven round nor charge an honest miner a full slot's failure for it.
	pub(crate) fn record_decision(
		ind: &IndentureOf<T>,
		id: IndentureId,
		miner: T::AccountId,
		outcome: Outcome,
		end: LeaseEnd,
		decided: BalanceOf<T>,
	) {
		let record = Self::miner_record(ind, id, miner, outcome, end.proven, end.missed);
		T::Reputation::append(WorkRecord { value: decided, ..record }, None);
	}

	/// What the rounds already streamed to the miner of `slot` paid it.
	pub(crate) fn streamed(ind: &IndentureOf<T>, slot: &SlotOf<T>) -> BalanceOf<T> {
		Self::pay_per_round(ind).saturating_mul(slot.rounds_paid.into())
	}

	fn miner_record(
		ind: &IndentureOf<T>,
		id: IndentureId,
		miner: T::AccountId,
		outcome: Outcome,
		proven: u32,
		missed: u32,
	) -> WorkRecordOf<T> {
		let value = Self::slot_value(ind);
		let buyer = Some(ind.buyer.clone());
		let base = Self::work_record(miner, Role::Miner, id, outcome, value, buyer);
		WorkRecord {
			heartbeats_proven: proven,
			heartbeats_missed: missed,
			duration: base.at.saturating_sub(ind.submitted),
			..base
		}
	}

	/// What one slot of `ind` is worth: its share of the incentive.
	pub(crate) fn slot_value(ind: &IndentureOf<T>) -> BalanceOf<T> {
		let slots = ind.spec.nodes.saturating_mul(ind.spec.replicas).max(1);
		ind.spec.incentive / BalanceOf::<T>::from(slots)
	}

	/// Success records for the miners whose revealed result is the indenture's result.
	pub(crate) fn record_agreeing(ind: &IndentureOf<T>, id: IndentureId) {
		let Some(result) = ind.result else { return };
		for (_, slot) in Slots::<T>::iter_prefix(id) {
			if let (Some(miner), Some(SlotResult::Revealed(r))) = (slot.miner, slot.result) {
				if r == result {
					let end =
						slot.ended.unwrap_or(LeaseEnd { proven: 0, missed: 0, failed: false });
					Self::record(ind, id, miner, true, end.proven, end.missed);
				}
			}
		}
	}

	/// Ends an indenture whose escrow was settled: frees the exchange and the escrow
	/// operator, drops its slots and emits the CIRecord.
	pub(crate) fn finalize(
		id: IndentureId,
		ind: IndentureOf<T>,
		settlement: Settlement<T::AccountId, BalanceOf<T>>,
		status: Status,
	) {
		let mut streamed = BalanceOf::<T>::zero();
		let mut slots: alloc::vec::Vec<_> = Slots::<T>::drain_prefix(id).collect();
		slots.sort_by_key(|(index, _)| *index);
		let mut sellers = alloc::vec::Vec::new();
		// What each miner can be rated for: what it was paid (its streamed rounds and what the
		// settlement paid it: withheld rounds, its result share), so a rating weighs no more than
		// the work the buyer paid for, and a miner paid nothing (or whose lease failed) is not
		// rateable at all: a puppet buyer cannot hand out ratings worth work it never bought.
		let mut rateable = alloc::vec::Vec::new();
		for (index, slot) in slots {
			SlotOfChallenge::<T>::remove(slot.challenge);
			if let Some(miner) = &slot.miner {
				SlotsOf::<T>::remove(miner, (id, index));
				if slot.ended.is_none() {
					Self::release_address(&ind, id, index, &slot);
				}
			}
			let rounds_paid = Self::pay_per_round(&ind).saturating_mul(slot.rounds_paid.into());
			streamed = streamed.saturating_add(rounds_paid);
			if let Some(miner) = slot.miner {
				let paid =
					rounds_paid.saturating_add(Self::paid_at_settlement(&settlement, &miner));
				if !paid.is_zero() && !slot.ended.is_some_and(|e| e.failed) {
					rateable.push((miner.clone(), paid));
				}
				sellers.push(miner);
			}
		}
		T::Registry::end_work(&ind.spec.exchange, Role::Exchange);
		T::Registry::end_work(&ind.spec.escrow_operator, Role::EscrowOperator);
		Indentures::<T>::remove(id);
		let now = frame_system::Pallet::<T>::block_number();
		let until = now.saturating_add(T::RatingWindow::get());
		for (miner, value) in &rateable {
			let entry = Rateable {
				buyer: ind.buyer.clone(),
				value: *value,
				duration: now.saturating_sub(ind.submitted),
				until,
			};
			Unrated::<T>::insert(id, miner, entry);
		}
		if !rateable.is_empty() {
			Self::schedule(until.saturating_add(One::one()), Deadline::RatingsClose(id));
		}
		let record = CiRecord {
			cid: id,
			time: now,
			client: ind.buyer,
			sellers: BoundedVec::truncate_from(sellers),
			// During `on_initialize` the extrinsic index already reads 0; the phase tells.
			tx_index: match frame_system::Pallet::<T>::execution_phase() {
				Some(frame_system::Phase::ApplyExtrinsic(i)) => Some(i),
				_ => None,
			},
			escrow: id,
			task: ind.spec.task,
			task_type: ind.spec.task_type,
			incentive: ind.spec.incentive,
			paid_to_miners: streamed.saturating_add(settlement.to_miners),
			refunded: settlement.refunded,
			status,
			duration: now.saturating_sub(ind.submitted),
		};
		Self::keep_record(record.clone());
		Self::deposit_event(Event::CiRecorded { record });
	}

	/// Adds `record` to the recent-records index, dropping the oldest when full (its pending
	/// ratings stay open for their window).
	pub(crate) fn keep_record(record: CiRecordOf<T>) {
		let id = record.cid;
		RecentRecords::<T>::mutate(|recent| {
			if recent.is_full() {
				let old = recent.remove(0);
				Records::<T>::remove(old);
			}
			if recent.try_push(id).is_err() {
				defensive!("a place was freed above when full");
			}
		});
		Records::<T>::insert(id, record);
	}

	/// The buyer `who` rates `miner`'s work on indenture `id` (the `rate` call).
	pub(crate) fn do_rate(
		who: T::AccountId,
		id: IndentureId,
		miner: T::AccountId,
		rating: u8,
	) -> DispatchResult {
		let Some(entry) = Unrated::<T>::get(id, &miner) else {
			let known =
				Records::<T>::contains_key(id) || Unrated::<T>::iter_prefix(id).next().is_some();
			return Err(
				if known { Error::<T>::NotRateable } else { Error::<T>::UnknownRecord }.into()
			);
		};
		ensure!(entry.buyer == who, Error::<T>::NotBuyer);
		ensure!((1..=5).contains(&rating), Error::<T>::BadRating);
		ensure!(
			frame_system::Pallet::<T>::block_number() <= entry.until,
			Error::<T>::RatingWindowClosed
		);
		Unrated::<T>::remove(id, &miner);
		let base = Self::work_record(
			miner.clone(),
			Role::Miner,
			id,
			Outcome::Rated,
			entry.value,
			Some(who),
		);
		T::Reputation::append(
			WorkRecord { duration: entry.duration, rating: Some(rating), ..base },
			None,
		);
		Self::deposit_event(Event::Rated { id, miner, rating });
		Ok(())
	}
}
