//! # Challenge pallet
//!
//! Capability challenges that decide which miner wins a piece of work, and heartbeat leases
//! that prove a miner keeps serving it.
//!
//! ## Overview
//!
//! Another pallet (for CuTopia: Indenture) opens challenges and leases through
//! [`ChallengeApi`] and learns how they end through [`ChallengeOutcome`]. Miners, issuers and
//! anyone who wants to move a deadline along use the calls of this pallet.
//!
//! ## Terms
//!
//! - **Factorization challenge**: the issuer (the indenture's exchange) generates primes
//!   `p ≤ q` of about `bits/2` bits off-chain and posts `C = p·q` with a commitment to `p`,
//!   within `CommitWindow` blocks of the challenge opening. It *qualifies* miners; it is not
//!   a race, so the issuer, who knows `p`, cannot pre-win it.
//! - **Commit window, then reveals**: commits `factor_commitment(p, q, miner, salt)` are
//!   accepted in the `CommitWindow` blocks after the block `C` was posted in (never in that
//!   block: nobody but the issuer has seen `C` yet), each holding a deposit from its miner.
//!   Reveals of `p, q, salt` are accepted in the `RevealWindow` blocks after the commit window,
//!   so a factor seen in a reveal cannot be copied into a commit. A valid reveal returns the
//!   deposit and qualifies its miner; the deposits of commits never revealed go to the
//!   challenge's beneficiary (the buyer), so filling the `MaxCommits` commits with junk costs
//!   more than the work is worth.
//! - **Award**: once every commit is revealed or the reveal window has closed, the qualified
//!   miner the opener ranks highest ([`Eligibility::rank`]: for the marketplace, reputation
//!   then price floor) wins; ties go to the smallest `blake2_256(hash of the commit window's
//!   last block ‖ id ‖ miner)`, a hash nobody knew while commits were accepted and nobody
//!   can choose after. A qualified miner that may no longer compete is passed over.
//! - **Audit**: after the challenge concludes the issuer reveals `p` (matching its commitment);
//!   the chain checks that `C` is the product of two probable primes of about `bits/2` bits. An
//!   issuer that does not reveal within `AuditWindow`, or whose `C` is unfair, voids the
//!   challenge and is reported to the opener for a penalty.
//! - **Hash target**: the seed is derived from the context, the challenge id and the hash
//!   of the block the challenge opened in, which did not exist when the work was submitted,
//!   so solutions cannot be computed in advance; it is known, and solutions accepted, from the
//!   next block on. A nonce whose `sha256(seed ‖ miner ‖ nonce)` has `difficulty` leading
//!   zero bits wins at once. The miner's account is in the hash, so a seen solution cannot be
//!   stolen.
//! - **Heartbeat lease**: round `r` opens at `start + r·period`; its seed is
//!   `blake2_256(lease ‖ r ‖ hash of the block before it opened)`; the miner answers with a
//!   low-difficulty hash proof within `window` blocks. Answers are chained into the lease's
//!   root (the whitepaper's compute graph). Anyone may report missed rounds once their window
//!   has closed; more than `max_misses` fails the lease. An answer never ends a lease, so
//!   answers stay cheap and many fit a block: the last round's answer marks it completed and
//!   the opener ends it when the last window closes (from its agenda, through
//!   `count_missed`); an answer after too many misses is refused, the lease having failed.
//!   A miner answers all its leases' rounds in one `heartbeats` call.
//!
//! ## Fees
//!
//! A party's duty is free when it is done right: the leaseholder's heartbeat answers, the
//! winning solution, a valid reveal, the issuer posting `C` and passing its audit, reporting
//! missed rounds, concluding a challenge that is due. Each is bounded by something that was paid for (one answer per round of a
//! lease the buyer paid for, one reveal per paid commit, one solution per challenge), so a
//! free call cannot be repeated at will; a refused one (late, repeated, wrong, not the
//! party's) pays like any failed extrinsic. Without this an honest miner paid more in fees
//! than a small lease earned (docs/BENCHMARKS.md, "Fees against pay").
//!
//! ## Design
//!
//! - Difficulty is a documented function of the work's compute units
//!   ([`Pallet::factor_bits_for`], [`Pallet::hash_difficulty_for`]), clamped to runtime bounds.
//! - No hook iterates: every deadline is moved by a permissionless call (`conclude`,
//!   `report_unaudited`, `report_missed`), and the opener may also drive them from its own
//!   bounded agenda. Rounds are resolved in order with a cursor, so missed rounds are counted
//!   with arithmetic, not loops.
//! - Loops that remain are bounded by `MaxCommits` and are part of the benchmarked weights.
//! - Concluded challenges and ended leases are removed from storage; their whole story is in
//!   the events.
//!
//! ## Files
//!
//! | file | what happens there |
//! |---|---|
//! | `lib.rs` | declarations: config, storage, events, errors, hooks, calls (each delegates to a `do_*`) |
//! | `factorization.rs` | posting `C`, commits, reveals, the issuer's audit |
//! | `award.rs` | hash-target solutions, awarding, concluding, voiding |
//! | `heartbeat.rs` | heartbeat rounds, their seeds, missed rounds |
//! | `adapters.rs` | [`ChallengeApi`], what the opener calls |
//! | `math.rs` | number theory the audit and reveals check |
//! | `try_state.rs` | invariants, checked after every test and by try-runtime |
//!
//! ```text
//!  open ─▶ AwaitingModulus ─post_modulus─▶ Open ─commit window─▶ reveals ─▶ Awarded ─▶ (audit) ─▶ removed
//!  (factorization)  │                        │ (hash target: Open at once, solve wins)     │
//!                   └─not posted─▶ voided    └─nobody qualified─▶ Expired                  └─bad C / no audit─▶ voided
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::challenge";

