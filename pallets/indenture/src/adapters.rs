//! The traits other pallets call: Escrow's and Challenge's outcomes and Challenge's
//! eligibility check, plus the set-up other pallets' benchmarks need.

use super::*;

impl<T: Config> Pallet<T> {
	/// Makes sure an open indenture `id` exists for other pallets' benchmarks (Challenge's
	/// eligibility check); it is stored directly, with no escrow or slots.
	#[cfg(feature = "runtime-benchmarks")]
	pub fn open_for_benchmarks(id: IndentureId) {
		use sp_runtime::traits::{Bounded, TrailingZeroInput};
		if Indentures::<T>::contains_key(id) {
			return;
		}
		let nobody =
			T::AccountId::decode(&mut TrailingZeroInput::zeroes()).expect("infinite input");
		let spec = IndentureSpec {
			task: types::Task::Inline(BoundedVec::truncate_from(alloc::vec![0u8])),
			task_type: TaskType::Batch,
			executor: Executor::Wasm,
			resources: Resources { cpu_millicores: 1, ..Default::default() },
			nodes: 1,
			public_ip: PublicIp::None,
			duration: 1,
			incentive: BalanceOf::<T>::max_value() / 4u32.into(),
			priority: 0,
			min_reputation: Permill::zero(),
			exchange: nobody.clone(),
			escrow_operator: nobody.clone(),
			challenge: ChallengeKind::HashTarget,
			replicas: 1,
			ssh_key: None,
		};
		Indentures::<T>::insert(
			id,
			Indenture {
				buyer: nobody,
				spec,
				compute_units: 1,
				exchange_fee: Zero::zero(),
				escrow_fee: Zero::zero(),
				submitted: Zero::zero(),
				award_deadline: BlockNumberFor::<T>::max_value(),
				status: Status::Open,
				results_deadline: None,
				result: None,
			},
		);
	}
}

impl<T: Config> EscrowOutcome<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn dispute_resolved(id: EscrowId, operator: &T::AccountId, in_time: bool) {
		let ind = Indentures::<T>::get(id);
		// A timely resolution is worth the fee it earns; a missed one, the work at stake.
		let (outcome, value) = match &ind {
			Some(ind) if in_time => (Outcome::Success, ind.escrow_fee),
			Some(ind) => (Outcome::Failure, ind.spec.incentive),
			None if in_time => (Outcome::Success, Zero::zero()),
			None => (Outcome::Failure, Zero::zero()),
		};
		let buyer = ind.map(|i| i.buyer);
		let record =
			Self::work_record(operator.clone(), Role::EscrowOperator, id, outcome, value, buyer);
		T::Reputation::append(record, None);
	}

	fn max_weight() -> Weight {
		T::WeightInfo::dispute_resolved().max(T::WeightInfo::accept_expired())
	}

	/// A reported result (or a completed service's withheld rounds) was accepted or its
	/// dispute resolved in Escrow; or disputed results, or disputed leased work, were split
	/// by the operator's share or, past its deadline, the default rule.
	fn settled(id: EscrowId, settlement: &Settlement<T::AccountId, BalanceOf<T>>) {
		let Some(ind) = Indentures::<T>::get(id) else { return };
		match ind.status {
			Status::Reported if ind.spec.task_type == TaskType::Service => {
				Self::record_by_share(&ind, id, settlement)
			},
			Status::Reported => Self::record_agreeing(&ind, id),
			Status::Contested => Self::record_by_share(&ind, id, settlement),
			// Nobody said which result was right: every miner that revealed one has the
			// dispute on its record, neither success nor failure.
			Status::Disputed => {
				let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
				for (index, miner, _) in Self::revealed(&slots) {
					let end = Slots::<T>::get(id, index)
						.and_then(|s| s.ended)
						.unwrap_or(LeaseEnd { proven: 0, missed: 0, failed: false });
					let owed = Self::owed_for_result(&ind, &slots, index);
					let denied = owed.saturating_sub(Self::paid_at_settlement(settlement, &miner));
					Self::record_decision(&ind, id, miner, Outcome::Undecided, end, denied);
				}
			},
			_ => return,
		}
		// Disputed leased work ended as the operator (or the default rule) decided.
		let status =
			if ind.status == Status::Contested { Status::Contested } else { Status::Settled };
		Self::finalize(id, ind, settlement.clone(), status);
	}
}

