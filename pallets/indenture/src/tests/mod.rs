//! Unit tests of Indenture, by topic. The specs, accounts and per-call helpers they share are
//! here; the `assert_*` helpers make a call and check what every success of it does (state
//! before and after, and its event), so the tests only add what is particular to them.

mod addresses;
mod adversary;
mod agenda;
mod award;
mod fees;
mod lease;
mod property;
mod queue;
mod rate;
mod ratings;
mod results;
mod submit;

use crate::{mock::*, types::Task as Work, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use pallet_challenge::ChallengeKind;
use pallet_repchain::Resources;
use pallet_repchain::{ReputationApi, Role};
use sp_core::H256;
use sp_runtime::Perbill;

const MINER_A: u64 = 4;
const MINER_B: u64 = 5;
const MINER_C: u64 = 6;

/// A deterministic xorshift generator for the property tests: `next(n)` is in `0..n`.
fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
	let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
	move |n| {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		rng % n
	}
}

fn spec() -> SpecOf<Test> {
	IndentureSpec {
		task: Work::Wasm {
			hash: H256::repeat_byte(1),
			uri: BoundedVec::truncate_from(b"https://example.invalid/task.wasm".to_vec()),
		},
		task_type: TaskType::Batch,
		executor: Executor::Wasm,
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

/// A service on one node for `duration` blocks.
fn service(duration: u32) -> SpecOf<Test> {
	SpecOf::<Test> { task_type: TaskType::Service, nodes: 1, duration, ..spec() }
}

/// What `who` has on hold in escrows.
fn held(who: u64) -> Balance {
	Balances::balance_on_hold(&pallet_escrow::HoldReason::Escrow.into(), &who)
}

/// The buyer submits `s`, for tests that expect it to fail.
fn submit(s: SpecOf<Test>) -> sp_runtime::DispatchResult {
	IndenturePallet::submit(RuntimeOrigin::signed(BUYER), s).map(|_| ()).map_err(|e| e.error)
}

/// `buyer` submits `spec`, which must be accepted. Checks what every submission does: the
/// indenture gets the next id and is stored open with one slot per node and replica, the
/// buyer's hold grows by the incentive plus both fees, the queue grows by one entry with the
/// spec's priority, and `Submitted` is the last event. Returns the id.
fn assert_submit(buyer: u64, spec: SpecOf<Test>) -> IndentureId {
	let id = NextIndentureId::<Test>::get();
	let (held_before, queued_before) = (held(buyer), Queue::<Test>::get().len());
	assert_ok!(IndenturePallet::submit(RuntimeOrigin::signed(buyer), spec.clone()));
	let ind = Indentures::<Test>::get(id).expect("a submitted indenture is stored");
	assert_eq!((ind.buyer, &ind.spec, ind.status), (buyer, &spec, Status::Open));
	let full = spec.incentive + ind.exchange_fee + ind.escrow_fee;
	assert_eq!(held(buyer), held_before + full);
	let queue = Queue::<Test>::get();
	assert_eq!(queue.len(), queued_before + 1);
	assert!(queue.iter().any(|(p, i, _)| (*p, *i) == (spec.priority, id)));
	assert_eq!(Slots::<Test>::iter_prefix(id).count() as u32, spec.nodes * spec.replicas);
	System::assert_last_event(
		Event::Submitted {
			id,
			buyer,
			compute_units: ind.compute_units,
			incentive: spec.incentive,
			held: full,
			award_deadline: ind.award_deadline,
		}
		.into(),
	);
	id
}

/// `buyer` withdraws indenture `id`, which must succeed. Checks what every cancellation does:
/// all its escrow held goes back (the hold shrinks and the free balance grows by it), the
/// indenture, its slots and its queue entry are gone, and `Cancelled` is the last event.
/// Returns what was refunded.
fn assert_cancel(buyer: u64, id: IndentureId) -> Balance {
	let escrowed = <Escrow as pallet_escrow::EscrowApi<_, _, _>>::held(id);
	let (held_before, free_before) = (held(buyer), Balances::free_balance(buyer));
	let queued_before = Queue::<Test>::get().len();
	assert_ok!(IndenturePallet::cancel(RuntimeOrigin::signed(buyer), id));
	System::assert_last_event(Event::Cancelled { id, refunded: escrowed }.into());
	assert_eq!(held(buyer), held_before - escrowed);
	assert_eq!(Balances::free_balance(buyer), free_before + escrowed);
	assert!(Indentures::<Test>::get(id).is_none());
	assert_eq!(Slots::<Test>::iter_prefix(id).count(), 0);
	assert_eq!(Queue::<Test>::get().len(), queued_before - 1);
	escrowed
}

/// Registers `who` as a miner offering every executor.
fn register_miner(who: u64, resources: Resources, price_floor: Balance) {
	register_miner_offering(who, resources, price_floor, &[Executor::Wasm, Executor::MicroVm]);
}

fn register_miner_offering(
	who: u64,
	resources: Resources,
	price_floor: Balance,
	executors: &[Executor],
) {
	register_miner_with(who, resources, price_floor, executors, 0);
}

/// Registers `who` as a miner offering `executors` and `addresses` dedicated public addresses.
fn register_miner_with(
	who: u64,
	resources: Resources,
	price_floor: Balance,
	executors: &[Executor],
	addresses: u16,
) {
	assert_ok!(RepChain::register_miner(
		RuntimeOrigin::signed(who),
		resources,
		BoundedVec::truncate_from(executors.to_vec()),
		price_floor,
		BoundedVec::truncate_from(b"10.0.0.4:22".to_vec()),
		addresses,
		100
	));
}

/// An image task (run by a container or a microVM).
fn image() -> Work {
	Work::Container {
		hash: H256::repeat_byte(2),
		uri: BoundedVec::truncate_from(b"http://x/i.tar".to_vec()),
		command: BoundedVec::truncate_from(vec![BoundedVec::truncate_from(b"/bin/sh".to_vec())]),
	}
}

fn big() -> Resources {
	Resources { cpu_millicores: 8_000, memory_mib: 16_384, storage_gib: 100, gpus: 0 }
}

/// The challenge of `slot` of indenture `id` and a nonce that solves it for `who`.
fn solution(id: IndentureId, slot: u32, who: u64) -> (u64, u64) {
	let challenge = Slots::<Test>::get(id, slot).unwrap().challenge;
	let c = pallet_challenge::Challenges::<Test>::get(challenge).unwrap();
	let pallet_challenge::Puzzle::HashTarget { difficulty } = c.puzzle else {
		panic!("hash target")
	};
	let seed = Challenge::hash_target_seed_of(challenge, &c);
	let nonce = (0u64..)
		.find(|n| {
			let h = pallet_challenge::math::work_hash(&seed.0, &codec::Encode::encode(&who), *n);
			pallet_challenge::math::leading_zero_bits(&h) >= difficulty
		})
		.unwrap();
	(challenge, nonce)
}

/// `who` solves the challenge of `slot` of indenture `id`, for tests that expect it to fail.
fn solve(id: IndentureId, slot: u32, who: u64) -> sp_runtime::DispatchResult {
	let (challenge, nonce) = solution(id, slot, who);
	Challenge::solve(RuntimeOrigin::signed(who), challenge, nonce).map(|_| ()).map_err(|e| e.error)
}

/// `who` solves the challenge of `slot` of indenture `id` and wins the slot. Checks what every
/// award does: the slot names the miner and its lease, the lease maps back to the slot,
/// `SlotAwarded` is emitted, and the indenture is leased (and out of the queue) exactly when
/// every slot is taken.
fn assert_solve(who: u64, id: IndentureId, slot: u32) {
	// A hash target's seed is known, and solutions taken, from the block after it opened.
	let challenge = Slots::<Test>::get(id, slot).expect("slot").challenge;
	let opened = pallet_challenge::Challenges::<Test>::get(challenge).expect("open").opened;
	if System::block_number() <= opened {
		set_block(opened + 1);
	}
	assert_ok!(solve(id, slot, who));
	let s = Slots::<Test>::get(id, slot).expect("an awarded slot is kept");
	assert_eq!(s.miner, Some(who));
	let lease = s.lease.expect("an awarded slot has a lease");
	assert_eq!(SlotOfLease::<Test>::get(lease), Some((id, slot)));
	System::assert_has_event(Event::SlotAwarded { id, slot, miner: who, lease }.into());
	let leased = Slots::<Test>::iter_prefix_values(id).all(|s| s.miner.is_some());
	let status = Indentures::<Test>::get(id).expect("an awarded indenture is kept").status;
	assert_eq!(status, if leased { Status::Leased } else { Status::Open });
	assert_eq!(Queue::<Test>::get().iter().any(|(_, i, _)| *i == id), !leased);
}

/// The buyer submits `spec`; `MINER_A` registers and wins slot 0. Returns the id.
fn awarded_slot_0(spec: SpecOf<Test>) -> IndentureId {
	let id = assert_submit(BUYER, spec);
	register_miner(MINER_A, big(), 1);
	assert_solve(MINER_A, id, 0);
	id
}

/// Answers `round` of the lease of slot 0 of indenture 0 as `who`, at the round's opening block.
fn heartbeat(who: u64, round: u32) {
	heartbeat_of(0, 0, who, round)
}

/// Answers `round` of the lease of `slot` of indenture `id` as `who`, at the round's opening
/// block (set with [`set_block`]: no hook runs), and checks the round was withheld, and the
/// oldest withheld one paid once more than `DisputeLag` are. The last round's answer
/// completes the lease, which the agenda ends when its last window closes; the helper ends it
/// as that deadline does, without running the rest of the agenda.
fn heartbeat_of(id: IndentureId, slot: u32, who: u64, round: u32) {
	let before = Slots::<Test>::get(id, slot).unwrap();
	let lease_id = before.lease.unwrap();
	let lease = pallet_challenge::Leases::<Test>::get(lease_id).unwrap();
	let open = Challenge::round_open(&lease, round);
	set_block(open);
	let nonce = heartbeat_nonce(lease_id, &lease, round, who);
	let amount = IndenturePallet::pay_per_round(&Indentures::<Test>::get(id).unwrap());
	let free = Balances::free_balance(who);
	let info = Challenge::heartbeat(RuntimeOrigin::signed(who), lease_id, round, nonce);
	assert_eq!(info.map(|i| i.pays_fee), Ok(Pays::No), "a taken answer is free");
	let after = Slots::<Test>::get(id, slot).unwrap();
	if before.rounds_held < DisputeLag::get() {
		assert_eq!((after.rounds_paid, after.rounds_held), (0, before.rounds_held + 1));
		assert_eq!(Balances::free_balance(who), free, "a withheld round is not paid yet");
	} else {
		let paid = before.rounds_paid;
		assert_eq!((after.rounds_paid, after.rounds_held), (paid + 1, before.rounds_held));
		System::assert_has_event(Event::RoundPaid { id, miner: who, round: paid, amount }.into());
		assert_eq!(Balances::free_balance(who), free + amount);
	}
	let decided = pallet_challenge::Leases::<Test>::get(lease_id)
		.is_some_and(|l| l.status != pallet_challenge::LeaseStatus::Active);
	if decided {
		let end = Slots::<Test>::get(id, slot).and_then(|s| s.access).expect("access").end;
		assert!(Agenda::<Test>::get(end).contains(&Deadline::LeaseEnd(lease_id)));
		assert_ok!(IndenturePallet::process_deadline(end, Deadline::LeaseEnd(lease_id)));
	}
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

/// The secret salt miner `who` seals with in these tests.
fn salt(who: u64) -> H256 {
	H256::from_low_u64_be(who.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// What miner `who` seals for `result` on indenture `id` (slot 0 if it holds none).
fn seal(id: IndentureId, result: H256, who: u64) -> H256 {
	let slot = IndenturePallet::slot_of(id, &who).map_or(0, |(slot, _)| slot);
	IndenturePallet::result_seal(id, slot, &who, &result, &salt(who))
}

/// The miner `who` seals `result` for indenture `id`, which must be accepted: its slot holds
/// the seal and `ResultSealed` is the last event.
fn assert_seal(who: u64, id: IndentureId, result: H256) {
	let (slot, _) = IndenturePallet::slot_of(id, &who).expect("a miner of the indenture");
	assert_ok!(IndenturePallet::commit_result(
		RuntimeOrigin::signed(who),
		id,
		seal(id, result, who)
	));
	let sealed = Slots::<Test>::get(id, slot).expect("slot kept").result;
	assert_eq!(sealed, Some(SlotResult::Sealed(seal(id, result, who))));
	System::assert_last_event(Event::ResultSealed { id, slot }.into());
}

/// The miner `who` reveals the `result` it sealed, which must be accepted: `ResultRevealed` is
/// emitted and, where the slot is still kept (the indenture did not end with this reveal), it
/// holds the result.
fn assert_reveal(who: u64, id: IndentureId, result: H256) {
	let (slot, _) = IndenturePallet::slot_of(id, &who).expect("a miner of the indenture");
	assert_ok!(IndenturePallet::reveal_result(RuntimeOrigin::signed(who), id, result, salt(who)));
	System::assert_has_event(Event::ResultRevealed { id, slot, result }.into());
	if let Some(s) = Slots::<Test>::get(id, slot) {
		assert_eq!(s.result, Some(SlotResult::Revealed(result)));
	}
}

/// The first CIRecord emitted.
fn ci_record() -> CiRecord<u64, Balance, u64> {
	System::events()
		.iter()
		.find_map(|e| match &e.event {
			RuntimeEvent::IndenturePallet(Event::CiRecorded { record }) => Some(record.clone()),
			_ => None,
		})
		.expect("a CIRecord")
}

/// One node, one replica, one round: 600 for the round (withheld: the lag is longer than the
/// lease), 600 for the result, both paid with the result.
fn single_batch_reporting() {
	awarded_slot_0(SpecOf::<Test> { nodes: 1, duration: 10, ..spec() });
	heartbeat(MINER_A, 0);
	assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reporting);
	assert_eq!(Slots::<Test>::get(0, 0).unwrap().rounds_held, 1);
	assert_eq!(Balances::free_balance(MINER_A), 1_000_000 - 100);
}

/// [`single_batch_reporting`], then `MINER_A` seals and reveals `result`: it waits for the
/// buyer's acceptance.
fn single_batch_reported(result: H256) {
	single_batch_reporting();
	assert_seal(MINER_A, 0, result);
	assert_reveal(MINER_A, 0, result);
	assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Reported);
}

/// One node, three replicas (`MINER_A`, `MINER_B`, `MINER_C` in slots 0, 1, 2), one round
/// each: 1,200 × 50 % / 3 = 200 per slot for the round (withheld), 200 per slot for the result.
fn three_replicas_reporting() {
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
}

/// What `who` has bonded as a miner.
fn miner_bond(who: u64) -> Balance {
	pallet_repchain::Registrations::<Test>::get(who, Role::Miner).map_or(0, |r| r.bond)
}

/// A service's access as its miner publishes it: its address and, with a key, its gateway.
fn access(service: &[u8], ssh: Option<(&[u8], &[u8])>) -> ServiceAccess {
	ServiceAccess {
		service: BoundedVec::truncate_from(service.to_vec()),
		ssh: ssh.map(|(endpoint, key)| SshGateway {
			endpoint: BoundedVec::truncate_from(endpoint.to_vec()),
			host_key: BoundedVec::truncate_from(key.to_vec()),
		}),
	}
}
