//! The issuer's audit of a factorization challenge: revealing its secret factor shows `C` was
//! a fair semiprime; an unfair `C` or no reveal in time voids the challenge.

use super::*;

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
		run_to_block(concluded + 10);
		assert_noop!(
			ChallengePallet::report_unaudited(signed(EVE), id),
			Error::<Test>::AuditWindowOpen
		);
		run_to_block(concluded + 11);
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
