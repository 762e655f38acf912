//! Dedicated public addresses: a service asking for one (`public_ip`) goes only to a miner
//! with an address free, holds it while its lease runs, and is published at it alone.

use super::*;

/// A container service of `nodes` nodes asking for addresses `public_ip`.
fn dedicated(nodes: u32, public_ip: PublicIp) -> SpecOf<Test> {
	SpecOf::<Test> {
		task: image(),
		executor: Executor::Container,
		nodes,
		public_ip,
		incentive: 1_200 * u128::from(nodes),
		..service(30)
	}
}

fn register(who: u64, addresses: u16) {
	register_miner_with(who, big(), 1, &[Executor::Container], addresses);
}

fn at(ip: &str) -> ServiceAccess {
	let service = format!("{ip}:80");
	let ssh = format!("{ip}:22");
	access(service.as_bytes(), Some((ssh.as_bytes(), b"ssh-ed25519 AAAA")))
}

fn publish(who: u64, id: IndentureId, a: &ServiceAccess) -> sp_runtime::DispatchResult {
	IndenturePallet::publish_access(RuntimeOrigin::signed(who), id, a.clone())
}

fn held_addresses(who: u64) -> u16 {
	AddressesHeld::<Test>::get(who)
}

#[test]
fn only_a_service_from_an_image_asks_for_an_address() {
	build_and_execute(|| {
		for (spec, public_ip) in [
			(spec(), PublicIp::PerNode),
			(
				SpecOf::<Test> { task: image(), executor: Executor::Container, ..spec() },
				PublicIp::PerCluster,
			),
			(service(30), PublicIp::PerNode),
			(service(30), PublicIp::PerCluster),
		] {
			let free = Balances::free_balance(BUYER);
			assert_noop!(
				submit(SpecOf::<Test> { public_ip, ..spec }),
				Error::<Test>::NoAddressForTask
			);
			assert_eq!(Balances::free_balance(BUYER), free);
		}
		assert_submit(BUYER, dedicated(1, PublicIp::PerNode));
		assert_submit(
			BUYER,
			SpecOf::<Test> { executor: Executor::MicroVm, ..dedicated(1, PublicIp::PerCluster) },
		);
	});
}

#[test]
fn a_miner_takes_as_many_address_slots_as_it_has_addresses() {
	build_and_execute(|| {
		let not_eligible = || pallet_challenge::Error::<Test>::NotEligible;
		let first = assert_submit(BUYER, dedicated(2, PublicIp::PerNode));
		register(MINER_A, 0);
		register(MINER_B, 1);
		register(MINER_C, 1);
		// No address, no slot of it.
		assert!(!IndenturePallet::may_compete(first, &MINER_A));
		assert_noop!(solve(first, 0, MINER_A), not_eligible());
		assert_solve(MINER_B, first, 0);
		assert_solve(MINER_C, first, 1);
		assert_eq!([MINER_B, MINER_C].map(held_addresses), [1, 1]);
		// Its one address is taken: B cannot promise another buyer one ...
		let second = assert_submit(BUYER, dedicated(1, PublicIp::PerNode));
		assert!(!IndenturePallet::may_compete(second, &MINER_B));
		assert_noop!(solve(second, 0, MINER_B), not_eligible());
		// ... but work that needs none it still takes.
		let plain = assert_submit(BUYER, dedicated(1, PublicIp::None));
		assert!(IndenturePallet::may_compete(plain, &MINER_B));
		// A second address registered is a second slot.
		assert_ok!(RepChain::update_miner(
			RuntimeOrigin::signed(MINER_B),
			big(),
			BoundedVec::truncate_from(vec![Executor::Container]),
			1,
			BoundedVec::truncate_from(b"10.0.0.5:22".to_vec()),
			2
		));
		assert_solve(MINER_B, second, 0);
		assert_eq!(held_addresses(MINER_B), 2);
		// The buyer ends the first: both its leases let their addresses go.
		assert_ok!(IndenturePallet::terminate(RuntimeOrigin::signed(BUYER), first));
		assert_eq!([MINER_B, MINER_C].map(held_addresses), [1, 0]);
		// The second's lease runs its course and lets go of its address too.
		for round in 0..3 {
			heartbeat_of(second, 0, MINER_B, round);
		}
		assert!(Slots::<Test>::get(second, 0).unwrap().ended.is_some());
		assert_eq!(held_addresses(MINER_B), 0);
		assert!(!AddressesHeld::<Test>::contains_key(MINER_B));
	});
}

#[test]
fn an_expired_indenture_lets_its_running_leases_addresses_go() {
	build_and_execute(|| {
		let id = assert_submit(BUYER, dedicated(2, PublicIp::PerNode));
		register(MINER_A, 1);
		assert_solve(MINER_A, id, 0);
		assert_ok!(publish(MINER_A, id, &at("203.0.113.7")));
		assert_eq!(held_addresses(MINER_A), 1);
		// Nobody takes slot 1: the indenture expires with slot 0's lease running.
		set_block(Indentures::<Test>::get(id).unwrap().award_deadline + 1);
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(MINER_C), id));
		assert_eq!(held_addresses(MINER_A), 0);
		assert_eq!(DedicatedAt::<Test>::iter().count(), 0);
	});
}

