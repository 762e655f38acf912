//! Results of batch tasks: sealed, revealed, counted by majority, accepted or disputed.

use super::*;

#[test]
fn a_single_replica_result_is_sealed_revealed_and_accepted() {
	build_and_execute(|| {
		single_batch_reporting();
		let result = H256::repeat_byte(7);
		let origin = |who| RuntimeOrigin::signed(who);
		assert_noop!(
			IndenturePallet::commit_result(origin(MINER_B), 0, H256::zero()),
			Error::<Test>::NotMiner
		);
		assert_noop!(
			IndenturePallet::reveal_result(origin(MINER_A), 0, result, salt(MINER_A)),
			Error::<Test>::NotSealed
		);
		assert_seal(MINER_A, 0, result);
		assert_noop!(
			IndenturePallet::commit_result(origin(MINER_A), 0, H256::zero()),
			Error::<Test>::AlreadySealed
		);
		assert_noop!(
			IndenturePallet::reveal_result(origin(MINER_A), 0, H256::repeat_byte(8), salt(MINER_A)),
			Error::<Test>::SealMismatch
		);
		assert_reveal(MINER_A, 0, result);
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reported);
		assert_eq!(Indentures::<Test>::get(0).unwrap().result, Some(result));
		// The buyer accepts in Escrow; the indenture settles.
		assert_ok!(Escrow::accept(origin(BUYER), 0));
		assert!(Indentures::<Test>::get(0).is_none());
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 1_200);
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 1_272);
		let record = ci_record();
		assert_eq!(
			(record.status, record.paid_to_miners, record.refunded),
			(Status::Settled, 1_200, 0)
		);
		assert_eq!(RepChain::counts(&MINER_A), (1, 1, 0));
	});
}

#[test]
fn a_disputed_result_is_split_by_the_escrow_operator() {
	build_and_execute(|| {
		single_batch_reported(H256::repeat_byte(7));
		assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), 0));
		assert_ok!(Escrow::resolve(RuntimeOrigin::signed(ESCROW_OP), 0, Perbill::from_percent(25)));
		// A quarter of what was outstanding: the result share and the withheld round.
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 300);
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 1_272 + 900);
		assert_eq!(ci_record().paid_to_miners, 300);
		// The operator's timely resolution is on its RepChain history.
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 1, 0));
	});
}

#[test]
fn agreeing_replicas_are_paid_at_once() {
	build_and_execute(|| {
		three_replicas_reporting();
		let good = H256::repeat_byte(1);
		assert_seal(MINER_A, 0, good);
		// Nobody may reveal while others can still seal (they could copy).
		assert_noop!(
			IndenturePallet::reveal_result(RuntimeOrigin::signed(MINER_A), 0, good, salt(MINER_A)),
			Error::<Test>::SealingOpen
		);
		assert_seal(MINER_B, 0, good);
		assert_seal(MINER_C, 0, good);
		assert_noop!(
			IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0),
			Error::<Test>::RevealsOpen
		);
		for who in [MINER_A, MINER_B, MINER_C] {
			assert_reveal(who, 0, good);
		}
		assert!(Indentures::<Test>::get(0).is_none());
		for who in [MINER_A, MINER_B, MINER_C] {
			assert_eq!(Balances::free_balance(who), 1_000_000 - 100 + 400);
			assert_eq!(RepChain::counts(&who), (1, 1, 0));
		}
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 1_272);
		assert_eq!(ci_record().status, Status::Settled);
	});
}

/// One replica revealed and two stayed silent: the silent ones failed (slashed), and one
/// miner's word is not paid at once: the buyer may still dispute it.
#[test]
fn a_result_only_a_minority_revealed_waits_for_the_buyers_acceptance() {
	build_and_execute(|| {
		three_replicas_reporting();
		let good = H256::repeat_byte(1);
		assert_seal(MINER_A, 0, good);
		let seal_until = Indentures::<Test>::get(0).unwrap().results_deadline.unwrap();
		set_block(seal_until + 1);
		assert_reveal(MINER_A, 0, good);
		set_block(seal_until + 6);
		assert_ok!(IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0));
		let ind = Indentures::<Test>::get(0).unwrap();
		assert_eq!((ind.status, ind.result), (Status::Reported, Some(good)));
		for who in [MINER_B, MINER_C] {
			assert_eq!(RepChain::counts(&who), (1, 0, 1));
			assert_eq!(miner_bond(who), 90);
		}
		assert_ok!(Escrow::accept(RuntimeOrigin::signed(BUYER), 0));
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 400);
		assert_eq!(RepChain::counts(&MINER_A), (1, 1, 0));
		// Buyer: 200 for the round and 200 for the result, 72 in fees; the silent miners'
		// withheld rounds came back with their result shares, and 10 of each silent bond.
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 472 + 20);
	});
}

/// `judge` refuses, with state unchanged: results that are not disputed, anyone but the
/// operator, a result nobody revealed, an unknown indenture, and a judgement after the
/// escrow's deadline.
#[test]
fn judge_refuses_bad_input_with_state_unchanged() {
	build_and_execute(|| {
		three_replicas_reporting();
		let (good, bad) = (H256::repeat_byte(1), H256::repeat_byte(2));
		let judge = |who, id, r| IndenturePallet::judge(RuntimeOrigin::signed(who), id, r);
		assert_noop!(judge(ESCROW_OP, 0, Some(good)), Error::<Test>::NotDisputed);
		for (who, r) in [(MINER_A, good), (MINER_B, good), (MINER_C, bad)] {
			assert_seal(who, 0, r);
		}
		for (who, r) in [(MINER_A, good), (MINER_B, good), (MINER_C, bad)] {
			assert_reveal(who, 0, r);
		}
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Disputed);
		assert_noop!(judge(ESCROW_OP, 7, Some(good)), Error::<Test>::UnknownIndenture);
		assert_noop!(judge(BUYER, 0, Some(good)), Error::<Test>::NotOperator);
		assert_noop!(judge(MINER_C, 0, Some(bad)), Error::<Test>::NotOperator);
		assert_noop!(judge(ESCROW_OP, 0, Some(H256::repeat_byte(3))), Error::<Test>::NotAResult);
		let Some(pallet_escrow::EscrowEntry {
			state: pallet_escrow::EscrowState::Disputed { deadline },
			..
		}) = pallet_escrow::Escrows::<Test>::get(0)
		else {
			panic!("the escrow is disputed")
		};
		set_block(deadline + 1);
		assert_noop!(
			judge(ESCROW_OP, 0, Some(good)),
			pallet_escrow::Error::<Test>::ResolutionWindowClosed
		);
	});
}

#[test]
fn a_miner_that_never_seals_fails_when_the_windows_close() {
	build_and_execute(|| {
		single_batch_reporting();
		let seal_until = Indentures::<Test>::get(0).unwrap().results_deadline.unwrap();
		set_block(seal_until + 1);
		assert_noop!(
			IndenturePallet::commit_result(RuntimeOrigin::signed(MINER_A), 0, H256::zero()),
			Error::<Test>::WindowClosed
		);
		assert_noop!(
			IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0),
			Error::<Test>::RevealsOpen
		);
		set_block(seal_until + 6);
		assert_ok!(IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0));
		assert_eq!(ci_record().status, Status::Failed);
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
		// The buyer paid the fees and got the withheld round and the result share back (a
		// miner that delivers no result is not paid the rounds the lag still held), and 10 of
		// the bond.
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 72 + 10);
	});
}
