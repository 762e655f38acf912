//! Unit tests of Indenture: submission (every bad input), pricing, the queue, cancel, expire.

use crate::{mock::*, types::Task as Work, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use pallet_challenge::ChallengeKind;
use pallet_repchain::Resources;
use pallet_repchain::{ReputationApi, Role};
use sp_core::H256;
use sp_runtime::Perbill;

fn spec() -> SpecOf<Test> {
	IndentureSpec {
		task: Work::Wasm {
			hash: H256::repeat_byte(1),
			uri: BoundedVec::truncate_from(b"https://example.invalid/task.wasm".to_vec()),
		},
		task_type: TaskType::Batch,
		// 2 cores + 4 GiB: 2000 + 1000 = 3000 milli-CU = 3 CU per node and block.
		resources: Resources { cpu_millicores: 2_000, memory_mib: 4_096, storage_gib: 0, gpus: 0 },
		nodes: 2,
		public_ip: PublicIp::None,
		duration: 100,
		// 3 CU × 2 nodes × 100 blocks = 600 CU, at 2 per CU the indicative price is 1,200.
		incentive: 1_200,
		priority: 0,
		min_reputation: Permill::from_percent(40),
		exchange: EXCHANGE,
		escrow_operator: ESCROW_OP,
		challenge: ChallengeKind::HashTarget,
		replicas: 1,
		ssh_key: None,
	}
}

fn held(who: u64) -> Balance {
	Balances::balance_on_hold(&pallet_escrow::HoldReason::Escrow.into(), &who)
}

fn submit(s: SpecOf<Test>) -> sp_runtime::DispatchResult {
	IndenturePallet::submit(RuntimeOrigin::signed(BUYER), s)
}

#[test]
fn compute_units_follow_the_documented_formula() {
	let w =
		CuWeights { per_millicore: 1, per_gib_memory: 250, per_gib_storage: 10, per_gpu: 20_000 };
	let r = Resources { cpu_millicores: 1_500, memory_mib: 2_048, storage_gib: 100, gpus: 1 };
	// 1500 + 500 + 1000 + 20000 = 23000 milli-CU per node-block.
	assert_eq!(w.compute_units(&r, 1, 1), 23);
	assert_eq!(w.compute_units(&r, 3, 10), 690);
	// Rounded up, never to zero for real work.
	let tiny = Resources { cpu_millicores: 1, ..Default::default() };
	assert_eq!(w.compute_units(&tiny, 1, 1), 1);
	// Saturates instead of overflowing.
	let huge = Resources {
		cpu_millicores: u32::MAX,
		memory_mib: u32::MAX,
		storage_gib: u32::MAX,
		gpus: u32::MAX,
	};
	assert_eq!(w.compute_units(&huge, u32::MAX, u32::MAX), u64::MAX);
}

#[test]
fn submit_holds_incentive_and_fees_and_queues() {
	build_and_execute(|| {
		assert_eq!(IndenturePallet::indicative_price(&spec().resources, 2, 100), (600, 1_200));
		assert_ok!(submit(spec()));
		// 1,200 + 5 % (60) + 1 % (12)
		assert_eq!(held(BUYER), 1_272);
		let ind = Indentures::<Test>::get(0).unwrap();
		assert_eq!((ind.compute_units, ind.exchange_fee, ind.escrow_fee), (600, 60, 12));
		assert_eq!(ind.award_deadline, 21);
		assert_eq!(IndenturePallet::queue_page(0, 10), vec![0]);
		System::assert_last_event(
			Event::Submitted {
				id: 0,
				buyer: BUYER,
				compute_units: 600,
				incentive: 1_200,
				held: 1_272,
				award_deadline: 21,
			}
			.into(),
		);
		// The exchange and the escrow operator are busy now.
		assert_noop!(
			RepChain::unregister(RuntimeOrigin::signed(EXCHANGE), pallet_repchain::Role::Exchange),
			pallet_repchain::Error::<Test>::StillActive
		);
	});
}

#[test]
fn submit_rejects_bad_input_without_changing_anything() {
	build_and_execute(|| {
		let cases: Vec<(SpecOf<Test>, Error<Test>)> = vec![
			(
				SpecOf::<Test> { task: Work::Inline(BoundedVec::new()), ..spec() },
				Error::<Test>::EmptyTask,
			),
			(
				SpecOf::<Test> {
					task: Work::Container { hash: H256::zero(), uri: BoundedVec::new() },
					..spec()
				},
				Error::<Test>::EmptyTask,
			),
			(
				SpecOf::<Test> { resources: Resources::default(), ..spec() },
				Error::<Test>::NoResources,
			),
			(SpecOf::<Test> { nodes: 0, ..spec() }, Error::<Test>::BadNodes),
			(SpecOf::<Test> { nodes: 5, ..spec() }, Error::<Test>::BadNodes),
			(SpecOf::<Test> { replicas: 0, ..spec() }, Error::<Test>::BadReplicas),
			(SpecOf::<Test> { replicas: 4, ..spec() }, Error::<Test>::BadReplicas),
			(SpecOf::<Test> { nodes: 3, replicas: 3, ..spec() }, Error::<Test>::TooManySlots),
			(SpecOf::<Test> { duration: 0, ..spec() }, Error::<Test>::BadDuration),
			(SpecOf::<Test> { duration: 1_001, ..spec() }, Error::<Test>::BadDuration),
			(SpecOf::<Test> { exchange: 9, ..spec() }, Error::<Test>::UnknownExchange),
			(SpecOf::<Test> { exchange: ESCROW_OP, ..spec() }, Error::<Test>::UnknownExchange),
			(SpecOf::<Test> { escrow_operator: 9, ..spec() }, Error::<Test>::UnknownEscrowOperator),
			// Half the indicative price (600) is the floor.
			(SpecOf::<Test> { incentive: 599, ..spec() }, Error::<Test>::IncentiveTooLow),
			// ...and MinIncentive for tiny work.
			(
				SpecOf::<Test> {
					resources: Resources { cpu_millicores: 1, ..Default::default() },
					duration: 1,
					nodes: 1,
					incentive: 9,
					..spec()
				},
				Error::<Test>::IncentiveTooLow,
			),
		];
		for (s, err) in cases {
			assert_noop!(submit(s), err);
		}
		assert_ok!(submit(SpecOf::<Test> { incentive: 600, ..spec() }));
		// A buyer who cannot pay.
		assert_noop!(
			submit(SpecOf::<Test> { incentive: 2_000_000, ..spec() }),
			pallet_escrow::Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn the_queue_orders_by_priority_then_age_and_is_bounded() {
	build_and_execute(|| {
		for p in [1u8, 5, 1, 9] {
			assert_ok!(submit(SpecOf::<Test> { priority: p, ..spec() }));
		}
		assert_eq!(IndenturePallet::queue_page(0, 10), vec![3, 1, 0, 2]);
		assert_eq!(IndenturePallet::queue_page(1, 2), vec![1, 0]);
		assert_noop!(submit(spec()), Error::<Test>::QueueFull);
	});
}

#[test]
fn cancel_refunds_everything_to_the_buyer_only() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(EXCHANGE), 0),
			Error::<Test>::NotBuyer
		);
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), 7),
			Error::<Test>::UnknownIndenture
		);
		assert_ok!(IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), 0));
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
		assert_ok!(submit(spec()));
		System::set_block_number(21);
		assert_noop!(
			IndenturePallet::expire(RuntimeOrigin::signed(9), 0),
			Error::<Test>::DeadlineNotReached
		);
		System::set_block_number(22);
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		System::assert_last_event(Event::Expired { id: 0, refunded: 1_272 }.into());
		assert_eq!(Balances::free_balance(BUYER), 1_000_000);
		assert_noop!(
			IndenturePallet::expire(RuntimeOrigin::signed(9), 0),
			Error::<Test>::UnknownIndenture
		);
	});
}

