//! Benchmarks of the Indenture pallet (frame-benchmarking v2): its calls, the deadlines its
//! agenda processes, and the hooks the Challenge and Escrow pallets call, each at its worst
//! case (every slot taken, the largest task and key, a full queue).

use super::*;
use crate::Pallet as Indenture;
use alloc::vec::Vec;
use cutopia_primitives::{ChallengeOutcome, EscrowOutcome};
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;

fn set_block<T: Config>(n: BlockNumberFor<T>) {
	frame_system::Pallet::<T>::set_block_number(n);
}

fn now<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number()
}

/// `(nodes, replicas)` with the most slots the runtime allows (all `MaxSlots` where some
/// shape reaches it: 4 × 4 of 16, not 3 × 5 = 15), the most replicas among equals.
fn shape<T: Config>() -> (u32, u32) {
	let most_replicas = T::MaxReplicas::get().min(T::MaxSlots::get()).max(1);
	(1..=most_replicas)
		.map(|replicas| {
			let nodes = (T::MaxSlots::get() / replicas).min(T::MaxNodes::get()).max(1);
			(nodes, replicas)
		})
		.max_by_key(|(nodes, replicas)| (nodes * replicas, *replicas))
		.unwrap_or((1, 1))
}

/// The largest spec: every slot, a full inline task, an SSH key, two heartbeat rounds.
fn spec<T: Config>(
	task_type: TaskType,
	challenge: ChallengeKind,
	nodes: u32,
	replicas: u32,
) -> SpecOf<T> {
	let exchange: T::AccountId = account("exchange", 0, 0);
	let operator: T::AccountId = account("operator", 0, 0);
	T::Registry::register_for_benchmarks(&exchange, Role::Exchange);
	T::Registry::register_for_benchmarks(&operator, Role::EscrowOperator);
	let resources = cutopia_primitives::Resources {
		cpu_millicores: 1_000,
		memory_mib: 1_024,
		storage_gib: 1,
		gpus: 0,
	};
	let duration = T::HeartbeatPeriod::get().saturating_mul(2).min(T::MaxDuration::get());
	let (_, indicative) = Indenture::<T>::indicative_price(&resources, nodes, duration);
	let incentive =
		Indenture::<T>::minimum_incentive(indicative).max(indicative).saturating_mul(10u32.into());
	// A service runs from an image at a dedicated address on every slot: the most an award,
	// a publication and a lease's end do (an address counted, indexed and let go).
	let (task, executor, public_ip) = match task_type {
		TaskType::Batch => (
			types::Task::Inline(BoundedVec::truncate_from(alloc::vec![0xa5; 4096])),
			Executor::Wasm,
			PublicIp::None,
		),
		TaskType::Service => (
			types::Task::Container {
				hash: H256::repeat_byte(0xa5),
				uri: BoundedVec::truncate_from(alloc::vec![b'u'; 256]),
				command: BoundedVec::truncate_from(alloc::vec![
					BoundedVec::truncate_from(alloc::vec![b'c'; 128]);
					16
				]),
			},
			Executor::Container,
			PublicIp::PerNode,
		),
	};
	IndentureSpec {
		task,
		task_type,
		executor,
		resources,
		nodes,
		public_ip,
		duration,
		incentive,
		priority: 0,
		min_reputation: Permill::zero(),
		exchange,
		escrow_operator: operator,
		challenge,
		replicas,
		ssh_key: Some(BoundedVec::truncate_from(alloc::vec![b'k'; 512])),
	}
}

/// Fills the queue with entries that sort before a new priority-0 indenture, leaving room
/// for one more.
fn fill_queue<T: Config>() {
	let entries: Vec<_> = (0..T::MaxQueue::get().saturating_sub(1))
		.map(|i| (255u8, u64::MAX - 1 - i as u64, 1_000_000))
		.collect();
	let mut entries = entries;
	entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
	Queue::<T>::put(BoundedVec::truncate_from(entries));
}

/// Submits the largest indenture from a funded buyer and returns `(id, buyer)`.
fn submitted<T: Config>(
	task_type: TaskType,
	challenge: ChallengeKind,
) -> (IndentureId, T::AccountId) {
	let (nodes, replicas) = shape::<T>();
	submitted_with::<T>(spec::<T>(task_type, challenge, nodes, replicas))
}

