//! The agenda: deadlines the chain moves itself in `on_initialize` ([`run_to_block`]), within
//! its weight budget.

use super::*;

#[test]
fn the_agenda_expires_unawarded_work_at_its_deadline() {
	build_and_execute(|| {
		assert_submit(BUYER, spec());
		assert_eq!(Agenda::<Test>::get(22).to_vec(), vec![Deadline::Award(0)]);
		run_to_block(21);
		assert!(Indentures::<Test>::get(0).is_some());
		run_to_block(22);
		assert!(Indentures::<Test>::get(0).is_none());
		System::assert_has_event(Event::Expired { id: 0, refunded: 1_272 }.into());
		assert_eq!(Balances::free_balance(BUYER), 1_000_000);
		assert!(Agenda::<Test>::get(22).is_empty());
	});
}

#[test]
fn the_agenda_ends_a_silent_lease_and_settles_the_work() {
	build_and_execute(|| {
		// One round of 10 blocks: won in block 2 (a hash target's seed is known from the
		// block after it opened), the lease starts at 3, its round closes at 3 + 5 = 8.
		awarded_slot_0(service(10));
		let access = Slots::<Test>::get(0, 0).unwrap().access.unwrap();
		assert_eq!((access.start, access.end), (3, 8));
		assert_eq!(access.endpoint.to_vec(), b"10.0.0.4:22".to_vec());
		run_to_block(8);
		assert!(Indentures::<Test>::get(0).is_none());
		let record = ci_record();
		// No round proven: a failure, everything (fees too) refunded, the miner slashed 10.
		assert_eq!(
			(record.status, record.paid_to_miners, record.refunded),
			(Status::Failed, 0, 1_272)
		);
		assert_eq!(record.sellers.to_vec(), vec![MINER_A]);
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 + 10);
	});
}

#[test]
fn the_agenda_concludes_results_and_settles_accepted_ones() {
	build_and_execute(|| {
		// Sealing closes at 2 + 5 = 7 (the heartbeat block) ... the miner seals and reveals.
		single_batch_reported(H256::repeat_byte(9));
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reported);
		// Nobody accepts: the acceptance window (5 blocks) closes and the agenda settles it.
		let now = System::block_number();
		run_to_block(now + 5);
		assert!(Indentures::<Test>::get(0).is_some());
		run_to_block(now + 6);
		assert!(Indentures::<Test>::get(0).is_none());
		let record = ci_record();
		assert_eq!((record.status, record.paid_to_miners), (Status::Settled, 1_200));
		assert_eq!(record.tx_index, None, "ended in the agenda, not in an extrinsic");
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 1_200);
	});
}

#[test]
fn the_agenda_counts_results_when_a_miner_stays_silent() {
	build_and_execute(|| {
		single_batch_reporting();
		let due = Indentures::<Test>::get(0).unwrap().results_deadline.unwrap();
		// Nobody seals: at the end of the reveal window the miner fails, the buyer is refunded
		// the result's part and the withheld round.
		run_to_block(due + 5 + 1);
		assert!(Indentures::<Test>::get(0).is_none());
		let record = ci_record();
		assert_eq!(
			(record.status, record.paid_to_miners, record.refunded),
			(Status::Failed, 0, 1_200)
		);
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
	});
}

#[test]
fn a_full_agenda_spills_into_the_next_blocks_and_then_reports() {
	build_and_execute(|| {
		let d = Deadline::Results(99);
		for _ in 0..4 * 8 {
			IndenturePallet::schedule(50, d);
		}
		for b in 50..58 {
			assert_eq!(Agenda::<Test>::get(b).len(), 4);
		}
		IndenturePallet::schedule(50, d);
		System::assert_last_event(Event::AgendaFull { deadline: d }.into());
		for b in 50..58 {
			Agenda::<Test>::remove(b);
		}
	});
}

#[test]
fn what_exceeds_the_agenda_budget_waits_for_the_next_block() {
	// Each deadline weighs 1,000 in the mock: a budget of 500 fits none.
	ExtBuilder::default()
		.agenda_budget(frame_support::weights::Weight::from_parts(500, u64::MAX))
		.build_and_execute(|| {
			assert_submit(BUYER, spec());
			run_to_block(22);
			assert!(Indentures::<Test>::get(0).is_some());
			assert_eq!(Agenda::<Test>::get(23).to_vec(), vec![Deadline::Award(0)]);
			AgendaBudget::set(frame_support::weights::Weight::MAX);
			run_to_block(23);
			assert!(Indentures::<Test>::get(0).is_none());
		});
}

#[test]
fn a_deadline_that_fails_changes_nothing() {
	build_and_execute(|| {
		assert_submit(BUYER, spec());
		// A results deadline for an indenture that is not reporting: rolled back, no effect.
		Agenda::<Test>::mutate(5, |a| a.try_push(Deadline::Results(0)).unwrap());
		run_to_block(5);
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Open);
	});
}