// ---- competition and award ----

const MINER_A: u64 = 4;
const MINER_B: u64 = 5;

fn register_miner(who: u64, resources: Resources, price_floor: Balance) {
	assert_ok!(RepChain::register_miner(
		RuntimeOrigin::signed(who),
		resources,
		price_floor,
		BoundedVec::truncate_from(b"10.0.0.4:22".to_vec()),
		100
	));
}

fn big() -> Resources {
	Resources { cpu_millicores: 8_000, memory_mib: 16_384, storage_gib: 100, gpus: 0 }
}

/// The challenge of `slot` of indenture `id` and a nonce that solves it for `who`.
fn solution(id: IndentureId, slot: u32, who: u64) -> (u64, u64) {
	let challenge = Slots::<Test>::get(id, slot).unwrap().challenge;
	let c = pallet_challenge::Challenges::<Test>::get(challenge).unwrap();
	let pallet_challenge::Puzzle::HashTarget { difficulty, seed } = c.puzzle else {
		panic!("hash target")
	};
	let nonce = (0u64..)
		.find(|n| {
			let h = pallet_challenge::math::work_hash(&seed.0, &codec::Encode::encode(&who), *n);
			pallet_challenge::math::leading_zero_bits(&h) >= difficulty
		})
		.unwrap();
	(challenge, nonce)
}

