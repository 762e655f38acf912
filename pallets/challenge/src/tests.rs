//! Unit tests of the Challenge pallet: every call's success and error paths.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, BoundedVec};
use sp_core::H256;

const ISSUER: u64 = 10;
const ALICE: u64 = 1;
const BOB: u64 = 2;
const EVE: u64 = 66;
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

/// Opens a 48-bit factorization challenge for context 7, deadline block 20.
fn open_factor() -> ChallengeId {
	ChallengePallet::open(7, ChallengeKind::Factorization, Some(ISSUER), 1, 20).unwrap()
}

/// Opens and posts `c` with an audit commitment to `p`.
fn open_posted(c: u128, p: u128) -> ChallengeId {
	let id = open_factor();
	assert_ok!(ChallengePallet::post_modulus(
		signed(ISSUER),
		id,
		be(c),
		audit_commitment_hash(&be(p), &AUDIT_SALT)
	));
	id
}

fn commitment(who: u64, p: u128, q: u128) -> H256 {
	factor_commitment_hash(&be(p), &be(q), &who, &SALT)
}

fn commit(who: u64, id: ChallengeId, p: u128, q: u128) {
	assert_ok!(ChallengePallet::commit(signed(who), id, commitment(who, p, q)));
}

fn reveal(who: u64, id: ChallengeId, p: u128, q: u128) -> sp_runtime::DispatchResult {
	ChallengePallet::reveal(signed(who), id, be(p), be(q), SALT)
}

fn status(id: ChallengeId) -> ChallengeStatus<u64> {
	Challenges::<Test>::get(id).expect("challenge stored").status
}

#[test]
fn difficulty_grows_with_work_within_bounds() {
	build_and_execute(|| {
		assert_eq!(ChallengePallet::factor_bits_for(0), 48);
		assert_eq!(ChallengePallet::factor_bits_for(1), 48);
		assert_eq!(ChallengePallet::factor_bits_for(16), 64);
		assert_eq!(ChallengePallet::factor_bits_for(31), 64);
		assert_eq!(ChallengePallet::factor_bits_for(u64::MAX), 160);
		assert_eq!(ChallengePallet::hash_difficulty_for(1), 4);
		assert_eq!(ChallengePallet::hash_difficulty_for(1 << 10), 14);
		assert_eq!(ChallengePallet::hash_difficulty_for(u64::MAX), 20);
	});
}

#[test]
fn open_needs_an_issuer_and_a_future_deadline() {
	build_and_execute(|| {
		assert_noop!(
			ChallengePallet::open(7, ChallengeKind::Factorization, None, 1, 20),
			Error::<Test>::NotIssuer
		);
		assert_noop!(
			ChallengePallet::open(7, ChallengeKind::HashTarget, None, 1, 1),
			Error::<Test>::BadDeadline
		);
		let id = open_factor();
		assert_eq!(status(id), ChallengeStatus::AwaitingModulus);
		System::assert_last_event(
			Event::ChallengeOpened {
				id,
				context: 7,
				kind: ChallengeKind::Factorization,
				deadline: 20,
			}
			.into(),
		);
	});
}

