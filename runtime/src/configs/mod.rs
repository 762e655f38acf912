//! Every `Config` implementation of the runtime, in pallet-index order.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{
		tokens::imbalance::ResolveTo, ConstBool, ConstU128, ConstU32, ConstU64, ConstU8,
		VariantCountOf,
	},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, Weight,
	},
	PalletId,
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{
	traits::{AccountIdConversion, One},
	Perbill, Permill,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Challenge, Escrow, Hash, Indenture,
	Nonce, OriginCaller, PalletInfo, RepChain, Runtime, RuntimeCall, RuntimeEvent,
	RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin, RuntimeTask, System, BLOCK_HASH_COUNT,
	CU, DAYS, EXISTENTIAL_DEPOSIT, HOURS, MINUTES, SLOT_DURATION, VERSION,
};

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = BLOCK_HASH_COUNT;
	pub const Version: RuntimeVersion = VERSION;

	/// One second of compute per three-second block: the rest is import, networking and
	/// finality, which a two-core validator needs.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |m| *m = NORMAL_DISPATCH_RATIO * *m)
		.build();
	/// The generic Substrate prefix: dev tools and polkadot.js show addresses as they do for
	/// every Substrate dev chain.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// The node stores state in ParityDB, so its measured costs apply.
	type DbWeight = ParityDbWeight;
	/// Every signed extrinsic carries its extensions' weight (nonce, era, weight checks),
	/// measured on this node: the default `()` prices their storage at RocksDB's costs.
	type ExtensionsWeightInfo = crate::weights::frame_system_extensions::WeightInfo<Runtime>;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

/// Where transaction fees go. CU is a mirror of an ERC20 locked in the bridge vault, so fees
/// are kept in an account rather than burned: burning would let the chain's supply drift
/// below what the vault holds.
pub struct FeeCollector;
impl FeeCollector {
	/// The pallet id whose derived account receives transaction fees.
	pub const PALLET_ID: PalletId = PalletId(*b"cu/fees ");

	/// The account that collects transaction fees.
	pub fn account() -> AccountId {
		Self::PALLET_ID.into_account_truncating()
	}
}
impl frame_support::traits::TypedGet for FeeCollector {
	type Type = AccountId;
	fn get() -> AccountId {
		Self::account()
	}
}

/// Base units of CU charged per unit of weight: ten seconds of block compute (10^13 weight)
/// cost one CU, so a transfer costs about 0.00003 CU with its bytes. Tied to the market rate
/// (a core-hour at 0.012 CU): a refused heartbeat must cost less than a round of a core pays,
/// and filling a block still costs 0.075 CU (see docs/BENCHMARKS.md, "Fees against pay").
pub const FEE_PER_WEIGHT: Balance = 100_000;
/// Base units charged per byte of an extrinsic: 1 KiB costs about 0.0001 CU.
pub const FEE_PER_BYTE: Balance = 100_000_000_000;

parameter_types! {
	/// Fees stay predictable for agents that budget them; congestion pricing can come later
	/// through a runtime upgrade.
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ResolveTo<FeeCollector, Balances>>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = ConstantMultiplier<Balance, ConstU128<FEE_PER_WEIGHT>>;
	type LengthToFee = ConstantMultiplier<Balance, ConstU128<FEE_PER_BYTE>>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

impl pallet_utility::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type PalletsOrigin = OriginCaller;
	type WeightInfo = pallet_utility::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Fees of exchanges and escrow operators are capped: the buyer always keeps most of
	/// what it pays for compute.
	pub const MaxServiceFee: Permill = Permill::from_percent(20);
	/// Evidence keeps 99 % of its weight per day: a month-old record counts about 74 %.
	pub const ReputationDecay: Perbill = Perbill::from_percent(99);
	/// A failed lease costs the miner a tenth of its bond, paid to the harmed buyer.
	pub const MinerSlash: Perbill = Perbill::from_percent(10);
	/// When an escrow operator does not resolve a dispute, miners get half the outstanding
	/// payouts: neither side can win by stalling the operator.
	pub const DefaultMinerShare: Perbill = Perbill::from_percent(50);
}

