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
			IndenturePallet::reveal_result(origin(MINER_A), 0, result),
			Error::<Test>::NotSealed
		);
		assert_seal(MINER_A, 0, result);
		assert_noop!(
			IndenturePallet::commit_result(origin(MINER_A), 0, H256::zero()),
			Error::<Test>::AlreadySealed
		);
		assert_noop!(
			IndenturePallet::reveal_result(origin(MINER_A), 0, H256::repeat_byte(8)),
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
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 600 + 150);
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 1_272 + 450);
		assert_eq!(ci_record().paid_to_miners, 750);
		// The operator's timely resolution is on its RepChain history.
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 1, 0));
	});
}

#[test]
fn the_majority_of_replicas_wins_and_the_dissenter_fails() {
	build_and_execute(|| {
		// One node, three replicas, one round each: 1,200 × 50 % / 3 = 200 streams per slot,
		// and 200 per slot waits for the result.
		assert_submit(
			BUYER,
			SpecOf::<Test> { nodes: 1, replicas: 3, duration: 10, incentive: 1_200, ..spec() },
		);
		for (slot, who) in [(0, MINER_A), (1, MINER_B), (2, MINER_C)] {
			register_miner(who, big(), 1);
			assert_solve(who, 0, slot);
		}
		for (slot, who) in [(0, MINER_A), (1, MINER_B), (2, MINER_C)] {
			heartbeat_of(0, slot, who, 0);
		}
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reporting);
		let (good, bad) = (H256::repeat_byte(1), H256::repeat_byte(2));
		assert_seal(MINER_A, 0, good);
		// Nobody may reveal while others can still seal (they could copy).
		assert_noop!(
			IndenturePallet::reveal_result(RuntimeOrigin::signed(MINER_A), 0, good),
			Error::<Test>::SealingOpen
		);
		assert_seal(MINER_B, 0, good);
		assert_seal(MINER_C, 0, bad);
		assert_noop!(
			IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0),
			Error::<Test>::RevealsOpen
		);
		for (who, r) in [(MINER_A, good), (MINER_B, good), (MINER_C, bad)] {
			assert_reveal(who, 0, r);
		}
		assert!(Indentures::<Test>::get(0).is_none());
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 400);
		assert_eq!(Balances::free_balance(MINER_B), 1_000_000 - 100 + 400);
		// The dissenter keeps its streamed 200 but loses 10 % of its bond to the buyer.
		assert_eq!(Balances::free_balance(MINER_C), 1_000_000 - 100 + 200);
		assert_eq!(RepChain::counts(&MINER_C), (1, 0, 1));
		assert_eq!(RepChain::counts(&MINER_A), (1, 1, 0));
		// Buyer: paid 1,000 to miners and 72 in fees, got the dissenter's 200 share and 10 of its bond.
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 1_072 + 10);
		assert_eq!(ci_record().status, Status::Settled);
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
		// The buyer paid the streamed 600 and the fees, got the result share back and 10 of the bond.
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 600 - 72 + 10);
	});
}
