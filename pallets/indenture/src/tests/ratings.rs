//! Recent CIRecords and the buyer's ratings of its miners.

use super::*;

/// A one-round service won by `MINER_A` and settled by its heartbeat, which must get `id`:
/// leaves its CIRecord and `MINER_A` to be rated.
fn settled_service_at(id: IndentureId) {
	assert_eq!(NextIndentureId::<Test>::get(), id);
	awarded_slot_0(service(10));
	heartbeat_of(id, 0, MINER_A, 0);
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

#[test]
fn recent_records_keep_the_last_ones_and_their_ratings() {
	build_and_execute(|| {
		// Four records fit (MaxRecentRecords = 4); the fifth drops the oldest.
		for _ in 0..5 {
			let id = assert_submit(BUYER, spec());
			assert_cancel(BUYER, id);
		}
		// Cancelled work has no CIRecord: nothing recorded yet.
		assert!(RecentRecords::<Test>::get().is_empty());
		settled_service_at(5);
		for id in 6..10 {
			let rec = ci_record_template(id);
			IndenturePallet::keep_record(rec);
		}
		assert_eq!(RecentRecords::<Test>::get().to_vec(), vec![6, 7, 8, 9]);
		assert!(Records::<Test>::get(5).is_none());
		assert!(!Unrated::<Test>::contains_key(5, MINER_A));
		assert_noop!(
			IndenturePallet::rate(RuntimeOrigin::signed(BUYER), 5, MINER_A, 4),
			Error::<Test>::UnknownRecord
		);
	});
}