impl pallet_repchain::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type WeightInfo = crate::weights::pallet_repchain::WeightInfo<Runtime>;
	type MinMinerBond = ConstU128<{ 100 * CU }>;
	type MinServiceBond = ConstU128<{ 100 * CU }>;
	type MaxFee = MaxServiceFee;
	type UnbondingDelay = ConstU32<DAYS>;
	type MaxRecentRecords = ConstU32<32>;
	type DecayPeriod = ConstU32<DAYS>;
	type DecayFactor = ReputationDecay;
	type ValueUnit = ConstU128<{ 10 * CU }>;
	type FailureWeight = ConstU32<2>;
	type MinerSlash = MinerSlash;
}

impl pallet_escrow::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Outcome = Indenture;
	type WeightInfo = crate::weights::pallet_escrow::WeightInfo<Runtime>;
	type MaxPayees = ConstU32<16>;
	type ResolutionWindow = ConstU32<DAYS>;
	type DefaultMinerShare = DefaultMinerShare;
}

parameter_types! {
	/// The smallest commit deposit; larger work asks its slot's value / `MaxCommits`.
	pub const MinCommitDeposit: Balance = crate::MILLI_CU;
}

impl pallet_challenge::Config for Runtime {
	type WeightInfo = crate::weights::pallet_challenge::WeightInfo<Runtime>;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinCommitDeposit = MinCommitDeposit;
	/// The exchange has 15 s to post `C`, then miners 15 s to commit.
	type CommitWindow = ConstU32<5>;
	type Outcome = Indenture;
	type Eligibility = Indenture;
	// 48 to 160 bits: well under a second of factoring on one core (see the solver
	// benchmarks, docs/OPERATIONS.md), so qualifying measures capability without wasting the
	// miner's time.
	type MinFactorBits = ConstU32<48>;
	type MaxFactorBits = ConstU32<160>;
	type FactorBitsPerDoubling = ConstU32<4>;
	type MinHashDifficulty = ConstU32<12>;
	type MaxHashDifficulty = ConstU32<32>;
	type HeartbeatDifficulty = ConstU32<8>;
	/// Filling every commit with junk forfeits at least the slot's value to its buyer (each
	/// holds an eighteenth); 18 decided for each of 16 slots fit the agenda's budget when an
	/// indenture expires (about 241 of its 250 ms, from the release weights of 2026-12-02:
	/// each award now also puts its audit on the agenda, and 20 no longer fit).
	type MaxCommits = ConstU32<18>;
	/// 30 s to reveal once commits close.
	type RevealWindow = ConstU32<10>;
	/// 5 min for the exchange to reveal its factor.
	type AuditWindow = ConstU32<{ 5 * MINUTES }>;
	type MaxRounds = ConstU32<100_000>;
	/// A miner answers up to 256 leases' rounds in one call.
	type MaxHeartbeatAnswers = ConstU32<256>;
	type AuditPrimalityRounds = ConstU32<8>;
}

parameter_types! {
	/// Half of a batch task's incentive pays for its agreed result, half streams per round.
	pub const BatchResultShare: Permill = Permill::from_percent(50);
	/// An offer below half the indicative price is refused (see pallet-indenture's docs).
	pub const MinPriceRatio: Permill = Permill::from_percent(50);
	/// A quarter of each block at most goes to deadlines; the rest waits a block.
	pub AgendaBudget: Weight = Perbill::from_percent(25) * RuntimeBlockWeights::get().max_block;
	/// A leased core-hour (or more) of work moves the market rate 5 % of the way to its price.
	pub const RateSmoothing: Perbill = Perbill::from_percent(5);
	/// At most 0.001 % a block: about a third a day (28,800 blocks), whoever trades.
	pub const MaxRateStep: Perbill = Perbill::from_parts(10_000);
	/// A full queue admits an offer paying 10 % more per billed unit than its cheapest
	/// unwon entry, which is evicted and refunded.
	pub const OutbidMargin: Permill = Permill::from_percent(10);
}

