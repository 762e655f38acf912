//! Benchmarks of the Challenge pallet (frame-benchmarking v2), each at its worst case.

use super::*;
use crate::Pallet as Challenge;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::BoundedVec;
use frame_system::RawOrigin;

/// Balanced semiprime factors (hex) by bit size of `C`, for the audit's success path.
const PRIME_PAIRS: [(u32, &str, &str); 7] = [
	(48, "d600a3", "d738f7"),
	(64, "ed76b07f", "ee44158b"),
	(96, "f1fe57124243", "fd2ceeeacbe3"),
	(128, "ddf9fd789c653939", "dfe01893f3aed0b7"),
	(160, "f48805e999f3842e7fc3", "fa8643c71b9abd87a865"),
	(192, "d88af3fbd39630d69c9011ef", "f678bc8d40783f0a072a98d3"),
	(256, "ee5f950c0ce5af69430b91ed2954ba5d", "f3308ce500eb4e1128b88073065b8c35"),
];

fn hex(s: &str) -> Vec<u8> {
	(0..s.len()).step_by(2).filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn number(bytes: Vec<u8>) -> Number {
	BoundedVec::truncate_from(bytes)
}

/// `(2^(b/2) - 1)²`: exactly `b` bits, its own factorization obvious.
fn square_of_ones(bits: u32) -> (Number, Number) {
	let half = bits / 2;
	let mut p = alloc::vec![0xffu8; (half / 8) as usize];
	if !half.is_multiple_of(8) {
		p.insert(0, (1u8 << (half % 8)) - 1);
	}
	let c = math::product_be(&p, &p);
	(number(p), number(c))
}

/// What the benchmarks' challenges are worth: large, so deposits are real amounts.
const VALUE: u128 = 1 << 100;

fn stake<T: Config>() -> Stake<T::AccountId> {
	Stake { beneficiary: account("buyer", 0, 0), value: VALUE }
}

/// A factorization challenge of the most work, issued by `issuer`, open for `blocks` blocks
/// and waiting for its modulus.
fn awaiting_modulus<T: Config>(issuer: &T::AccountId, blocks: u32) -> ChallengeId {
	let deadline = Challenge::<T>::now() + blocks.into();
	Challenge::<T>::open(
		1,
		ChallengeKind::Factorization,
		Some(issuer.clone()),
		u64::MAX,
		deadline,
		stake::<T>(),
	)
	.expect("open")
}

/// An open factorization challenge of `bits` bits with modulus `c`, issued by `issuer`,
/// posted now; the block is moved into its commit window.
fn open_factorization<T: Config>(issuer: &T::AccountId, bits: u32, c: Number) -> ChallengeId {
	let id = awaiting_modulus::<T>(issuer, 1_000);
	let now = Challenge::<T>::now();
	Challenges::<T>::mutate(id, |c2| {
		if let Some(ch) = c2 {
			ch.puzzle = Puzzle::Factorization {
				bits,
				modulus: c,
				factor_commitment: H256::zero(),
				audit: Audit::Pending,
			};
			ch.status = ChallengeStatus::Open;
			ch.posted = Some(now);
		}
	});
	set_block::<T>(now + 1u32.into());
	id
}

/// `who`, eligible and funded for deposits.
fn miner<T: Config>(who: &T::AccountId) {
	T::Eligibility::make_eligible(1, who);
	let deposit = Challenge::<T>::commit_deposit(VALUE);
	T::Currency::set_balance(who, deposit.saturating_mul(4u32.into()));
}

/// Moves to the first block of `id`'s reveal window.
fn to_reveals<T: Config>(id: ChallengeId) {
	let c = Challenges::<T>::get(id).expect("stored");
	let (_, last) = Challenge::<T>::commit_window(&c).expect("posted");
	set_block::<T>(last + 1u32.into());
}

fn set_block<T: Config>(n: BlockNumberFor<T>) {
	frame_system::Pallet::<T>::set_block_number(n);
}

/// A two-round lease of `miner` starting next block, and the answer to its last round, which
/// opens at [`last_round_open`] (the first round missed, so the answer counts a miss, chains
/// the root and decides the lease): `(lease, round, nonce)`.
fn last_round_answer<T: Config>(miner: &T::AccountId) -> (LeaseId, u32, u64) {
	let start = Challenge::<T>::now() + 1u32.into();
	let rounds = 2u32;
	let lease =
		Challenge::<T>::start_lease(1, miner.clone(), start, rounds, 2, 1, rounds).expect("lease");
	let l = Leases::<T>::get(lease).expect("stored");
	let open = Challenge::<T>::round_open(&l, rounds - 1);
	let seed = Challenge::<T>::round_seed(lease, rounds - 1, open);
	let who = miner.encode();
	let nonce = (0u64..)
		.find(|n| math::leading_zero_bits(&math::work_hash(&seed.0, &who, *n)) >= l.difficulty)
		.unwrap_or_default();
	(lease, rounds - 1, nonce)
}

/// Where the last round of the leases [`last_round_answer`] starts now opens.
fn last_round_open<T: Config>() -> BlockNumberFor<T> {
	Challenge::<T>::now() + 3u32.into()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn post_modulus() {
		let issuer: T::AccountId = whitelisted_caller();
		let id = awaiting_modulus::<T>(&issuer, 100);
		let (_, c) = square_of_ones(T::MaxFactorBits::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(issuer), id, c, H256::repeat_byte(1));
		assert!(Challenges::<T>::get(id).is_some_and(|c| c.status == ChallengeStatus::Open));
	}

	#[benchmark]
	fn commit() {
		let issuer: T::AccountId = account("issuer", 0, 0);
		let (_, c) = square_of_ones(T::MaxFactorBits::get());
		let id = open_factorization::<T>(&issuer, T::MaxFactorBits::get(), c);
		for i in 0..T::MaxCommits::get().saturating_sub(1) {
			let who: T::AccountId = account("miner", i, 0);
			miner::<T>(&who);
			Challenge::<T>::commit(RawOrigin::Signed(who).into(), id, H256::repeat_byte(2))
				.expect("commit");
		}
		let caller: T::AccountId = whitelisted_caller();
		miner::<T>(&caller);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), id, H256::repeat_byte(3));
		assert!(CommitOf::<T>::contains_key(id, &caller));
	}

	/// `b`: bits of `C`; `c`: earlier commits, all revealed, so this last reveal decides the
	/// challenge, ranking every qualified miner.
	#[benchmark]
	fn reveal(
		b: Linear<{ T::MinFactorBits::get() }, { T::MaxFactorBits::get() }>,
		c: Linear<0, { T::MaxCommits::get() - 1 }>,
	) {
		let bits = b & !1;
		let issuer: T::AccountId = account("issuer", 0, 0);
		let (p, modulus) = square_of_ones(bits);
		let id = open_factorization::<T>(&issuer, bits, modulus);
		let salt = [5u8; 32];
		let others: Vec<T::AccountId> = (0..c).map(|i| account("miner", i, 0)).collect();
		for who in &others {
			miner::<T>(who);
			let hash = factor_commitment(&p, &p, who, &salt);
			Challenge::<T>::commit(RawOrigin::Signed(who.clone()).into(), id, hash)
				.expect("commit");
		}
		let caller: T::AccountId = whitelisted_caller();
		miner::<T>(&caller);
		let hash = factor_commitment(&p, &p, &caller, &salt);
		Challenge::<T>::commit(RawOrigin::Signed(caller.clone()).into(), id, hash).expect("commit");
		to_reveals::<T>(id);
		for who in others {
			Challenge::<T>::reveal(RawOrigin::Signed(who).into(), id, p.clone(), p.clone(), salt)
				.expect("reveal");
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, p.clone(), p, salt);
		assert!(Challenges::<T>::get(id)
			.is_some_and(|ch| matches!(ch.status, ChallengeStatus::Awarded(_))));
	}

	#[benchmark]
	fn solve() {
		let now = Challenge::<T>::now();
		let deadline = now + 100u32.into();
		let id =
			Challenge::<T>::open(1, ChallengeKind::HashTarget, None, 1, deadline, stake::<T>())
				.expect("open");
		set_block::<T>(now + 1u32.into());
		// Difficulty 0 accepts any nonce; checking costs the same at any difficulty.
		Challenges::<T>::mutate(id, |ch| {
			if let Some(ch) = ch {
				if let Puzzle::HashTarget { ref mut difficulty, .. } = ch.puzzle {
					*difficulty = 0;
				}
			}
		});
		let caller: T::AccountId = whitelisted_caller();
		T::Eligibility::make_eligible(1, &caller);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, 42);
		assert!(Challenges::<T>::get(id).is_none());
	}

	/// `c`: commits never revealed, whose deposits are forfeited when the challenge expires.
	#[benchmark]
	fn conclude(c: Linear<0, { T::MaxCommits::get() }>) {
		let issuer: T::AccountId = account("issuer", 0, 0);
		let (_, modulus) = square_of_ones(T::MaxFactorBits::get());
		let id = open_factorization::<T>(&issuer, T::MaxFactorBits::get(), modulus);
		for i in 0..c {
			let who: T::AccountId = account("miner", i, 0);
			miner::<T>(&who);
			Challenge::<T>::commit(RawOrigin::Signed(who).into(), id, H256::repeat_byte(2))
				.expect("commit");
		}
		to_reveals::<T>(id);
		set_block::<T>(Challenge::<T>::now() + T::RevealWindow::get());
		let caller: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);
		assert!(Challenges::<T>::get(id).is_some_and(|ch| ch.status == ChallengeStatus::Expired));
	}

	/// The audit's success path at the largest configured size: two Miller–Rabin tests.
	#[benchmark]
	fn reveal_factor() -> Result<(), BenchmarkError> {
		let bits = T::MaxFactorBits::get();
		let (_, p_hex, q_hex) = PRIME_PAIRS
			.iter()
			.copied()
			.rfind(|(b, _, _)| *b <= bits)
			.ok_or(BenchmarkError::Stop("no prime pair for MaxFactorBits"))?;
		let (p, q) = (hex(p_hex), hex(q_hex));
		let c = number(math::product_be(&p, &q));
		let c_bits = math::bit_len(&c);
		let issuer: T::AccountId = whitelisted_caller();
		let id = open_factorization::<T>(&issuer, c_bits, c);
		let salt = [8u8; 32];
		Challenges::<T>::mutate(id, |ch| {
			if let Some(ch) = ch {
				if let Puzzle::Factorization { ref mut factor_commitment, .. } = ch.puzzle {
					*factor_commitment = audit_commitment(&p, &salt);
				}
				ch.status = ChallengeStatus::Expired;
				ch.concluded = Some(Challenge::<T>::now());
			}
		});
		#[extrinsic_call]
		_(RawOrigin::Signed(issuer), id, number(p), salt);
		assert!(Challenges::<T>::get(id).is_none());
		Ok(())
	}

	#[benchmark]
	fn report_unaudited() {
		let issuer: T::AccountId = account("issuer", 0, 0);
		let (_, modulus) = square_of_ones(T::MaxFactorBits::get());
		let id = open_factorization::<T>(&issuer, T::MaxFactorBits::get(), modulus);
		let now = Challenge::<T>::now();
		Challenges::<T>::mutate(id, |ch| {
			if let Some(ch) = ch {
				ch.status = ChallengeStatus::Expired;
				ch.concluded = Some(now);
			}
		});
		set_block::<T>(now + T::AuditWindow::get() + 1u32.into());
		let caller: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);
		assert!(Challenges::<T>::get(id).is_none());
	}

	/// Answers the last round after skipping the others, completing the lease.
	#[benchmark]
	fn heartbeat() {
		let miner: T::AccountId = whitelisted_caller();
		let open = last_round_open::<T>();
		let (lease, round, nonce) = last_round_answer::<T>(&miner);
		set_block::<T>(open);
		#[extrinsic_call]
		_(RawOrigin::Signed(miner), lease, round, nonce);
		assert_eq!(Leases::<T>::get(lease).map(|l| l.status), Some(LeaseStatus::Completed));
	}

	/// `n` answers, each deciding its own lease.
	#[benchmark]
	fn heartbeats(n: Linear<1, { T::MaxHeartbeatAnswers::get() }>) {
		let miner: T::AccountId = whitelisted_caller();
		let open = last_round_open::<T>();
		let list: Vec<HeartbeatAnswer> = (0..n)
			.map(|_| {
				let (lease, round, nonce) = last_round_answer::<T>(&miner);
				HeartbeatAnswer { lease, round, nonce }
			})
			.collect();
		let answers = BoundedVec::truncate_from(list.clone());
		set_block::<T>(open);
		#[extrinsic_call]
		_(RawOrigin::Signed(miner), answers);
		for a in list {
			assert_eq!(Leases::<T>::get(a.lease).map(|l| l.status), Some(LeaseStatus::Completed));
		}
	}

	/// Counts missed rounds and fails the lease.
	#[benchmark]
	fn report_missed() {
		let miner: T::AccountId = account("miner", 0, 0);
		let start = Challenge::<T>::now() + 1u32.into();
		let lease = Challenge::<T>::start_lease(1, miner, start, 4, 2, 1, 0).expect("lease");
		set_block::<T>(start + 8u32.into());
		let caller: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), lease);
		assert!(Leases::<T>::get(lease).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