#[test]
fn post_modulus_checks_issuer_size_and_state() {
	build_and_execute(|| {
		let id = open_factor();
		let commit = audit_commitment_hash(&be(P48), &AUDIT_SALT);
		assert_noop!(
			ChallengePallet::post_modulus(signed(EVE), id, be(C48), commit),
			Error::<Test>::NotIssuer
		);
		assert_noop!(
			ChallengePallet::post_modulus(signed(ISSUER), id, be(C48 >> 1), commit),
			Error::<Test>::WrongModulusSize
		);
		let mut padded = vec![0u8];
		padded.extend_from_slice(&be(C48));
		assert_noop!(
			ChallengePallet::post_modulus(
				signed(ISSUER),
				id,
				BoundedVec::truncate_from(padded),
				commit
			),
			Error::<Test>::NonCanonicalNumber
		);
		assert_noop!(
			ChallengePallet::post_modulus(signed(ISSUER), 99, be(C48), commit),
			Error::<Test>::UnknownChallenge
		);
		assert_ok!(ChallengePallet::post_modulus(signed(ISSUER), id, be(C48), commit));
		assert_eq!(status(id), ChallengeStatus::Open);
		assert_noop!(
			ChallengePallet::post_modulus(signed(ISSUER), id, be(C48), commit),
			Error::<Test>::NotAwaitingModulus
		);
		let late = open_factor();
		run_to(21);
		assert_noop!(
			ChallengePallet::post_modulus(signed(ISSUER), late, be(C48), commit),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn commit_errors() {
	build_and_execute(|| {
		let waiting = open_factor();
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), waiting, H256::zero()),
			Error::<Test>::NotOpen
		);
		let hash = ChallengePallet::open(8, ChallengeKind::HashTarget, None, 1, 20).unwrap();
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), hash, H256::zero()),
			Error::<Test>::WrongKind
		);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), 99, H256::zero()),
			Error::<Test>::UnknownChallenge
		);

		let id = open_posted(C48, P48);
		commit(ALICE, id, P48, Q48);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), id, H256::zero()),
			Error::<Test>::AlreadyCommitted
		);
		ban(EVE);
		assert_noop!(
			ChallengePallet::commit(signed(EVE), id, H256::zero()),
			Error::<Test>::NotEligible
		);
		for who in 2..=4 {
			commit(who, id, P48, Q48);
		}
		assert_noop!(
			ChallengePallet::commit(signed(5), id, H256::zero()),
			Error::<Test>::TooManyCommits
		);
		let other = open_posted(C48, P48);
		run_to(21);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), other, H256::zero()),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn reveal_rejects_bad_answers_and_bad_timing() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::NoCommit);
		commit(ALICE, id, P48, Q48);
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::RevealTooEarly);
		run_to(2);
		// Values that do not match the commitment.
		assert_noop!(reveal(ALICE, id, Q48, P48), Error::<Test>::CommitmentMismatch);
		assert_noop!(
			ChallengePallet::reveal(signed(ALICE), id, be(P48), be(Q48), [0; 32]),
			Error::<Test>::CommitmentMismatch
		);
		// Committed but wrong answers: each is refused with its own error.
		for (who, p, q, err) in [
			(20, 1, C48, Error::<Test>::FactorTooSmall),
			(21, C48, 1, Error::<Test>::FactorsOutOfOrder),
			(22, Q48, P48, Error::<Test>::FactorsOutOfOrder),
			(23, P48, Q48 + 2, Error::<Test>::WrongFactors),
		] {
			let other = open_posted(C48, P48);
			commit(who, other, p, q);
			run_to(System::block_number() + 1);
			assert_noop!(reveal(who, other, p, q), err);
		}
		// Numbers longer than the challenge's bit length.
		let big = open_posted(C48, P48);
		commit(24, big, P48, 1u128 << 60);
		run_to(System::block_number() + 1);
		assert_noop!(reveal(24, big, P48, 1u128 << 60), Error::<Test>::NumberTooLong);
		// After the window.
		run_to(8);
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::RevealWindowClosed);
	});
}

