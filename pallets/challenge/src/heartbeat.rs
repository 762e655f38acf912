//! Heartbeat leases: rounds open every `period` blocks; the miner answers each within its
//! window; missed rounds are counted by arithmetic, and too many fail the lease.

use super::*;

impl<T: Config> Pallet<T> {
	/// One heartbeat answer (the `heartbeat` call, or one entry of `heartbeats`), after its
	/// origin is checked. Every check comes before any write, so a refused answer changes
	/// nothing. An answer never ends its lease, so a heartbeat never carries a settlement's
	/// weight: the last round's answer marks the lease completed and the opener ends it when
	/// its last window closes (`count_missed`); an answer after more misses than allowed is
	/// refused (`LeaseFailed`), the lease having failed already, and whoever reports the
	/// misses ends it.
	pub(crate) fn do_heartbeat(
		who: &T::AccountId,
		lease: LeaseId,
		round: u32,
		nonce: u64,
	) -> DispatchResult {
		let mut l = Leases::<T>::get(lease).ok_or(Error::<T>::UnknownLease)?;
		ensure!(l.miner == *who, Error::<T>::NotMiner);
		ensure!(l.status == LeaseStatus::Active, Error::<T>::LeaseNotActive);
		ensure!(round < l.rounds, Error::<T>::RoundNotOpen);
		ensure!(round >= l.cursor, Error::<T>::RoundResolved);
		let now = Self::now();
		let open = Self::round_open(&l, round);
		ensure!(
			now >= open && now < open.saturating_add(l.window.into()),
			Error::<T>::RoundNotOpen
		);
		let seed = Self::round_seed(lease, round, open);
		let hash = math::work_hash(&seed.0, &who.encode(), nonce);
		ensure!(math::leading_zero_bits(&hash) >= l.difficulty, Error::<T>::TargetNotMet);

		let newly_missed = round - l.cursor;
		ensure!(l.missed.saturating_add(newly_missed) <= l.max_misses, Error::<T>::LeaseFailed);
		l.cursor = round.saturating_add(1);
		l.proven = l.proven.saturating_add(1);
		l.root = cutopia_primitives::hashes::heartbeat_root(&l.root, round, nonce);
		Self::deposit_event(Event::HeartbeatProven { lease, round, nonce, root: l.root });
		T::Outcome::heartbeat_proven(l.context, lease, round);
		Self::count_misses(lease, &mut l, newly_missed);
		Leases::<T>::insert(lease, l);
		Ok(())
	}

	/// The `heartbeats` call: each answer on its own, as `heartbeat` would take it. Returns
	/// how many were taken; a refused one is reported in an event and changes nothing.
	pub(crate) fn do_heartbeats(
		who: &T::AccountId,
		answers: &[HeartbeatAnswer],
	) -> Result<u32, DispatchError> {
		let mut taken = 0u32;
		let mut first_error = None;
		for a in answers {
			match Self::do_heartbeat(who, a.lease, a.round, a.nonce) {
				Ok(()) => taken = taken.saturating_add(1),
				Err(error) => {
					Self::deposit_event(Event::HeartbeatRefused {
						lease: a.lease,
						round: a.round,
						error,
					});
					first_error.get_or_insert(error);
				},
			}
		}
		match first_error {
			Some(e) if taken == 0 => Err(e),
			_ => Ok(taken),
		}
	}

	/// What one `heartbeat` answer is charged: its own check and write, and what the opener
	/// does for a proven round. Never a lease's ending.
	pub fn heartbeat_answer_weight() -> Weight {
		T::WeightInfo::heartbeat().saturating_add(T::Outcome::heartbeat_weight())
	}

	/// The block round `round` of lease `l` opens in.
	pub fn round_open(
		l: &HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
		round: u32,
	) -> BlockNumberFor<T> {
		l.start.saturating_add(BlockNumberFor::<T>::from(round.saturating_mul(l.period)))
	}

	/// The seed of a round: fixed once its opening block's parent is known.
	pub fn round_seed(lease: LeaseId, round: u32, open: BlockNumberFor<T>) -> H256 {
		let parent = frame_system::Pallet::<T>::block_hash(open.saturating_sub(One::one()));
		cutopia_primitives::hashes::heartbeat_seed(lease, round, &parent)
	}

	/// How many rounds of `l` have closed by `now` (answered or not).
	pub fn closed_rounds(
		l: &HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> u32 {
		let first_close = l.start.saturating_add(l.window.into());
		if now < first_close {
			return 0;
		}
		let since: u32 = (now - first_close).saturated_into();
		since.checked_div(l.period).unwrap_or(0).saturating_add(1).min(l.rounds)
	}

	/// Counts the rounds of `lease` whose window closed unanswered, then ends the lease if it
	/// is decided (by these misses, or earlier by its last round's answer).
	pub(crate) fn do_report_missed(lease: LeaseId) -> DispatchResult {
		let mut l = Leases::<T>::get(lease).ok_or(Error::<T>::UnknownLease)?;
		if l.status == LeaseStatus::Active {
			let closed = Self::closed_rounds(&l, Self::now());
			ensure!(closed > l.cursor, Error::<T>::NothingMissed);
			let newly_missed = closed - l.cursor;
			l.cursor = closed;
			Self::count_misses(lease, &mut l, newly_missed);
		}
		match l.status {
			LeaseStatus::Active => Leases::<T>::insert(lease, l),
			LeaseStatus::Completed => Self::end_lease(lease, l, LeaseOutcome::Completed),
			LeaseStatus::Failed => Self::end_lease(lease, l, LeaseOutcome::Failed),
			LeaseStatus::Stopped => return Err(Error::<T>::LeaseNotActive.into()),
		}
		Ok(())
	}

	/// Adds `newly_missed` misses to `l` and decides it: more misses than allowed fail it,
	/// every round resolved completes it. Nothing is stored here.
	fn count_misses(
		lease: LeaseId,
		l: &mut HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
		newly_missed: u32,
	) {
		if newly_missed > 0 {
			l.missed = l.missed.saturating_add(newly_missed);
			Self::deposit_event(Event::HeartbeatsMissed {
				lease,
				newly_missed,
				total_missed: l.missed,
			});
			T::Outcome::heartbeats_missed(l.context, lease, newly_missed, l.missed);
		}
		if l.missed > l.max_misses {
			l.status = LeaseStatus::Failed;
		} else if l.cursor >= l.rounds {
			l.status = LeaseStatus::Completed;
		}
	}

	/// Removes a decided lease and reports how it ended.
	fn end_lease(
		lease: LeaseId,
		l: HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
		outcome: LeaseOutcome,
	) {
		Leases::<T>::remove(lease);
		Self::deposit_event(Event::LeaseEnded {
			lease,
			outcome,
			proven: l.proven,
			missed: l.missed,
			root: l.root,
		});
		T::Outcome::lease_ended(l.context, lease, outcome, l.proven, l.missed);
	}
}
