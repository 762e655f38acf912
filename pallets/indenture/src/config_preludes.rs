//! Default configurations of this pallet for test runtimes.

use crate::pallet::DefaultConfig;
use frame_support::{
	derive_impl,
	pallet_prelude::{inject_runtime_type, register_default_impl},
	parameter_types,
	traits::{ConstU128, ConstU32, ConstU64},
	weights::Weight,
};
use sp_runtime::Permill;

parameter_types! {
	/// Half.
	pub const TestHalf: Permill = Permill::from_percent(50);
	/// No limit: tests that exercise the agenda's budget set their own.
	pub const TestAgendaBudget: Weight = Weight::MAX;
}

/// A small market for tests (balances in `u128`, blocks in `u64`): 10-block heartbeat
/// periods, a 4-indenture queue, at most 4 nodes × 3 replicas, a market rate set at genesis.
/// A mock names the pallets it wires in (`Currency`, `Escrow`, `Registry`, `Reputation`,
/// `Challenges`) and overrides what its tests need differently.
pub struct TestDefaultConfig;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
impl frame_system::DefaultConfig for TestDefaultConfig {}

#[register_default_impl(TestDefaultConfig)]
impl DefaultConfig for TestDefaultConfig {
	type WeightInfo = ();
	type HeartbeatPeriod = ConstU32<10>;
	type HeartbeatWindow = ConstU32<5>;
	type MaxMissedRounds = ConstU32<2>;
	type BatchResultShare = TestHalf;
	type ResultWindow = ConstU64<5>;
	type AcceptanceWindow = ConstU64<5>;
	type MaxQueue = ConstU32<4>;
	type MaxNodes = ConstU32<4>;
	type MaxReplicas = ConstU32<3>;
	type MaxSlots = ConstU32<8>;
	type MaxDuration = ConstU32<1_000>;
	type AwardWindow = ConstU64<20>;
	type MinIncentive = ConstU128<10>;
	type MinPriceRatio = TestHalf;
	type CuPerMillicore = ConstU64<1>;
	type CuPerGibMemory = ConstU64<250>;
	type CuPerGibStorage = ConstU64<10>;
	type CuPerGpu = ConstU64<20_000>;
	type MaxRecentRecords = ConstU32<4>;
	type MaxAgenda = ConstU32<4>;
	type AgendaBudget = TestAgendaBudget;
}