#[test]
fn earliest_valid_commit_wins_even_if_it_reveals_later() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		commit(ALICE, id, P48, Q48); // seq 0, block 1
		run_to(2);
		commit(BOB, id, P48, Q48); // seq 1, block 2
		run_to(3);
		assert_ok!(reveal(BOB, id, P48, Q48));
		// Alice's reveal window (blocks 2..=6) is still open: no award yet.
		assert_eq!(status(id), ChallengeStatus::Open);
		assert_noop!(reveal(BOB, id, P48, Q48), Error::<Test>::AlreadyRevealed);
		run_to(4);
		assert_ok!(reveal(ALICE, id, P48, Q48));
		assert_eq!(status(id), ChallengeStatus::Awarded(ALICE));
		assert_eq!(told(), vec![Told::Awarded(7, id, ALICE)]);
		System::assert_has_event(Event::Awarded { id, context: 7, winner: ALICE }.into());
		// Commits are cleaned up; the challenge waits for its audit.
		assert_eq!(Commits::<Test>::iter_prefix(id).count(), 0);
		assert_noop!(
			ChallengePallet::commit(signed(EVE), id, H256::zero()),
			Error::<Test>::NotOpen
		);
	});
}

#[test]
fn later_commit_wins_once_earlier_windows_close() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		commit(ALICE, id, P48, Q48 + 2); // a wrong answer she cannot reveal
		run_to(2);
		commit(BOB, id, P48, Q48);
		run_to(3);
		assert_ok!(reveal(BOB, id, P48, Q48));
		// Alice committed at block 1: her window closes after block 6.
		run_to(6);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to(7);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		assert_eq!(told(), vec![Told::Awarded(7, id, BOB)]);
	});
}

#[test]
fn copying_a_revealed_answer_never_wins() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		commit(BOB, id, P48, Q48); // honest, block 1, seq 0
		run_to(2);
		// Eve sees Bob's reveal in the pool and commits and reveals in the same block.
		commit(EVE, id, P48, Q48);
		assert_noop!(reveal(EVE, id, P48, Q48), Error::<Test>::RevealTooEarly);
		assert_ok!(reveal(BOB, id, P48, Q48));
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		run_to(3);
		assert_noop!(reveal(EVE, id, P48, Q48), Error::<Test>::NotOpen);
	});
}

#[test]
fn unsolved_challenge_expires_after_deadline_and_reveal_windows() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to(19);
		commit(ALICE, id, P48, Q48 + 2);
		run_to(21);
		// Alice may still reveal until block 24.
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to(25);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Expired);
		assert_eq!(told(), vec![Told::Expired(7, id)]);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
	});
}

#[test]
fn issuer_that_never_posts_is_voided() {
	build_and_execute(|| {
		let id = open_factor();
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to(21);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert!(Challenges::<Test>::get(id).is_none());
		assert_eq!(told(), vec![Told::Voided(7, id, ISSUER)]);
	});
}

fn awarded_challenge(c: u128, p: u128, q: u128) -> ChallengeId {
	let id = open_posted(c, p);
	commit(ALICE, id, p, q);
	run_to(System::block_number() + 1);
	assert_ok!(reveal(ALICE, id, p, q));
	assert_eq!(status(id), ChallengeStatus::Awarded(ALICE));
	id
}

#[test]
fn audit_of_a_fair_semiprime_passes() {
	build_and_execute(|| {
		let open = open_posted(C48, P48);
		assert_noop!(
			ChallengePallet::reveal_factor(signed(ISSUER), open, be(P48), AUDIT_SALT),
			Error::<Test>::AuditNotPending
		);
		let id = awarded_challenge(C48, P48, Q48);
		assert_noop!(
			ChallengePallet::reveal_factor(signed(EVE), id, be(P48), AUDIT_SALT),
			Error::<Test>::NotIssuer
		);
		assert_noop!(
			ChallengePallet::reveal_factor(signed(ISSUER), id, be(P48), [0; 32]),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			ChallengePallet::reveal_factor(signed(ISSUER), id, be(Q48), AUDIT_SALT),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			ChallengePallet::report_unaudited(signed(EVE), id),
			Error::<Test>::AuditWindowOpen
		);
		assert_ok!(ChallengePallet::reveal_factor(signed(ISSUER), id, be(P48), AUDIT_SALT));
		assert!(Challenges::<Test>::get(id).is_none());
		System::assert_last_event(Event::AuditPassed { id, p: be(P48) }.into());
		assert_eq!(told(), vec![Told::Awarded(7, id, ALICE)]);
	});
}

