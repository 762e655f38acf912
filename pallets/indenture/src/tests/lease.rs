//! Running leases: payment streamed per proven heartbeat round, and failure after too many
//! missed rounds.

use super::*;

/// Each proven round is paid `DisputeLag` (2) proven rounds later; when the lease completes,
/// the rounds still withheld wait for the buyer's acceptance, like a batch task's result.
#[test]
fn a_service_is_paid_per_proven_round_lag_rounds_late_and_accepted_at_its_end() {
	build_and_execute(|| {
		// 3 rounds of 10 blocks; 1,200 / 3 = 400 a round; fees 60 + 12.
		awarded_slot_0(service(30));
		heartbeat(MINER_A, 0);
		heartbeat(MINER_A, 1);
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100);
		heartbeat(MINER_A, 2);
		System::assert_has_event(
			Event::RoundPaid { id: 0, miner: MINER_A, round: 0, amount: 400 }.into(),
		);
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 400);
		let ind = Indentures::<Test>::get(0).unwrap();
		assert_eq!(ind.status, Status::Reported);
		assert_noop!(
			Escrow::accept(RuntimeOrigin::signed(9), 0),
			pallet_escrow::Error::<Test>::AcceptanceWindowOpen
		);
		assert_eq!(RepChain::counts(&MINER_A), (0, 0, 0));
		assert_ok!(Escrow::accept(RuntimeOrigin::signed(BUYER), 0));
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 1_200);
		assert_eq!(Balances::free_balance(EXCHANGE), 1_000_000 - 50 + 60);
		assert_eq!(Balances::free_balance(ESCROW_OP), 1_000_000 - 50 + 12);
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 1_272);
		assert!(Indentures::<Test>::get(0).is_none());
		assert!(System::events().iter().any(|e| matches!(
			&e.event,
			RuntimeEvent::IndenturePallet(Event::CiRecorded { record })
				if record.status == Status::Settled && record.paid_to_miners == 1_200 && record.refunded == 0
		)));
		assert_eq!(RepChain::counts(&MINER_A), (1, 1, 0));
		assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner));
	});
}

#[test]
fn too_many_missed_rounds_fail_the_lease_refund_the_rest_and_slash_the_miner() {
	build_and_execute(|| {
		// 5 rounds, 240 each; two misses are tolerated, the third fails the lease.
		awarded_slot_0(service(50));
		heartbeat(MINER_A, 0);
		// Round 3 closes at block 3 + 30 + 5 = 38.
		set_block(38);
		let lease = Slots::<Test>::get(0, 0).unwrap().lease.unwrap();
		assert_ok!(Challenge::report_missed(RuntimeOrigin::signed(9), lease));
		assert!(Indentures::<Test>::get(0).is_none());
		// Miner: paid one round, then 10 % of its 100 bond went to the buyer.
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 240);
		assert_eq!(
			Balances::balance_on_hold(&pallet_repchain::HoldReason::Bond.into(), &MINER_A),
			90
		);
		// Fees follow the proven fifth: 12 and 2 (rounded down).
		assert_eq!(Balances::free_balance(EXCHANGE), 1_000_000 - 50 + 12);
		assert_eq!(Balances::free_balance(ESCROW_OP), 1_000_000 - 50 + 2);
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 240 - 14 + 10);
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
		assert!(System::events().iter().any(|e| matches!(
			&e.event,
			RuntimeEvent::IndenturePallet(Event::CiRecorded { record })
				if record.status == Status::Failed && record.paid_to_miners == 240 && record.refunded == 1_018
		)));
	});
}

