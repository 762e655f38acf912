//! Test runtime for Indenture with the real Balances, RepChain, Escrow and Challenge pallets.
//!
//! [`ExtBuilder`] builds the state a test starts from, runs the test and then checks the
//! invariants ([`assert_invariants`]); [`build_and_execute`] does so with the defaults.
//!
//! Tests move through blocks in two ways that do not mean the same, so they have two names:
//! - [`set_block`] only sets the block number. No hook runs: deadlines on the agenda are not
//!   processed. For tests that move deadlines with the permissionless calls themselves
//!   (`expire`, `conclude_results`, Challenge's `report_missed`) or answer a heartbeat round.
//! - [`run_to_block`] steps block by block and runs Indenture's `on_initialize` in each, as
//!   the chain does, so the agenda moves deadlines.

use crate as pallet_indenture;
use cutopia_test_utils::{ext_at_block_one, storage_with_balances};
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, Hooks},
	weights::Weight,
};
use sp_runtime::{BuildStorage, Perbill, Permill};

cutopia_test_utils::test_runtime!(
	Test,
	existential_deposit = 1,
	pallets {
		RepChain: pallet_repchain,
		Escrow: pallet_escrow,
		Challenge: pallet_challenge,
		IndenturePallet: pallet_indenture
	}
);

parameter_types! {
	pub const MinPriceRatio: Permill = Permill::from_percent(50);
	pub static AgendaBudget: Weight = Weight::MAX;
	/// A leased indenture of 100 compute units or more moves the rate a tenth of the way.
	pub const RateSmoothing: Perbill = Perbill::from_percent(10);
	/// At most 5 % a block.
	pub const MaxRateStep: Perbill = Perbill::from_percent(5);
	pub const OutbidMargin: Permill = Permill::from_percent(10);
	/// A round's pay is released two proven rounds later.
	pub static DisputeLag: u32 = 2;
}

// The other pallets as their own tests configure them; only what the marketplace's tests
// need differently is named here.
#[derive_impl(pallet_repchain::config_preludes::TestDefaultConfig)]
impl pallet_repchain::Config for Test {
	type Currency = Balances;
	type MaxRecentRecords = ConstU32<4>;
}

#[derive_impl(pallet_escrow::config_preludes::TestDefaultConfig)]
impl pallet_escrow::Config for Test {
	type Currency = Balances;
	type Outcome = IndenturePallet;
	type MaxPayees = ConstU32<8>;
}

/// Easy hash targets and heartbeats (tests solve them by brute force), room for 8 commits
/// and long leases.
#[derive_impl(pallet_challenge::config_preludes::TestDefaultConfig)]
impl pallet_challenge::Config for Test {
	type Currency = Balances;
	type MinCommitDeposit = ConstU128<1>;
	type Outcome = IndenturePallet;
	type Eligibility = IndenturePallet;
	type MinHashDifficulty = ConstU32<2>;
	type MaxHashDifficulty = ConstU32<6>;
	type HeartbeatDifficulty = ConstU32<2>;
	type MaxCommits = ConstU32<8>;
	type MaxRounds = ConstU32<1_000>;
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
	type DisputeLag = DisputeLag;
	type BatchResultShare = MinPriceRatio;
	type ResultWindow = ConstU64<5>;
	type AcceptanceWindow = ConstU64<5>;
	type RatingWindow = ConstU64<20>;
	type MaxQueue = ConstU32<4>;
	type MaxOpenPerBuyer = ConstU32<3>;
	type OutbidMargin = OutbidMargin;
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
	type RateSmoothing = RateSmoothing;
	type RateReferenceUnits = ConstU64<100>;
	type MaxRateStep = MaxRateStep;
}

/// Every call and deadline weighs 1,000 (so the agenda's budget can be exercised).
pub struct MockWeights;

macro_rules! unit_weights {
	($($call:ident),* $(,)?) => {
		impl crate::WeightInfo for MockWeights {
			fn submit(s: u32, b: u32) -> Weight {
				Weight::from_parts(
					MOCK_SUBMIT_BASE + MOCK_SUBMIT_PER_SLOT * u64::from(s) + u64::from(b),
					0,
				)
			}
			$(fn $call() -> Weight {
				UNIT
			})*
		}
	};
}

unit_weights!(
	cancel,
	expire,
	commit_result,
	reveal_result,
	conclude_results,
	rate,
	judge,
	terminate,
	dispute,
	accept_expired,
	lease_end,
	awarded,
	voided,
	heartbeat_proven,
	lease_ended,
	may_compete,
	dispute_resolved,
	publish_access,
);