#[test]
fn unfair_modulus_voids_the_challenge() {
	build_and_execute(|| {
		// 3 · (a 46-bit number): trivially factored, not two primes of ~24 bits.
		let q: u128 = C48 / 3 + 1;
		let c = 3 * q;
		assert_eq!(math::bit_len(&be(c)), 48);
		let id = awarded_challenge(c, 3, q);
		assert_ok!(ChallengePallet::reveal_factor(signed(ISSUER), id, be(3), AUDIT_SALT));
		assert!(Challenges::<Test>::get(id).is_none());
		assert_eq!(told(), vec![Told::Awarded(7, id, ALICE), Told::Voided(7, id, ISSUER)]);

		// Balanced, but the cofactor is composite (a product of two 12-bit primes).
		let p: u128 = 0xc04499;
		let composite: u128 = 0xfb5 * 0xe9b;
		let c2 = p * composite;
		assert_eq!(math::bit_len(&be(c2)), 48);
		let (lo, hi) = if p <= composite { (p, composite) } else { (composite, p) };
		let id2 = awarded_challenge(c2, lo, hi);
		assert_ok!(ChallengePallet::reveal_factor(signed(ISSUER), id2, be(lo), AUDIT_SALT));
		assert_eq!(told().last(), Some(&Told::Voided(7, id2, ISSUER)));
	});
}

#[test]
fn issuer_that_does_not_audit_in_time_is_voided() {
	build_and_execute(|| {
		let id = awarded_challenge(C48, P48, Q48);
		let concluded = System::block_number();
		run_to(concluded + 10);
		assert_noop!(
			ChallengePallet::report_unaudited(signed(EVE), id),
			Error::<Test>::AuditWindowOpen
		);
		run_to(concluded + 11);
		assert_noop!(
			ChallengePallet::reveal_factor(signed(ISSUER), id, be(P48), AUDIT_SALT),
			Error::<Test>::AuditWindowClosed
		);
		assert_ok!(ChallengePallet::report_unaudited(signed(EVE), id));
		assert_eq!(told(), vec![Told::Awarded(7, id, ALICE), Told::Voided(7, id, ISSUER)]);
		assert_noop!(
			ChallengePallet::report_unaudited(signed(EVE), id),
			Error::<Test>::UnknownChallenge
		);
	});
}

/// The first nonce from `from` whose proof for `who` meets `difficulty`.
fn find_nonce(seed: H256, who: u64, difficulty: u32, from: u64) -> u64 {
	(from..)
		.find(|n| {
			math::leading_zero_bits(&math::work_hash(&seed.0, &codec::Encode::encode(&who), *n))
				>= difficulty
		})
		.unwrap()
}

#[test]
fn hash_target_is_won_by_the_first_valid_nonce_and_bound_to_the_miner() {
	build_and_execute(|| {
		let id = ChallengePallet::open(8, ChallengeKind::HashTarget, None, 1, 20).unwrap();
		let Some(Challenge { puzzle: Puzzle::HashTarget { difficulty, seed }, .. }) =
			Challenges::<Test>::get(id)
		else {
			panic!("hash target stored")
		};
		assert_eq!(difficulty, 4);
		// A nonce valid for Alice but not for Eve: Eve cannot steal it.
		let mut n = 0;
		let nonce = loop {
			n = find_nonce(seed, ALICE, difficulty, n);
			if math::leading_zero_bits(&math::work_hash(&seed.0, &codec::Encode::encode(&EVE), n))
				< difficulty
			{
				break n;
			}
			n += 1;
		};
		assert_noop!(ChallengePallet::solve(signed(EVE), id, nonce), Error::<Test>::TargetNotMet);
		ban(BOB);
		assert_noop!(ChallengePallet::solve(signed(BOB), id, nonce), Error::<Test>::NotEligible);
		assert_noop!(
			ChallengePallet::reveal(signed(ALICE), id, be(1), be(1), SALT),
			Error::<Test>::WrongKind
		);
		assert_ok!(ChallengePallet::solve(signed(ALICE), id, nonce));
		assert_eq!(told(), vec![Told::Awarded(8, id, ALICE)]);
		assert!(Challenges::<Test>::get(id).is_none());
		assert_noop!(
			ChallengePallet::solve(signed(ALICE), id, nonce),
			Error::<Test>::UnknownChallenge
		);

		let late = ChallengePallet::open(9, ChallengeKind::HashTarget, None, 1, 5).unwrap();
		run_to(6);
		assert_noop!(ChallengePallet::solve(signed(ALICE), late, 0), Error::<Test>::DeadlinePassed);
		assert_ok!(ChallengePallet::conclude(signed(EVE), late));
		assert_eq!(told().last(), Some(&Told::Expired(9, late)));
	});
}

