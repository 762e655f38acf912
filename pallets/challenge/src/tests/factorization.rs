//! Factorization challenges: the issuer posts `C`, miners commit and reveal, the earliest
//! valid commit wins; unsolved challenges expire, silent issuers are voided.

use super::*;

#[test]
fn post_modulus_checks_issuer_size_and_state() {
	build_and_execute(|| {
		let id = open_factor();
		let commit = audit_commitment(&be(P48), &AUDIT_SALT);
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
		run_to_block(21);
		assert_noop!(
			ChallengePallet::post_modulus(signed(ISSUER), late, be(C48), commit),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn commit_errors() {
	// Eve may not compete.
	ExtBuilder::default().banned(&[EVE]).build_and_execute(|| {
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
		assert_commit(ALICE, id, P48, Q48);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), id, H256::zero()),
			Error::<Test>::AlreadyCommitted
		);
		assert_noop!(
			ChallengePallet::commit(signed(EVE), id, H256::zero()),
			Error::<Test>::NotEligible
		);
		for who in 2..=4 {
			assert_commit(who, id, P48, Q48);
		}
		assert_noop!(
			ChallengePallet::commit(signed(5), id, H256::zero()),
			Error::<Test>::TooManyCommits
		);
		let other = open_posted(C48, P48);
		run_to_block(21);
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
		assert_commit(ALICE, id, P48, Q48);
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::RevealTooEarly);
		run_to_block(2);
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
			assert_commit(who, other, p, q);
			run_to_block(System::block_number() + 1);
			assert_noop!(reveal(who, other, p, q), err);
		}
		// Numbers longer than the challenge's bit length.
		let big = open_posted(C48, P48);
		assert_commit(24, big, P48, 1u128 << 60);
		run_to_block(System::block_number() + 1);
		assert_noop!(reveal(24, big, P48, 1u128 << 60), Error::<Test>::NumberTooLong);
		// After the window.
		run_to_block(8);
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::RevealWindowClosed);
	});
}

#[test]
fn earliest_valid_commit_wins_even_if_it_reveals_later() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(ALICE, id, P48, Q48); // seq 0, block 1
		run_to_block(2);
		assert_commit(BOB, id, P48, Q48); // seq 1, block 2
		run_to_block(3);
		assert_reveal(BOB, id, P48, Q48);
		// Alice's reveal window (blocks 2..=6) is still open: no award yet.
		assert_eq!(status(id), ChallengeStatus::Open);
		assert_noop!(reveal(BOB, id, P48, Q48), Error::<Test>::AlreadyRevealed);
		run_to_block(4);
		assert_reveal(ALICE, id, P48, Q48);
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
		assert_commit(ALICE, id, P48, Q48 + 2); // a wrong answer she cannot reveal
		run_to_block(2);
		assert_commit(BOB, id, P48, Q48);
		run_to_block(3);
		assert_reveal(BOB, id, P48, Q48);
		// Alice committed at block 1: her window closes after block 6.
		run_to_block(6);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to_block(7);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		assert_eq!(told(), vec![Told::Awarded(7, id, BOB)]);
	});
}

#[test]
fn copying_a_revealed_answer_never_wins() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(BOB, id, P48, Q48); // honest, block 1, seq 0
		run_to_block(2);
		// Eve sees Bob's reveal in the pool and commits and reveals in the same block.
		assert_commit(EVE, id, P48, Q48);
		assert_noop!(reveal(EVE, id, P48, Q48), Error::<Test>::RevealTooEarly);
		assert_reveal(BOB, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		run_to_block(3);
		assert_noop!(reveal(EVE, id, P48, Q48), Error::<Test>::NotOpen);
	});
}

#[test]
fn unsolved_challenge_expires_after_deadline_and_reveal_windows() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to_block(19);
		assert_commit(ALICE, id, P48, Q48 + 2);
		run_to_block(21);
		// Alice may still reveal until block 24.
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to_block(25);
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
		run_to_block(21);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert!(Challenges::<Test>::get(id).is_none());
		assert_eq!(told(), vec![Told::Voided(7, id, ISSUER)]);
	});
}

/// The best reveal's miner makes itself ineligible before the award (it raised its price
/// floor, or started leaving): it does not veto the challenge, the next valid reveal wins.
/// (Before, the award went to it regardless and the opener could only refuse it, throwing
/// the other miners' reveals away.)
#[test]
fn a_lapsed_best_reveal_passes_the_award_to_the_next_valid_one() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(EVE, id, P48, Q48 + 2); // seq 0: a junk commit that keeps the award open
		assert_commit(ALICE, id, P48, Q48); // seq 1
		run_to_block(2);
		assert_commit(BOB, id, P48, Q48); // seq 2
		run_to_block(3);
		assert_reveal(ALICE, id, P48, Q48);
		assert_reveal(BOB, id, P48, Q48);
		BANNED.with(|b| b.borrow_mut().push(ALICE));
		run_to_block(7);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		assert_eq!(told(), vec![Told::Awarded(7, id, BOB)]);
	});
}

/// When no revealed miner may compete any more, the challenge expires after its deadline
/// and the reveal windows, as one nobody solved.
#[test]
fn a_challenge_whose_revealers_all_lapsed_expires() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(EVE, id, P48, Q48 + 2);
		assert_commit(ALICE, id, P48, Q48);
		run_to_block(2);
		assert_reveal(ALICE, id, P48, Q48);
		BANNED.with(|b| b.borrow_mut().push(ALICE));
		run_to_block(7);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to_block(21);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Expired);
		assert_eq!(told(), vec![Told::Expired(7, id)]);
	});
}