impl<T: Config> Eligibility<T::AccountId> for Pallet<T> {
	fn may_compete(context: ContextId, challenge: ChallengeId, who: &T::AccountId) -> bool {
		Self::competing(context, Self::slot_of_challenge(context, challenge), who).is_some()
	}

	fn rank(context: ContextId, challenge: ChallengeId, who: &T::AccountId) -> Option<u64> {
		Self::rank_for(context, Self::slot_of_challenge(context, challenge), who)
	}

	/// `rank` is `may_compete` and three more reads (the indenture, the miner, its score),
	/// mostly cached by then.
	fn weight() -> Weight {
		// And the challenge's slot, and the miner's count of dedicated addresses
		// (`Self::address_weight`).
		T::WeightInfo::may_compete().saturating_add(T::DbWeight::get().reads(5))
	}

	/// The indenture and its slots (`MaxSlots` of them: the benchmark's reads, all but the
	/// miner's own) are in the overlay after the first check; a further one pays the
	/// execution and the miner's own reads: registration, reputation, its score's inputs.
	fn repeat_weight() -> Weight {
		let db = T::DbWeight::get();
		let measured = T::WeightInfo::may_compete();
		let cached = db.reads(u64::from(T::MaxSlots::get()) + 1);
		Weight::from_parts(measured.ref_time().saturating_sub(cached.ref_time()), 0)
			// And the miner's count of dedicated addresses, not cached for another miner.
			.saturating_add(db.reads(6))
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn make_eligible(context: ContextId, who: &T::AccountId) {
		T::Registry::register_for_benchmarks(who, Role::Miner);
		Self::open_for_benchmarks(context);
	}
}

impl<T: Config> ChallengeOutcome<T::AccountId> for Pallet<T> {
	fn awarded(_context: ContextId, id: ChallengeId, winner: &T::AccountId) {
		Self::on_awarded(id, winner);
		Self::schedule_audit(id);
	}
	fn expired(_context: ContextId, id: ChallengeId) {
		Self::on_expired(id);
		Self::schedule_audit(id);
	}
	fn voided(context: ContextId, id: ChallengeId, issuer: &T::AccountId) {
		Self::on_voided(context, id, issuer);
	}
	fn heartbeat_proven(_context: ContextId, lease: LeaseId, round: u32) {
		Self::on_heartbeat_proven(lease, round);
	}
	// Misses are counted by the Challenge pallet; they matter here when the lease ends.
	fn heartbeats_missed(_: ContextId, _: LeaseId, _: u32, _: u32) {}
	fn lease_ended(
		_context: ContextId,
		lease: LeaseId,
		outcome: LeaseOutcome,
		proven: u32,
		missed: u32,
	) {
		Self::on_lease_ended(lease, outcome == LeaseOutcome::Failed, proven, missed);
	}

	fn max_weight() -> Weight {
		T::WeightInfo::awarded()
			.max(T::WeightInfo::heartbeat_proven())
			.max(T::WeightInfo::lease_ended())
			.max(T::WeightInfo::voided())
			// An award or expiry also puts a factorization challenge's audit on the agenda.
			.saturating_add(Self::schedule_weight())
			.saturating_add(T::DbWeight::get().reads(1))
			// An award takes a dedicated address, a lease's end lets one go.
			.saturating_add(Self::address_weight(1))
	}

	fn heartbeat_weight() -> Weight {
		T::WeightInfo::heartbeat_proven()
	}

	fn decision_weight() -> Weight {
		T::WeightInfo::awarded()
			.max(T::WeightInfo::voided())
			// An award or expiry also puts a factorization challenge's audit on the agenda.
			.saturating_add(Self::schedule_weight())
			.saturating_add(T::DbWeight::get().reads(1))
			// An award takes a dedicated address, a lease's end lets one go.
			.saturating_add(Self::address_weight(1))
	}
}
