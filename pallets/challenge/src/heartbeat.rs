//! Heartbeat leases: rounds open every `period` blocks; the miner answers each within its
//! window; missed rounds are counted by arithmetic, and too many fail the lease.

use super::*;

impl<T: Config> Pallet<T> {
	/// The `heartbeat` call, after its origin is checked.
	pub(crate) fn do_heartbeat(
		who: T::AccountId,
		lease: LeaseId,
		round: u32,
		nonce: u64,
	) -> DispatchResult {
		let mut l = Leases::<T>::get(lease).ok_or(Error::<T>::UnknownLease)?;
		ensure!(l.miner == who, Error::<T>::NotMiner);
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
		l.cursor = round.saturating_add(1);
		l.proven = l.proven.saturating_add(1);
		l.root = cutopia_primitives::hashes::heartbeat_root(&l.root, round, nonce);
		Self::deposit_event(Event::HeartbeatProven { lease, round, nonce, root: l.root });
		T::Outcome::heartbeat_proven(l.context, lease, round);
		Self::record_misses(lease, l, newly_missed);
		Ok(())
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

	pub(crate) fn do_report_missed(lease: LeaseId) -> DispatchResult {
		let mut l = Leases::<T>::get(lease).ok_or(Error::<T>::UnknownLease)?;
		ensure!(l.status == LeaseStatus::Active, Error::<T>::LeaseNotActive);
		let closed = Self::closed_rounds(&l, Self::now());
		ensure!(closed > l.cursor, Error::<T>::NothingMissed);
		let newly_missed = closed - l.cursor;
		l.cursor = closed;
		Self::record_misses(lease, l, newly_missed);
		Ok(())
	}

	/// Adds `newly_missed` misses to `l`, then fails, completes or stores it.
	pub(crate) fn record_misses(
		lease: LeaseId,
		mut l: HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
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
		let outcome = if l.missed > l.max_misses {
			Some(LeaseOutcome::Failed)
		} else if l.cursor >= l.rounds {
			Some(LeaseOutcome::Completed)
		} else {
			None
		};
		match outcome {
			None => Leases::<T>::insert(lease, l),
			Some(outcome) => {
				Leases::<T>::remove(lease);
				Self::deposit_event(Event::LeaseEnded {
					lease,
					outcome,
					proven: l.proven,
					missed: l.missed,
					root: l.root,
				});
				T::Outcome::lease_ended(l.context, lease, outcome, l.proven, l.missed);
			},
		}
	}
}
