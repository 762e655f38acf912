//! Types stored and exchanged by RepChain.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use sp_runtime::Permill;

/// What a participant is registered as. One account may hold several roles, each with its
/// own bond.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Role {
	/// Offers compute and competes for indentures.
	Miner,
	/// Lists indentures and issues factorization challenges, for a fee.
	Exchange,
	/// Arbitrates disputes, for a fee.
	EscrowOperator,
}

/// Compute resources: what a miner declares it has, and what an indenture asks for.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Resources {
	/// CPU in thousandths of a core.
	pub cpu_millicores: u32,
	/// Memory in MiB.
	pub memory_mib: u32,
	/// Storage in GiB.
	pub storage_gib: u32,
	/// Whole GPUs.
	pub gpus: u32,
}

impl Resources {
	/// Whether these resources cover `need` in every dimension.
	pub fn covers(&self, need: &Resources) -> bool {
		self.cpu_millicores >= need.cpu_millicores
			&& self.memory_mib >= need.memory_mib
			&& self.storage_gib >= need.storage_gib
			&& self.gpus >= need.gpus
	}

	/// Whether every dimension is zero.
	pub fn is_zero(&self) -> bool {
		*self == Resources::default()
	}
}

/// A display name, at most 64 bytes.
pub type Name = BoundedVec<u8, ConstU32<64>>;
/// Where a participant is reached (host:port or URL), at most 256 bytes.
pub type Endpoint = BoundedVec<u8, ConstU32<256>>;

/// What a registration says about its holder.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum Profile<Balance> {
	/// A miner's offer.
	Miner {
		/// Declared resources.
		resources: Resources,
		/// Lowest price per compute unit it accepts, in base units of CU.
		price_floor: Balance,
		/// Where buyers reach its leases (host:port or URL).
		endpoint: Endpoint,
	},
	/// An exchange's or escrow operator's terms.
	Service {
		/// Fee on the indentures it serves, as a part of the incentive.
		fee: Permill,
		/// Display name.
		name: Name,
		/// Where agents reach it.
		endpoint: Endpoint,
	},
}

/// A participant's registration in one role.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Registration<Balance, BlockNumber> {
	/// Its terms.
	pub profile: Profile<Balance>,
	/// Held as a bond.
	pub bond: Balance,
	/// Pieces of work it is engaged in right now.
	pub active: u32,
	/// When set, it is leaving: no new work, bond withdrawable from this block.
	pub unbonding_until: Option<BlockNumber>,
}

/// How a piece of work went for a subject.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Outcome {
	/// Delivered as agreed.
	Success,
	/// Failed (missed heartbeats, wrong result, unfair challenge, dispute not resolved).
	Failure,
	/// The buyer's rating of work recorded earlier: only its `rating` counts as evidence.
	Rated,
}

/// One immutable entry of a subject's history.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct WorkRecord<AccountId, Balance, BlockNumber> {
	/// Whose record it is.
	pub subject: AccountId,
	/// In what role.
	pub role: Role,
	/// The indenture.
	pub indenture: u64,
	/// How it went.
	pub outcome: Outcome,
	/// What the work was worth (its incentive), in base units.
	pub value: Balance,
	/// Heartbeat rounds proven.
	pub heartbeats_proven: u32,
	/// Heartbeat rounds missed.
	pub heartbeats_missed: u32,
	/// How long it ran, in blocks.
	pub duration: BlockNumber,
	/// The buyer's rating, 1 (worst) to 5 (best), if given.
	pub rating: Option<u8>,
	/// Block it was recorded in.
	pub at: BlockNumber,
}

/// A subject's aggregate reputation.
///
/// `positive` and `negative` are the Beta distribution's evidence, in millionths, decayed by
/// `DecayFactor` every `DecayPeriod` blocks so old behaviour counts less than recent behaviour.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	PartialEq,
	Eq,
	Debug,
	Default,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Reputation<BlockNumber> {
	/// Records appended so far (successes, failures and ratings).
	pub records: u32,
	/// Of which successes.
	pub successes: u32,
	/// Of which failures.
	pub failures: u32,
	/// Decayed, value-weighted positive evidence (millionths).
	pub positive: u128,
	/// Decayed, value-weighted negative evidence (millionths).
	pub negative: u128,
	/// Block up to which decay has been applied.
	pub decayed_at: BlockNumber,
	/// `blake2_256(previous root ‖ SCALE(record))` over all records, oldest first.
	pub root: sp_core::H256,
}
