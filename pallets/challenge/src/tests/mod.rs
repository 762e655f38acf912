//! Unit tests of the Challenge pallet, by topic: every call's success and error paths. The
//! accounts, numbers and per-call helpers they share are here; the `assert_*` helpers make a
//! call and check what every success of it does (state before and after, and its event).

mod audit;
mod factorization;
mod hash_target;
mod heartbeat;
mod open;

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, BoundedVec};
use sp_core::H256;

const ISSUER: u64 = 10;
const ALICE: u64 = 1;
const BOB: u64 = 2;
const EVE: u64 = 36;
const SALT: [u8; 32] = [9; 32];
const AUDIT_SALT: [u8; 32] = [7; 32];
// A fair 48-bit semiprime: two 24-bit primes.
const P48: u128 = 0xc04499;
const Q48: u128 = 0xe0a3a9;
const C48: u128 = 0xa8b6f07ab401;

fn be(x: u128) -> Number {
	let bytes = x.to_be_bytes();
	let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
	BoundedVec::truncate_from(bytes[first..].to_vec())
}

fn signed(who: u64) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

/// Who forfeited commit deposits go to (the buyer).
const BUYER: u64 = 30;
/// The work's value: commits hold `400 / MaxCommits (20)` = 20 each.
const VALUE: u128 = 400;
const DEPOSIT: Balance = 20;

fn stake() -> Stake<u64> {
	Stake { beneficiary: BUYER, value: VALUE }
}

/// Opens a hash-target challenge for `context`, deadline `deadline`.
fn open_target(context: ContextId, deadline: u64) -> ChallengeId {
	ChallengePallet::open(context, ChallengeKind::HashTarget, None, 1, deadline, stake()).unwrap()
}

/// Opens a 48-bit factorization challenge for context 7, deadline 19 blocks from now (block
/// 20 when opened in block 1).
fn open_factor() -> ChallengeId {
	let deadline = System::block_number() + 19;
	ChallengePallet::open(7, ChallengeKind::Factorization, Some(ISSUER), 1, deadline, stake())
		.unwrap()
}

/// Opens and posts `c` with an audit commitment to `p` (checking `ModulusPosted`), then moves
/// to the next block, the commit window's first: the challenge is open for commits.
fn open_posted(c: u128, p: u128) -> ChallengeId {
	let id = open_factor();
	post(id, c, p);
	assert_eq!(status(id), ChallengeStatus::Open);
	let now = System::block_number();
	System::assert_last_event(
		Event::ModulusPosted { id, bits: 48, modulus: be(c), commits_until: now + 3 }.into(),
	);
	run_to_block(now + 1);
	id
}

/// The issuer posts `c` for challenge `id` with an audit commitment to `p`, which must be
/// accepted; the block stays where it is.
fn post(id: ChallengeId, c: u128, p: u128) {
	assert_ok!(ChallengePallet::post_modulus(
		signed(ISSUER),
		id,
		be(c),
		audit_commitment(&be(p), &AUDIT_SALT)
	));
}

/// The first block reveals of `id` are accepted in.
fn reveals_open(id: ChallengeId) -> u64 {
	let c = Challenges::<Test>::get(id).expect("challenge stored");
	ChallengePallet::commit_window(&c).expect("posted").1 + 1
}

/// Moves to the first block of `id`'s reveal window.
fn to_reveals(id: ChallengeId) {
	run_to_block(reveals_open(id));
}

fn commitment(who: u64, p: u128, q: u128) -> H256 {
	factor_commitment(&be(p), &be(q), &who, &SALT)
}

