//! Invariants, checked after every unit test and by try-runtime.

use super::*;

impl<T: Config> Pallet<T> {
	/// Invariants, checked after every unit test and by try-runtime:
	/// - every commit belongs to an open factorization challenge, its sequence number is
	///   below the challenge's commit count, and `CommitOf` points back at it;
	/// - in an open challenge `best`, when set, names a revealed commit;
	/// - no challenge or lease id is at or beyond the next id;
	/// - stored leases have `cursor ≤ rounds`, `proven + missed == cursor` and
	///   `window ≤ period`; a running one has misses within `max_misses` and rounds left; a
	///   decided one waiting for its end is failed exactly when it has too many misses, and
	///   completed only with every round resolved.
	#[cfg(any(test, feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let next = NextChallengeId::<T>::get();
		for (id, c) in Challenges::<T>::iter() {
			ensure!(id < next, "challenge id beyond NextChallengeId");
			if let (Some(best), ChallengeStatus::Open) = (c.best, &c.status) {
				ensure!(
					Commits::<T>::get(id, best).is_some_and(|k| k.revealed),
					"best is not a revealed commit"
				);
			}
		}
		for (id, seq, k) in Commits::<T>::iter() {
			let c = Challenges::<T>::get(id).ok_or("commit of unknown challenge")?;
			ensure!(c.status == ChallengeStatus::Open, "commit of a challenge not open");
			ensure!(seq < c.commits, "commit seq beyond count");
			ensure!(CommitOf::<T>::get(id, &k.who) == Some(seq), "CommitOf out of sync");
		}
		ensure!(
			CommitOf::<T>::iter().count() == Commits::<T>::iter().count(),
			"CommitOf and Commits differ in size"
		);
		let next_lease = NextLeaseId::<T>::get();
		for (id, l) in Leases::<T>::iter() {
			ensure!(id < next_lease, "lease id beyond NextLeaseId");
			ensure!(l.cursor <= l.rounds, "cursor beyond rounds");
			ensure!(l.proven.saturating_add(l.missed) == l.cursor, "proven + missed != cursor");
			match l.status {
				LeaseStatus::Active => {
					ensure!(l.missed <= l.max_misses, "failed lease kept active");
					ensure!(l.cursor < l.rounds, "completed lease kept active");
				},
				LeaseStatus::Failed => ensure!(l.missed > l.max_misses, "failed without misses"),
				LeaseStatus::Completed => ensure!(
					l.missed <= l.max_misses && l.cursor == l.rounds,
					"completed with rounds left or too many misses"
				),
				LeaseStatus::Stopped => return Err("stopped lease kept".into()),
			}
			ensure!(l.window <= l.period && l.window > 0, "bad window");
		}
		Ok(())
	}
}