fn solve(id: IndentureId, slot: u32, who: u64) -> sp_runtime::DispatchResult {
	let (challenge, nonce) = solution(id, slot, who);
	Challenge::solve(RuntimeOrigin::signed(who), challenge, nonce)
}

#[test]
fn submit_opens_one_challenge_per_slot() {
	build_and_execute(|| {
		assert_ok!(submit(SpecOf::<Test> { nodes: 2, replicas: 2, incentive: 2_400, ..spec() }));
		let slots: Vec<_> = Slots::<Test>::iter_prefix_values(0).collect();
		assert_eq!(slots.len(), 4);
		for s in slots {
			assert_eq!(SlotOfChallenge::<Test>::get(s.challenge).map(|x| x.0), Some(0));
		}
	});
}

#[test]
fn only_fitting_miners_may_compete() {
	build_and_execute(|| {
		assert_ok!(submit(SpecOf::<Test> { min_reputation: Permill::from_percent(50), ..spec() }));
		let not_eligible = || pallet_challenge::Error::<Test>::NotEligible;
		// Not registered.
		assert_noop!(solve(0, 0, MINER_A), not_eligible());
		// Too small.
		register_miner(MINER_A, Resources { cpu_millicores: 1_000, ..big() }, 1);
		assert_noop!(solve(0, 0, MINER_A), not_eligible());
		// Too expensive: the offer is 1,200 for 600 CU, 2 per CU.
		register_miner(MINER_B, big(), 3);
		assert_noop!(solve(0, 0, MINER_B), not_eligible());
		assert_ok!(RepChain::update_miner(
			RuntimeOrigin::signed(MINER_B),
			big(),
			2,
			BoundedVec::truncate_from(b"10.0.0.5:22".to_vec())
		));
		// Reputation below the minimum: one failure drops the neutral 50 %.
		<RepChain as ReputationApi<_, _, _>>::append(
			pallet_repchain::WorkRecord {
				subject: MINER_B,
				role: Role::Miner,
				indenture: 99,
				outcome: pallet_repchain::Outcome::Failure,
				value: 0,
				heartbeats_proven: 0,
				heartbeats_missed: 0,
				duration: 0,
				rating: None,
				at: 1,
			},
			None,
		);
		assert_noop!(solve(0, 0, MINER_B), not_eligible());
	});
}

#[test]
fn each_slot_goes_to_a_different_miner_and_starts_a_lease() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		register_miner(MINER_A, big(), 1);
		register_miner(MINER_B, big(), 2);
		assert_ok!(solve(0, 0, MINER_A));
		let slot = Slots::<Test>::get(0, 0).unwrap();
		assert_eq!(slot.miner, Some(MINER_A));
		let lease = pallet_challenge::Leases::<Test>::get(slot.lease.unwrap()).unwrap();
		// 100 blocks in rounds of 10, from the next block.
		assert_eq!((lease.miner, lease.start, lease.rounds, lease.period), (MINER_A, 2, 10, 10));
		// Miner A holds a slot already.
		assert_noop!(solve(0, 1, MINER_A), pallet_challenge::Error::<Test>::NotEligible);
		// Withdrawing is over once a slot is awarded.
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), 0),
			Error::<Test>::AlreadyAwarded
		);
		assert_ok!(solve(0, 1, MINER_B));
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Leased);
		assert!(IndenturePallet::queue_page(0, 10).is_empty());
		System::assert_has_event(Event::Leased { id: 0 }.into());
		// A miner at work cannot leave.
		assert_noop!(
			RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner),
			pallet_repchain::Error::<Test>::StillActive
		);
		assert_noop!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0), Error::<Test>::NotOpen);
	});
}

