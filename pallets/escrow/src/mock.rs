//! Test runtime for Escrow: System, Balances and Escrow.

use crate::{self as pallet_escrow, EscrowId, EscrowOutcome};
use core::cell::RefCell;
use cutopia_test_utils::{ext_at_block_one, storage_with_balances};
use frame_support::derive_impl;
use frame_support::traits::fungible::Inspect as _;

cutopia_test_utils::test_runtime!(Test, existential_deposit = 2, pallets { Escrow: pallet_escrow });

thread_local! {
	pub static RESOLVED: RefCell<Vec<(EscrowId, u64, bool)>> = const { RefCell::new(Vec::new()) };
}

pub struct Recorder;
impl EscrowOutcome<u64, Balance> for Recorder {
	fn dispute_resolved(id: EscrowId, operator: &u64, in_time: bool) {
		RESOLVED.with(|r| r.borrow_mut().push((id, *operator, in_time)));
	}
	fn settled(_: EscrowId, _: &crate::Settlement<u64, Balance>) {}
}

#[derive_impl(pallet_escrow::config_preludes::TestDefaultConfig)]
impl pallet_escrow::Config for Test {
	type Currency = Balances;
	type Outcome = Recorder;
}

/// Accounts 1..=9 start with 10,000 each.
pub fn new_test_ext() -> sp_io::TestExternalities {
	RESOLVED.with(|r| r.borrow_mut().clear());
	let balances = (1..=9).map(|a| (a, 10_000)).collect();
	ext_at_block_one::<Test>(storage_with_balances::<Test>(balances))
}

/// Runs `test` on fresh state, then checks the invariants and that no balance was created
/// or destroyed.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		let issuance = pallet_balances::TotalIssuance::<Test>::get();
		test();
		Escrow::do_try_state().expect("invariants hold after the test");
		assert_eq!(pallet_balances::TotalIssuance::<Test>::get(), issuance, "issuance changed");
		let total: Balance = (1..=9).map(|a| Balances::total_balance(&a)).sum();
		assert_eq!(total, issuance, "balance was created or lost");
	});
}
