//! Recent CIRecords and the buyer's ratings of its miners.

use super::*;

/// A one-round service won by `MINER_A`, completed by its heartbeat and accepted by its
/// buyer, which must get `id`: leaves its CIRecord and `MINER_A` to be rated.
fn settled_service_at(id: IndentureId) {
	assert_eq!(NextIndentureId::<Test>::get(), id);
	awarded_slot_0(service(10));
	heartbeat_of(id, 0, MINER_A, 0);
	assert_ok!(Escrow::accept(RuntimeOrigin::signed(BUYER), id));
	assert!(Records::<Test>::get(id).is_some());
	assert!(Unrated::<Test>::contains_key(id, MINER_A));
}

fn ci_record_template(cid: IndentureId) -> CiRecordOf<Test> {
	CiRecord { cid, ..ci_record() }
}

#[test]
fn the_buyer_rates_each_miner_once() {
	build_and_execute(|| {
		settled_service_at(0);
		let score = RepChain::score(&MINER_A);
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 1, MINER_A, 5),
			Error::<Test>::UnknownRecord
		);
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(9), 0, MINER_A, 5),
			Error::<Test>::NotBuyer
		);
		for bad in [0u8, 6] {
			assert_noop!(
				IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 0, MINER_A, bad),
				Error::<Test>::BadRating
			);
		}
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 0, MINER_B, 5),
			Error::<Test>::NotRateable
		);
		assert_ok!(IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 0, MINER_A, 5));
		System::assert_last_event(Event::Rated { id: 0, miner: MINER_A, rating: 5 }.into());
		assert!(RepChain::score(&MINER_A) > score, "a 5 raises the score");
		// One success record and one rating.
		assert_eq!(RepChain::counts(&MINER_A), (2, 1, 0));
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 0, MINER_A, 1),
			Error::<Test>::NotRateable
		);
	});
}

/// Issue 12, item 9: ~256 cheap self-dealt indentures pushed a victim's record out of the
/// recent records, and with it its buyer's right to rate the victim's miner. Ratings are now
/// open for `RatingWindow` blocks however many records follow, and close with it.
#[test]
fn a_rating_stays_open_for_its_window_however_many_records_follow() {
	build_and_execute(|| {
		// Cancelled work has no CIRecord: nothing recorded.
		let id = assert_submit(BUYER, spec());
		assert_cancel(BUYER, id);
		assert!(RecentRecords::<Test>::get().is_empty());
		settled_service_at(1);
		let until = Unrated::<Test>::get(1, MINER_A).expect("rateable").until;
		assert_eq!(until, System::block_number() + 20);
		// Four records fit (MaxRecentRecords = 4): a flood of four more drops the victim's.
		for id in 100..104 {
			IndenturePallet::keep_record(ci_record_template(id));
		}
		assert_eq!(RecentRecords::<Test>::get().to_vec(), vec![100, 101, 102, 103]);
		assert!(Records::<Test>::get(1).is_none());
		assert_ok!(IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 1, MINER_A, 2));
		assert_eq!(RepChain::counts(&MINER_A), (2, 1, 0));
		// Past the window (the agenda late, its entry not yet run) a rating is refused, and
		// the agenda's deadline closes the rest.
		assert_eq!(assert_submit(BUYER, service(10)), 2);
		assert_solve(MINER_A, 2, 0);
		heartbeat_of(2, 0, MINER_A, 0);
		assert_ok!(Escrow::accept(RuntimeOrigin::signed(BUYER), 2));
		let until = Unrated::<Test>::get(2, MINER_A).expect("rateable").until;
		set_block(until + 1);
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 2, MINER_A, 4),
			Error::<Test>::RatingWindowClosed
		);
		assert!(Agenda::<Test>::get(until + 1).contains(&Deadline::RatingsClose(2)));
		assert_ok!(IndenturePallet::process_deadline(until + 1, Deadline::RatingsClose(2)));
		assert!(!Unrated::<Test>::contains_key(2, MINER_A));
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 2, MINER_A, 4),
			Error::<Test>::NotRateable
		);
	});
}