/// The buyer ends a service after two of its five rounds: the lease stops, the miner keeps the
/// two rounds it was paid and gets a success record worth them, the fees follow the proven
/// share, and the buyer gets the unserved three rounds back exactly (issue 12, item 6).
#[test]
fn a_buyer_terminates_a_service_early_and_is_refunded_the_unserved_part() {
	build_and_execute(|| {
		// 5 rounds of 240; fees 60 + 12.
		let id = awarded_slot_0(service(50));
		heartbeat(MINER_A, 0);
		heartbeat(MINER_A, 1);
		let lease = Slots::<Test>::get(id, 0).unwrap().lease.unwrap();
		let terminate = |who| IndenturePallet::terminate(RuntimeOrigin::signed(who), id);
		assert_noop!(terminate(MINER_A), Error::<Test>::NotBuyer);
		assert_noop!(
			IndenturePallet::terminate(RuntimeOrigin::signed(BUYER), 7),
			Error::<Test>::UnknownIndenture
		);
		let buyer = Balances::free_balance(BUYER);
		assert_ok!(terminate(BUYER));
		assert!(pallet_challenge::Leases::<Test>::get(lease).is_none(), "the lease stopped");
		assert!(Indentures::<Test>::get(id).is_none());
		// Fees follow the proven two fifths: 24 and 4; the buyer gets 3 × 240 + 36 + 8 back.
		assert_eq!(Balances::free_balance(EXCHANGE), 1_000_000 - 50 + 24);
		assert_eq!(Balances::free_balance(ESCROW_OP), 1_000_000 - 50 + 4);
		assert_eq!(Balances::free_balance(BUYER), buyer + 720 + 36 + 8);
		System::assert_has_event(Event::Terminated { id, refunded: 764 }.into());
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 480);
		let record = ci_record();
		assert_eq!(
			(record.status, record.paid_to_miners, record.refunded),
			(Status::Terminated, 480, 764)
		);
		// A success worth what was paid; the miner is free to leave.
		assert_eq!(RepChain::counts(&MINER_A), (1, 1, 0));
		let recent = pallet_repchain::RecentRecords::<Test>::get(MINER_A);
		assert_eq!(recent[0].0.value, 480);
		assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner));
		// Nothing left to terminate.
		assert_noop!(terminate(BUYER), Error::<Test>::UnknownIndenture);
	});
}

/// Only running work can be terminated: an open indenture is cancelled instead, and one
/// collecting results has no lease left to stop.
#[test]
fn terminate_refuses_work_that_is_not_running() {
	build_and_execute(|| {
		single_batch_reporting();
		assert_noop!(
			IndenturePallet::terminate(RuntimeOrigin::signed(BUYER), 0),
			Error::<Test>::NotLeased
		);
		let id = assert_submit(BUYER, service(50));
		assert_noop!(
			IndenturePallet::terminate(RuntimeOrigin::signed(BUYER), id),
			Error::<Test>::NotLeased
		);
	});
}

/// The review's attack on ratings: a puppet buyer terminates its puppet miner's service right
/// after the award. Nothing was proven, so nothing was paid: no success record, and the miner
/// cannot be rated (a rating would have weighed the whole slot's value).
#[test]
fn terminating_right_after_the_award_leaves_nothing_to_rate() {
	build_and_execute(|| {
		let id = awarded_slot_0(service(50));
		assert_ok!(IndenturePallet::terminate(RuntimeOrigin::signed(BUYER), id));
		assert_eq!(RepChain::counts(&MINER_A), (0, 0, 0));
		assert!(!Unrated::<Test>::contains_key(id, MINER_A));
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), id, MINER_A, 5),
			Error::<Test>::NotRateable
		);
		// Everything came back: the incentive and both fees.
		assert_eq!(ci_record().refunded, 1_272);
	});
}

/// Issue 12, item 6: a miner answers every heartbeat of a service it does not serve. Each
/// round used to be paid at once, so the buyer could only stop paying, never get any back.
/// Now the pay of the last `DisputeLag` (2) proven rounds is withheld: the buyer disputes, the
/// leases stop, and the operator decides that pay (here: none of it). The buyer paid for two
/// rounds it could not dispute and no more; the miner is recorded as failed, its bond intact.
#[test]
fn a_buyer_disputes_a_service_whose_heartbeats_prove_nothing() {
	build_and_execute(|| {
		// 5 rounds of 240; fees 60 + 12.
		let id = awarded_slot_0(service(50));
		for round in 0..4 {
			heartbeat(MINER_A, round);
		}
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 480);
		let lease = Slots::<Test>::get(id, 0).unwrap().lease.unwrap();
		let buyer = Balances::free_balance(BUYER);
		assert_ok!(IndenturePallet::dispute(RuntimeOrigin::signed(BUYER), id));
		assert!(pallet_challenge::Leases::<Test>::get(lease).is_none(), "the lease stopped");
		let ind = Indentures::<Test>::get(id).unwrap();
		assert_eq!(ind.status, Status::Contested);
		// Fees cut to the proven four fifths: 48 and 9; the cut (12 + 3) and nothing else is
		// back yet.
		assert_eq!((ind.exchange_fee, ind.escrow_fee), (48, 9));
		assert_eq!(Balances::free_balance(BUYER), buyer + 15);
		let deadline = System::block_number() + 5;
		System::assert_has_event(Event::LeaseDisputed { id, withheld: 480, deadline }.into());
		assert!(Agenda::<Test>::get(deadline + 1).contains(&Deadline::DisputeDefault(id)));
		// The miner's streamed pay cannot go anywhere; the operator gives it nothing more.
		assert_ok!(Escrow::resolve(RuntimeOrigin::signed(ESCROW_OP), id, Perbill::zero()));
		assert!(Indentures::<Test>::get(id).is_none());
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 480);
		// Back to the buyer: the withheld 480, the unproven round's 240, the fee cut.
		assert_eq!(Balances::free_balance(BUYER), buyer + 480 + 240 + 15);
		let record = ci_record();
		assert_eq!((record.paid_to_miners, record.refunded), (480, 720));
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
		// The failure weighs the pay it denied, not the slot (1,200): a puppet buyer and
		// operator cannot charge an honest miner a whole slot's failure for a few rounds.
		assert_eq!(pallet_repchain::RecentRecords::<Test>::get(MINER_A)[0].0.value, 480);
		assert_eq!(miner_bond(MINER_A), 100, "the operator's word is not an objective fault");
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 1, 0));
		assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner));
	});
}

