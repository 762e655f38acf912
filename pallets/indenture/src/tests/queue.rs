//! The IndentureQueue: its order and bound, leaving it by cancel or expiry, and the queries
//! agents page through it with.

use super::*;

#[test]
fn the_queue_orders_by_priority_then_age_and_is_bounded() {
	build_and_execute(|| {
		for p in [1u8, 5, 1, 9] {
			assert_submit(BUYER, SpecOf::<Test> { priority: p, ..spec() });
		}
		assert_eq!(IndenturePallet::queue_page(0, 10), vec![3, 1, 0, 2]);
		assert_eq!(IndenturePallet::queue_page(1, 2), vec![1, 0]);
		assert_noop!(submit(spec()), Error::<Test>::QueueFull);
	});
}

#[test]
fn cancel_refunds_everything_to_the_buyer_only() {
	build_and_execute(|| {
		assert_submit(BUYER, spec());
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(EXCHANGE), 0),
			Error::<Test>::NotBuyer
		);
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), 7),
			Error::<Test>::UnknownIndenture
		);
		assert_cancel(BUYER, 0);
		System::assert_last_event(Event::Cancelled { id: 0, refunded: 1_272 }.into());
		assert_eq!(held(BUYER), 0);
		assert_eq!(Balances::free_balance(BUYER), 1_000_000);
		assert!(IndenturePallet::queue_page(0, 10).is_empty());
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), 0),
			Error::<Test>::UnknownIndenture
		);
		// The exchange is free to leave again.
		assert_ok!(RepChain::unregister(
			RuntimeOrigin::signed(EXCHANGE),
			pallet_repchain::Role::Exchange
		));
	});
}

#[test]
fn expire_only_after_the_award_deadline() {
	build_and_execute(|| {
		assert_submit(BUYER, spec());
		set_block(21);
		assert_noop!(
			IndenturePallet::expire(RuntimeOrigin::signed(9), 0),
			Error::<Test>::DeadlineNotReached
		);
		set_block(22);
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		System::assert_last_event(Event::Expired { id: 0, refunded: 1_272 }.into());
		assert_eq!(Balances::free_balance(BUYER), 1_000_000);
		assert_noop!(
			IndenturePallet::expire(RuntimeOrigin::signed(9), 0),
			Error::<Test>::UnknownIndenture
		);
	});
}

#[test]
fn rpc_queries_filter_the_queue_and_describe_indentures() {
	build_and_execute(|| {
		assert_submit(BUYER, spec());
		assert_submit(
			BUYER,
			SpecOf::<Test> { challenge: ChallengeKind::Factorization, priority: 9, ..spec() },
		);
		assert_eq!(IndenturePallet::queue_page(0, 10), vec![1, 0]);
		let only = |f: QueueFilter<Balance>| IndenturePallet::queue_filtered(&f, 0, 10);
		assert_eq!(
			only(QueueFilter { challenge: Some(ChallengeKind::HashTarget), ..Default::default() }),
			vec![0]
		);
		assert_eq!(only(QueueFilter { min_priority: 5, ..Default::default() }), vec![1]);
		// 600 CU for 1,200: 2 per CU passes, 3 does not.
		assert_eq!(
			only(QueueFilter { min_price_per_cu: Some(2), ..Default::default() }),
			vec![1, 0]
		);
		assert!(only(QueueFilter { min_price_per_cu: Some(3), ..Default::default() }).is_empty());
		let small = Resources { cpu_millicores: 1_000, ..Default::default() };
		assert!(only(QueueFilter { resources: Some(small), ..Default::default() }).is_empty());
		assert_eq!(IndenturePallet::queue_filtered(&QueueFilter::default(), 1, 10), vec![0]);
		match IndenturePallet::info(0) {
			Some(IndentureInfo::Active { indenture, slots }) => {
				assert_eq!(indenture.status, Status::Open);
				assert_eq!(slots.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 1]);
			},
			other => panic!("{other:?}"),
		}
		assert!(IndenturePallet::info(7).is_none());
	});
}
