//! Hash-target challenges: the first valid nonce wins, it is bound to its miner, and its seed
//! comes from a block sealed after the challenge opened.

use super::*;

/// The seed of hash target `id` as miners compute it: from the hash of its opening block.
fn seed_of(id: ChallengeId) -> H256 {
	ChallengePallet::hash_target_seed_of(id, &Challenges::<Test>::get(id).expect("stored"))
}

#[test]
fn hash_target_is_won_by_the_first_valid_nonce_and_bound_to_the_miner() {
	// Bob may not compete.
	ExtBuilder::default().banned(&[BOB]).build_and_execute(|| {
		let id = open_target(8, 20);
		let Some(Challenge { puzzle: Puzzle::HashTarget { difficulty }, .. }) =
			Challenges::<Test>::get(id)
		else {
			panic!("hash target stored")
		};
		assert_eq!(difficulty, 4);
		run_to_block(2);
		let seed = seed_of(id);
		// A nonce valid for Alice but not for Eve: Eve cannot steal it.
		let mut n = 0;
		let nonce = loop {
			n = find_nonce(seed, ALICE, difficulty, n);
			if proof_bits(seed, EVE, n) < difficulty {
				break n;
			}
			n += 1;
		};
		assert_noop!(ChallengePallet::solve(signed(EVE), id, nonce), Error::<Test>::TargetNotMet);
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

		let late = open_target(9, 5);
		run_to_block(6);
		assert_noop!(ChallengePallet::solve(signed(ALICE), late, 0), Error::<Test>::DeadlinePassed);
		assert_ok!(ChallengePallet::conclude(signed(EVE), late));
		assert_eq!(told().last(), Some(&Told::Expired(9, late)));
	});
}

/// Issue 12, item 3: the seed used to depend only on the parent hash when the work was
/// submitted, so the submitter (or the block author) could solve it before anyone saw the
/// indenture. Now it comes from the hash of the block the challenge opened in, which does
/// not exist until that block is sealed: nothing can be solved in the opening block, and the
/// seed then follows that block's hash, not anything known at submission.
#[test]
fn a_hash_target_seed_comes_from_a_block_sealed_after_the_work_was_opened() {
	build_and_execute(|| {
		run_to_block(3);
		let known_at_submit = System::parent_hash();
		let id = open_target(8, 20);
		assert_noop!(ChallengePallet::solve(signed(ALICE), id, 0), Error::<Test>::SeedNotYetKnown);
		// What a submitter could have computed from the chain before the opening block.
		let predictable = cutopia_primitives::hashes::hash_target_seed(8, id, &known_at_submit);
		run_to_block(4);
		let sealed = frame_system::BlockHash::<Test>::get(3);
		assert_eq!(seed_of(id), cutopia_primitives::hashes::hash_target_seed(8, id, &sealed));
		assert_ne!(seed_of(id), predictable);
		// Another hash for the opening block would have meant another seed.
		frame_system::BlockHash::<Test>::insert(3, H256::repeat_byte(0xab));
		assert_ne!(seed_of(id), cutopia_primitives::hashes::hash_target_seed(8, id, &sealed));
		frame_system::BlockHash::<Test>::insert(3, sealed);
		let nonce = find_nonce(seed_of(id), ALICE, 4, 0);
		assert_ok!(ChallengePallet::solve(signed(ALICE), id, nonce));
	});
}