#[test]
fn cancel_only_before_award() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		commit(ALICE, id, P48, Q48);
		assert_ok!(<ChallengePallet as ChallengeApi<_, _>>::cancel(id));
		assert!(Challenges::<Test>::get(id).is_none());
		assert_eq!(Commits::<Test>::iter_prefix(id).count(), 0);
		let won = awarded_challenge(C48, P48, Q48);
		assert_noop!(
			<ChallengePallet as ChallengeApi<_, _>>::cancel(won),
			Error::<Test>::AlreadyAwarded
		);
		assert_noop!(
			<ChallengePallet as ChallengeApi<_, _>>::cancel(99),
			Error::<Test>::UnknownChallenge
		);
		assert!(told().iter().all(|t| !matches!(t, Told::Expired(..) | Told::Voided(..))));
	});
}

// ---- heartbeats ----

const MINER: u64 = 5;

/// Lease for context 3: rounds open at blocks 2, 6, 10 for 2 blocks each; one miss allowed.
fn lease() -> LeaseId {
	ChallengePallet::start_lease(3, MINER, 2, 3, 4, 2, 1).unwrap()
}

fn answer(lease: LeaseId, round: u32) -> (u64, sp_runtime::DispatchResult) {
	let l = Leases::<Test>::get(lease).unwrap();
	let open = ChallengePallet::round_open(&l, round);
	let seed = ChallengePallet::round_seed(lease, round, open);
	let nonce = find_nonce(seed, MINER, l.difficulty, 0);
	(nonce, ChallengePallet::heartbeat(signed(MINER), lease, round, nonce))
}

#[test]
fn start_lease_validates_parameters() {
	build_and_execute(|| {
		for (start, rounds, period, window) in
			[(2, 0, 4, 2), (2, 101, 4, 2), (2, 3, 4, 0), (2, 3, 4, 5), (0, 3, 4, 2)]
		{
			assert_noop!(
				ChallengePallet::start_lease(3, MINER, start, rounds, period, window, 1),
				Error::<Test>::BadLeaseParameters
			);
		}
	});
}