#[test]
fn expiry_of_a_partly_awarded_indenture_frees_everyone() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		register_miner(MINER_A, big(), 1);
		assert_ok!(solve(0, 0, MINER_A));
		System::set_block_number(22);
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		assert_eq!(Balances::free_balance(BUYER), 1_000_000);
		assert_eq!(Slots::<Test>::iter_prefix_values(0).count(), 0);
		assert_eq!(pallet_challenge::Leases::<Test>::iter().count(), 0);
		assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner));
	});
}

#[test]
fn an_expired_challenge_leaves_its_slot_until_the_indenture_expires() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		let challenge = Slots::<Test>::get(0, 0).unwrap().challenge;
		System::set_block_number(22);
		assert_ok!(Challenge::conclude(RuntimeOrigin::signed(9), challenge));
		IndenturePallet::do_try_state().expect("invariants hold between the two expiries");
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		assert_eq!(SlotOfChallenge::<Test>::iter().count(), 0);
		assert_eq!(pallet_challenge::Challenges::<Test>::iter().count(), 0);
	});
}

// ---- running: streaming payment, failure, settlement ----

/// Answers `round` of the lease of slot 0 of indenture 0 as `who`, at the round's opening block.
fn heartbeat(who: u64, round: u32) {
	heartbeat_slot(0, who, round)
}

fn heartbeat_slot(slot: u32, who: u64, round: u32) {
	heartbeat_of(0, slot, who, round)
}

/// Answers `round` of the lease of `slot` of indenture `id` as `who`, at the round's opening
/// block.
fn heartbeat_of(id: IndentureId, slot: u32, who: u64, round: u32) {
	let lease_id = Slots::<Test>::get(id, slot).unwrap().lease.unwrap();
	let lease = pallet_challenge::Leases::<Test>::get(lease_id).unwrap();
	let open = Challenge::round_open(&lease, round);
	System::set_block_number(open);
	let nonce = heartbeat_nonce(lease_id, &lease, round, who);
	assert_ok!(Challenge::heartbeat(RuntimeOrigin::signed(who), lease_id, round, nonce));
}

/// A nonce answering `round` of `lease` for `who` (the round's opening block must exist).
fn heartbeat_nonce(
	lease_id: pallet_challenge::LeaseId,
	lease: &pallet_challenge::HeartbeatLease<u64, u64>,
	round: u32,
	who: u64,
) -> u64 {
	let seed = Challenge::round_seed(lease_id, round, Challenge::round_open(lease, round));
	(0u64..)
		.find(|n| {
			let h = pallet_challenge::math::work_hash(&seed.0, &codec::Encode::encode(&who), *n);
			pallet_challenge::math::leading_zero_bits(&h) >= lease.difficulty
		})
		.unwrap()
}

fn service(duration: u32) -> SpecOf<Test> {
	SpecOf::<Test> { task_type: TaskType::Service, nodes: 1, duration, ..spec() }
}

