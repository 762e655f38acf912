//! Types stored and exchanged by RepChain.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::Permill;

pub use cutopia_primitives::{
	Endpoint, Executor, Executors, Name, Outcome, Resources, Role, WorkRecord,
};

/// What a registration says about its holder.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum Profile<Balance> {
	/// A miner's offer.
	Miner {
		/// Declared resources.
		resources: Resources,
		/// How it runs work: the executors it offers, each named once.
		executors: Executors,
		/// Lowest price per compute unit it accepts, in base units of CU.
		price_floor: Balance,
		/// Where buyers reach its leases (host:port or URL).
		endpoint: Endpoint,
		/// Public addresses it can dedicate to services that ask for one, each to one slot
		/// at a time.
		addresses: u16,
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

/// A subject's aggregate reputation.
///
/// `positive` and `negative` are the Beta distribution's evidence, in millionths, decayed by
/// `DecayFactor` every `DecayPeriod` blocks so old behaviour counts less than recent behaviour.
// Stored and read, never a call argument: no `DecodeWithMemTracking`.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Default, TypeInfo, MaxEncodedLen)]
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