#[test]
fn heartbeats_chain_into_the_root_and_complete_the_lease() {
	build_and_execute(|| {
		let id = lease();
		assert_noop!(answer(id, 0).1, Error::<Test>::RoundNotOpen);
		run_to(2);
		assert_noop!(ChallengePallet::heartbeat(signed(EVE), id, 0, 0), Error::<Test>::NotMiner);
		assert_noop!(
			ChallengePallet::heartbeat(signed(MINER), 99, 0, 0),
			Error::<Test>::UnknownLease
		);
		assert_noop!(answer(id, 3).1, Error::<Test>::RoundNotOpen);
		let (n0, r) = answer(id, 0);
		assert_ok!(r);
		assert_noop!(answer(id, 0).1, Error::<Test>::RoundResolved);
		run_to(6);
		let (n1, r) = answer(id, 1);
		assert_ok!(r);
		run_to(11);
		let (n2, r) = answer(id, 2);
		assert_ok!(r);
		let root = [(0u32, n0), (1, n1), (2, n2)].iter().fold(H256::zero(), |acc, (r, n)| {
			H256(sp_io::hashing::blake2_256(&codec::Encode::encode(&(acc, *r, *n))))
		});
		System::assert_has_event(
			Event::LeaseEnded {
				lease: id,
				outcome: LeaseOutcome::Completed,
				proven: 3,
				missed: 0,
				root,
			}
			.into(),
		);
		assert!(Leases::<Test>::get(id).is_none());
		assert_eq!(
			told(),
			vec![
				Told::Proven(3, id, 0),
				Told::Proven(3, id, 1),
				Told::Proven(3, id, 2),
				Told::Ended(3, id, LeaseOutcome::Completed, 3, 0)
			]
		);
	});
}

#[test]
fn heartbeat_with_a_wrong_nonce_or_outside_the_window_is_refused() {
	build_and_execute(|| {
		let id = lease();
		run_to(2);
		let l = Leases::<Test>::get(id).unwrap();
		let seed = ChallengePallet::round_seed(id, 0, 2);
		let bad = (0u64..)
			.find(|n| {
				math::leading_zero_bits(&math::work_hash(
					&seed.0,
					&codec::Encode::encode(&MINER),
					*n,
				)) < l.difficulty
			})
			.unwrap();
		assert_noop!(
			ChallengePallet::heartbeat(signed(MINER), id, 0, bad),
			Error::<Test>::TargetNotMet
		);
		run_to(4); // window of round 0 was blocks 2 and 3
		assert_noop!(answer(id, 0).1, Error::<Test>::RoundNotOpen);
	});
}

#[test]
fn missed_rounds_are_reported_by_anyone_and_fail_the_lease() {
	build_and_execute(|| {
		let id = lease();
		run_to(3);
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::NothingMissed);
		run_to(4);
		let info = ChallengePallet::report_missed(signed(EVE), id).unwrap();
		assert_eq!(info.pays_fee, frame_support::dispatch::Pays::No);
		assert_eq!(Leases::<Test>::get(id).unwrap().missed, 1);
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::NothingMissed);
		run_to(8);
		assert_ok!(ChallengePallet::report_missed(signed(EVE), id));
		assert!(Leases::<Test>::get(id).is_none());
		assert_eq!(
			told(),
			vec![
				Told::Missed(3, id, 1, 1),
				Told::Missed(3, id, 1, 2),
				Told::Ended(3, id, LeaseOutcome::Failed, 0, 2)
			]
		);
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::UnknownLease);
	});
}

#[test]
fn answering_a_later_round_counts_the_skipped_ones() {
	build_and_execute(|| {
		let id = lease();
		run_to(6);
		assert_ok!(answer(id, 1).1);
		let l = Leases::<Test>::get(id).unwrap();
		assert_eq!((l.cursor, l.proven, l.missed), (2, 1, 1));
		// The last round is never answered: a second miss exceeds max_misses = 1.
		run_to(12);
		assert_ok!(ChallengePallet::report_missed(signed(EVE), id));
		assert_eq!(told().last(), Some(&Told::Ended(3, id, LeaseOutcome::Failed, 1, 2)));
	});
}

#[test]
fn stopping_a_lease_returns_its_counts() {
	build_and_execute(|| {
		let id = lease();
		run_to(2);
		assert_ok!(answer(id, 0).1);
		assert_eq!(<ChallengePallet as ChallengeApi<_, _>>::stop_lease(id), Ok((1, 0)));
		assert!(Leases::<Test>::get(id).is_none());
		assert_noop!(
			<ChallengePallet as ChallengeApi<_, _>>::stop_lease(id),
			Error::<Test>::UnknownLease
		);
	});
}
