//! Factorization challenges: the issuer posts `C`; miners commit in the commit window,
//! holding deposits, and reveal after it; the best-ranked qualified miner wins; junk commits
//! forfeit their deposits to the buyer; unsolved challenges expire, silent issuers are voided.
//!
//! In these tests a challenge opened and posted in block 1 takes commits in blocks 2 to 4
//! and reveals in blocks 5 to 9 (`CommitWindow` 3, `RevealWindow` 5).

use super::*;

#[test]
fn post_modulus_checks_issuer_size_state_and_time() {
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
		// The issuer has `CommitWindow` blocks after the challenge opens to post `C`.
		let late = open_factor();
		run_to_block(4);
		assert_ok!(ChallengePallet::post_modulus(signed(ISSUER), late, be(C48), commit));
		let later = open_factor();
		run_to_block(8);
		assert_noop!(
			ChallengePallet::post_modulus(signed(ISSUER), later, be(C48), commit),
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
		let hash = open_target(8, 20);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), hash, H256::zero()),
			Error::<Test>::WrongKind
		);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), 99, H256::zero()),
			Error::<Test>::UnknownChallenge
		);
		// Not in the block `C` is posted in: only the issuer has seen it.
		let fresh = open_factor();
		post(fresh, C48, P48);
		assert_noop!(
			ChallengePallet::commit(signed(ALICE), fresh, H256::zero()),
			Error::<Test>::CommitWindowNotOpen
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
		// Account 50 has nothing to hold a deposit with.
		assert_noop!(
			ChallengePallet::commit(signed(50), id, H256::zero()),
			Error::<Test>::CannotHoldDeposit
		);
		for who in 11..=29 {
			assert_commit(who, id, P48, Q48);
		}
		assert_noop!(
			ChallengePallet::commit(signed(BOB), id, H256::zero()),
			Error::<Test>::TooManyCommits
		);
		let other = open_factor();
		post(other, C48, P48);
		run_to_block(reveals_open(other));
		assert_noop!(
			ChallengePallet::commit(signed(BOB), other, H256::zero()),
			Error::<Test>::CommitWindowClosed
		);
	});
}

#[test]
fn reveal_rejects_bad_answers_and_bad_timing() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::NoCommit);
		assert_commit(ALICE, id, P48, Q48);
		// Not while commits are accepted: a factor seen in a reveal could be copied.
		assert_noop!(reveal(ALICE, id, P48, Q48), Error::<Test>::RevealTooEarly);
		to_reveals(id);
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
			(24, P48, 1u128 << 60, Error::<Test>::NumberTooLong),
		] {
			let other = open_posted(C48, P48);
			assert_commit(who, other, p, q);
			to_reveals(other);
			assert_noop!(reveal(who, other, p, q), err);
		}
		// After the reveal window.
		let late = open_posted(C48, P48);
		assert_commit(BOB, late, P48, Q48);
		run_to_block(reveals_open(late) + 5);
		assert_noop!(reveal(BOB, late, P48, Q48), Error::<Test>::RevealWindowClosed);
	});
}

/// Issue 12, item 1: the issuer (the exchange) knows `p` and, with a sock-puppet miner,
/// used to send `batch[post_modulus, commit]`, take commit 0 before anyone had seen `C`,
/// reveal next block and win. Now it cannot commit in the posting block, committing first
/// buys nothing, and the best-ranked qualified miner wins however late in the window it
/// committed.
#[test]
fn the_issuer_cannot_pre_win_its_own_factorization_challenge() {
	build_and_execute(|| {
		let puppet = 5; // an ordinary, eligible account the issuer controls
		let id = open_factor();
		post(id, C48, P48);
		assert_noop!(
			ChallengePallet::commit(signed(puppet), id, commitment(puppet, P48, Q48)),
			Error::<Test>::CommitWindowNotOpen
		);
		run_to_block(2);
		assert_commit(puppet, id, P48, Q48); // first in the window
		assert_noop!(reveal(puppet, id, P48, Q48), Error::<Test>::RevealTooEarly);
		run_to_block(4);
		set_rank(ALICE, 10); // an established miner the opener ranks higher
		assert_commit(ALICE, id, P48, Q48); // last block of the window
		to_reveals(id);
		assert_reveal(puppet, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Open);
		assert_reveal(ALICE, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Awarded(ALICE));
		assert_eq!(told(), vec![Told::Awarded(7, id, ALICE)]);
	});
}

/// Qualified miners of equal rank: the one whose `blake2_256(hash of the commit window's last
/// block ‖ id ‖ miner)` is smallest wins: not the order of the commits, and not the block
/// the deciding reveal lands in.
#[test]
fn equal_ranks_are_decided_by_a_hash_nobody_knew_when_commits_closed() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(ALICE, id, P48, Q48);
		assert_commit(BOB, id, P48, Q48);
		to_reveals(id);
		assert_reveal(ALICE, id, P48, Q48);
		let closed = frame_system::BlockHash::<Test>::get(reveals_open(id) - 1);
		let tie = |who: u64| {
			sp_io::hashing::blake2_256(&codec::Encode::encode(&(b"cutopia/award", closed, id, who)))
		};
		let expected = if tie(ALICE) < tie(BOB) { ALICE } else { BOB };
		assert_reveal(BOB, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Awarded(expected));
	});
}