/// `dispute` refuses, with state unchanged: anyone but the buyer, an unknown indenture, work
/// that is not leased (open, or collecting results), and leased work with nothing withheld
/// yet (nothing proven: `terminate` stops it).
#[test]
fn dispute_refuses_bad_input_with_state_unchanged() {
	build_and_execute(|| {
		let dispute = |who, id| IndenturePallet::dispute(RuntimeOrigin::signed(who), id);
		let id = awarded_slot_0(service(50));
		assert_noop!(dispute(BUYER, id), Error::<Test>::NothingWithheld);
		heartbeat(MINER_A, 0);
		assert_noop!(dispute(MINER_A, id), Error::<Test>::NotBuyer);
		assert_noop!(dispute(BUYER, 7), Error::<Test>::UnknownIndenture);
		let open = assert_submit(BUYER, service(50));
		assert_noop!(dispute(BUYER, open), Error::<Test>::NotLeased);
		assert_ok!(dispute(BUYER, id));
		assert_noop!(dispute(BUYER, id), Error::<Test>::NotLeased);
	});
}

/// The operator of a disputed lease never decides: after its deadline the agenda applies the
/// default rule (half the withheld pay), records the miner as undecided and the operator as
/// failed, and returns the operator's fee to the buyer.
#[test]
fn a_disputed_lease_the_operator_ignores_is_decided_by_the_default_rule() {
	build_and_execute(|| {
		let id = awarded_slot_0(service(50));
		for round in 0..3 {
			heartbeat(MINER_A, round);
		}
		assert_ok!(IndenturePallet::dispute(RuntimeOrigin::signed(BUYER), id));
		let due = System::block_number() + 5 + 1;
		let miner = Balances::free_balance(MINER_A);
		run_to_block(due);
		assert!(Indentures::<Test>::get(id).is_none());
		// Half of two withheld rounds of 240.
		assert_eq!(Balances::free_balance(MINER_A), miner + 240);
		assert_eq!(
			pallet_repchain::RecentRecords::<Test>::get(MINER_A)[0].0.outcome,
			Outcome::Undecided
		);
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 0, 1));
		assert_eq!(miner_bond(MINER_A), 100);
	});
}

/// A completed service's withheld rounds wait for its buyer like a batch result: a dispute in
/// Escrow puts them before the operator, whose share decides the miner's record.
#[test]
fn a_completed_service_can_be_disputed_in_its_acceptance_window() {
	build_and_execute(|| {
		// 3 rounds of 400: the last two withheld at the end.
		let id = awarded_slot_0(service(30));
		for round in 0..3 {
			heartbeat(MINER_A, round);
		}
		assert_eq!(Indentures::<Test>::get(id).unwrap().status, Status::Reported);
		assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), id));
		assert_ok!(Escrow::resolve(
			RuntimeOrigin::signed(ESCROW_OP),
			id,
			Perbill::from_percent(50)
		));
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 400 + 400);
		let record = &pallet_repchain::RecentRecords::<Test>::get(MINER_A)[0].0;
		// Undecided about the 400 denied of the 800 withheld.
		assert_eq!((record.outcome, record.value), (Outcome::Undecided, 400));
		assert_eq!(ci_record().paid_to_miners, 800);
		// Rateable for what it was paid.
		assert_eq!(Unrated::<Test>::get(id, MINER_A).map(|r| r.value), Some(800));
	});
}

/// Review of item 6: a puppet buyer disputes its puppet miner's service after one proven round
/// and its puppet operator pays it all: the success record weighs what was paid for the slot
/// (one round), not the slot's value, so the ring cannot mint full-slot successes for one
/// round's pay. The CIRecord says the work ended contested.
#[test]
fn a_puppet_dispute_mints_no_more_reputation_than_it_paid_for() {
	build_and_execute(|| {
		// 5 rounds of 240.
		let id = awarded_slot_0(service(50));
		heartbeat(MINER_A, 0);
		assert_ok!(IndenturePallet::dispute(RuntimeOrigin::signed(BUYER), id));
		assert_ok!(Escrow::resolve(RuntimeOrigin::signed(ESCROW_OP), id, Perbill::one()));
		let record = &pallet_repchain::RecentRecords::<Test>::get(MINER_A)[0].0;
		assert_eq!((record.outcome, record.value), (Outcome::Success, 240));
		assert_eq!(ci_record().status, Status::Contested);
		assert_eq!(Unrated::<Test>::get(id, MINER_A).map(|r| r.value), Some(240));
	});
}