fn submitted_with<T: Config>(spec: SpecOf<T>) -> (IndentureId, T::AccountId) {
	let buyer: T::AccountId = whitelisted_caller();
	let funds = spec.incentive.saturating_mul(3u32.into());
	T::Currency::mint_into(&buyer, funds).expect("the buyer can be funded");
	let id = NextIndentureId::<T>::get();
	Indenture::<T>::submit(RawOrigin::Signed(buyer.clone()).into(), spec).expect("submit");
	(id, buyer)
}

fn slot_miner<T: Config>(slot: u32) -> T::AccountId {
	account("miner", slot, 0)
}

/// Awards slots `0..upto` to registered miners, as the Challenge pallet would.
fn award<T: Config>(id: IndentureId, upto: u32) {
	for slot in 0..upto {
		let miner = slot_miner::<T>(slot);
		T::Registry::register_for_benchmarks(&miner, Role::Miner);
		let challenge = Slots::<T>::get(id, slot).expect("slot").challenge;
		T::Challenges::cancel(challenge).expect("the slot's challenge is open");
		Indenture::<T>::on_awarded(challenge, &miner);
	}
}

fn slots_of<T: Config>(id: IndentureId) -> u32 {
	Slots::<T>::iter_prefix(id).count() as u32
}

fn lease_of<T: Config>(id: IndentureId, slot: u32) -> LeaseId {
	Slots::<T>::get(id, slot).and_then(|s| s.lease).expect("lease")
}

/// Ends the leases of slots `0..upto` with every round proven.
fn complete_leases<T: Config>(id: IndentureId, upto: u32) {
	let rounds = Indentures::<T>::get(id).map(|i| Indenture::<T>::rounds_of(&i)).unwrap_or(1);
	for slot in 0..upto {
		let lease = lease_of::<T>(id, slot);
		prove_rounds::<T>(lease, rounds);
		T::Challenges::stop_lease(lease).expect("the lease runs");
		Indenture::<T>::on_lease_ended(lease, false, rounds, 0);
	}
}

/// `lease` proves its first `rounds` rounds, as its heartbeats would.
fn prove_rounds<T: Config>(lease: LeaseId, rounds: u32) {
	for round in 0..rounds {
		Indenture::<T>::on_heartbeat_proven(lease, round);
	}
}

/// Every lease of `id` proves rounds until its pay is withheld (or its rounds run out).
fn withhold_all<T: Config>(id: IndentureId) {
	let rounds = Indentures::<T>::get(id).map(|i| Indenture::<T>::rounds_of(&i)).unwrap_or(1);
	for slot in 0..slots_of::<T>(id) {
		prove_rounds::<T>(lease_of::<T>(id, slot), T::DisputeLag::get().clamp(1, rounds));
	}
}

/// A service whose leases all completed, its withheld rounds past the buyer's acceptance
/// window.
fn service_past_acceptance<T: Config>() -> IndentureId {
	let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
	let slots = slots_of::<T>(id);
	award::<T>(id, slots);
	complete_leases::<T>(id, slots);
	assert_eq!(Indentures::<T>::get(id).map(|i| i.status), Some(Status::Reported));
	set_block::<T>(now::<T>() + T::AcceptanceWindow::get() + One::one());
	id
}

/// A reporting indenture whose slots all sealed `result` and all but the last revealed it:
/// `(id, last slot, result)`.
fn all_but_last_revealed<T: Config>() -> (IndentureId, u32, H256) {
	let id = reporting::<T>();
	let result = H256::repeat_byte(7);
	seal_all::<T>(id, result);
	let last = slots_of::<T>(id) - 1;
	for slot in 0..last {
		reveal::<T>(id, slot, result);
	}
	(id, last, result)
}

/// A batch indenture whose leases all completed: it collects results.
fn reporting<T: Config>() -> IndentureId {
	let (id, _) = submitted::<T>(TaskType::Batch, ChallengeKind::HashTarget);
	let slots = slots_of::<T>(id);
	award::<T>(id, slots);
	complete_leases::<T>(id, slots);
	id
}