const UNIT: Weight = Weight::from_parts(1_000, 0);
/// `submit` weighs this, plus a slot's weight per slot and one per task byte.
pub const MOCK_SUBMIT_BASE: u64 = 1_000;
pub const MOCK_SUBMIT_PER_SLOT: u64 = 100;

pub const BUYER: u64 = 1;
pub const EXCHANGE: u64 = 2;
pub const ESCROW_OP: u64 = 3;
/// Accounts `1..=LAST_ACCOUNT` are endowed; no other account ever holds a balance.
pub const LAST_ACCOUNT: u64 = 9;
/// What each endowed account starts with.
pub const ENDOWMENT: Balance = 1_000_000;

/// Builds the state every test starts from; the setters are the variants tests need.
pub struct ExtBuilder {
	agenda_budget: Weight,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		Self { agenda_budget: Weight::MAX }
	}
}

impl ExtBuilder {
	/// The most weight a block spends on its agenda (default: no limit).
	pub fn agenda_budget(mut self, budget: Weight) -> Self {
		self.agenda_budget = budget;
		self
	}

	/// At block 1, accounts `1..=LAST_ACCOUNT` hold `ENDOWMENT` each; the exchange (5 % fee)
	/// and the escrow operator (1 %) are registered with a bond of 50; the market rate is 2 per
	/// compute unit.
	pub fn build(self) -> sp_io::TestExternalities {
		AgendaBudget::set(self.agenda_budget);
		let mut storage =
			storage_with_balances::<Test>((1..=LAST_ACCOUNT).map(|a| (a, ENDOWMENT)).collect());
		pallet_indenture::GenesisConfig::<Test> { market_rate: 2 }
			.assimilate_storage(&mut storage)
			.unwrap();
		let mut ext = ext_at_block_one::<Test>(storage);
		ext.execute_with(|| {
			register_service(EXCHANGE, pallet_repchain::Role::Exchange, 5, "ex");
			register_service(ESCROW_OP, pallet_repchain::Role::EscrowOperator, 1, "esc");
		});
		ext
	}

	/// Runs `test` on the built state, then [`assert_invariants`] against the issuance the
	/// test started with.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			let issuance = pallet_balances::TotalIssuance::<Test>::get();
			test();
			assert_invariants(issuance, "");
		});
	}
}

/// Registers `who` as a service in `role` with a fee of `fee_percent`, named `name` and reached
/// at `name:1`, with a bond of 50.
fn register_service(who: u64, role: pallet_repchain::Role, fee_percent: u32, name: &str) {
	RepChain::register_service(
		RuntimeOrigin::signed(who),
		role,
		Permill::from_percent(fee_percent),
		frame_support::BoundedVec::truncate_from(name.as_bytes().to_vec()),
		frame_support::BoundedVec::truncate_from(format!("{name}:1").into_bytes()),
		50,
	)
	.unwrap();
}

/// The default state (for the benchmarks' test suite).
#[cfg(feature = "runtime-benchmarks")]
pub fn new_test_ext() -> sp_io::TestExternalities {
	ExtBuilder::default().build()
}

/// Runs `test` on the default state, then checks the invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	ExtBuilder::default().build_and_execute(test)
}

/// What holds after anything: Indenture's invariants, what the buyers have on hold is exactly
/// what the open indentures' escrows hold, and the accounts' total is still `issuance` (no
/// balance created or lost). `context` starts each message (a property test's seed, say).
pub fn assert_invariants(issuance: Balance, context: &str) {
	use frame_support::traits::fungible::{Inspect, InspectHold};
	IndenturePallet::do_try_state().expect("indenture invariants");
	let escrowed: Balance = crate::Indentures::<Test>::iter_keys()
		.map(<Escrow as pallet_escrow::EscrowApi<_, _, _>>::held)
		.sum();
	let held: Balance = (1..=LAST_ACCOUNT)
		.map(|a| Balances::balance_on_hold(&pallet_escrow::HoldReason::Escrow.into(), &a))
		.sum();
	assert_eq!(held, escrowed, "{context}held funds differ from open escrows");
	let total: Balance = (1..=LAST_ACCOUNT).map(|a| Balances::total_balance(&a)).sum();
	assert_eq!(total, issuance, "{context}balance was created or lost");
}

/// Sets the block number to `n` and does nothing else: no hook runs, so the agenda does not
/// move (see the module docs).
pub fn set_block(n: u64) {
	System::set_block_number(n);
}

/// Advances one block at a time from the current block to `n`, running Indenture's
/// `on_initialize` (its agenda) in each, as the chain would. It is the only per-block hook of
/// this runtime's pallets, and none has `on_finalize`. `System::initialize` does not run
/// either, so events of earlier blocks stay readable.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		IndenturePallet::on_initialize(next);
	}
}