/// The miner running a service publishes where it answers, on its own slot, as often as its
/// lease runs; the buyer reads it from the slot's access.
#[test]
fn a_services_miner_publishes_where_its_workload_answers() {
	build_and_execute(|| {
		let id = awarded_slot_0(service(30));
		let first = access(b"10.0.0.1:40001", Some((b"10.0.0.1:40002", b"ssh-ed25519 AAAA")));
		assert_ok!(IndenturePallet::publish_access(
			RuntimeOrigin::signed(MINER_A),
			id,
			first.clone()
		));
		System::assert_has_event(
			Event::AccessPublished { id, slot: 0, access: first.clone() }.into(),
		);
		let slot = Slots::<Test>::get(id, 0).unwrap();
		let published = slot.access.clone().unwrap();
		assert_eq!(published.service, Some(first));
		// The registered endpoint and the lease's blocks are untouched.
		assert!(!published.endpoint.is_empty());
		// A restarted miner publishes its new ports; no gateway when the buyer gave no key.
		let again = access(b"10.0.0.1:40003", None);
		assert_ok!(IndenturePallet::publish_access(
			RuntimeOrigin::signed(MINER_A),
			id,
			again.clone()
		));
		let slot = Slots::<Test>::get(id, 0).unwrap();
		assert_eq!(slot.access.unwrap().service, Some(again));
	});
}

/// Every refusal of `publish_access` leaves the slot as it was.
#[test]
fn access_is_published_only_by_a_running_services_miner() {
	build_and_execute(|| {
		let good = access(b"10.0.0.1:40001", Some((b"10.0.0.1:40002", b"ssh-ed25519 AAAA")));
		let publish = |who, id, a: &ServiceAccess| {
			IndenturePallet::publish_access(RuntimeOrigin::signed(who), id, a.clone())
		};
		assert_noop!(publish(MINER_A, 7, &good), Error::<Test>::UnknownIndenture);
		// A batch task's slot has no workload address.
		let batch = awarded_slot_0(spec());
		assert_noop!(publish(MINER_A, batch, &good), Error::<Test>::NotService);
		let id = assert_submit(BUYER, service(30));
		register_miner(MINER_B, big(), 1);
		assert_solve(MINER_B, id, 0);
		// Empty, or bytes a client would print or pass to ssh as more than an address or a
		// key: a newline, a space, a terminal escape, a second key line.
		for bad in [
			access(b"", None),
			access(b"10.0.0.1:40001\n", None),
			access(b"\x1b]52;c;aGk=\x07", None),
			access(b"10.0.0.1:40001", Some((b"", b"ssh-ed25519 AAAA"))),
			access(b"10.0.0.1:40001", Some((b"-oProxyCommand x", b"ssh-ed25519 AAAA"))),
			access(b"10.0.0.1:40001", Some((b"10.0.0.1:40002", b""))),
			access(b"10.0.0.1:40001", Some((b"10.0.0.1:40002", b"ssh-ed25519 "))),
			access(b"10.0.0.1:40001", Some((b"10.0.0.1:40002", b"ssh-rsa AAAA"))),
			access(
				b"10.0.0.1:40001",
				Some((b"10.0.0.1:40002", b"ssh-ed25519 AAAA\nssh-ed25519 B")),
			),
		] {
			assert_noop!(publish(MINER_B, id, &bad), Error::<Test>::BadAccess);
		}
		// Nobody but the slot's miner: not the buyer, not another miner.
		assert_noop!(publish(BUYER, id, &good), Error::<Test>::NotMiner);
		assert_noop!(publish(MINER_A, id, &good), Error::<Test>::NotMiner);
		// Once the lease has ended, its workload is gone: nothing to publish.
		for round in 0..3 {
			heartbeat_of(id, 0, MINER_B, round);
		}
		let slot = Slots::<Test>::get(id, 0).unwrap();
		assert!(slot.ended.is_some(), "the lease completed");
		assert_eq!(Indentures::<Test>::get(id).unwrap().status, Status::Reported);
		assert_noop!(publish(MINER_B, id, &good), Error::<Test>::LeaseOver);
		assert_eq!(slot.access.unwrap().service, None);
	});
}