pub use cutopia_primitives::{
	hashes::{audit_commitment, factor_commitment},
	ChallengeApi, Stake,
};

/// Balance of the currency commit deposits are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A challenge as stored.
pub type ChallengeOf<T> =
	Challenge<<T as frame_system::Config>::AccountId, BlockNumberFor<T>, BalanceOf<T>>;
pub use types::*;
pub use weights::WeightInfo;

mod adapters;
mod award;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod factorization;
mod heartbeat;
pub mod math;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
#[cfg(any(test, feature = "try-runtime"))]
mod try_state;
pub mod types;
pub mod weights;

use codec::Encode;
use frame_support::{
	defensive,
	dispatch::PostDispatchInfo,
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::*;
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	SaturatedConversion,
};

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A factorization commit's deposit, until it is revealed.
		#[codec(index = 0)]
		CommitDeposit,
	}

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config {
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// The currency commit deposits are held in.
		#[pallet::no_default]
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Mutate<Self::AccountId>;
		/// The runtime's hold reasons.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;
		/// Smallest deposit of a factorization commit; larger work asks
		/// `value / MaxCommits` (see [`Pallet::commit_deposit`]).
		#[pallet::no_default]
		#[pallet::constant]
		type MinCommitDeposit: Get<BalanceOf<Self>>;
		/// Blocks after `C` is posted in which commits are accepted (and blocks the issuer has
		/// to post `C` after the challenge opens).
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type CommitWindow: Get<BlockNumberFor<Self>>;
		/// Told how challenges and leases end.
		#[pallet::no_default_bounds]
		type Outcome: ChallengeOutcome<Self::AccountId>;
		/// Decides who may compete.
		#[pallet::no_default_bounds]
		type Eligibility: Eligibility<Self::AccountId>;
		/// Bits of the smallest factorization challenge. Even, at least 16.
		#[pallet::constant]
		type MinFactorBits: Get<u32>;
		/// Bits of the largest factorization challenge. Even, at most 4096.
		#[pallet::constant]
		type MaxFactorBits: Get<u32>;
		/// Extra bits of `C` each time the work's compute units double.
		#[pallet::constant]
		type FactorBitsPerDoubling: Get<u32>;
		/// Leading zero bits of the easiest hash-target challenge.
		#[pallet::constant]
		type MinHashDifficulty: Get<u32>;
		/// Leading zero bits of the hardest hash-target challenge (at most 256).
		#[pallet::constant]
		type MaxHashDifficulty: Get<u32>;
		/// Leading zero bits a heartbeat proof needs: low, a liveness proof, not a race.
		#[pallet::constant]
		type HeartbeatDifficulty: Get<u32>;
		/// Most commits one factorization challenge accepts.
		#[pallet::constant]
		type MaxCommits: Get<u32>;
		/// Blocks after the commit window in which reveals are accepted.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type RevealWindow: Get<BlockNumberFor<Self>>;
		/// Blocks after a factorization challenge concludes within which its issuer must
		/// reveal the secret factor.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type AuditWindow: Get<BlockNumberFor<Self>>;
		/// Most heartbeat rounds of one lease.
		#[pallet::constant]
		type MaxRounds: Get<u32>;
		/// Most answers one `heartbeats` call carries.
		#[pallet::constant]
		type MaxHeartbeatAnswers: Get<u32>;
		/// Extra Miller–Rabin bases, drawn from a block hash, in the audit.
		#[pallet::constant]
		type AuditPrimalityRounds: Get<u32>;
	}

	/// Default configurations of this pallet for test runtimes.
	pub mod config_preludes {
		use super::*;
		use frame_support::{
			derive_impl, register_default_impl,
			traits::{ConstU32, ConstU64},
		};

		/// What the pallet's own tests and other pallets' mocks (blocks in `u64`) use; a mock
		/// overrides what its tests need differently (and names its `Outcome` and
		/// `Eligibility`).
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			type WeightInfo = ();
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type CommitWindow = ConstU64<3>;
			type Outcome = ();
			type Eligibility = ();
			type MinFactorBits = ConstU32<48>;
			type MaxFactorBits = ConstU32<160>;
			type FactorBitsPerDoubling = ConstU32<4>;
			type MinHashDifficulty = ConstU32<4>;
			type MaxHashDifficulty = ConstU32<20>;
			type HeartbeatDifficulty = ConstU32<4>;
			type MaxCommits = ConstU32<4>;
			type RevealWindow = ConstU64<5>;
			type AuditWindow = ConstU64<10>;
			type MaxRounds = ConstU32<100>;
			type MaxHeartbeatAnswers = ConstU32<8>;
			type AuditPrimalityRounds = ConstU32<4>;
		}
	}

	/// The id the next challenge gets.
	#[pallet::storage]
	pub type NextChallengeId<T> = StorageValue<_, ChallengeId, ValueQuery>;

	/// Challenges that are open or whose audit is pending.
	#[pallet::storage]
	pub type Challenges<T: Config> = StorageMap<_, Twox64Concat, ChallengeId, ChallengeOf<T>>;

	/// How many challenges each issuer (exchange) has open or awaiting its audit, by context
	/// (an indenture): what its agent serves, found without scanning every challenge on the
	/// chain. Counted by context rather than listed by challenge so that the slots of one
	/// indenture, opened together, cost one write, not one each.
	#[pallet::storage]
	pub type IssuedBy<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Twox64Concat,
		ContextId,
		u32,
		ValueQuery,
	>;

	/// Commits of open factorization challenges, by sequence number (earliest first).
	#[pallet::storage]
	pub type Commits<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		ChallengeId,
		Twox64Concat,
		u32,
		Commit<T::AccountId, BlockNumberFor<T>>,
	>;

	/// The sequence number of each miner's commit to a challenge.
	#[pallet::storage]
	pub type CommitOf<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ChallengeId, Blake2_128Concat, T::AccountId, u32>;

	/// The id the next lease gets.
	#[pallet::storage]
	pub type NextLeaseId<T> = StorageValue<_, LeaseId, ValueQuery>;

	/// Active heartbeat leases.
	#[pallet::storage]
	pub type Leases<T: Config> =
		StorageMap<_, Twox64Concat, LeaseId, HeartbeatLease<T::AccountId, BlockNumberFor<T>>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	// Each variant's doc names what its fields mean.
	#[allow(missing_docs)]
	pub enum Event<T: Config> {
		/// A challenge was opened.
		ChallengeOpened {
			id: ChallengeId,
			context: ContextId,
			kind: ChallengeKind,
			deadline: BlockNumberFor<T>,
		},
		/// The issuer posted `C`; commits are accepted from the next block until
		/// `commits_until`, reveals for `RevealWindow` blocks after that.
		ModulusPosted {
			id: ChallengeId,
			bits: u32,
			modulus: Number,
			commits_until: BlockNumberFor<T>,
		},
		/// A miner committed to an answer, holding `deposit` until it reveals.
		Committed { id: ChallengeId, who: T::AccountId, seq: u32, deposit: BalanceOf<T> },
		/// A miner revealed a valid answer: it qualifies, and its deposit is returned.
		Revealed { id: ChallengeId, who: T::AccountId, seq: u32 },
		/// A commit was never revealed: its deposit went to the challenge's beneficiary.
		DepositForfeited {
			id: ChallengeId,
			who: T::AccountId,
			amount: BalanceOf<T>,
			to: T::AccountId,
		},
		/// The challenge was won.
		Awarded { id: ChallengeId, context: ContextId, winner: T::AccountId },
		/// Nobody solved the challenge in time.
		Expired { id: ChallengeId, context: ContextId },
		/// The issuer failed its duty; the challenge is void.
		Voided { id: ChallengeId, context: ContextId, issuer: T::AccountId },
		/// The issuer revealed its factor and `C` was a fair semiprime.
		AuditPassed { id: ChallengeId, p: Number },
		/// The challenge was withdrawn by its opener.
		Cancelled { id: ChallengeId },
		/// A heartbeat lease started.
		LeaseStarted { lease: LeaseId, context: ContextId, miner: T::AccountId, rounds: u32 },
		/// A heartbeat round was proven; `root` is the lease's new root.
		HeartbeatProven { lease: LeaseId, round: u32, nonce: u64, root: H256 },
		/// Rounds were missed.
		HeartbeatsMissed { lease: LeaseId, newly_missed: u32, total_missed: u32 },
		/// The lease ended.
		LeaseEnded { lease: LeaseId, outcome: LeaseOutcome, proven: u32, missed: u32, root: H256 },
		/// The lease was stopped by its opener.
		LeaseStopped { lease: LeaseId, proven: u32, missed: u32, root: H256 },
		/// One answer of a `heartbeats` call was refused (the others were taken).
		HeartbeatRefused { lease: LeaseId, round: u32, error: DispatchError },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such challenge.
		UnknownChallenge,
		/// No such lease.
		UnknownLease,
		/// The call does not apply to this kind of challenge.
		WrongKind,
		/// Only the challenge's issuer may do this.
		NotIssuer,
		/// Only the lease's miner may answer its heartbeats.
		NotMiner,
		/// The challenge is not waiting for its modulus.
		NotAwaitingModulus,
		/// The challenge is not open.
		NotOpen,
		/// The deadline has passed.
		DeadlinePassed,
		/// A number is empty or has a leading zero byte.
		NonCanonicalNumber,
		/// A number is longer than this challenge allows.
		NumberTooLong,
		/// `C` does not have the challenge's bit length.
		WrongModulusSize,
		/// The caller may not compete for this challenge.
		NotEligible,
		/// The caller already committed to this challenge.
		AlreadyCommitted,
		/// The challenge has taken all the commits it can.
		TooManyCommits,
		/// The caller has no commit to reveal.
		NoCommit,
		/// The commit was already revealed.
		AlreadyRevealed,
		/// Commits open in the block after `C` was posted.
		CommitWindowNotOpen,
		/// The commit window has closed.
		CommitWindowClosed,
		/// The commit cannot hold its deposit: the miner's free balance is too small.
		CannotHoldDeposit,
		/// Reveals open when the commit window has closed.
		RevealTooEarly,
		/// The reveal window has closed.
		RevealWindowClosed,
		/// The revealed values do not match the commitment.
		CommitmentMismatch,
		/// `p` must be greater than 1.
		FactorTooSmall,
		/// `p` must not exceed `q`.
		FactorsOutOfOrder,
		/// `p · q` is not `C`.
		WrongFactors,
		/// The proof hash does not meet the target.
		TargetNotMet,
		/// The challenge cannot conclude yet.
		NotConcludable,
		/// The audit is not pending for this challenge.
		AuditNotPending,
		/// The audit window has closed.
		AuditWindowClosed,
		/// The audit window is still open.
		AuditWindowOpen,
		/// The challenge has already been won.
		AlreadyAwarded,
		/// The lease is not active.
		LeaseNotActive,
		/// This round is not accepting answers now.
		RoundNotOpen,
		/// This round was already answered or counted as missed.
		RoundResolved,
		/// No round's window has closed unanswered.
		NothingMissed,
		/// Lease parameters out of bounds (rounds, period, window).
		BadLeaseParameters,
		/// The deadline is not in the future.
		BadDeadline,
		/// The lease missed more rounds than it may before this one: it has failed (reporting
		/// the misses ends it).
		LeaseFailed,
		/// A `heartbeats` call with no answers.
		NoAnswers,
		/// A hash-target seed is known from the block after the challenge opened.
		SeedNotYetKnown,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			let (min, max) = (T::MinFactorBits::get(), T::MaxFactorBits::get());
			assert!(min >= 16 && min % 2 == 0, "MinFactorBits must be even and >= 16");
			assert!(max >= min && max % 2 == 0, "MaxFactorBits must be even and >= MinFactorBits");
			assert!(
				max <= <MaxNumberBytes as Get<u32>>::get() * 8,
				"MaxFactorBits exceeds MaxNumberBytes"
			);
			assert!(T::MinHashDifficulty::get() <= T::MaxHashDifficulty::get());
			assert!(T::MaxHashDifficulty::get() <= 256);
			assert!(T::HeartbeatDifficulty::get() <= 64, "heartbeats must stay cheap");
			assert!(T::MaxCommits::get() > 0);
			assert!(!T::RevealWindow::get().is_zero());
			assert!(!T::CommitWindow::get().is_zero());
			assert!(!T::AuditWindow::get().is_zero());
			assert!(T::MaxRounds::get() > 0);
			assert!(T::MaxHeartbeatAnswers::get() > 0);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// The issuer posts `C` (big-endian, exactly the challenge's bit length) and its
		/// commitment [`audit_commitment`] to the smaller secret factor. Free when taken: it
		/// is the issuer's duty, once per challenge (see "Fees" in the crate docs).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::post_modulus())]
		pub fn post_modulus(
			origin: OriginFor<T>,
			id: ChallengeId,
			modulus: Number,
			factor_commitment: H256,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_post_modulus(who, id, modulus, factor_commitment)?;
			Ok(Pays::No.into())
		}

		/// A miner commits to its answer: [`factor_commitment`]`(p, q, miner, salt)`, in the
		/// commit window, holding [`Pallet::commit_deposit`] until it reveals.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::commit().saturating_add(T::Eligibility::weight()))]
		pub fn commit(origin: OriginFor<T>, id: ChallengeId, hash: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit(who, id, hash)
		}

		/// A miner reveals the factors it committed to, after the commit window: `1 < p ≤ q`,
		/// `p·q = C`, both canonical big-endian. The miner qualifies and its deposit is
		/// returned; the last commit's reveal awards the challenge. Free when valid: one
		/// reveal per paid commit.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::reveal(T::MaxFactorBits::get(), T::MaxCommits::get())
			.saturating_add(T::Outcome::decision_weight())
			.saturating_add(T::Eligibility::weight())
			.saturating_add(Pallet::<T>::award_checks_weight()))]
		pub fn reveal(
			origin: OriginFor<T>,
			id: ChallengeId,
			p: Number,
			q: Number,
			salt: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (bits, commits, decided) = Self::do_reveal(who, id, p, q, salt)?;
			// Charged for the commits there are, and for ranking them only when this reveal
			// decided the challenge: the declared weight assumes `MaxCommits` of both.
			let mut used =
				T::WeightInfo::reveal(bits, commits).saturating_add(T::Eligibility::weight());
			if decided {
				used = used
					.saturating_add(T::Outcome::decision_weight())
					.saturating_add(Self::ranking_weight(commits));
			}
			Ok(PostDispatchInfo { actual_weight: Some(used), pays_fee: Pays::No })
		}

		/// A miner solves a hash-target challenge with `nonce`; the first valid solution wins.
		/// Free for the winner (there is one per challenge); a late or wrong solution pays.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::solve()
			.saturating_add(T::Outcome::decision_weight())
			.saturating_add(T::Eligibility::weight()))]
		pub fn solve(
			origin: OriginFor<T>,
			id: ChallengeId,
			nonce: u64,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_solve(who, id, nonce)?;
			Ok(Pays::No.into())
		}

		/// Anyone moves a challenge that is due: awards it to the best-ranked qualified miner
		/// once the reveal window has closed, expires it if nobody qualified (or solved it by
		/// its deadline), or voids it if the issuer did not post `C` in time. Free when it
		/// decides the challenge (once per challenge).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::conclude(T::MaxCommits::get())
			.saturating_add(T::Outcome::decision_weight())
			.saturating_add(Pallet::<T>::award_checks_weight()))]
		pub fn conclude(origin: OriginFor<T>, id: ChallengeId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let commits = Self::do_conclude(id)?;
			let used = T::WeightInfo::conclude(commits)
				.saturating_add(T::Outcome::decision_weight())
				.saturating_add(Self::ranking_weight(commits));
			Ok(PostDispatchInfo { actual_weight: Some(used), pays_fee: Pays::No })
		}

		/// The issuer reveals its secret factor `p` (matching its commitment) once the
		/// challenge is awarded or expired. If `C` is not the product of two probable primes
		/// of about `bits/2` bits, the challenge is voided and the issuer reported. Free when
		/// the audit passes.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::reveal_factor()
			.saturating_add(T::Outcome::decision_weight()))]
		pub fn reveal_factor(
			origin: OriginFor<T>,
			id: ChallengeId,
			p: Number,
			salt: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let fair = Self::do_reveal_factor(who, id, p, salt)?;
			Ok(if fair { Pays::No } else { Pays::Yes }.into())
		}

		/// Anyone reports an issuer that did not reveal its factor within the audit window:
		/// the challenge is voided and the issuer reported.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::report_unaudited().saturating_add(T::Outcome::decision_weight()))]
		pub fn report_unaudited(origin: OriginFor<T>, id: ChallengeId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_report_unaudited(id)
		}

		/// The lease's miner answers heartbeat `round` with `nonce`:
		/// `sha256(round seed ‖ miner ‖ nonce)` must have `HeartbeatDifficulty` leading zero
		/// bits. Earlier rounds still unresolved count as missed.
		///
		/// Free when taken: answering is the leaseholder's duty, one answer a round, and its
		/// pay per round must not go to fees. A refused answer (late, repeated, wrong) pays.
		/// Charged only its own work: a lease this answer decides is ended from the opener's
		/// agenda, not here.
		#[pallet::call_index(7)]
		#[pallet::weight(Pallet::<T>::heartbeat_answer_weight())]
		pub fn heartbeat(
			origin: OriginFor<T>,
			lease: LeaseId,
			round: u32,
			nonce: u64,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_heartbeat(&who, lease, round, nonce)?;
			Ok(Pays::No.into())
		}

		/// Anyone counts the rounds of a lease whose window closed unanswered. Free when it
		/// finds some: keeping miners honest should cost the reporter nothing.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::report_missed().saturating_add(T::Outcome::max_weight().saturating_mul(2)))]
		pub fn report_missed(origin: OriginFor<T>, lease: LeaseId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			Self::do_report_missed(lease)?;
			Ok(Pays::No.into())
		}

		/// A miner answers rounds of any of its leases at once, each as `heartbeat` would
		/// take it; a refused answer is reported in a `HeartbeatRefused` event and the rest
		/// are still taken (the call fails only when none is).
		///
		/// Free when every answer is taken; when any is refused the call pays its weight, so
		/// an agent sends only answers whose window it knows is open.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::heartbeats(answers.len() as u32)
			.saturating_add(T::Outcome::heartbeat_weight().saturating_mul(answers.len() as u64)))]
		pub fn heartbeats(
			origin: OriginFor<T>,
			answers: BoundedVec<HeartbeatAnswer, T::MaxHeartbeatAnswers>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			ensure!(!answers.is_empty(), Error::<T>::NoAnswers);
			let taken = Self::do_heartbeats(&who, &answers)?;
			let pays = if taken as usize == answers.len() { Pays::No } else { Pays::Yes };
			Ok(pays.into())
		}
	}
}
