//! Invariants, checked after every unit test and by try-runtime.

use super::*;
use frame_support::traits::fungible::InspectHold;

impl<T: Config> Pallet<T> {
	/// Invariants, checked after every unit test and by try-runtime:
	/// - every commit belongs to an open factorization challenge, its sequence number is
	///   below the challenge's commit count, and `CommitOf` points back at it;
	/// - an open challenge counts its revealed commits right;
	/// - every account's commit-deposit hold is the sum of its unrevealed commits' deposits;
	/// - no challenge or lease id is at or beyond the next id;
	/// - `IssuedBy` counts exactly the stored challenges of each issuer and context;
	/// - stored leases have `cursor ≤ rounds`, `proven + missed == cursor` and
	///   `window ≤ period`; a running one has misses within `max_misses` and rounds left; a
	///   decided one waiting for its end is failed exactly when it has too many misses, and
	///   completed only with every round resolved.
	#[cfg(any(test, feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let next = NextChallengeId::<T>::get();
		for (id, c) in Challenges::<T>::iter() {
			ensure!(id < next, "challenge id beyond NextChallengeId");
			if c.status == ChallengeStatus::Open {
				let revealed = Commits::<T>::iter_prefix_values(id).filter(|k| k.revealed).count();
				ensure!(revealed == c.revealed as usize, "revealed count out of sync");
			}
		}
		let mut issued = alloc::collections::BTreeMap::<(T::AccountId, ContextId), u32>::new();
		for c in Challenges::<T>::iter_values() {
			if let Some(issuer) = c.issuer {
				*issued.entry((issuer, c.context)).or_default() += 1;
			}
		}
		ensure!(
			IssuedBy::<T>::iter()
				.map(|(who, context, n)| ((who, context), n))
				.collect::<alloc::collections::BTreeMap<_, _>>()
				== issued,
			"IssuedBy does not count the stored challenges of each issuer and context"
		);
		let mut held = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (id, seq, k) in Commits::<T>::iter() {
			let c = Challenges::<T>::get(id).ok_or("commit of unknown challenge")?;
			ensure!(c.status == ChallengeStatus::Open, "commit of a challenge not open");
			ensure!(seq < c.commits, "commit seq beyond count");
			ensure!(CommitOf::<T>::get(id, &k.who) == Some(seq), "CommitOf out of sync");
			if !k.revealed {
				let h = held.entry(k.who).or_default();
				*h = h.saturating_add(c.deposit);
			}
		}
		for (who, amount) in held {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::CommitDeposit.into(), &who) == amount,
				"commit deposits held differ from unrevealed commits"
			);
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
