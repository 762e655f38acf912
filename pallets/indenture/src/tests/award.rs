//! Competition and award: who may compete, one miner per slot, and expiry of work that was not
//! (fully) awarded.

use super::*;

#[test]
fn only_fitting_miners_may_compete() {
	build_and_execute(|| {
		assert_submit(
			BUYER,
			SpecOf::<Test> { min_reputation: Permill::from_percent(50), ..spec() },
		);
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
			BoundedVec::truncate_from(vec![Executor::Wasm]),
			2,
			BoundedVec::truncate_from(b"10.0.0.5:22".to_vec()),
			0
		));
		// Reputation below the minimum: one failure drops the neutral 50 %.
		<RepChain as ReputationApi<_, _, _>>::append(
			pallet_repchain::WorkRecord {
				subject: MINER_B,
				role: Role::Miner,
				indenture: 99,
				outcome: pallet_repchain::Outcome::Failure,
				value: 1_000,
				counterparty: None,
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

/// A miner competes only for work an executor it offers runs: a Wasm-only miner cannot take
/// an image, a container miner cannot take work asking for a microVM (nor Wasm when it does
/// not offer it), and a microVM miner takes batch work asking for a container as well, but
/// not a container service.
#[test]
fn only_miners_offering_the_executor_it_needs_compete() {
	build_and_execute(|| {
		let needs = |task: Work, executor| SpecOf::<Test> { task, executor, ..spec() };
		let wasm = assert_submit(BUYER, spec());
		let container = assert_submit(BUYER, needs(image(), Executor::Container));
		let microvm = assert_submit(BUYER, needs(image(), Executor::MicroVm));
		let not_eligible = || pallet_challenge::Error::<Test>::NotEligible;
		register_miner_offering(MINER_A, big(), 1, &[Executor::Wasm]);
		register_miner_offering(MINER_B, big(), 1, &[Executor::Container]);
		register_miner_offering(MINER_C, big(), 1, &[Executor::MicroVm]);
		let may = |id, who| IndenturePallet::may_compete(id, &who);
		assert_eq!(
			[wasm, container, microvm].map(|id| [MINER_A, MINER_B, MINER_C].map(|m| may(id, m))),
			[[true, false, false], [false, true, true], [false, false, true]]
		);
		assert_noop!(solve(container, 0, MINER_A), not_eligible());
		assert_noop!(solve(microvm, 0, MINER_B), not_eligible());
		assert_noop!(solve(wasm, 0, MINER_C), not_eligible());
		assert_solve(MINER_A, wasm, 0);
		assert_solve(MINER_B, container, 0);
		assert_solve(MINER_C, container, 1);
		assert_solve(MINER_C, microvm, 0);
		// Offering it later is enough: the offer is read when the miner competes.
		assert_ok!(RepChain::update_miner(
			RuntimeOrigin::signed(MINER_B),
			big(),
			BoundedVec::truncate_from(vec![Executor::Container, Executor::MicroVm]),
			1,
			BoundedVec::truncate_from(b"10.0.0.5:22".to_vec()),
			0
		));
		assert_solve(MINER_B, microvm, 1);
		let service = assert_submit(
			MINER_A,
			SpecOf::<Test> { task: image(), executor: Executor::Container, ..service(100) },
		);
		assert!(!may(service, MINER_C));
		assert_noop!(solve(service, 0, MINER_C), not_eligible());
		assert_solve(MINER_B, service, 0);
		// A service may ask for a guest of its own; only a microVM miner takes it.
		let vm_service = assert_submit(
			MINER_A,
			SpecOf::<Test> { task: image(), executor: Executor::MicroVm, ..super::service(100) },
		);
		assert_eq!([MINER_A, MINER_C].map(|m| may(vm_service, m)), [false, true]);
		assert_solve(MINER_C, vm_service, 0);
	});
}

#[test]
fn each_slot_goes_to_a_different_miner_and_starts_a_lease() {
	build_and_execute(|| {
		assert_submit(BUYER, spec());
		register_miner(MINER_A, big(), 1);
		register_miner(MINER_B, big(), 2);
		assert_solve(MINER_A, 0, 0);
		let slot = Slots::<Test>::get(0, 0).unwrap();
		assert_eq!(slot.miner, Some(MINER_A));
		let lease = pallet_challenge::Leases::<Test>::get(slot.lease.unwrap()).unwrap();
		// 100 blocks in rounds of 10, from the block after the award (block 2: the seed is
		// known from the block after the challenge opened).
		assert_eq!((lease.miner, lease.start, lease.rounds, lease.period), (MINER_A, 3, 10, 10));
		// Miner A holds a slot already.
		assert_noop!(solve(0, 1, MINER_A), pallet_challenge::Error::<Test>::NotEligible);
		// Withdrawing is over once a slot is awarded.
		assert_noop!(
			IndenturePallet::cancel(RuntimeOrigin::signed(BUYER), 0),
			Error::<Test>::AlreadyAwarded
		);
		assert_solve(MINER_B, 0, 1);
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
		awarded_slot_0(spec());
		set_block(22);
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
		assert_submit(BUYER, spec());
		let challenge = Slots::<Test>::get(0, 0).unwrap().challenge;
		set_block(22);
		assert_ok!(Challenge::conclude(RuntimeOrigin::signed(9), challenge));
		IndenturePallet::do_try_state().expect("invariants hold between the two expiries");
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		assert_eq!(SlotOfChallenge::<Test>::iter().count(), 0);
		assert_eq!(pallet_challenge::Challenges::<Test>::iter().count(), 0);
	});
}

#[test]
fn expiry_does_not_free_a_miner_twice() {
	build_and_execute(|| {
		// Indenture 0: two slots, a one-round lease; only slot 0 is ever awarded.
		awarded_slot_0(SpecOf::<Test> { duration: 10, ..spec() });
		heartbeat(MINER_A, 0);
		assert!(Slots::<Test>::get(0, 0).unwrap().ended.is_some());
		// Indenture 1: miner A is at work on it.
		assert_submit(BUYER, SpecOf::<Test> { nodes: 1, ..spec() });
		assert_solve(MINER_A, 1, 0);
		set_block(22);
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(9), 0));
		// Still busy with indenture 1.
		assert_noop!(
			RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner),
			pallet_repchain::Error::<Test>::StillActive
		);
	});
}
