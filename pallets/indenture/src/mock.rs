//! Test runtime for Indenture with the real Balances, RepChain and Escrow pallets.

use crate as pallet_indenture;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, VariantCountOf},
};
use sp_runtime::{BuildStorage, Perbill, Permill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type Balance = u128;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		RepChain: pallet_repchain,
		Escrow: pallet_escrow,
		Challenge: pallet_challenge,
		IndenturePallet: pallet_indenture,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ConstU128<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
}

parameter_types! {
	pub const MaxFee: Permill = Permill::from_percent(20);
	pub const Half: Perbill = Perbill::from_percent(50);
	pub const Tenth: Perbill = Perbill::from_percent(10);
	pub const MinPriceRatio: Permill = Permill::from_percent(50);
	pub static AgendaBudget: frame_support::weights::Weight = frame_support::weights::Weight::MAX;
}

impl pallet_repchain::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type WeightInfo = ();
	type MinMinerBond = ConstU128<100>;
	type MinServiceBond = ConstU128<50>;
	type MaxFee = MaxFee;
	type UnbondingDelay = ConstU64<10>;
	type MaxRecentRecords = ConstU32<4>;
	type DecayPeriod = ConstU64<100>;
	type DecayFactor = Half;
	type ValueUnit = ConstU128<1_000>;
	type FailureWeight = ConstU32<2>;
	type MinerSlash = Tenth;
}

impl pallet_escrow::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Outcome = IndenturePallet;
	type WeightInfo = ();
	type MaxPayees = ConstU32<8>;
	type ResolutionWindow = ConstU64<5>;
	type DefaultMinerShare = Half;
}

impl pallet_challenge::Config for Test {
	type WeightInfo = ();
	type Outcome = IndenturePallet;
	type Eligibility = IndenturePallet;
	type MinFactorBits = ConstU32<48>;
	type MaxFactorBits = ConstU32<160>;
	type FactorBitsPerDoubling = ConstU32<4>;
	type MinHashDifficulty = ConstU32<2>;
	type MaxHashDifficulty = ConstU32<6>;
	type HeartbeatDifficulty = ConstU32<2>;
	type MaxCommits = ConstU32<8>;
	type RevealWindow = ConstU64<5>;
	type AuditWindow = ConstU64<10>;
	type MaxRounds = ConstU32<1_000>;
	type AuditPrimalityRounds = ConstU32<4>;
}

impl pallet_indenture::Config for Test {
	type Currency = Balances;
	type Escrow = Escrow;
	type Registry = RepChain;
	type Reputation = RepChain;
	type Challenges = Challenge;
	type WeightInfo = MockWeights;
	type HeartbeatPeriod = ConstU32<10>;
	type HeartbeatWindow = ConstU32<5>;
	type MaxMissedRounds = ConstU32<2>;
	type BatchResultShare = MinPriceRatio;
	type ResultWindow = ConstU64<5>;
	type AcceptanceWindow = ConstU64<5>;
	type MaxQueue = ConstU32<4>;
	type MaxNodes = ConstU32<4>;
	type MaxReplicas = ConstU32<3>;
	type MaxSlots = ConstU32<8>;
	type MaxDuration = ConstU32<1_000>;
	type AwardWindow = ConstU64<20>;
	type MinIncentive = ConstU128<10>;
	type MinPriceRatio = MinPriceRatio;
	type CuPerMillicore = ConstU64<1>;
	type CuPerGibMemory = ConstU64<250>;
	type CuPerGibStorage = ConstU64<10>;
	type CuPerGpu = ConstU64<20_000>;
	type MaxRecentRecords = ConstU32<4>;
	type MaxAgenda = ConstU32<4>;
	type AgendaBudget = AgendaBudget;
}

/// Every call and deadline weighs 1,000 (so the agenda's budget can be exercised).
pub struct MockWeights;
impl crate::WeightInfo for MockWeights {
	fn submit() -> Weight {
		UNIT
	}
	fn cancel() -> Weight {
		UNIT
	}
	fn expire() -> Weight {
		UNIT
	}
	fn commit_result() -> Weight {
		UNIT
	}
	fn reveal_result() -> Weight {
		UNIT
	}
	fn conclude_results() -> Weight {
		UNIT
	}
	fn rate() -> Weight {
		UNIT
	}
	fn accept_expired() -> Weight {
		UNIT
	}
	fn lease_end() -> Weight {
		UNIT
	}
	fn awarded() -> Weight {
		UNIT
	}
	fn heartbeat_proven() -> Weight {
		UNIT
	}
	fn lease_ended() -> Weight {
		UNIT
	}
	fn may_compete() -> Weight {
		UNIT
	}
	fn dispute_resolved() -> Weight {
		UNIT
	}
}
const UNIT: Weight = Weight::from_parts(1_000, 0);
use frame_support::weights::Weight;

pub const BUYER: u64 = 1;
pub const EXCHANGE: u64 = 2;
pub const ESCROW_OP: u64 = 3;

/// Accounts 1..=9 start with 1,000,000; the exchange (5 % fee) and escrow operator (1 %) are
/// registered; the market rate is 2 per compute unit.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=9).map(|a| (a, 1_000_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_indenture::GenesisConfig::<Test> { market_rate: 2 }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		RepChain::register_service(
			RuntimeOrigin::signed(EXCHANGE),
			pallet_repchain::Role::Exchange,
			Permill::from_percent(5),
			frame_support::BoundedVec::truncate_from(b"ex".to_vec()),
			frame_support::BoundedVec::truncate_from(b"ex:1".to_vec()),
			50,
		)
		.unwrap();
		RepChain::register_service(
			RuntimeOrigin::signed(ESCROW_OP),
			pallet_repchain::Role::EscrowOperator,
			Permill::from_percent(1),
			frame_support::BoundedVec::truncate_from(b"esc".to_vec()),
			frame_support::BoundedVec::truncate_from(b"esc:1".to_vec()),
			50,
		)
		.unwrap();
	});
	ext
}

/// Runs `test` on fresh state, then checks Indenture's invariants, that what the buyers have on
/// hold is exactly what their open indentures' escrows hold, and that no balance was created
/// or lost.
pub fn build_and_execute(test: impl FnOnce()) {
	use frame_support::traits::fungible::{Inspect, InspectHold};
	new_test_ext().execute_with(|| {
		let issuance = pallet_balances::TotalIssuance::<Test>::get();
		test();
		IndenturePallet::do_try_state().expect("indenture invariants");
		let escrowed: Balance = crate::Indentures::<Test>::iter_keys()
			.map(<Escrow as pallet_escrow::EscrowApi<_, _, _>>::held)
			.sum();
		let held: Balance = (1..=9)
			.map(|a| Balances::balance_on_hold(&pallet_escrow::HoldReason::Escrow.into(), &a))
			.sum();
		assert_eq!(held, escrowed, "held funds differ from open escrows");
		let total: Balance = (1..=9).map(|a| Balances::total_balance(&a)).sum();
		assert_eq!(total, issuance, "balance was created or lost");
	});
}
