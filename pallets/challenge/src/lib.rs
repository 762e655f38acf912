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
//!   `p ≤ q` of about `bits/2` bits off-chain and posts `C = p·q` with a commitment to `p`.
//!   Miners race to factor `C`.
//! - **Commit–reveal**: a miner first commits `factor_commitment(p, q, miner, salt)`, then,
//!   in a later block and within `RevealWindow` blocks, reveals `p, q, salt`. The valid reveal
//!   with the **earliest commit** wins, so copying an answer seen in a reveal never pays: the
//!   copier's commit comes after the honest one.
//! - **Audit**: after the challenge concludes the issuer reveals `p` (matching its commitment);
//!   the chain checks that `C` is the product of two probable primes of about `bits/2` bits. An
//!   issuer that does not reveal within `AuditWindow`, or whose `C` is unfair, voids the
//!   challenge and is reported to the opener for a penalty.
//! - **Hash target**: the seed is derived on-chain from the context, the challenge id and the
//!   parent block hash; a nonce whose `sha256(seed ‖ miner ‖ nonce)` has `difficulty` leading
//!   zero bits wins at once. The miner's account is in the hash, so a seen solution cannot be
//!   stolen.
//! - **Heartbeat lease**: round `r` opens at `start + r·period`; its seed is
//!   `blake2_256(lease ‖ r ‖ hash of the block before it opened)`; the miner answers with a
//!   low-difficulty hash proof within `window` blocks. Answers are chained into the lease's
//!   root (the whitepaper's compute graph). Anyone may report missed rounds once their window
//!   has closed; more than `max_misses` fails the lease.
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
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::challenge";
pub use cutopia_primitives::{
	hashes::{audit_commitment, factor_commitment},
	ChallengeApi,
};
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod math;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use codec::Encode;
use frame_support::pallet_prelude::*;
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

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config {
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
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
		/// Blocks after its commit within which a reveal is accepted.
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
			type AuditPrimalityRounds = ConstU32<4>;
		}
	}

	/// The id the next challenge gets.
	#[pallet::storage]
	pub type NextChallengeId<T> = StorageValue<_, ChallengeId, ValueQuery>;

	/// Challenges that are open or whose audit is pending.
	#[pallet::storage]
	pub type Challenges<T: Config> =
		StorageMap<_, Twox64Concat, ChallengeId, Challenge<T::AccountId, BlockNumberFor<T>>>;

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
		/// The issuer posted `C`; the factorization challenge is open.
		ModulusPosted { id: ChallengeId, bits: u32, modulus: Number },
		/// A miner committed to an answer.
		Committed { id: ChallengeId, who: T::AccountId, seq: u32 },
		/// A miner revealed a valid answer.
		Revealed { id: ChallengeId, who: T::AccountId, seq: u32 },
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
		/// A reveal must come in a block after its commit.
		RevealTooEarly,
		/// The reveal window of this commit has closed.
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
			assert!(!T::AuditWindow::get().is_zero());
			assert!(T::MaxRounds::get() > 0);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// The issuer posts `C` (big-endian, exactly the challenge's bit length) and its
		/// commitment [`audit_commitment`] to the smaller secret factor.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::post_modulus())]
		pub fn post_modulus(
			origin: OriginFor<T>,
			id: ChallengeId,
			modulus: Number,
			factor_commitment: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			ensure!(c.issuer.as_ref() == Some(&who), Error::<T>::NotIssuer);
			ensure!(c.status == ChallengeStatus::AwaitingModulus, Error::<T>::NotAwaitingModulus);
			ensure!(Self::now() <= c.deadline, Error::<T>::DeadlinePassed);
			ensure!(math::is_canonical(&modulus), Error::<T>::NonCanonicalNumber);
			let Puzzle::Factorization { bits, .. } = c.puzzle else {
				return Err(Error::<T>::WrongKind.into());
			};
			ensure!(math::bit_len(&modulus) == bits, Error::<T>::WrongModulusSize);
			c.puzzle = Puzzle::Factorization {
				bits,
				modulus: modulus.clone(),
				factor_commitment,
				audit: Audit::Pending,
			};
			c.status = ChallengeStatus::Open;
			Challenges::<T>::insert(id, c);
			Self::deposit_event(Event::ModulusPosted { id, bits, modulus });
			Ok(())
		}

		/// A miner commits to its answer: [`factor_commitment`]`(p, q, miner, salt)`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::commit().saturating_add(T::Eligibility::weight()))]
		pub fn commit(origin: OriginFor<T>, id: ChallengeId, hash: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			ensure!(matches!(c.puzzle, Puzzle::Factorization { .. }), Error::<T>::WrongKind);
			ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
			let now = Self::now();
			ensure!(now <= c.deadline, Error::<T>::DeadlinePassed);
			ensure!(!CommitOf::<T>::contains_key(id, &who), Error::<T>::AlreadyCommitted);
			ensure!(c.commits < T::MaxCommits::get(), Error::<T>::TooManyCommits);
			ensure!(T::Eligibility::may_compete(c.context, &who), Error::<T>::NotEligible);
			let seq = c.commits;
			Commits::<T>::insert(
				id,
				seq,
				Commit { who: who.clone(), hash, block: now, revealed: false },
			);
			CommitOf::<T>::insert(id, &who, seq);
			c.commits = seq.saturating_add(1);
			c.last_commit = now;
			Challenges::<T>::insert(id, c);
			Self::deposit_event(Event::Committed { id, who, seq });
			Ok(())
		}

		/// A miner reveals the factors it committed to: `1 < p ≤ q`, `p·q = C`, both canonical
		/// big-endian. If no earlier commit can still be revealed, the challenge is awarded.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::reveal(T::MaxFactorBits::get(), T::MaxCommits::get())
			.saturating_add(T::Outcome::max_weight()))]
		pub fn reveal(
			origin: OriginFor<T>,
			id: ChallengeId,
			p: Number,
			q: Number,
			salt: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			let Puzzle::Factorization { bits, ref modulus, .. } = c.puzzle else {
				return Err(Error::<T>::WrongKind.into());
			};
			ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
			let seq = CommitOf::<T>::get(id, &who).ok_or(Error::<T>::NoCommit)?;
			let mut commit = Commits::<T>::get(id, seq).ok_or(Error::<T>::NoCommit)?;
			ensure!(!commit.revealed, Error::<T>::AlreadyRevealed);
			let now = Self::now();
			ensure!(now > commit.block, Error::<T>::RevealTooEarly);
			ensure!(
				now <= commit.block.saturating_add(T::RevealWindow::get()),
				Error::<T>::RevealWindowClosed
			);
			ensure!(
				math::is_canonical(&p) && math::is_canonical(&q),
				Error::<T>::NonCanonicalNumber
			);
			ensure!(
				math::bit_len(&p) <= bits && math::bit_len(&q) <= bits,
				Error::<T>::NumberTooLong
			);
			ensure!(
				factor_commitment(&p, &q, &who, &salt) == commit.hash,
				Error::<T>::CommitmentMismatch
			);
			let (pn, qn) = (math::from_be(&p), math::from_be(&q));
			ensure!(pn > num_bigint::BigUint::from(1u32), Error::<T>::FactorTooSmall);
			ensure!(pn <= qn, Error::<T>::FactorsOutOfOrder);
			ensure!(pn * qn == math::from_be(modulus), Error::<T>::WrongFactors);

			commit.revealed = true;
			Commits::<T>::insert(id, seq, commit);
			if c.best.is_none_or(|b| seq < b) {
				c.best = Some(seq);
			}
			Self::deposit_event(Event::Revealed { id, who, seq });
			if !Self::try_award(id, &mut c, now) {
				Challenges::<T>::insert(id, c);
			}
			Ok(())
		}

		/// A miner solves a hash-target challenge with `nonce`; the first valid solution wins.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::solve()
			.saturating_add(T::Outcome::max_weight())
			.saturating_add(T::Eligibility::weight()))]
		pub fn solve(origin: OriginFor<T>, id: ChallengeId, nonce: u64) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			let Puzzle::HashTarget { difficulty, seed } = c.puzzle else {
				return Err(Error::<T>::WrongKind.into());
			};
			ensure!(c.status == ChallengeStatus::Open, Error::<T>::NotOpen);
			let now = Self::now();
			ensure!(now <= c.deadline, Error::<T>::DeadlinePassed);
			ensure!(T::Eligibility::may_compete(c.context, &who), Error::<T>::NotEligible);
			let hash = math::work_hash(&seed.0, &who.encode(), nonce);
			ensure!(math::leading_zero_bits(&hash) >= difficulty, Error::<T>::TargetNotMet);
			c.status = ChallengeStatus::Awarded(who.clone());
			c.concluded = Some(now);
			Self::finish_awarded(id, c, who);
			Ok(())
		}

		/// Anyone moves a challenge past its deadline: awards it to the earliest valid reveal
		/// once no earlier commit can still be revealed, expires it if nobody solved it, or
		/// voids it if the issuer never posted `C`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::conclude(T::MaxCommits::get())
			.saturating_add(T::Outcome::max_weight()))]
		pub fn conclude(origin: OriginFor<T>, id: ChallengeId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_conclude(id)
		}

		/// The issuer reveals its secret factor `p` (matching its commitment) once the
		/// challenge is awarded or expired. If `C` is not the product of two probable primes
		/// of about `bits/2` bits, the challenge is voided and the issuer reported.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::reveal_factor()
			.saturating_add(T::Outcome::max_weight()))]
		pub fn reveal_factor(
			origin: OriginFor<T>,
			id: ChallengeId,
			p: Number,
			salt: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			ensure!(c.issuer.as_ref() == Some(&who), Error::<T>::NotIssuer);
			let Puzzle::Factorization { bits, ref modulus, factor_commitment, audit } = c.puzzle
			else {
				return Err(Error::<T>::WrongKind.into());
			};
			ensure!(audit == Audit::Pending, Error::<T>::AuditNotPending);
			ensure!(
				matches!(c.status, ChallengeStatus::Awarded(_) | ChallengeStatus::Expired),
				Error::<T>::AuditNotPending
			);
			let concluded = c.concluded.unwrap_or(c.deadline);
			ensure!(
				Self::now() <= concluded.saturating_add(T::AuditWindow::get()),
				Error::<T>::AuditWindowClosed
			);
			ensure!(math::is_canonical(&p), Error::<T>::NonCanonicalNumber);
			ensure!(math::bit_len(&p) <= bits, Error::<T>::NumberTooLong);
			ensure!(
				audit_commitment(&p, &salt) == factor_commitment,
				Error::<T>::CommitmentMismatch
			);
			if Self::is_fair_semiprime(&math::from_be(modulus), &math::from_be(&p), bits) {
				Challenges::<T>::remove(id);
				Self::deposit_event(Event::AuditPassed { id, p });
			} else {
				Self::void(id, c, who);
			}
			Ok(())
		}

		/// Anyone reports an issuer that did not reveal its factor within the audit window:
		/// the challenge is voided and the issuer reported.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::report_unaudited().saturating_add(T::Outcome::max_weight()))]
		pub fn report_unaudited(origin: OriginFor<T>, id: ChallengeId) -> DispatchResult {
			ensure_signed(origin)?;
			let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			let Puzzle::Factorization { audit, .. } = c.puzzle else {
				return Err(Error::<T>::WrongKind.into());
			};
			ensure!(
				audit == Audit::Pending
					&& matches!(c.status, ChallengeStatus::Awarded(_) | ChallengeStatus::Expired),
				Error::<T>::AuditNotPending
			);
			let concluded = c.concluded.unwrap_or(c.deadline);
			ensure!(
				Self::now() > concluded.saturating_add(T::AuditWindow::get()),
				Error::<T>::AuditWindowOpen
			);
			let issuer = c.issuer.clone().ok_or(Error::<T>::WrongKind)?;
			Self::void(id, c, issuer);
			Ok(())
		}

		/// The lease's miner answers heartbeat `round` with `nonce`:
		/// `sha256(round seed ‖ miner ‖ nonce)` must have `HeartbeatDifficulty` leading zero
		/// bits. Earlier rounds still unresolved count as missed.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::heartbeat().saturating_add(T::Outcome::max_weight().saturating_mul(3)))]
		pub fn heartbeat(
			origin: OriginFor<T>,
			lease: LeaseId,
			round: u32,
			nonce: u64,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut l = Leases::<T>::get(lease).ok_or(Error::<T>::UnknownLease)?;
			ensure!(l.miner == who, Error::<T>::NotMiner);
			ensure!(l.status == LeaseStatus::Active, Error::<T>::LeaseNotActive);
			ensure!(round < l.rounds, Error::<T>::RoundNotOpen);
			ensure!(round >= l.cursor, Error::<T>::RoundResolved);
			let now = Self::now();
			let open = Self::round_open(&l, round);
			ensure!(
				now >= open && now < open.saturating_add(l.window.into()),
				Error::<T>::RoundNotOpen
			);
			let seed = Self::round_seed(lease, round, open);
			let hash = math::work_hash(&seed.0, &who.encode(), nonce);
			ensure!(math::leading_zero_bits(&hash) >= l.difficulty, Error::<T>::TargetNotMet);

			let newly_missed = round - l.cursor;
			l.cursor = round.saturating_add(1);
			l.proven = l.proven.saturating_add(1);
			l.root = cutopia_primitives::hashes::heartbeat_root(&l.root, round, nonce);
			Self::deposit_event(Event::HeartbeatProven { lease, round, nonce, root: l.root });
			T::Outcome::heartbeat_proven(l.context, lease, round);
			Self::record_misses(lease, l, newly_missed);
			Ok(())
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
	}

	impl<T: Config> Pallet<T> {
		pub(crate) fn now() -> BlockNumberFor<T> {
			frame_system::Pallet::<T>::block_number()
		}

		/// Bits of `C` for work of `work` compute units:
		/// `MinFactorBits + FactorBitsPerDoubling · ⌊log2(work)⌋`, rounded down to even and
		/// clamped to `[MinFactorBits, MaxFactorBits]`.
		pub fn factor_bits_for(work: u64) -> u32 {
			let log = work.max(1).ilog2();
			let bits = T::MinFactorBits::get()
				.saturating_add(T::FactorBitsPerDoubling::get().saturating_mul(log));
			(bits & !1).clamp(T::MinFactorBits::get(), T::MaxFactorBits::get())
		}

		/// Leading zero bits of a hash-target challenge for `work` compute units:
		/// `MinHashDifficulty + ⌊log2(work)⌋`, clamped to the runtime bounds.
		pub fn hash_difficulty_for(work: u64) -> u32 {
			T::MinHashDifficulty::get()
				.saturating_add(work.max(1).ilog2())
				.clamp(T::MinHashDifficulty::get(), T::MaxHashDifficulty::get())
		}

		/// The block round `round` of lease `l` opens in.
		pub fn round_open(
			l: &HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
			round: u32,
		) -> BlockNumberFor<T> {
			l.start.saturating_add(BlockNumberFor::<T>::from(round.saturating_mul(l.period)))
		}

		/// The seed of a round: fixed once its opening block's parent is known.
		pub fn round_seed(lease: LeaseId, round: u32, open: BlockNumberFor<T>) -> H256 {
			let parent = frame_system::Pallet::<T>::block_hash(open.saturating_sub(One::one()));
			cutopia_primitives::hashes::heartbeat_seed(lease, round, &parent)
		}

		/// How many rounds of `l` have closed by `now` (answered or not).
		pub fn closed_rounds(
			l: &HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
			now: BlockNumberFor<T>,
		) -> u32 {
			let first_close = l.start.saturating_add(l.window.into());
			if now < first_close {
				return 0;
			}
			let since: u32 = (now - first_close).saturated_into();
			since.checked_div(l.period).unwrap_or(0).saturating_add(1).min(l.rounds)
		}

		/// Whether `c = p · (c / p)` with both factors probable primes whose bit lengths are
		/// within 2 of `bits / 2`.
		pub fn is_fair_semiprime(
			c: &num_bigint::BigUint,
			p: &num_bigint::BigUint,
			bits: u32,
		) -> bool {
			use num_traits::Zero;
			if p.is_zero() || !(c % p).is_zero() {
				return false;
			}
			let q = c / p;
			let half = u64::from(bits / 2);
			let balanced = |x: &num_bigint::BigUint| x.bits().abs_diff(half) <= 2;
			if !balanced(p) || !balanced(&q) {
				return false;
			}
			let entropy = frame_system::Pallet::<T>::parent_hash();
			let entropy: [u8; 32] = entropy.as_ref().try_into().unwrap_or([0u8; 32]);
			let rounds = T::AuditPrimalityRounds::get();
			math::is_probable_prime(p, &entropy, rounds)
				&& math::is_probable_prime(&q, &entropy, rounds)
		}

		/// Awards `c` if it has a valid reveal and every earlier commit's reveal window has
		/// closed. Returns whether it did (and so wrote `c`).
		fn try_award(
			id: ChallengeId,
			c: &mut Challenge<T::AccountId, BlockNumberFor<T>>,
			now: BlockNumberFor<T>,
		) -> bool {
			let Some(best) = c.best else { return false };
			let window = T::RevealWindow::get();
			let earlier_pending = (0..best).any(|seq| {
				Commits::<T>::get(id, seq).is_some_and(|k| now <= k.block.saturating_add(window))
			});
			if earlier_pending {
				return false;
			}
			let Some(winner) = Commits::<T>::get(id, best).map(|k| k.who) else { return false };
			c.status = ChallengeStatus::Awarded(winner.clone());
			c.concluded = Some(now);
			Self::finish_awarded(id, c.clone(), winner);
			true
		}

		/// Stores (or, for hash targets, drops) an awarded challenge, cleans up its commits
		/// and tells the opener.
		fn finish_awarded(
			id: ChallengeId,
			c: Challenge<T::AccountId, BlockNumberFor<T>>,
			winner: T::AccountId,
		) {
			Self::clear_commits(id);
			let context = c.context;
			Self::store_or_drop(id, c);
			Self::deposit_event(Event::Awarded { id, context, winner: winner.clone() });
			T::Outcome::awarded(context, id, &winner);
		}

		/// Factorization challenges stay until their audit; the rest are done.
		fn store_or_drop(id: ChallengeId, c: Challenge<T::AccountId, BlockNumberFor<T>>) {
			if matches!(c.puzzle, Puzzle::Factorization { audit: Audit::Pending, .. }) {
				Challenges::<T>::insert(id, c);
			} else {
				Challenges::<T>::remove(id);
			}
		}

		fn clear_commits(id: ChallengeId) {
			let limit = T::MaxCommits::get();
			// At most MaxCommits entries each: one pass removes them all.
			let commits = Commits::<T>::clear_prefix(id, limit, None);
			let owners = CommitOf::<T>::clear_prefix(id, limit, None);
			debug_assert!(commits.maybe_cursor.is_none() && owners.maybe_cursor.is_none());
		}

		fn void(
			id: ChallengeId,
			c: Challenge<T::AccountId, BlockNumberFor<T>>,
			issuer: T::AccountId,
		) {
			Self::clear_commits(id);
			Challenges::<T>::remove(id);
			Self::deposit_event(Event::Voided { id, context: c.context, issuer: issuer.clone() });
			T::Outcome::voided(c.context, id, &issuer);
		}

		pub(crate) fn do_conclude(id: ChallengeId) -> DispatchResult {
			let mut c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			let now = Self::now();
			match c.status {
				ChallengeStatus::AwaitingModulus => {
					ensure!(now > c.deadline, Error::<T>::NotConcludable);
					let issuer = c.issuer.clone().ok_or(Error::<T>::WrongKind)?;
					Self::void(id, c, issuer);
					Ok(())
				},
				ChallengeStatus::Open => {
					if Self::try_award(id, &mut c, now) {
						return Ok(());
					}
					// Nobody won: expire once the deadline and every reveal window are past.
					let reveals_over = c.commits == 0
						|| now > c.last_commit.saturating_add(T::RevealWindow::get());
					ensure!(
						c.best.is_none() && now > c.deadline && reveals_over,
						Error::<T>::NotConcludable
					);
					c.status = ChallengeStatus::Expired;
					c.concluded = Some(now);
					Self::clear_commits(id);
					let context = c.context;
					Self::store_or_drop(id, c);
					Self::deposit_event(Event::Expired { id, context });
					T::Outcome::expired(context, id);
					Ok(())
				},
				_ => Err(Error::<T>::NotConcludable.into()),
			}
		}

		pub(crate) fn do_report_missed(lease: LeaseId) -> DispatchResult {
			let mut l = Leases::<T>::get(lease).ok_or(Error::<T>::UnknownLease)?;
			ensure!(l.status == LeaseStatus::Active, Error::<T>::LeaseNotActive);
			let closed = Self::closed_rounds(&l, Self::now());
			ensure!(closed > l.cursor, Error::<T>::NothingMissed);
			let newly_missed = closed - l.cursor;
			l.cursor = closed;
			Self::record_misses(lease, l, newly_missed);
			Ok(())
		}

		/// Adds `newly_missed` misses to `l`, then fails, completes or stores it.
		fn record_misses(
			lease: LeaseId,
			mut l: HeartbeatLease<T::AccountId, BlockNumberFor<T>>,
			newly_missed: u32,
		) {
			if newly_missed > 0 {
				l.missed = l.missed.saturating_add(newly_missed);
				Self::deposit_event(Event::HeartbeatsMissed {
					lease,
					newly_missed,
					total_missed: l.missed,
				});
				T::Outcome::heartbeats_missed(l.context, lease, newly_missed, l.missed);
			}
			let outcome = if l.missed > l.max_misses {
				Some(LeaseOutcome::Failed)
			} else if l.cursor >= l.rounds {
				Some(LeaseOutcome::Completed)
			} else {
				None
			};
			match outcome {
				None => Leases::<T>::insert(lease, l),
				Some(outcome) => {
					Leases::<T>::remove(lease);
					Self::deposit_event(Event::LeaseEnded {
						lease,
						outcome,
						proven: l.proven,
						missed: l.missed,
						root: l.root,
					});
					T::Outcome::lease_ended(l.context, lease, outcome, l.proven, l.missed);
				},
			}
		}

		/// Invariants, checked after every unit test and by try-runtime:
		/// - every commit belongs to an open factorization challenge, its sequence number is
		///   below the challenge's commit count, and `CommitOf` points back at it;
		/// - in an open challenge `best`, when set, names a revealed commit;
		/// - no challenge or lease id is at or beyond the next id;
		/// - active leases have `cursor ≤ rounds`, `proven + missed == cursor`,
		///   `missed ≤ max_misses` and `window ≤ period`.
		#[cfg(any(test, feature = "try-runtime"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let next = NextChallengeId::<T>::get();
			for (id, c) in Challenges::<T>::iter() {
				ensure!(id < next, "challenge id beyond NextChallengeId");
				if let (Some(best), ChallengeStatus::Open) = (c.best, &c.status) {
					ensure!(
						Commits::<T>::get(id, best).is_some_and(|k| k.revealed),
						"best is not a revealed commit"
					);
				}
			}
			for (id, seq, k) in Commits::<T>::iter() {
				let c = Challenges::<T>::get(id).ok_or("commit of unknown challenge")?;
				ensure!(c.status == ChallengeStatus::Open, "commit of a challenge not open");
				ensure!(seq < c.commits, "commit seq beyond count");
				ensure!(CommitOf::<T>::get(id, &k.who) == Some(seq), "CommitOf out of sync");
			}
			ensure!(
				CommitOf::<T>::iter().count() == Commits::<T>::iter().count(),
				"CommitOf and Commits differ in size"
			);
			let next_lease = NextLeaseId::<T>::get();
			for (id, l) in Leases::<T>::iter() {
				ensure!(id < next_lease, "lease id beyond NextLeaseId");
				ensure!(l.status == LeaseStatus::Active, "ended lease kept");
				ensure!(l.cursor <= l.rounds, "cursor beyond rounds");
				ensure!(l.proven.saturating_add(l.missed) == l.cursor, "proven + missed != cursor");
				ensure!(l.missed <= l.max_misses, "failed lease kept active");
				ensure!(l.window <= l.period && l.window > 0, "bad window");
			}
			Ok(())
		}
	}

	impl<T: Config> ChallengeApi<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn open(
			context: ContextId,
			kind: ChallengeKind,
			issuer: Option<T::AccountId>,
			work: u64,
			deadline: BlockNumberFor<T>,
		) -> Result<ChallengeId, DispatchError> {
			let now = Self::now();
			ensure!(deadline > now, Error::<T>::BadDeadline);
			let id = NextChallengeId::<T>::get();
			let (puzzle, status, issuer) = match kind {
				ChallengeKind::Factorization => {
					let issuer = issuer.ok_or(Error::<T>::NotIssuer)?;
					(
						Puzzle::Factorization {
							bits: Self::factor_bits_for(work),
							modulus: Default::default(),
							factor_commitment: H256::zero(),
							audit: Audit::Pending,
						},
						ChallengeStatus::AwaitingModulus,
						Some(issuer),
					)
				},
				ChallengeKind::HashTarget => {
					let parent = frame_system::Pallet::<T>::parent_hash();
					let seed = cutopia_primitives::hashes::hash_target_seed(context, id, &parent);
					(
						Puzzle::HashTarget { difficulty: Self::hash_difficulty_for(work), seed },
						ChallengeStatus::Open,
						None,
					)
				},
			};
			NextChallengeId::<T>::put(id.saturating_add(1));
			Challenges::<T>::insert(
				id,
				Challenge {
					context,
					issuer,
					work,
					puzzle,
					status,
					opened: now,
					deadline,
					commits: 0,
					last_commit: now,
					best: None,
					concluded: None,
				},
			);
			Self::deposit_event(Event::ChallengeOpened { id, context, kind, deadline });
			Ok(id)
		}

		fn cancel(id: ChallengeId) -> DispatchResult {
			let c = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
			ensure!(
				matches!(c.status, ChallengeStatus::AwaitingModulus | ChallengeStatus::Open),
				Error::<T>::AlreadyAwarded
			);
			Self::clear_commits(id);
			Challenges::<T>::remove(id);
			Self::deposit_event(Event::Cancelled { id });
			Ok(())
		}

		fn start_lease(
			context: ContextId,
			miner: T::AccountId,
			start: BlockNumberFor<T>,
			rounds: u32,
			period: u32,
			window: u32,
			max_misses: u32,
		) -> Result<LeaseId, DispatchError> {
			ensure!(
				rounds > 0
					&& rounds <= T::MaxRounds::get()
					&& window > 0 && window <= period
					&& start >= Self::now(),
				Error::<T>::BadLeaseParameters
			);
			let lease = NextLeaseId::<T>::get();
			NextLeaseId::<T>::put(lease.saturating_add(1));
			Leases::<T>::insert(
				lease,
				HeartbeatLease {
					context,
					miner: miner.clone(),
					start,
					period,
					window,
					rounds,
					difficulty: T::HeartbeatDifficulty::get(),
					max_misses,
					cursor: 0,
					proven: 0,
					missed: 0,
					root: H256::zero(),
					status: LeaseStatus::Active,
				},
			);
			Self::deposit_event(Event::LeaseStarted { lease, context, miner, rounds });
			Ok(lease)
		}

		fn stop_lease(id: LeaseId) -> Result<(u32, u32), DispatchError> {
			let l = Leases::<T>::take(id).ok_or(Error::<T>::UnknownLease)?;
			Self::deposit_event(Event::LeaseStopped {
				lease: id,
				proven: l.proven,
				missed: l.missed,
				root: l.root,
			});
			Ok((l.proven, l.missed))
		}

		fn conclude(id: ChallengeId) -> bool {
			Self::do_conclude(id).is_err()
				&& Challenges::<T>::get(id).is_some_and(|c| c.status == ChallengeStatus::Open)
		}

		fn count_missed(lease: LeaseId) -> DispatchResult {
			Self::do_report_missed(lease)
		}
	}
}