#[test]
fn a_service_is_paid_per_proven_round_and_settles_with_its_last_heartbeat() {
	build_and_execute(|| {
		// 3 rounds of 10 blocks; 1,200 / 3 = 400 a round; fees 60 + 12.
		assert_ok!(submit(service(30)));
		register_miner(MINER_A, big(), 1);
		assert_ok!(solve(0, 0, MINER_A));
		heartbeat(MINER_A, 0);
		System::assert_has_event(
			Event::RoundPaid { id: 0, miner: MINER_A, round: 0, amount: 400 }.into(),
		);
		assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 400);
		heartbeat(MINER_A, 1);
		heartbeat(MINER_A, 2);
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
		assert_ok!(submit(service(50)));
		register_miner(MINER_A, big(), 1);
		assert_ok!(solve(0, 0, MINER_A));
		heartbeat(MINER_A, 0);
		// Round 3 closes at block 2 + 30 + 5 = 37.
		System::set_block_number(37);
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

// ---- batch results ----

const MINER_C: u64 = 6;

fn seal(result: H256, who: u64) -> H256 {
	IndenturePallet::result_seal(&result, &who)
}

fn ci_record() -> CiRecord<u64, Balance, u64> {
	System::events()
		.iter()
		.find_map(|e| match &e.event {
			RuntimeEvent::IndenturePallet(Event::CiRecorded { record }) => Some(record.clone()),
			_ => None,
		})
		.expect("a CIRecord")
}

/// One node, one replica, one round: 600 streams with the heartbeat, 600 waits for the result.
fn single_batch_reporting() {
	assert_ok!(submit(SpecOf::<Test> { nodes: 1, duration: 10, ..spec() }));
	register_miner(MINER_A, big(), 1);
	assert_ok!(solve(0, 0, MINER_A));
	heartbeat(MINER_A, 0);
	assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reporting);
	assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100 + 600);
}

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
		assert_ok!(IndenturePallet::commit_result(origin(MINER_A), 0, seal(result, MINER_A)));
		assert_noop!(
			IndenturePallet::commit_result(origin(MINER_A), 0, H256::zero()),
			Error::<Test>::AlreadySealed
		);
		assert_noop!(
			IndenturePallet::reveal_result(origin(MINER_A), 0, H256::repeat_byte(8)),
			Error::<Test>::SealMismatch
		);
		assert_ok!(IndenturePallet::reveal_result(origin(MINER_A), 0, result));
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
		single_batch_reporting();
		let result = H256::repeat_byte(7);
		assert_ok!(IndenturePallet::commit_result(
			RuntimeOrigin::signed(MINER_A),
			0,
			seal(result, MINER_A)
		));
		assert_ok!(IndenturePallet::reveal_result(RuntimeOrigin::signed(MINER_A), 0, result));
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
		assert_ok!(submit(SpecOf::<Test> {
			nodes: 1,
			replicas: 3,
			duration: 10,
			incentive: 1_200,
			..spec()
		}));
		for (slot, who) in [(0, MINER_A), (1, MINER_B), (2, MINER_C)] {
			register_miner(who, big(), 1);
			assert_ok!(solve(0, slot, who));
		}
		for (slot, who) in [(0, MINER_A), (1, MINER_B), (2, MINER_C)] {
			heartbeat_slot(slot, who, 0);
		}
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reporting);
		let (good, bad) = (H256::repeat_byte(1), H256::repeat_byte(2));
		let sealed =
			|who, r| IndenturePallet::commit_result(RuntimeOrigin::signed(who), 0, seal(r, who));
		assert_ok!(sealed(MINER_A, good));
		// Nobody may reveal while others can still seal (they could copy).
		assert_noop!(
			IndenturePallet::reveal_result(RuntimeOrigin::signed(MINER_A), 0, good),
			Error::<Test>::SealingOpen
		);
		assert_ok!(sealed(MINER_B, good));
		assert_ok!(sealed(MINER_C, bad));
		assert_noop!(
			IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0),
			Error::<Test>::RevealsOpen
		);
		for (who, r) in [(MINER_A, good), (MINER_B, good), (MINER_C, bad)] {
			assert_ok!(IndenturePallet::reveal_result(RuntimeOrigin::signed(who), 0, r));
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
		System::set_block_number(seal_until + 1);
		assert_noop!(
			IndenturePallet::commit_result(RuntimeOrigin::signed(MINER_A), 0, H256::zero()),
			Error::<Test>::WindowClosed
		);
		assert_noop!(
			IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0),
			Error::<Test>::RevealsOpen
		);
		System::set_block_number(seal_until + 6);
		assert_ok!(IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0));
		assert_eq!(ci_record().status, Status::Failed);
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
		// The buyer paid the streamed 600 and the fees, got the result share back and 10 of the bond.
		assert_eq!(Balances::free_balance(BUYER), 1_000_000 - 600 - 72 + 10);
	});
}

