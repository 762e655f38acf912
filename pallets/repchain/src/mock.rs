//! Test runtime for RepChain: System, Balances and RepChain.

use crate as pallet_repchain;
use cutopia_test_utils::{ext_at_block_one, storage_with_balances};
use frame_support::derive_impl;

cutopia_test_utils::test_runtime!(
	Test,
	existential_deposit = 1,
	pallets { RepChain: pallet_repchain }
);

#[derive_impl(pallet_repchain::config_preludes::TestDefaultConfig)]
impl pallet_repchain::Config for Test {
	type Currency = Balances;
}

/// Accounts 1..=9 start with 10,000 each.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let balances = (1..=9).map(|a| (a, 10_000)).collect();
	ext_at_block_one::<Test>(storage_with_balances::<Test>(balances))
}

/// Runs `test` on fresh state, then checks RepChain's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		RepChain::do_try_state().expect("invariants hold after the test");
	});
}

pub fn run_to(n: u64) {
	System::set_block_number(n);
}
