//! Default configurations of this pallet for test runtimes.

use crate::pallet::DefaultConfig;
use frame_support::{
	derive_impl,
	pallet_prelude::{inject_runtime_type, register_default_impl},
	traits::{ConstU128, ConstU32, ConstU64},
};

/// A small bridge for tests (balances in `u128`, blocks in `u64`): at most 5 relayers, a cap
/// of 10,000 per 100 blocks, deposits of 5,000 or more wait 20 blocks, transfers of at least
/// 10. A mock names its `Currency`.
pub struct TestDefaultConfig;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
impl frame_system::DefaultConfig for TestDefaultConfig {}

#[register_default_impl(TestDefaultConfig)]
impl DefaultConfig for TestDefaultConfig {
	type WeightInfo = ();
	type MaxRelayers = ConstU32<5>;
	type MintPeriod = ConstU64<100>;
	type MintCap = ConstU128<10_000>;
	type LargeDeposit = ConstU128<5_000>;
	type LargeDepositDelay = ConstU64<20>;
	type MinTransfer = ConstU128<10>;
}
