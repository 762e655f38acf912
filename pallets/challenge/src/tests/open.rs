//! Opening and cancelling challenges, and how hard they are.

use super::*;

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
			ChallengePallet::open(7, ChallengeKind::Factorization, None, 1, 20, stake()),
			Error::<Test>::NotIssuer
		);
		assert_noop!(
			ChallengePallet::open(7, ChallengeKind::HashTarget, None, 1, 1, stake()),
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
fn cancel_only_before_award() {
	build_and_execute(|| {
		let id = open_posted(C48, P48);
		assert_commit(ALICE, id, P48, Q48);
		assert_ok!(<ChallengePallet as ChallengeApi<_, _>>::cancel(id));
		assert!(Challenges::<Test>::get(id).is_none());
		assert_eq!(Commits::<Test>::iter_prefix(id).count(), 0);
		assert_eq!(deposit_held(ALICE), 0);
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