#[test]
fn expiry_does_not_free_a_miner_twice() {
	build_and_execute(|| {
		// Indenture 0: two slots, a one-round lease; only slot 0 is ever awarded.
		assert_ok!(submit(SpecOf::<Test> { duration: 10, ..spec() }));
		register_miner(MINER_A, big(), 1);
		assert_ok!(solve(0, 0, MINER_A));
		heartbeat(MINER_A, 0);
		assert!(Slots::<Test>::get(0, 0).unwrap().ended.is_some());
		// Indenture 1: miner A is at work on it.
		assert_ok!(submit(SpecOf::<Test> { nodes: 1, ..spec() }));
		assert_ok!(solve(1, 0, MINER_A));
		System::set_block_number(22);
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		// Still busy with indenture 1.
		assert_noop!(
			RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner),
			pallet_repchain::Error::<Test>::StillActive
		);
	});
}

// ---- the agenda, recent records and ratings ----

/// Runs `on_initialize` of every block from the current one up to `n`, as the chain would.
fn run_to(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		IndenturePallet::on_initialize(next);
	}
}

#[test]
fn the_agenda_expires_unawarded_work_at_its_deadline() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		assert_eq!(Agenda::<Test>::get(22).to_vec(), vec![Deadline::Award(0)]);
		run_to(21);
		assert!(Indentures::<Test>::get(0).is_some());
		run_to(22);
		assert!(Indentures::<Test>::get(0).is_none());
		System::assert_has_event(Event::Expired { id: 0, refunded: 1_272 }.into());
		assert_eq!(Balances::free_balance(BUYER), 1_000_000);
		assert!(Agenda::<Test>::get(22).is_empty());
	});
}

#[test]
fn the_agenda_ends_a_silent_lease_and_settles_the_work() {
	build_and_execute(|| {
		// One round of 10 blocks: the lease starts at 2, its round closes at 2 + 5 = 7.
		assert_ok!(submit(service(10)));
		register_miner(MINER_A, big(), 1);
		assert_ok!(solve(0, 0, MINER_A));
		let access = Slots::<Test>::get(0, 0).unwrap().access.unwrap();
		assert_eq!((access.start, access.end), (2, 7));
		assert_eq!(access.endpoint.to_vec(), b"10.0.0.4:22".to_vec());
		run_to(7);
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
		single_batch_reporting();
		// Sealing closes at 2 + 5 = 7 (the heartbeat block) ... the miner seals and reveals.
		let result = H256::repeat_byte(9);
		assert_ok!(IndenturePallet::commit_result(
			RuntimeOrigin::signed(MINER_A),
			0,
			seal(result, MINER_A)
		));
		assert_ok!(IndenturePallet::reveal_result(RuntimeOrigin::signed(MINER_A), 0, result));
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reported);
		// Nobody accepts: the acceptance window (5 blocks) closes and the agenda settles it.
		let now = System::block_number();
		run_to(now + 5);
		assert!(Indentures::<Test>::get(0).is_some());
		run_to(now + 6);
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
		// the result's part.
		run_to(due + 5 + 1);
		assert!(Indentures::<Test>::get(0).is_none());
		let record = ci_record();
		assert_eq!(
			(record.status, record.paid_to_miners, record.refunded),
			(Status::Failed, 600, 600)
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
	build_and_execute(|| {
		// Each deadline weighs 1,000 in the mock: a budget of 500 fits none.
		AgendaBudget::set(frame_support::weights::Weight::from_parts(500, u64::MAX));
		assert_ok!(submit(spec()));
		run_to(22);
		assert!(Indentures::<Test>::get(0).is_some());
		assert_eq!(Agenda::<Test>::get(23).to_vec(), vec![Deadline::Award(0)]);
		AgendaBudget::set(frame_support::weights::Weight::MAX);
		run_to(23);
		assert!(Indentures::<Test>::get(0).is_none());
	});
}

#[test]
fn a_deadline_that_fails_changes_nothing() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		// A results deadline for an indenture that is not reporting: rolled back, no effect.
		Agenda::<Test>::mutate(5, |a| a.try_push(Deadline::Results(0)).unwrap());
		run_to(5);
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Open);
	});
}