#[test]
fn one_address_per_cluster_is_node_0s() {
	build_and_execute(|| {
		let not_eligible = || pallet_challenge::Error::<Test>::NotEligible;
		let id = assert_submit(BUYER, dedicated(3, PublicIp::PerCluster));
		register(MINER_A, 0);
		register(MINER_B, 1);
		register(MINER_C, 0);
		// Node 0's slot goes only to a miner with an address free ...
		assert!(!IndenturePallet::may_compete(id, &MINER_A));
		assert_noop!(solve(id, 0, MINER_A), not_eligible());
		// ... its siblings to anyone, even before node 0 is taken: miners without an address
		// do not leave the cluster waiting (review: with per-indenture eligibility, two
		// address miners taking nodes 1 and 2 left node 0 to nobody until it expired).
		assert_solve(MINER_A, id, 1);
		assert_solve(MINER_C, id, 2);
		assert_eq!([MINER_A, MINER_C].map(held_addresses), [0, 0]);
		assert_solve(MINER_B, id, 0);
		assert_eq!(held_addresses(MINER_B), 1);
		// Node 1 publishes where it answers as any service does; node 0 at its address.
		assert_ok!(publish(MINER_A, id, &access(b"10.0.0.4:40001", None)));
		assert_noop!(
			publish(MINER_B, id, &access(b"10.0.0.4:40002", None)),
			Error::<Test>::NotDedicated
		);
		assert_ok!(publish(MINER_B, id, &at("198.51.100.1")));
	});
}

#[test]
fn a_dedicated_address_is_published_for_one_lease_at_ports_80_and_22() {
	build_and_execute(|| {
		let first = assert_submit(BUYER, dedicated(2, PublicIp::PerNode));
		let second = assert_submit(BUYER, dedicated(1, PublicIp::PerNode));
		register(MINER_A, 2);
		register(MINER_B, 1);
		assert_solve(MINER_A, first, 0);
		assert_solve(MINER_B, first, 1);
		assert_solve(MINER_A, second, 0);
		// Not a literal IP at port 80, or a gateway not at port 22 of the same IP.
		for bad in [
			access(b"miner.example:80", None),
			access(b"203.0.113.7:8080", None),
			access(b"203.0.113.7", None),
			access(b"203.0.113.7:80", Some((b"203.0.113.7:2222", b"ssh-ed25519 AAAA"))),
			access(b"203.0.113.7:80", Some((b"203.0.113.8:22", b"ssh-ed25519 AAAA"))),
			access(b"[2001:db8::1]:80", Some((b"[2001:db8::2]:22", b"ssh-ed25519 AAAA"))),
		] {
			assert_noop!(publish(MINER_A, first, &bad), Error::<Test>::NotDedicated);
		}
		assert_ok!(publish(MINER_A, first, &at("203.0.113.7")));
		assert_eq!(DedicatedAt::<Test>::get(MINER_A, addr("203.0.113.7")), Some((first, 0)));
		// A miner with two addresses cannot serve its two buyers from one, however the
		// address is written.
		assert_noop!(publish(MINER_A, second, &at("203.0.113.7")), Error::<Test>::AddressTaken);
		assert_noop!(
			publish(MINER_A, second, &access(b"[::ffff:203.0.113.7]:80", None)),
			Error::<Test>::AddressTaken
		);
		assert_ok!(publish(MINER_A, second, &at("[2001:db8::1]")));
		// Another miner claiming the address does not keep its owner from it (review: with
		// one index for every miner, whoever published an address first held it, so a rival
		// could squat a miner's address for the length of a lease of its own).
		assert_ok!(publish(MINER_B, first, &at("198.51.100.9")));
		assert_ok!(publish(MINER_A, second, &at("198.51.100.9")));
		assert_eq!(DedicatedAt::<Test>::get(MINER_A, addr("[2001:db8::1]")), None);
		assert_ok!(publish(MINER_A, second, &at("[2001:db8::1]")));
		// Published again at the same address (a restart) is fine; at another one, the old
		// one is free for the miner's other leases.
		assert_ok!(publish(MINER_A, first, &at("203.0.113.7")));
		assert_ok!(publish(MINER_A, first, &at("203.0.113.9")));
		assert_eq!(DedicatedAt::<Test>::get(MINER_A, addr("203.0.113.7")), None);
		assert_ok!(publish(MINER_A, second, &at("203.0.113.7")));
		assert_eq!(DedicatedAt::<Test>::get(MINER_A, addr("[2001:db8::1]")), None);
		// When the leases end, the addresses are free again.
		for round in 0..3 {
			heartbeat_of(first, 0, MINER_A, round);
			heartbeat_of(first, 1, MINER_B, round);
		}
		assert_eq!([MINER_A, MINER_B].map(held_addresses), [1, 0]);
		for round in 0..3 {
			heartbeat_of(second, 0, MINER_A, round);
		}
		assert_eq!(DedicatedAt::<Test>::iter().count(), 0);
		assert_eq!(held_addresses(MINER_A), 0);
	});
}

fn addr(ip: &str) -> AddressKey {
	dedicated_address(format!("{ip}:80").as_bytes(), DEDICATED_SERVICE_PORT).expect("an IP")
}

#[test]
fn which_slots_need_an_address() {
	let needs = |p: PublicIp, nodes| (0..6).map(|s| p.needs_address(nodes, s)).collect::<Vec<_>>();
	assert_eq!(needs(PublicIp::None, 2), [false; 6]);
	assert_eq!(needs(PublicIp::PerNode, 2), [true; 6]);
	// Slot s is node s % nodes of replica s / nodes: node 0 of each replica.
	assert_eq!(needs(PublicIp::PerCluster, 3), [true, false, false, true, false, false]);
	assert_eq!(
		dedicated_address(b"10.0.0.1:80", 80),
		dedicated_address(b"[::ffff:10.0.0.1]:80", 80)
	);
	assert_eq!(dedicated_address(b"010.0.0.1:80", 80), None);
}
