//! Reputation: records appended to hash chains, evidence with decay, scores, slashes.

use super::*;

impl<T: Config> Pallet<T> {
	/// Applies the decay steps that have passed by `now`.
	pub(crate) fn decayed(
		mut rep: Reputation<BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> Reputation<BlockNumberFor<T>> {
		let period = T::DecayPeriod::get();
		let elapsed = now.saturating_sub(rep.decayed_at);
		let steps: u32 = (elapsed / period).saturated_into();
		if steps > 0 {
			// Past ~10,000 steps any factor below one has long reached zero.
			let f = T::DecayFactor::get().saturating_pow(steps.min(10_000) as usize);
			rep.positive = f.mul_floor(rep.positive);
			rep.negative = f.mul_floor(rep.negative);
			rep.decayed_at = rep.decayed_at.saturating_add(period.saturating_mul(steps.into()));
		}
		rep
	}

	/// The evidence one record of `value` weighs, in millionths of a unit: `value / ValueUnit`
	/// below one `ValueUnit` (fifty self-dealt jobs worth a hundredth of a unit weigh half
	/// of one real job, not fifty), `1 + ⌊log2(value / ValueUnit)⌋` from there.
	pub fn evidence_weight(value: BalanceOf<T>) -> u128 {
		let value: u128 = value.saturated_into();
		let unit: u128 = T::ValueUnit::get().saturated_into::<u128>().max(1);
		match value / unit {
			0 => EVIDENCE_UNIT.saturating_mul(value) / unit,
			units => EVIDENCE_UNIT.saturating_mul(1 + u128::from(units.ilog2())),
		}
	}

	/// The Beta score of `rep`: `(r + 1) / (r + s + 2)`.
	pub fn score_of(rep: &Reputation<BlockNumberFor<T>>) -> Permill {
		Permill::from_rational(
			rep.positive.saturating_add(EVIDENCE_UNIT),
			rep.positive.saturating_add(rep.negative).saturating_add(2 * EVIDENCE_UNIT),
		)
	}

	/// `blake2_256(prev ‖ SCALE(record))`.
	pub fn chain_root(prev: &H256, record: &RecordOf<T>) -> H256 {
		cutopia_primitives::hashes::record_link(prev, record)
	}

	/// Moves `MinerSlash` of the minimum bond of `role` (at most what is bonded) from `who`'s
	/// bond in that role to `beneficiary`. A fraction of the *minimum*, not of the current
	/// bond: a failure costs every party the same, and a miner slashed below the minimum stops
	/// competing until it tops its bond up ([`Registry::miner`]).
	pub(crate) fn slash(
		who: &T::AccountId,
		role: Role,
		beneficiary: &T::AccountId,
		cap: BalanceOf<T>,
	) {
		let Some(mut r) = Registrations::<T>::get(who, role) else { return };
		let minimum = match role {
			Role::Miner => T::MinMinerBond::get(),
			Role::Exchange | Role::EscrowOperator => T::MinServiceBond::get(),
		};
		let amount = T::MinerSlash::get().mul_floor(minimum).min(r.bond).min(cap);
		if amount.is_zero() {
			return;
		}
		let moved = T::Currency::transfer_on_hold(
			&HoldReason::Bond.into(),
			who,
			beneficiary,
			amount,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_default();
		r.bond = r.bond.saturating_sub(moved);
		Registrations::<T>::insert(who, role, r);
		Self::deposit_event(Event::Slashed {
			who: who.clone(),
			beneficiary: beneficiary.clone(),
			amount: moved,
		});
	}

	/// `(records, successes, failures)` of `who`.
	pub fn counts(who: &T::AccountId) -> (u32, u32, u32) {
		Reputations::<T>::get(who).map(|r| (r.records, r.successes, r.failures)).unwrap_or_default()
	}

	/// Root of `who`'s history.
	pub fn history_root(who: &T::AccountId) -> H256 {
		Reputations::<T>::get(who).map(|r| r.root).unwrap_or_default()
	}
}

impl<T: Config> ReputationApi<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn append(record: RecordOf<T>, harmed: Option<(&T::AccountId, BalanceOf<T>)>) -> H256 {
		let now = frame_system::Pallet::<T>::block_number();
		let who = record.subject.clone();
		let mut rep = match Reputations::<T>::get(&who) {
			Some(rep) => Self::decayed(rep, now),
			None => Reputation { decayed_at: now, ..Default::default() },
		};
		let w = Self::evidence_weight(record.value);
		// Positive evidence from a counterparty that vouched for this subject before counts
		// less each time; failures always count in full.
		let repeat = match &record.counterparty {
			Some(by) => Dealings::<T>::get(&who, by),
			None => 0,
		};
		let vouched = w >> repeat.min(127);
		// Counted once per piece of work (its success), not again for its rating: a loyal
		// buyer's evidence halves per job, not per record.
		if let (Some(by), Outcome::Success) = (&record.counterparty, &record.outcome) {
			Dealings::<T>::insert(&who, by, repeat.saturating_add(1));
		}
		match record.outcome {
			Outcome::Success => {
				rep.successes = rep.successes.saturating_add(1);
				rep.positive = rep.positive.saturating_add(vouched);
			},
			Outcome::Failure => {
				rep.failures = rep.failures.saturating_add(1);
				rep.negative =
					rep.negative.saturating_add(w.saturating_mul(T::FailureWeight::get().into()));
			},
			Outcome::Rated | Outcome::Undecided => {},
		}
		if let Some(k) = record.rating.filter(|k| (1..=5).contains(k)) {
			let k = u128::from(k);
			rep.positive = rep.positive.saturating_add(vouched * (k - 1) / 4);
			rep.negative = rep.negative.saturating_add(w * (5 - k) / 4);
		}
		rep.records = rep.records.saturating_add(1);
		rep.root = Self::chain_root(&rep.root, &record);
		let root = rep.root;
		let score = Self::score_of(&rep);
		RecentRecords::<T>::mutate(&who, |recent| {
			if recent.is_full() {
				recent.remove(0);
			}
			if recent.try_push((record.clone(), root)).is_err() {
				frame_support::defensive!("a slot was freed above when full");
			}
		});
		Reputations::<T>::insert(&who, rep);

		if record.outcome == Outcome::Failure {
			if let Some((beneficiary, cap)) = harmed {
				Self::slash(&who, record.role, beneficiary, cap);
			}
		}
		Self::deposit_event(Event::Recorded { record, root, score });
		root
	}

	fn score(who: &T::AccountId) -> Permill {
		let now = frame_system::Pallet::<T>::block_number();
		Reputations::<T>::get(who)
			.map(|rep| Self::score_of(&Self::decayed(rep, now)))
			.unwrap_or(Permill::from_percent(50))
	}
}