fn seal_all<T: Config>(id: IndentureId, result: H256) {
	for slot in 0..slots_of::<T>(id) {
		let miner = slot_miner::<T>(slot);
		let seal = Indenture::<T>::result_seal(id, slot, &miner, &result, &salt());
		Indenture::<T>::commit_result(RawOrigin::Signed(miner).into(), id, seal).expect("seal");
	}
}

fn reveal<T: Config>(id: IndentureId, slot: u32, result: H256) {
	let miner = slot_miner::<T>(slot);
	Indenture::<T>::reveal_result(RawOrigin::Signed(miner).into(), id, result, salt())
		.expect("reveal");
}

/// The salt every benchmark miner seals with.
fn salt() -> H256 {
	H256::repeat_byte(0x5a)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// `s` slots (or the next shape up the runtime allows), `b` bytes of inline task, into a
	/// full queue.
	#[benchmark]
	fn submit(
		s: Linear<1, { T::MaxSlots::get() }>,
		b: Linear<1, { cutopia_primitives::MAX_INLINE }>,
	) {
		fill_queue::<T>();
		let nodes = s.min(T::MaxNodes::get()).max(1);
		let replicas = s.div_ceil(nodes).min(T::MaxReplicas::get()).max(1);
		let mut spec = spec::<T>(TaskType::Batch, ChallengeKind::Factorization, nodes, replicas);
		spec.task = types::Task::Inline(BoundedVec::truncate_from(alloc::vec![0xa5; b as usize]));
		let buyer: T::AccountId = whitelisted_caller();
		T::Currency::mint_into(&buyer, spec.incentive.saturating_mul(3u32.into()))
			.expect("the buyer can be funded");
		let id = NextIndentureId::<T>::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), spec);
		assert!(Indentures::<T>::contains_key(id));
	}

	#[benchmark]
	fn cancel() {
		fill_queue::<T>();
		let (id, buyer) = submitted::<T>(TaskType::Batch, ChallengeKind::Factorization);
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), id);
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// Every slot's factorization challenge is voided (its issuer never posted `C`), then
	/// everything is refunded.
	#[benchmark]
	fn expire() {
		fill_queue::<T>();
		let (id, _) = submitted::<T>(TaskType::Batch, ChallengeKind::Factorization);
		let deadline = Indentures::<T>::get(id).expect("indenture").award_deadline;
		set_block::<T>(deadline + One::one());
		let caller: T::AccountId = account("anyone", 0, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// The caller holds the last slot, so finding it reads every slot.
	#[benchmark]
	fn commit_result() {
		let id = reporting::<T>();
		let last = slots_of::<T>(id) - 1;
		let miner = slot_miner::<T>(last);
		let seal = Indenture::<T>::result_seal(id, last, &miner, &H256::repeat_byte(7), &salt());
		#[extrinsic_call]
		_(RawOrigin::Signed(miner), id, seal);
		assert!(Slots::<T>::get(id, last).is_some_and(|s| s.result.is_some()));
	}

	/// The last reveal counts the results and settles the work with every miner paid.
	#[benchmark]
	fn reveal_result() {
		let (id, last, result) = all_but_last_revealed::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(slot_miner::<T>(last)), id, result, salt());
		assert!(!Indentures::<T>::contains_key(id) || shape::<T>().1 == 1);
	}

	/// One miner never revealed: the majority is paid, the silent miner fails and is slashed.
	#[benchmark]
	fn conclude_results() {
		let (id, _, _) = all_but_last_revealed::<T>();
		let seal_until = Indentures::<T>::get(id).and_then(|i| i.results_deadline).expect("due");
		set_block::<T>(seal_until + T::ResultWindow::get() + One::one());
		let caller: T::AccountId = account("anyone", 0, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);
		assert!(
			Indentures::<T>::get(id).is_none_or(|i| i.status == Status::Reported),
			"results were not concluded"
		);
	}

	/// Every slot revealed, half of them a different result: the operator judges one right,
	/// paying its miners and recording every miner.
	#[benchmark]
	fn judge() {
		let id = reporting::<T>();
		let slots = slots_of::<T>(id);
		let result = |slot: u32| H256::repeat_byte(if slot.is_multiple_of(2) { 7 } else { 8 });
		for slot in 0..slots {
			let miner = slot_miner::<T>(slot);
			let seal = Indenture::<T>::result_seal(id, slot, &miner, &result(slot), &salt());
			Indenture::<T>::commit_result(RawOrigin::Signed(miner).into(), id, seal).expect("seal");
		}
		for slot in 0..slots {
			reveal::<T>(id, slot, result(slot));
		}
		let operator = Indentures::<T>::get(id)
			.filter(|i| i.status == Status::Disputed)
			.expect("replicas disagree")
			.spec
			.escrow_operator;
		#[extrinsic_call]
		_(RawOrigin::Signed(operator), id, Some(result(0)));
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// A service on every slot, every lease running with rounds withheld: each is stopped,
	/// paid its withheld rounds and recorded.
	#[benchmark]
	fn terminate() {
		let (id, buyer) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		award::<T>(id, slots_of::<T>(id));
		withhold_all::<T>(id);
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), id);
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// A service on every slot, every lease running with rounds withheld: each is stopped and
	/// its withheld pay goes to the operator.
	#[benchmark]
	fn dispute() {
		let (id, buyer) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		award::<T>(id, slots_of::<T>(id));
		withhold_all::<T>(id);
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), id);
		assert_eq!(Indentures::<T>::get(id).map(|i| i.status), Some(Status::Contested));
	}

	/// The caller holds the last slot of a service on every slot (finding it reads them all),
	/// each at a dedicated address, and publishes its access at another address than before
	/// (the old one let go, the new one checked and indexed) with an SSH gateway and a host
	/// key at its bound.
	#[benchmark]
	fn publish_access() {
		let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		let last = slots_of::<T>(id) - 1;
		award::<T>(id, last + 1);
		let at = |ip: &str, port: u16| {
			BoundedVec::truncate_from(alloc::format!("[{ip}]:{port}").into_bytes())
		};
		let host_key = BoundedVec::truncate_from([&b"ssh-ed25519 "[..], &[b'A'; 116]].concat());
		let access = |ip: &str| ServiceAccess {
			service: at(ip, DEDICATED_SERVICE_PORT),
			ssh: Some(SshGateway {
				endpoint: at(ip, DEDICATED_SSH_PORT),
				host_key: host_key.clone(),
			}),
		};
		// Published before at another address (a restart on another one): that one is let go.
		let before = access("fd00:1111:2222:3333:4444:5555:6666:7777");
		Indenture::<T>::publish_access(RawOrigin::Signed(slot_miner::<T>(last)).into(), id, before)
			.expect("published");
		let access = access("fd00:1111:2222:3333:4444:5555:6666:7778");
		#[extrinsic_call]
		_(RawOrigin::Signed(slot_miner::<T>(last)), id, access.clone());
		let published = Slots::<T>::get(id, last).and_then(|s| s.access).and_then(|a| a.service);
		assert_eq!(published, Some(access));
	}

	#[benchmark]
	fn rate() {
		let id = service_past_acceptance::<T>();
		Indenture::<T>::process_deadline(now::<T>(), Deadline::Acceptance(id)).expect("accept");
		let buyer: T::AccountId = whitelisted_caller();
		let miner = slot_miner::<T>(0);
		assert!(Unrated::<T>::contains_key(id, &miner));
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), id, miner.clone(), 5);
		assert!(!Unrated::<T>::contains_key(id, &miner));
	}

	/// A service on every slot, its withheld rounds accepted by the agenda after the window:
	/// every miner paid and recorded (a batch task has at most `MaxNodes` single replicas).
	#[benchmark]
	fn accept_expired() {
		let id = service_past_acceptance::<T>();
		#[block]
		{
			Indenture::<T>::process_deadline(now::<T>(), Deadline::Acceptance(id)).expect("accept");
		}
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// The last lease of a service had its rounds unanswered: counting its misses fails it and
	/// settles the work.
	#[benchmark]
	fn lease_end() {
		let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		let slots = slots_of::<T>(id);
		award::<T>(id, slots);
		complete_leases::<T>(id, slots - 1);
		let end = Slots::<T>::get(id, slots - 1).and_then(|s| s.access).expect("access").end;
		set_block::<T>(end + One::one());
		let lease = lease_of::<T>(id, slots - 1);
		#[block]
		{
			Indenture::<T>::process_deadline(now::<T>(), Deadline::LeaseEnd(lease)).expect("count");
		}
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// The last slot is awarded: the indenture is leased and leaves a full queue.
	#[benchmark]
	fn awarded() {
		fill_queue::<T>();
		// A service's slot at a dedicated address: the miner's count is read and raised too.
		let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		let last = slots_of::<T>(id) - 1;
		award::<T>(id, last);
		let miner = slot_miner::<T>(last);
		T::Registry::register_for_benchmarks(&miner, Role::Miner);
		let challenge = Slots::<T>::get(id, last).expect("slot").challenge;
		#[block]
		{
			<Indenture<T> as ChallengeOutcome<T::AccountId>>::awarded(id, challenge, &miner);
		}
		assert_eq!(Indentures::<T>::get(id).map(|i| i.status), Some(Status::Leased));
	}

	/// The exchange fails its first challenge of an indenture: its fee is waived, its failure
	/// recorded with a slash, and the slot gets a hash-target challenge.
	#[benchmark]
	fn voided() {
		let (id, _) = submitted::<T>(TaskType::Batch, ChallengeKind::Factorization);
		let last = slots_of::<T>(id) - 1;
		let challenge = Slots::<T>::get(id, last).expect("slot").challenge;
		let exchange = Indentures::<T>::get(id).expect("stored").spec.exchange;
		#[block]
		{
			<Indenture<T> as ChallengeOutcome<T::AccountId>>::voided(id, challenge, &exchange);
		}
		let ind = Indentures::<T>::get(id).expect("stored");
		assert_eq!(ind.spec.challenge, ChallengeKind::HashTarget);
		assert!(Slots::<T>::get(id, last).is_some_and(|s| s.challenge != challenge));
	}

	#[benchmark]
	fn heartbeat_proven() {
		let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		let slots = slots_of::<T>(id);
		award::<T>(id, slots);
		let lease = lease_of::<T>(id, slots - 1);
		// The lag is full: this round releases the oldest withheld one.
		let lag = T::DisputeLag::get();
		prove_rounds::<T>(lease, lag);
		let before = T::Escrow::held(id);
		#[block]
		{
			<Indenture<T> as ChallengeOutcome<T::AccountId>>::heartbeat_proven(id, lease, lag);
		}
		assert!(T::Escrow::held(id) < before, "the round was not paid");
	}

	/// The last lease of a service fails: the miner is recorded and slashed, the work
	/// settles at once (no acceptance: a lease failed) and every other miner gets a record.
	#[benchmark]
	fn lease_ended() {
		let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		let slots = slots_of::<T>(id);
		award::<T>(id, slots);
		complete_leases::<T>(id, slots - 1);
		let lease = lease_of::<T>(id, slots - 1);
		prove_rounds::<T>(lease, 1);
		T::Challenges::stop_lease(lease).expect("the lease runs");
		let rounds = Indentures::<T>::get(id).map(|i| Indenture::<T>::rounds_of(&i)).unwrap_or(1);
		#[block]
		{
			<Indenture<T> as ChallengeOutcome<T::AccountId>>::lease_ended(
				id,
				lease,
				LeaseOutcome::Failed,
				1,
				rounds.saturating_sub(1),
			);
		}
		assert!(!Indentures::<T>::contains_key(id));
	}

	/// Every slot but the last is taken by others, so the check reads all of them, and the
	/// last needs a dedicated address, so the miner's count of them is read too.
	#[benchmark]
	fn may_compete() {
		let (id, _) = submitted::<T>(TaskType::Service, ChallengeKind::HashTarget);
		let last = slots_of::<T>(id) - 1;
		award::<T>(id, last);
		let miner = slot_miner::<T>(last);
		T::Registry::register_for_benchmarks(&miner, Role::Miner);
		let eligible;
		#[block]
		{
			eligible = Indenture::<T>::may_compete(id, &miner);
		}
		assert!(eligible);
	}

	#[benchmark]
	fn dispute_resolved() {
		let (id, _) = submitted::<T>(TaskType::Batch, ChallengeKind::HashTarget);
		let operator: T::AccountId = account("operator", 0, 0);
		#[block]
		{
			<Indenture<T> as EscrowOutcome<T::AccountId, BalanceOf<T>>>::dispute_resolved(
				id, &operator, true,
			);
		}
	}

	impl_benchmark_test_suite!(Indenture, crate::mock::new_test_ext(), crate::mock::Test);
}
