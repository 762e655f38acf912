//! The IndentureQueue: its order and bound, leaving it by cancel or expiry, and the queries
//! agents page through it with.

use super::*;

#[test]
fn the_queue_orders_by_priority_then_age_and_is_bounded() {
	build_and_execute(|| {
		for (p, buyer) in [(1u8, BUYER), (5, BUYER), (1, BUYER), (9, 7)] {
			assert_submit(buyer, SpecOf::<Test> { priority: p, ..spec() });
		}
		assert_eq!(IndenturePallet::queue_page(0, 10), vec![3, 1, 0, 2]);
		assert_eq!(IndenturePallet::queue_page(1, 2), vec![1, 0]);
		// An offer at the same price cannot take anyone's place.
		assert_noop!(
			IndenturePallet::submit(RuntimeOrigin::signed(8), spec()).map_err(|e| e.error),
			Error::<Test>::QueueFull
		);
	});
}

/// One buyer holds at most `MaxOpenPerBuyer` (3) open indentures; a place frees when one
/// leaves the queue.
#[test]
fn one_buyer_holds_at_most_its_share_of_the_queue() {
	build_and_execute(|| {
		for _ in 0..3 {
			assert_submit(BUYER, spec());
		}
		assert_eq!(OpenOf::<Test>::get(BUYER), 3);
		assert_noop!(submit(spec()), Error::<Test>::TooManyOpen);
		assert_cancel(BUYER, 1);
		assert_eq!(OpenOf::<Test>::get(BUYER), 2);
		assert_submit(BUYER, spec());
	});
}

/// Issue 12, item 14: 1,024 minimum indentures (about 10 CU of fees) filled the global queue
/// and nobody else could submit for the award window. A full queue now admits an offer whose
/// premium over its own minimum beats the lowest premium among the entries nobody has won a
/// slot of by more than `OutbidMargin` (10 %): that entry is evicted and refunded in full.
#[test]
fn a_full_queue_admits_a_better_offer_by_evicting_the_cheapest_unwon_entry() {
	build_and_execute(|| {
		// The attacker's puppets fill the queue at the minimum price (1,200 for 600 CU).
		let puppets = [7u64, 8, 9, 9];
		for who in puppets {
			assert_submit(who, spec());
		}
		// A miner wins a slot of the oldest: that one is no longer evictable.
		register_miner(MINER_A, big(), 1);
		assert_solve(MINER_A, 0, 0);
		// The puppets pay twice their minimum (600): 10 % more premium is not enough, more is.
		assert_noop!(
			IndenturePallet::submit(
				RuntimeOrigin::signed(BUYER),
				SpecOf::<Test> { incentive: 1_320, ..spec() }
			)
			.map_err(|e| e.error),
			Error::<Test>::QueueFull
		);
		let (victim_buyer, before) = (9, Balances::free_balance(9));
		let info = IndenturePallet::submit(
			RuntimeOrigin::signed(BUYER),
			SpecOf::<Test> { incentive: 1_330, ..spec() },
		)
		.unwrap();
		// The newest of the cheapest unwon entries (3) gave its place, refunded in full.
		System::assert_has_event(Event::Evicted { id: 3, by: 4, refunded: 1_272 }.into());
		assert!(Indentures::<Test>::get(3).is_none());
		assert_eq!(Balances::free_balance(victim_buyer), before + 1_272);
		assert_eq!(OpenOf::<Test>::get(victim_buyer), 1);
		assert_eq!(IndenturePallet::queue_page(0, 10), vec![0, 1, 2, 4]);
		// The evicting submission paid for the eviction.
		let base = IndenturePallet::submit_weight(&SpecOf::<Test> { incentive: 1_330, ..spec() });
		assert_eq!(info.actual_weight, Some(base + IndenturePallet::eviction_weight()));
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

/// The review of the defence above: puppets fill the queue with the smallest jobs at the
/// absolute floor (`MinIncentive`, many times the market rate per unit) that no miner may win
/// (minimum reputation 100 %). Compared per billed unit they could not be outbid by real work;
/// compared by premium over their own minimum they pay the least there is, and an honest
/// buyer at the indicative price takes their place.
#[test]
fn a_flood_of_unwinnable_jobs_at_the_floor_price_is_evicted_by_real_work() {
	build_and_execute(|| {
		let tiny = SpecOf::<Test> {
			resources: Resources { cpu_millicores: 1, memory_mib: 0, storage_gib: 0, gpus: 0 },
			nodes: 1,
			duration: 1,
			incentive: 10,
			min_reputation: Permill::one(),
			..spec()
		};
		for who in [7u64, 8, 9, 9] {
			assert_submit(who, tiny.clone());
		}
		let id = NextIndentureId::<Test>::get();
		assert_ok!(IndenturePallet::submit(RuntimeOrigin::signed(BUYER), spec()));
		System::assert_has_event(Event::Evicted { id: 3, by: id, refunded: 10 }.into());
		assert!(Indentures::<Test>::contains_key(id));
	});
}

#[test]
fn the_queue_filter_finds_what_a_miner_can_run_behind_what_it_cannot() {
	build_and_execute(|| {
		let container = SpecOf::<Test> { task: image(), executor: Executor::Container, ..spec() };
		assert_submit(BUYER, container.clone());
		assert_submit(BUYER, SpecOf::<Test> { executor: Executor::MicroVm, ..container.clone() });
		let service = service(100);
		assert_submit(BUYER, SpecOf::<Test> { task_type: service.task_type, ..container });
		assert_submit(7, service);
		let only = |f: QueueFilter<Balance>| IndenturePallet::queue_filtered(&f, 0, 1);
		let offering = |e: &[Executor]| QueueFilter {
			executors: Some(BoundedVec::truncate_from(e.to_vec())),
			..Default::default()
		};
		// A miner without a container runtime reading one entry at a time still finds the
		// one task it can run behind three it cannot.
		assert_eq!(only(offering(&[Executor::Wasm])), vec![3]);
		// A container miner skips the microVM work; a microVM miner takes batch work asking
		// for a container too, but not a container service.
		let all = |f| IndenturePallet::queue_filtered(&f, 0, 10);
		assert_eq!(all(offering(&[Executor::Container])), vec![0, 2]);
		assert_eq!(all(offering(&[Executor::MicroVm])), vec![0, 1]);
		assert_eq!(all(offering(&[Executor::Wasm, Executor::Container])), vec![0, 2, 3]);
		assert_eq!(
			only(QueueFilter { task_type: Some(TaskType::Batch), ..Default::default() }),
			vec![0]
		);
		let services = QueueFilter { task_type: Some(TaskType::Service), ..Default::default() };
		assert_eq!(IndenturePallet::queue_filtered(&services, 0, 10), vec![2, 3]);
		assert!(only(QueueFilter {
			task_type: Some(TaskType::Batch),
			..offering(&[Executor::Wasm])
		})
		.is_empty());
	});
}
