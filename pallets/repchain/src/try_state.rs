//! Invariants, checked after every unit test and by try-runtime.

use super::*;

impl<T: Config> Pallet<T> {
	/// Invariants, checked after every unit test and by try-runtime:
	/// - for every account, the bonds of its registrations equal what is held from it
	///   under [`HoldReason::Bond`];
	/// - every subject's stored recent records chain: each root is `chain_root` of the
	///   previous root and its record, the last root is the aggregate's root, and when all
	///   its records are stored the first starts from zero;
	/// - successes + failures ≤ records (the rest are ratings), and the stored records are at most `records`;
	/// - every miner offers at least one executor, each once.
	#[cfg(any(test, feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (who, _, r) in Registrations::<T>::iter() {
			if let Profile::Miner { executors, .. } = &r.profile {
				ensure!(!executors.is_empty(), "a miner offers no executor");
				ensure!(
					cutopia_primitives::each_once(executors),
					"a miner names an executor twice"
				);
			}
			let e = bonds.entry(who).or_default();
			*e = e.saturating_add(r.bond);
		}
		for (who, bond) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::Bond.into(), &who) == bond,
				"bonds differ from held funds"
			);
		}
		for (who, rep) in Reputations::<T>::iter() {
			ensure!(rep.successes.saturating_add(rep.failures) <= rep.records, "counts");
			let recent = RecentRecords::<T>::get(&who);
			ensure!(recent.len() as u32 <= rep.records, "more records stored than made");
			let mut prev: Option<H256> =
				if recent.len() as u32 == rep.records { Some(H256::zero()) } else { None };
			for (record, root) in recent.iter() {
				ensure!(record.subject == who, "record of another subject");
				if let Some(p) = prev {
					ensure!(Self::chain_root(&p, record) == *root, "root does not recompute");
				}
				prev = Some(*root);
			}
			ensure!(prev.unwrap_or(H256::zero()) == rep.root, "last root differs");
		}
		Ok(())
	}
}