/// Issue 12, item 2: sixteen accounts commit junk right after `C` is posted; before, the
/// commits were full (then 16) and never freed, and the honest miner got `TooManyCommits`.
/// Now the bound is higher, a 17th honest miner still qualifies and wins, and each junk
/// commit's deposit goes to the buyer.
#[test]
fn junk_commits_do_not_block_an_honest_miner_and_their_deposits_reach_the_buyer() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		let junk: Vec<u64> = (11..=26).collect();
		for who in &junk {
			assert_ok!(ChallengePallet::commit(signed(*who), id, H256::repeat_byte(*who as u8)));
		}
		run_to_block(3);
		assert_commit(ALICE, id, P48, Q48);
		to_reveals(id);
		assert_reveal(ALICE, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Open, "waits for the reveal window");
		let buyer = free(BUYER);
		run_to_block(reveals_open(id) + 4);
		assert_noop!(ChallengePallet::conclude(signed(BOB), id), Error::<Test>::NotConcludable);
		run_to_block(reveals_open(id) + 5);
		let info = ChallengePallet::conclude(signed(BOB), id).expect("due");
		assert_eq!(info.pays_fee, Pays::No);
		assert_eq!(status(id), ChallengeStatus::Awarded(ALICE));
		assert_eq!(free(BUYER), buyer + 16 * DEPOSIT);
		for who in junk {
			assert_eq!((free(who), deposit_held(who)), (ENDOWMENT - DEPOSIT, 0));
			System::assert_has_event(
				Event::DepositForfeited { id, who, amount: DEPOSIT, to: BUYER }.into(),
			);
		}
		assert_eq!((free(ALICE), deposit_held(ALICE)), (ENDOWMENT, 0));
	});
}

#[test]
fn deposits_grow_with_the_value_at_stake() {
	build_and_execute(|| {
		assert_eq!(ChallengePallet::commit_deposit(0), MIN_DEPOSIT);
		assert_eq!(ChallengePallet::commit_deposit(VALUE), DEPOSIT);
		// Filling every commit (20) costs at least the value.
		let deposit = ChallengePallet::commit_deposit(1_001);
		assert_eq!(deposit, 51);
		assert!(deposit * 20 >= 1_001);
	});
}

#[test]
fn a_challenge_nobody_committed_to_expires_when_its_commit_window_closes() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		to_reveals(id);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Expired);
		assert_eq!(told(), vec![Told::Expired(7, id)]);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
	});
}

#[test]
fn unrevealed_commits_expire_the_challenge_after_the_reveal_window_and_forfeit() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(ALICE, id, P48, Q48 + 2); // a wrong answer she cannot reveal
		to_reveals(id);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to_block(reveals_open(id) + 5);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Expired);
		assert_eq!(told(), vec![Told::Expired(7, id)]);
		assert_eq!(free(BUYER), ENDOWMENT + DEPOSIT);
	});
}

#[test]
fn issuer_that_does_not_post_in_time_is_voided_and_commits_are_not_fined() {
	build_and_execute(|| {
		let id = open_factor();
		run_to_block(4);
		assert_noop!(ChallengePallet::conclude(signed(EVE), id), Error::<Test>::NotConcludable);
		run_to_block(5);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert!(Challenges::<Test>::get(id).is_none());
		assert_eq!(told(), vec![Told::Voided(7, id, ISSUER)]);
		// A challenge withdrawn with commits in it returns their deposits.
		let cancelled = open_posted(C48, P48);
		assert_commit(ALICE, cancelled, P48, Q48);
		assert_ok!(<ChallengePallet as ChallengeApi<_, _>>::cancel(cancelled));
		assert_eq!((free(ALICE), deposit_held(ALICE)), (ENDOWMENT, 0));
	});
}

/// The best-ranked qualified miner makes itself ineligible before the award (it raised its
/// price floor, or started leaving): it does not veto the challenge, the next one wins.
#[test]
fn a_lapsed_best_reveal_passes_the_award_to_the_next_valid_one() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		set_rank(ALICE, 9);
		set_rank(BOB, 1);
		assert_commit(EVE, id, P48, Q48 + 2); // never revealed: the award waits for the window
		assert_commit(ALICE, id, P48, Q48);
		assert_commit(BOB, id, P48, Q48);
		to_reveals(id);
		assert_reveal(ALICE, id, P48, Q48);
		assert_reveal(BOB, id, P48, Q48);
		BANNED.with(|b| b.borrow_mut().push(ALICE));
		run_to_block(reveals_open(id) + 5);
		assert_ok!(ChallengePallet::conclude(signed(EVE), id));
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		assert_eq!(told(), vec![Told::Awarded(7, id, BOB)]);
	});
}

/// A miner that may no longer compete still gets its deposit back for valid factors (it
/// may have won another slot of the same work); with nobody left to award, the challenge
/// expires at once after the last reveal.
#[test]
fn a_challenge_whose_revealers_all_lapsed_expires() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(ALICE, id, P48, Q48);
		BANNED.with(|b| b.borrow_mut().push(ALICE));
		to_reveals(id);
		assert_reveal(ALICE, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Expired);
		assert_eq!(told(), vec![Told::Expired(7, id)]);
		assert_eq!((free(ALICE), deposit_held(ALICE)), (ENDOWMENT, 0));
	});
}

#[test]
fn revealed_answers_cannot_be_copied_into_a_commit() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(BOB, id, P48, Q48);
		to_reveals(id);
		// Reveals only start once commits are closed: Eve has nowhere to put a copy.
		assert_noop!(
			ChallengePallet::commit(signed(EVE), id, commitment(EVE, P48, Q48)),
			Error::<Test>::CommitWindowClosed
		);
		assert_reveal(BOB, id, P48, Q48);
		assert_eq!(status(id), ChallengeStatus::Awarded(BOB));
		assert_noop!(reveal(BOB, id, P48, Q48), Error::<Test>::NotOpen);
	});
}