/// `who` commits to `p, q` (with `SALT`) for challenge `id`, which must be accepted. Checks
/// what every commit does: it is stored under the next sequence number with this block,
/// `CommitOf` points at it, the challenge counts it, the deposit is held from `who`, and
/// `Committed` is the last event. Returns the sequence number.
fn assert_commit(who: u64, id: ChallengeId, p: u128, q: u128) -> u32 {
	let seq = Challenges::<Test>::get(id).expect("challenge stored").commits;
	let hash = commitment(who, p, q);
	let held = deposit_held(who);
	assert_ok!(ChallengePallet::commit(signed(who), id, hash));
	let block = System::block_number();
	assert_eq!(Commits::<Test>::get(id, seq), Some(Commit { who, hash, block, revealed: false }));
	assert_eq!(CommitOf::<Test>::get(id, who), Some(seq));
	let c = Challenges::<Test>::get(id).expect("challenge stored");
	assert_eq!(c.commits, seq + 1);
	assert_eq!(deposit_held(who), held + DEPOSIT);
	System::assert_last_event(Event::Committed { id, who, seq, deposit: DEPOSIT }.into());
	seq
}

/// `who` reveals `p, q` (with `SALT`) for challenge `id`, for tests that expect it to fail.
fn reveal(who: u64, id: ChallengeId, p: u128, q: u128) -> sp_runtime::DispatchResult {
	ChallengePallet::reveal(signed(who), id, be(p), be(q), SALT).map(|_| ()).map_err(|e| e.error)
}

/// `who` reveals `p, q` (with `SALT`) for challenge `id`, which must be accepted. Checks what
/// every valid reveal does: it is free, `Revealed` is emitted, the deposit is returned, and
/// the challenge is either still open with this commit marked revealed, or — this was the
/// last commit to reveal — decided with its commits cleared and its opener told.
fn assert_reveal(who: u64, id: ChallengeId, p: u128, q: u128) {
	let seq = CommitOf::<Test>::get(id, who).expect("a commit to reveal");
	let held = deposit_held(who);
	let info = ChallengePallet::reveal(signed(who), id, be(p), be(q), SALT).expect("reveal taken");
	assert_eq!(info.pays_fee, Pays::No);
	System::assert_has_event(Event::Revealed { id, who, seq }.into());
	assert_eq!(deposit_held(who), held - DEPOSIT);
	let c = Challenges::<Test>::get(id).expect("kept until its audit");
	match c.status {
		ChallengeStatus::Open => {
			assert!(Commits::<Test>::get(id, seq).is_some_and(|k| k.revealed));
			assert!(c.revealed < c.commits);
		},
		ChallengeStatus::Awarded(winner) => {
			assert_eq!(Commits::<Test>::iter_prefix(id).count(), 0);
			assert!(told().contains(&Told::Awarded(c.context, id, winner)));
		},
		ChallengeStatus::Expired => {
			assert_eq!(Commits::<Test>::iter_prefix(id).count(), 0);
			assert!(told().contains(&Told::Expired(c.context, id)));
		},
		other => panic!("a reveal leaves a challenge open or decided, not {other:?}"),
	}
}

fn status(id: ChallengeId) -> ChallengeStatus<u64> {
	Challenges::<Test>::get(id).expect("challenge stored").status
}

/// A challenge on `c` (audit commitment to `p`) that `ALICE` won with `p, q`.
fn awarded_challenge(c: u128, p: u128, q: u128) -> ChallengeId {
	let id = open_posted(c, p);
	assert_commit(ALICE, id, p, q);
	to_reveals(id);
	assert_reveal(ALICE, id, p, q);
	assert_eq!(status(id), ChallengeStatus::Awarded(ALICE));
	id
}

/// Leading zero bits of `who`'s proof hash of `nonce` under `seed`.
fn proof_bits(seed: H256, who: u64, nonce: u64) -> u32 {
	math::leading_zero_bits(&math::work_hash(&seed.0, &codec::Encode::encode(&who), nonce))
}

/// The first nonce from `from` whose proof for `who` meets `difficulty`.
fn find_nonce(seed: H256, who: u64, difficulty: u32, from: u64) -> u64 {
	(from..).find(|n| proof_bits(seed, who, *n) >= difficulty).unwrap()
}
