//! Submission: pricing, every bad input, and one challenge per slot.

use super::*;

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
		assert_submit(BUYER, spec());
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
					task: Work::Container {
						hash: H256::zero(),
						uri: BoundedVec::new(),
						command: BoundedVec::truncate_from(vec![BoundedVec::truncate_from(
							b"/bin/sh".to_vec(),
						)]),
					},
					..spec()
				},
				Error::<Test>::EmptyTask,
			),
			// A container with no program to run.
			(
				SpecOf::<Test> {
					task: Work::Container {
						hash: H256::zero(),
						uri: BoundedVec::truncate_from(b"http://x/i.tar".to_vec()),
						command: BoundedVec::new(),
					},
					..spec()
				},
				Error::<Test>::EmptyTask,
			),
			// An executor that does not run the task: a module in a container, an image in
			// the Wasm runtime.
			(
				SpecOf::<Test> { executor: Executor::Container, ..spec() },
				Error::<Test>::WrongExecutor,
			),
			(
				SpecOf::<Test> { executor: Executor::MicroVm, ..spec() },
				Error::<Test>::WrongExecutor,
			),
			(
				SpecOf::<Test> {
					task: Work::Inline(BoundedVec::truncate_from(vec![0])),
					executor: Executor::Container,
					..spec()
				},
				Error::<Test>::WrongExecutor,
			),
			(SpecOf::<Test> { task: image(), ..spec() }, Error::<Test>::WrongExecutor),
			// A public address is for a service from an image (tests/addresses.rs has more).
			(
				SpecOf::<Test> { public_ip: PublicIp::PerNode, ..spec() },
				Error::<Test>::NoAddressForTask,
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
		assert_submit(BUYER, SpecOf::<Test> { incentive: 600, ..spec() });
		// A buyer who cannot pay.
		assert_noop!(
			submit(SpecOf::<Test> { incentive: 2_000_000, ..spec() }),
			pallet_escrow::Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn submit_opens_one_challenge_per_slot() {
	build_and_execute(|| {
		assert_submit(BUYER, SpecOf::<Test> { nodes: 2, replicas: 2, incentive: 2_400, ..spec() });
		let slots: Vec<_> = Slots::<Test>::iter_prefix_values(0).collect();
		assert_eq!(slots.len(), 4);
		for s in slots {
			assert_eq!(SlotOfChallenge::<Test>::get(s.challenge).map(|x| x.0), Some(0));
		}
	});
}
