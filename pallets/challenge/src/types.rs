//! Types stored and exchanged by the Challenge pallet.

use codec::{Decode, Encode, MaxEncodedLen};
use core::fmt::Debug;
use frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use sp_core::H256;

pub use cutopia_primitives::{
	ChallengeId, ChallengeKind, ChallengeOutcome, ContextId, Eligibility, LeaseId, LeaseOutcome,
};

/// The largest number, in bytes, any runtime may configure (4096 bits); the runtime's own
/// `MaxModulusBits` is the bound that is enforced.
pub type MaxNumberBytes = ConstU32<512>;
/// A big-endian unsigned number as sent by users.
pub type Number = BoundedVec<u8, MaxNumberBytes>;

/// Kind-specific state of a challenge.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub enum Puzzle {
	/// A factorization challenge.
	Factorization {
		/// Bit length `C` must have exactly.
		bits: u32,
		/// `C`, big-endian; empty until the issuer posts it.
		modulus: Number,
		/// `blake2_256(SCALE(("cutopia/factor-audit", p, salt)))` posted with `C`.
		factor_commitment: H256,
		/// Where the issuer's audit stands.
		audit: Audit,
	},
	/// A hash-target challenge. Its seed is [`hash_target_seed`] of the hash of the block it
	/// opened in ([`crate::Pallet::hash_target_seed_of`]): known from the next block on, never
	/// before the work was public.
	///
	/// [`hash_target_seed`]: cutopia_primitives::hashes::hash_target_seed
	HashTarget {
		/// Leading zero bits the proof hash needs.
		difficulty: u32,
	},
}

/// The issuer's audit of a factorization challenge: revealing the secret factor shows `C`
/// was a fair semiprime.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub enum Audit {
	/// The factor has not been revealed yet.
	Pending,
	/// The factor was revealed and `C` is the product of two primes of about `bits/2`.
	Passed,
	/// The issuer did not reveal in time, or `C` was not a fair semiprime.
	Failed,
}

/// Where a challenge is in its life.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub enum ChallengeStatus<AccountId> {
	/// Factorization only: waiting for the issuer to post `C`.
	AwaitingModulus,
	/// Accepting commits (factorization) or solutions (hash target).
	Open,
	/// Won by this miner.
	Awarded(AccountId),
	/// Nobody solved it before the deadline.
	Expired,
	/// Cancelled: the issuer failed the audit or never posted `C`.
	Voided,
}

/// A capability challenge.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Challenge<AccountId, BlockNumber, Balance> {
	/// What this challenge decides (the indenture).
	pub context: ContextId,
	/// Who posts `C` and answers for it (the exchange); `None` for hash targets.
	pub issuer: Option<AccountId>,
	/// The work's compute units; difficulty grows with them.
	pub work: u64,
	/// The puzzle.
	pub puzzle: Puzzle,
	/// Where it stands.
	pub status: ChallengeStatus<AccountId>,
	/// Block it was opened in.
	pub opened: BlockNumber,
	/// Hash target: last block a solution is accepted in. Factorization: the issuer posts
	/// `C` by this block or `CommitWindow` blocks after opening, whichever comes first.
	pub deadline: BlockNumber,
	/// Factorization: block `C` was posted in. Commits are accepted in the `CommitWindow`
	/// blocks after it, reveals in the `RevealWindow` blocks after those.
	pub posted: Option<BlockNumber>,
	/// Factorization: commits received so far (their sequence numbers are `0..commits`).
	pub commits: u32,
	/// Factorization: commits revealed with valid factors.
	pub revealed: u32,
	/// Factorization: what each commit holds from its miner until it is revealed.
	pub deposit: Balance,
	/// Factorization: who gets the deposits of commits never revealed (the buyer).
	pub beneficiary: AccountId,
	/// Block the challenge was awarded, expired or voided in.
	pub concluded: Option<BlockNumber>,
}

/// A miner's sealed answer to a factorization challenge.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Commit<AccountId, BlockNumber> {
	/// The miner.
	pub who: AccountId,
	/// `factor_commitment(p, q, miner, salt)`.
	pub hash: H256,
	/// Block of the commit.
	pub block: BlockNumber,
	/// Whether a valid reveal was made for it.
	pub revealed: bool,
}

/// Where a heartbeat lease is.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub enum LeaseStatus {
	/// Rounds are running.
	Active,
	/// Every round was resolved without too many misses.
	Completed,
	/// More rounds were missed than allowed.
	Failed,
	/// Ended early by the lease's owner (for example a cancelled indenture).
	Stopped,
}

/// A miner's obligation to answer a heartbeat round every `period` blocks.
///
/// Round `r` opens at `start + r·period` and accepts answers for `window` blocks. Rounds are
/// resolved in order: `cursor` is the first round not yet answered or counted as missed, so
/// counting misses is arithmetic, never a loop over rounds.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct HeartbeatLease<AccountId, BlockNumber> {
	/// What the lease serves (the indenture).
	pub context: ContextId,
	/// Who must answer.
	pub miner: AccountId,
	/// Block round 0 opens in.
	pub start: BlockNumber,
	/// Blocks between rounds.
	pub period: u32,
	/// Blocks a round accepts answers for (at most `period`).
	pub window: u32,
	/// Number of rounds.
	pub rounds: u32,
	/// Leading zero bits a heartbeat proof needs.
	pub difficulty: u32,
	/// More misses than this fail the lease.
	pub max_misses: u32,
	/// First round not yet resolved.
	pub cursor: u32,
	/// Rounds answered.
	pub proven: u32,
	/// Rounds missed.
	pub missed: u32,
	/// Hash chain over the answered rounds: `root = blake2_256(root ‖ round ‖ nonce)`.
	pub root: H256,
	/// Where it stands.
	pub status: LeaseStatus,
}

/// One heartbeat answer in a `heartbeats` call: `round` of `lease` answered with `nonce`.
#[derive(
	Encode,
	Decode,
	codec::DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct HeartbeatAnswer {
	/// The lease.
	pub lease: LeaseId,
	/// The round answered.
	pub round: u32,
	/// The proof: `sha256(round seed ‖ miner ‖ nonce)` meets the lease's difficulty.
	pub nonce: u64,
}
