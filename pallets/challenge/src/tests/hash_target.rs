//! Hash-target challenges: the first valid nonce wins, and it is bound to its miner.

use super::*;

#[test]
fn hash_target_is_won_by_the_first_valid_nonce_and_bound_to_the_miner() {
	// Bob may not compete.
	ExtBuilder::default().banned(&[BOB]).build_and_execute(|| {
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

		let late = ChallengePallet::open(9, ChallengeKind::HashTarget, None, 1, 5).unwrap();
		run_to_block(6);
		assert_noop!(ChallengePallet::solve(signed(ALICE), late, 0), Error::<Test>::DeadlinePassed);
		assert_ok!(ChallengePallet::conclude(signed(EVE), late));
		assert_eq!(told().last(), Some(&Told::Expired(9, late)));
	});
}