/// A settled service of one miner; returns nothing, leaves the record of indenture 0.
fn settled_service() {
	assert_ok!(submit(service(10)));
	register_miner(MINER_A, big(), 1);
	assert_ok!(solve(0, 0, MINER_A));
	heartbeat(MINER_A, 0);
	assert!(Records::<Test>::get(0).is_some());
}

#[test]
fn the_buyer_rates_each_miner_once() {
	build_and_execute(|| {
		settled_service();
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
			let id = NextIndentureId::<Test>::get();
			assert_ok!(submit(spec()));
			assert_ok!(IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), id));
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

fn settled_service_at(id: IndentureId) {
	assert_eq!(NextIndentureId::<Test>::get(), id);
	assert_ok!(submit(service(10)));
	register_miner(MINER_A, big(), 1);
	assert_ok!(solve(id, 0, MINER_A));
	heartbeat_of(id, 0, MINER_A, 0);
	assert!(Unrated::<Test>::contains_key(id, MINER_A));
}

fn ci_record_template(cid: IndentureId) -> CiRecordOf<Test> {
	CiRecord { cid, ..ci_record() }
}

#[test]
fn rpc_queries_filter_the_queue_and_describe_indentures() {
	build_and_execute(|| {
		assert_ok!(submit(spec()));
		assert_ok!(submit(SpecOf::<Test> {
			challenge: ChallengeKind::Factorization,
			priority: 9,
			..spec()
		}));
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

// ---- property test ----

/// Random sequences of submit / solve / heartbeat / miss reports / results / disputes /
/// accept / resolve / cancel / expire / rate over many blocks, every call dispatched as the
/// chain would (in a storage layer, failures allowed), keep Indenture's invariants, keep what
/// is held equal to the open escrows, and never create or lose balance.
#[test]
fn random_marketplace_activity_keeps_every_invariant() {
	use frame_support::traits::{fungible::Inspect, UnfilteredDispatchable};
	const BUYERS: [u64; 2] = [BUYER, 7];
	const MINERS: [u64; 3] = [MINER_A, MINER_B, MINER_C];
	let mut total_ended = 0;
	for seed in 1..=12u64 {
		build_and_execute(|| {
			let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
			let mut next = |n: u64| {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				rng % n
			};
			for m in MINERS {
				register_miner(m, big(), 1);
			}
			let issuance = pallet_balances::TotalIssuance::<Test>::get();
			let (mut ok, mut tried) = (0u32, 0u32);
			for _ in 0..150 {
				let ids: Vec<IndentureId> = Indentures::<Test>::iter_keys().collect();
				let pick = |r: u64| ids.get(r as usize % ids.len().max(1)).copied().unwrap_or(0);
				let id = pick(next(1_000));
				let buyer = BUYERS[next(2) as usize];
				let miner = MINERS[next(3) as usize];
				let result = H256::repeat_byte(next(2) as u8);
				let call: RuntimeCall = match next(12) {
					0 | 1 => Call::submit {
						spec: SpecOf::<Test> {
							task_type: if next(2) == 0 {
								TaskType::Batch
							} else {
								TaskType::Service
							},
							nodes: 1 + next(2) as u32,
							replicas: 1 + next(2) as u32,
							duration: 10 + 10 * next(3) as u32,
							incentive: 1_200 * (1 + next(3) as u128) + next(7) as u128,
							priority: next(3) as u8,
							..spec()
						},
					}
					.into(),
					2 | 3 => {
						let open: Vec<_> = Slots::<Test>::iter()
							.filter(|(_, _, s)| s.miner.is_none())
							.map(|(i, n, _)| (i, n))
							.collect();
						let Some(&(i, n)) = open.get(next(open.len().max(1) as u64) as usize)
						else {
							continue;
						};
						let (challenge, nonce) = solution(i, n, miner);
						pallet_challenge::Call::solve { id: challenge, nonce }.into()
					},
					4 | 5 => {
						// The miner of a running lease answers the round open now, if any.
						let leases: Vec<_> = pallet_challenge::Leases::<Test>::iter().collect();
						let Some((lease_id, lease)) =
							leases.get(next(leases.len().max(1) as u64) as usize).cloned()
						else {
							continue;
						};
						let now = System::block_number();
						if now < lease.start {
							continue;
						}
						let round = ((now - lease.start) / u64::from(lease.period)) as u32;
						let who = lease.miner;
						let nonce = heartbeat_nonce(lease_id, &lease, round, who);
						let call: RuntimeCall =
							pallet_challenge::Call::heartbeat { lease: lease_id, round, nonce }
								.into();
						tried += 1;
						ok +=
							call.dispatch_bypass_filter(RuntimeOrigin::signed(who)).is_ok() as u32;
						continue;
					},
					6 => {
						let lease =
							pallet_challenge::Leases::<Test>::iter_keys().next().unwrap_or(0);
						pallet_challenge::Call::report_missed { lease }.into()
					},
					7 => {
						let who = Slots::<Test>::iter_prefix_values(id)
							.filter_map(|s| s.miner)
							.nth(next(2) as usize)
							.unwrap_or(miner);
						let call: RuntimeCall = if next(2) == 0 {
							Call::commit_result { id, seal: seal(result, who) }.into()
						} else {
							Call::reveal_result { id, result }.into()
						};
						tried += 1;
						ok +=
							call.dispatch_bypass_filter(RuntimeOrigin::signed(who)).is_ok() as u32;
						continue;
					},
					8 => match next(3) {
						0 => pallet_escrow::Call::dispute { id }.into(),
						1 => pallet_escrow::Call::accept { id }.into(),
						_ => {
							let share = Perbill::from_percent(next(101) as u32);
							let call: RuntimeCall =
								pallet_escrow::Call::resolve { id, miner_share: share }.into();
							tried += 1;
							ok += call
								.dispatch_bypass_filter(RuntimeOrigin::signed(ESCROW_OP))
								.is_ok() as u32;
							continue;
						},
					},
					9 => Call::cancel { id }.into(),
					10 => Call::expire { id }.into(),
					_ => {
						let rid = RecentRecords::<Test>::get().first().copied().unwrap_or(0);
						Call::rate { id: rid, miner, rating: 1 + next(5) as u8 }.into()
					},
				};
				tried += 1;
				let signer = if matches!(call, RuntimeCall::Challenge(_)) { miner } else { buyer };
				let r = call.dispatch_bypass_filter(RuntimeOrigin::signed(signer));
				ok += r.is_ok() as u32;
				run_to(System::block_number() + next(4));
				IndenturePallet::do_try_state().expect("indenture invariants");
				let escrowed: Balance = Indentures::<Test>::iter_keys()
					.map(<Escrow as pallet_escrow::EscrowApi<_, _, _>>::held)
					.sum();
				let held: Balance = (1..=9)
					.map(|a| {
						Balances::balance_on_hold(&pallet_escrow::HoldReason::Escrow.into(), &a)
					})
					.sum();
				assert_eq!(held, escrowed, "seed {seed}: held funds differ from open escrows");
				let total: Balance = (1..=9).map(|a| Balances::total_balance(&a)).sum();
				assert_eq!(total, issuance, "seed {seed}: balance was created or lost");
			}
			// Let every deadline pass so the agenda ends what is left.
			run_to(System::block_number() + 200);
			IndenturePallet::do_try_state().expect("indenture invariants");
			let ended = RecentRecords::<Test>::get().len();
			println!("property seed {seed}: {ok}/{tried} calls succeeded, {ended} CIRecords kept");
			assert!(ok > 10, "seed {seed}: only {ok} of {tried} calls succeeded");
			total_ended += ended;
		});
	}
	assert!(total_ended >= 6, "only {total_ended} indentures ended over all seeds");
}