impl pallet_indenture::Config for Runtime {
	type Currency = Balances;
	type Escrow = Escrow;
	type Registry = RepChain;
	type Reputation = RepChain;
	type Challenges = Challenge;
	type WeightInfo = crate::weights::pallet_indenture::WeightInfo<Runtime>;
	/// A heartbeat round every 30 s, answerable for 15 s.
	type HeartbeatPeriod = ConstU32<10>;
	type HeartbeatWindow = ConstU32<5>;
	type MaxMissedRounds = ConstU32<2>;
	/// A round's pay is released 10 proven rounds (5 minutes) later: time for a buyer's
	/// monitoring to notice a service that answers heartbeats but does not serve.
	type DisputeLag = ConstU32<10>;
	type BatchResultShare = BatchResultShare;
	/// One minute to seal results, one more to reveal them.
	type ResultWindow = ConstU32<{ MINUTES }>;
	type AcceptanceWindow = ConstU32<HOURS>;
	// A month: time to see whether a service kept running as promised.
	type RatingWindow = ConstU32<{ 30 * DAYS }>;
	type MaxQueue = ConstU32<1_024>;
	// One account cannot fill the queue by accident; filling it on purpose takes outbidding
	// every honest offer (OutbidMargin).
	type MaxOpenPerBuyer = ConstU32<64>;
	type OutbidMargin = OutbidMargin;
	type MaxNodes = ConstU32<8>;
	type MaxReplicas = ConstU32<5>;
	/// Escrow pays at most `MaxPayees` (16) miners per indenture.
	type MaxSlots = ConstU32<16>;
	type MaxDuration = ConstU32<{ 30 * DAYS }>;
	/// Miners have five minutes to win the slots.
	type AwardWindow = ConstU32<{ 5 * MINUTES }>;
	type MinIncentive = ConstU128<{ CU / 100 }>;
	type MinPriceRatio = MinPriceRatio;
	// One compute unit is one core for one block; a GiB of memory counts a quarter core, a GiB
	// of storage a hundredth, a GPU twenty cores.
	type CuPerMillicore = ConstU64<1>;
	type CuPerGibMemory = ConstU64<250>;
	type CuPerGibStorage = ConstU64<10>;
	type CuPerGpu = ConstU64<20_000>;
	type MaxRecentRecords = ConstU32<256>;
	type MaxAgenda = ConstU32<64>;
	type AgendaBudget = AgendaBudget;
	type RateSmoothing = RateSmoothing;
	/// A core-hour.
	type RateReferenceUnits = ConstU64<{ HOURS as u64 }>;
	type MaxRateStep = MaxRateStep;
}

parameter_types! {
	/// At most a million CU a day enter through the bridge: a compromised relayer threshold
	/// cannot mint more before governance reacts.
	pub const BridgeMintCap: Balance = 1_000_000 * CU;
	pub const BridgeLargeDeposit: Balance = 100_000 * CU;
}

impl pallet_bridge::Config for Runtime {
	type Currency = Balances;
	type WeightInfo = crate::weights::pallet_bridge::WeightInfo<Runtime>;
	type MaxRelayers = ConstU32<16>;
	/// A sliding day in hourly buckets: at most the cap in any 23 hours.
	type MintPeriod = ConstU32<DAYS>;
	type MintBuckets = ConstU32<24>;
	type MintCap = BridgeMintCap;
	type LargeDeposit = BridgeLargeDeposit;
	/// An hour for governance to look at a large deposit before it mints.
	type LargeDepositDelay = ConstU32<HOURS>;
	/// The existential deposit: anything smaller could not create the recipient's account.
	type MinTransfer = ConstU128<EXISTENTIAL_DEPOSIT>;
	/// With `MaxSignatures`, a full `relay` stays under 10 % of a block's normal class at 16
	/// relayers (the runtime test `a_full_relay_fits_a_tenth_of_a_block`), so every member's
	/// call fits a block together with the market's traffic.
	type MaxAttestations = ConstU32<32>;
	type MaxSignatures = ConstU32<200>;
	/// Far above a healthy backlog (relayers vote in nonce order), while a compromised member
	/// stores at most this many votes.
	type VoteWindow = ConstU64<4_096>;
	/// Blocks mint waiting deposits by themselves: a few a block keeps the hook light and
	/// still drains a day's cap of 100,000-CU deposits in two blocks.
	type MaxDueMints = ConstU32<8>;
	/// A tenth of the vault's daily release cap (the dev vault's, `bridge/scripts/dev.mjs`):
	/// a withdrawal waits for the vault's window only when 900,000 CU left in a day, and its
	/// refund, beside the window's undelayed mints, always fits the mint cap.
	type MaxWithdrawal = BridgeLargeDeposit;
	/// Two days: a release the daily cap held back has had a full window, and a paused vault
	/// time to resume, before its owner may take the CU back instead.
	type RefundAfter = ConstU32<{ 2 * DAYS }>;
}

impl pallet_skip_feeless_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
}