/// Fills the agendas of block `from` and the 7 after it (4 each in the mock) with deadlines
/// that fail harmlessly, as a burst of work would.
fn fill_agenda(from: u64) {
	for _ in 0..4 * 8 {
		IndenturePallet::schedule(from, Deadline::Results(99));
	}
}

/// A budget that fits an award deadline (which may conclude every slot's challenge) and half
/// of another deadline.
fn award_and_a_half() -> frame_support::weights::Weight {
	IndenturePallet::expire_weight()
		.saturating_add(frame_support::weights::Weight::from_parts(1_500, 0))
		.set_proof_size(u64::MAX)
}

/// A burst of deadlines fills a block's agenda and the next few: the overflow waits in the
/// backlog and is worked through in order, within the budget, never dropped. (Before the
/// backlog, the award deadline below was dropped with `AgendaFull` and the indenture stayed
/// open, holding the buyer's funds, until somebody called `expire`.)
#[test]
fn a_full_agenda_never_drops_a_deadline() {
	// Other deadlines weigh 1,000 in the mock: a block fits the award deadline and one more,
	// or many of the others.
	ExtBuilder::default().agenda_budget(award_and_a_half()).build_and_execute(|| {
		// A submission now has its award deadline at block 21, processed from block 22;
		// blocks 22..30 are already full.
		fill_agenda(22);
		assert_eq!(Agenda::<Test>::get(29).len(), 4);
		let id = assert_submit(BUYER, spec());
		assert_eq!(Indentures::<Test>::get(id).unwrap().award_deadline, 21);
		System::assert_has_event(Event::AgendaFull { deadline: Deadline::Award(id) }.into());
		assert_eq!(BacklogRange::<Test>::get(), (0, 1));
		assert_eq!(Backlog::<Test>::get(0), Some((22, Deadline::Award(id))));
		// The 32 ahead of it go first, then its turn comes, well within 16 blocks.
		run_to_block(22 + 16);
		assert!(Indentures::<Test>::get(id).is_none(), "the award deadline was processed");
		System::assert_has_event(Event::Expired { id, refunded: 1_200 + 60 + 12 }.into());
		assert_eq!(BacklogRange::<Test>::get(), (1, 1));
		assert!(Backlog::<Test>::iter().next().is_none());
	});
}

/// A far-future deadline at the head of the backlog (a long lease's end whose blocks were
/// full) does not hold up a due one behind it: the head goes to the back.
#[test]
fn a_far_future_backlog_entry_does_not_hold_up_a_due_one() {
	ExtBuilder::default().agenda_budget(award_and_a_half()).build_and_execute(|| {
		fill_agenda(500);
		IndenturePallet::schedule(500, Deadline::LeaseEnd(77));
		fill_agenda(22);
		let id = assert_submit(BUYER, spec());
		assert_eq!(Backlog::<Test>::get(0), Some((500, Deadline::LeaseEnd(77))));
		assert_eq!(Backlog::<Test>::get(1), Some((22, Deadline::Award(id))));
		run_to_block(22 + 16);
		assert!(Indentures::<Test>::get(id).is_none(), "the due deadline was processed");
		// The future one waits, at the back, for its block.
		let (first, next) = BacklogRange::<Test>::get();
		assert_eq!(next - first, 1);
		assert_eq!(Backlog::<Test>::get(first), Some((500, Deadline::LeaseEnd(77))));
	});
}

/// Found by the adversarial property test: a buyer that disputed a reported result in Escrow
/// took the acceptance deadline's work off the agenda, and nothing put the default rule on it:
/// the indenture stayed `Reported` forever unless someone called `resolve_default`, holding
/// the miner's pay and its operator. Now the acceptance deadline hands over to the dispute's.
#[test]
fn a_result_disputed_in_escrow_is_decided_by_the_agenda() {
	build_and_execute(|| {
		single_batch_reported(H256::repeat_byte(7));
		let until = match pallet_escrow::Escrows::<Test>::get(0).unwrap().state {
			pallet_escrow::EscrowState::AwaitingAcceptance { until } => until,
			other => panic!("awaiting acceptance, not {other:?}"),
		};
		// Disputed on the first block of the window: the operator's deadline (5 blocks on)
		// falls on the window's last block, before the acceptance deadline runs.
		assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), 0));
		let deadline = System::block_number() + 5;
		assert!(deadline <= until);
		run_to_block(until + 10);
		assert!(Indentures::<Test>::get(0).is_none(), "the default rule was never applied");
		// Half (`DefaultMinerShare`) of the withheld round and the result share; the silent
		// operator's fee back to the buyer and a failure on its record.
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 600);
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 0, 1));
		assert_eq!(ci_record().status, Status::Settled);
	});
}
