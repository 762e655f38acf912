//! Unit tests of RepChain: registry calls with every error path, and reputation records.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};

const MINER: u64 = 1;
const EXCHANGE: u64 = 2;
const BUYER: u64 = 3;
const OTHER: u64 = 4;

fn res() -> Resources {
	Resources { cpu_millicores: 4_000, memory_mib: 8_192, storage_gib: 100, gpus: 1 }
}

fn bv<const N: u32>(s: &str) -> BoundedVec<u8, frame_support::traits::ConstU32<N>> {
	BoundedVec::truncate_from(s.as_bytes().to_vec())
}

fn signed(who: u64) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

fn register_miner(who: u64, bond: Balance) -> sp_runtime::DispatchResult {
	RepChain::register_miner(signed(who), res(), wasm(), 5, bv("10.0.0.1:22"), 0, bond)
}

fn executors(e: &[Executor]) -> Executors {
	BoundedVec::truncate_from(e.to_vec())
}

fn wasm() -> Executors {
	executors(&[Executor::Wasm])
}

/// What `miner` reads for a miner registered by `register_miner` with price floor `floor`.
fn offer(floor: Balance) -> Option<MinerOffer<Balance>> {
	Some(MinerOffer { resources: res(), price_floor: floor, executors: wasm(), addresses: 0 })
}

fn register_exchange(who: u64, fee: Permill) -> sp_runtime::DispatchResult {
	RepChain::register_service(signed(who), Role::Exchange, fee, bv("ex"), bv("ex.example:443"), 60)
}

fn held(who: u64) -> Balance {
	Balances::balance_on_hold(&HoldReason::Bond.into(), &who)
}

fn record(who: u64, outcome: Outcome, value: Balance, rating: Option<u8>) -> RecordOf<Test> {
	WorkRecord {
		subject: who,
		role: Role::Miner,
		indenture: 1,
		outcome,
		value,
		heartbeats_proven: 10,
		heartbeats_missed: 0,
		duration: 100,
		rating,
		at: System::block_number(),
		counterparty: None,
	}
}

/// A value weighing one unit of evidence (`ValueUnit`).
const UNIT: Balance = 1_000;

#[test]
fn register_miner_holds_the_bond() {
	build_and_execute(|| {
		assert_ok!(register_miner(MINER, 200));
		assert_eq!(held(MINER), 200);
		assert_eq!(Balances::free_balance(MINER), 9_800);
		System::assert_last_event(
			Event::Registered { who: MINER, role: Role::Miner, bond: 200 }.into(),
		);
		assert_eq!(RepChain::miner(&MINER), offer(5));
		assert_noop!(register_miner(MINER, 200), Error::<Test>::AlreadyRegistered);
	});
}

#[test]
fn register_miner_rejects_bad_input() {
	build_and_execute(|| {
		assert_noop!(register_miner(MINER, 99), Error::<Test>::BondTooLow);
		assert_noop!(register_miner(MINER, 20_000), Error::<Test>::InsufficientBalance);
		assert_noop!(
			RepChain::register_miner(
				signed(MINER),
				Resources::default(),
				wasm(),
				5,
				bv("x"),
				0,
				200
			),
			Error::<Test>::NoResources
		);
		assert_noop!(
			RepChain::register_miner(signed(MINER), res(), wasm(), 5, bv(""), 0, 200),
			Error::<Test>::EmptyField
		);
		assert_noop!(
			RepChain::register_miner(signed(MINER), res(), executors(&[]), 5, bv("x"), 0, 200),
			Error::<Test>::NoExecutors
		);
		let twice = executors(&[Executor::Container, Executor::Wasm, Executor::Container]);
		assert_noop!(
			RepChain::register_miner(signed(MINER), res(), twice, 5, bv("x"), 0, 200),
			Error::<Test>::DuplicateExecutor
		);
	});
}

#[test]
fn register_service_checks_fee_role_and_fields() {
	build_and_execute(|| {
		assert_noop!(
			register_exchange(EXCHANGE, Permill::from_percent(21)),
			Error::<Test>::FeeTooHigh
		);
		assert_noop!(
			RepChain::register_service(
				signed(EXCHANGE),
				Role::Miner,
				Permill::zero(),
				bv("a"),
				bv("b"),
				60
			),
			Error::<Test>::WrongRole
		);
		assert_noop!(
			RepChain::register_service(
				signed(EXCHANGE),
				Role::Exchange,
				Permill::zero(),
				bv(""),
				bv("b"),
				60
			),
			Error::<Test>::EmptyField
		);
		assert_noop!(
			RepChain::register_service(
				signed(EXCHANGE),
				Role::Exchange,
				Permill::zero(),
				bv("a"),
				bv("b"),
				49
			),
			Error::<Test>::BondTooLow
		);
		assert_ok!(register_exchange(EXCHANGE, Permill::from_percent(5)));
		assert_eq!(
			RepChain::service_fee(&EXCHANGE, Role::Exchange),
			Some(Permill::from_percent(5))
		);
		assert_eq!(RepChain::service_fee(&EXCHANGE, Role::EscrowOperator), None);
		// The same account may also be an escrow operator, with its own bond.
		assert_ok!(RepChain::register_service(
			signed(EXCHANGE),
			Role::EscrowOperator,
			Permill::from_percent(1),
			bv("esc"),
			bv("esc:1"),
			50
		));
		assert_eq!(held(EXCHANGE), 110);
	});
}

#[test]
fn a_fee_above_100_percent_does_not_even_decode() {
	use codec::{Decode, Encode};
	assert!(Permill::decode(&mut &1_000_001u32.encode()[..]).is_err());
	assert_eq!(Permill::decode(&mut &1_000_000u32.encode()[..]), Ok(Permill::one()));
}

#[test]
fn updates_need_a_registration_of_the_right_role() {
	build_and_execute(|| {
		assert_noop!(
			RepChain::update_miner(signed(MINER), res(), wasm(), 7, bv("new:1"), 0),
			Error::<Test>::NotRegistered
		);
		assert_ok!(register_miner(MINER, 200));
		assert_noop!(
			RepChain::update_miner(signed(MINER), Resources::default(), wasm(), 7, bv("new:1"), 0),
			Error::<Test>::NoResources
		);
		assert_noop!(
			RepChain::update_miner(signed(MINER), res(), wasm(), 7, bv(""), 0),
			Error::<Test>::EmptyField
		);
		assert_noop!(
			RepChain::update_miner(signed(MINER), res(), executors(&[]), 7, bv("new:1"), 0),
			Error::<Test>::NoExecutors
		);
		let twice = executors(&[Executor::MicroVm, Executor::MicroVm]);
		assert_noop!(
			RepChain::update_miner(signed(MINER), res(), twice, 7, bv("new:1"), 0),
			Error::<Test>::DuplicateExecutor
		);
		assert_ok!(RepChain::update_miner(signed(MINER), res(), wasm(), 7, bv("new:1"), 0));
		assert_eq!(RepChain::miner(&MINER), offer(7));
		// A miner that gains a container runtime says so; what it offers is read back.
		let both = executors(&[Executor::Wasm, Executor::Container]);
		assert_ok!(RepChain::update_miner(signed(MINER), res(), both.clone(), 7, bv("new:1"), 0));
		assert_eq!(RepChain::miner(&MINER).map(|m| m.executors), Some(both));
		// So does one given public addresses to dedicate to services.
		assert_ok!(RepChain::update_miner(signed(MINER), res(), wasm(), 7, bv("new:1"), 3));
		assert_eq!(RepChain::miner(&MINER).map(|m| m.addresses), Some(3));

		assert_noop!(
			RepChain::update_service(
				signed(EXCHANGE),
				Role::Exchange,
				Permill::zero(),
				bv("a"),
				bv("b")
			),
			Error::<Test>::NotRegistered
		);
		assert_ok!(register_exchange(EXCHANGE, Permill::from_percent(5)));
		assert_noop!(
			RepChain::update_service(
				signed(EXCHANGE),
				Role::Miner,
				Permill::zero(),
				bv("a"),
				bv("b")
			),
			Error::<Test>::WrongRole
		);
		assert_noop!(
			RepChain::update_service(
				signed(EXCHANGE),
				Role::Exchange,
				Permill::from_percent(30),
				bv("a"),
				bv("b")
			),
			Error::<Test>::FeeTooHigh
		);
		assert_ok!(RepChain::update_service(
			signed(EXCHANGE),
			Role::Exchange,
			Permill::from_percent(7),
			bv("a"),
			bv("b")
		));
		assert_eq!(
			RepChain::service_fee(&EXCHANGE, Role::Exchange),
			Some(Permill::from_percent(7))
		);
	});
}

#[test]
fn bond_extra_adds_to_the_hold() {
	build_and_execute(|| {
		assert_noop!(
			RepChain::bond_extra(signed(MINER), Role::Miner, 10),
			Error::<Test>::NotRegistered
		);
		assert_ok!(register_miner(MINER, 200));
		assert_noop!(
			RepChain::bond_extra(signed(MINER), Role::Miner, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			RepChain::bond_extra(signed(MINER), Role::Miner, 1_000_000),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(RepChain::bond_extra(signed(MINER), Role::Miner, 50));
		assert_eq!(held(MINER), 250);
		assert_ok!(RepChain::unregister(signed(MINER), Role::Miner));
		assert_noop!(RepChain::bond_extra(signed(MINER), Role::Miner, 10), Error::<Test>::Leaving);
	});
}

#[test]
fn unregister_waits_for_running_work_and_the_unbonding_delay() {
	build_and_execute(|| {
		assert_noop!(
			RepChain::unregister(signed(MINER), Role::Miner),
			Error::<Test>::NotRegistered
		);
		assert_ok!(register_miner(MINER, 200));
		assert_ok!(RepChain::begin_work(&MINER, Role::Miner));
		assert_noop!(RepChain::unregister(signed(MINER), Role::Miner), Error::<Test>::StillActive);
		RepChain::end_work(&MINER, Role::Miner);
		assert_noop!(RepChain::withdraw(signed(MINER), Role::Miner), Error::<Test>::NotUnbonding);
		assert_ok!(RepChain::unregister(signed(MINER), Role::Miner));
		System::assert_last_event(
			Event::Unbonding { who: MINER, role: Role::Miner, until: 11 }.into(),
		);
		assert_noop!(
			RepChain::unregister(signed(MINER), Role::Miner),
			Error::<Test>::AlreadyUnbonding
		);
		// A leaving miner gets no new work.
		assert_eq!(RepChain::miner(&MINER), None);
		assert_noop!(RepChain::begin_work(&MINER, Role::Miner), Error::<Test>::Leaving);
		run_to(10);
		assert_noop!(RepChain::withdraw(signed(MINER), Role::Miner), Error::<Test>::StillUnbonding);
		run_to(11);
		assert_ok!(RepChain::withdraw(signed(MINER), Role::Miner));
		assert_eq!(held(MINER), 0);
		assert_eq!(Balances::free_balance(MINER), 10_000);
		assert_noop!(RepChain::withdraw(signed(MINER), Role::Miner), Error::<Test>::NotRegistered);
	});
}

#[test]
fn a_new_subject_is_neutral_and_records_move_the_score() {
	build_and_execute(|| {
		assert_eq!(RepChain::score(&MINER), Permill::from_percent(50));
		RepChain::append(record(MINER, Outcome::Success, UNIT, None), None);
		// r = 1, s = 0: (1 + 1) / (1 + 0 + 2)
		assert_eq!(RepChain::score(&MINER), Permill::from_rational(2u32, 3u32));
		RepChain::append(record(MINER, Outcome::Failure, UNIT, None), None);
		// r = 1, s = 2 (failures weigh double): 2 / 5
		assert_eq!(RepChain::score(&MINER), Permill::from_rational(2u32, 5u32));
		assert_eq!(RepChain::counts(&MINER), (2, 1, 1));
	});
}

#[test]
fn value_weighs_logarithmically_and_ratings_count() {
	build_and_execute(|| {
		// Below one unit in proportion, from there logarithmically.
		assert_eq!(RepChain::evidence_weight(0), 0);
		assert_eq!(RepChain::evidence_weight(10), EVIDENCE_UNIT / 100);
		assert_eq!(RepChain::evidence_weight(999), EVIDENCE_UNIT * 999 / 1_000);
		assert_eq!(RepChain::evidence_weight(1_000), EVIDENCE_UNIT);
		assert_eq!(RepChain::evidence_weight(7_000), 3 * EVIDENCE_UNIT);
		assert_eq!(RepChain::evidence_weight(8_000), 4 * EVIDENCE_UNIT);
		// A success rated 1/5: r = 1, s = 1 from the rating: 2 / 4.
		RepChain::append(record(MINER, Outcome::Success, UNIT, Some(1)), None);
		assert_eq!(RepChain::score(&MINER), Permill::from_percent(50));
		// Out-of-range ratings are ignored.
		RepChain::append(record(BUYER, Outcome::Success, UNIT, Some(9)), None);
		assert_eq!(RepChain::score(&BUYER), Permill::from_rational(2u32, 3u32));
	});
}

#[test]
fn evidence_decays_over_time() {
	build_and_execute(|| {
		for _ in 0..4 {
			RepChain::append(record(MINER, Outcome::Failure, UNIT, None), None);
		}
		// s = 8: 1 / 10
		assert_eq!(RepChain::score(&MINER), Permill::from_rational(1u32, 10u32));
		run_to(101);
		// One decay step halves s to 4: 1 / 6
		assert_eq!(RepChain::score(&MINER), Permill::from_rational(1u32, 6u32));
		run_to(100_000);
		assert_eq!(RepChain::score(&MINER), Permill::from_percent(50));
	});
}

#[test]
fn history_is_hash_chained_and_recent_records_are_bounded() {
	build_and_execute(|| {
		let mut root = sp_core::H256::zero();
		for i in 0..5u64 {
			let r = record(MINER, Outcome::Success, i as u128, None);
			root = RepChain::chain_root(&root, &r);
			assert_eq!(RepChain::append(r.clone(), None), root);
			System::assert_last_event(
				Event::Recorded { record: r, root, score: RepChain::score(&MINER) }.into(),
			);
		}
		assert_eq!(RepChain::history_root(&MINER), root);
		let recent = RecentRecords::<Test>::get(MINER);
		assert_eq!(recent.len(), 3);
		assert_eq!(recent[0].0.value, 2);
		assert_eq!(recent[2].1, root);
	});
}

/// `miner` fails a piece of work `buyer` paid for.
fn fail_for(miner: u64, buyer: u64) {
	RepChain::append(record(miner, Outcome::Failure, UNIT, None), Some((&buyer, Balance::MAX)));
}

#[test]
fn a_miner_failure_slashes_part_of_its_bond_to_the_buyer() {
	build_and_execute(|| {
		// MinerSlash (10 %) of the minimum bond (100), however much more is bonded.
		assert_ok!(register_miner(MINER, 1_000));
		fail_for(MINER, BUYER);
		assert_eq!(held(MINER), 990);
		assert_eq!(Balances::free_balance(BUYER), 10_010);
		System::assert_has_event(
			Event::Slashed { who: MINER, beneficiary: BUYER, amount: 10 }.into(),
		);
		// A success slashes nothing; nor does a failure of an unregistered subject.
		RepChain::append(record(MINER, Outcome::Success, UNIT, None), Some((&BUYER, Balance::MAX)));
		RepChain::append(
			record(EXCHANGE, Outcome::Failure, UNIT, None),
			Some((&BUYER, Balance::MAX)),
		);
		assert_eq!(held(MINER), 990);
		assert_eq!(Balances::free_balance(BUYER), 10_010);
		// A slash never exceeds what the failure cost the buyer (issue 12, item 4).
		RepChain::append(record(MINER, Outcome::Failure, UNIT, None), Some((&BUYER, 3)));
		assert_eq!(held(MINER), 987);
		assert_eq!(Balances::free_balance(BUYER), 10_013);
	});
}

/// A miner drains its bond through failures (of work bought by its own sock puppets, who
/// receive the slashes): below the minimum bond it stops competing until it tops up, so a
/// drained bond never backs new work.
#[test]
fn a_miner_slashed_below_the_minimum_bond_stops_competing_until_it_tops_up() {
	build_and_execute(|| {
		assert_ok!(register_miner(MINER, 100));
		fail_for(MINER, BUYER);
		assert_eq!(held(MINER), 90);
		assert_eq!(RepChain::miner(&MINER), None);
		assert_ok!(RepChain::bond_extra(signed(MINER), Role::Miner, 10));
		assert_eq!(RepChain::miner(&MINER), offer(5));
		// A slash never takes more than is bonded.
		for _ in 0..20 {
			fail_for(MINER, BUYER);
		}
		assert_eq!(held(MINER), 0);
		// 10 from the first slash, then the whole topped-up bond of 100.
		assert_eq!(Balances::free_balance(BUYER), 10_110);
	});
}

/// Issue 12, item 9: fifty cheap self-dealt successes, each rated 5 by the same buyer, took a
/// new miner from 50 % to about 99 %. Now cheap work weighs what it paid, and a counterparty's
/// evidence halves each time it vouches for the same subject again.
#[test]
fn reputation_cannot_be_farmed_with_cheap_or_repeated_self_dealing() {
	build_and_execute(|| {
		let vouch = |who, value, by| {
			let mut r = record(who, Outcome::Success, value, None);
			r.counterparty = Some(by);
			RepChain::append(r.clone(), None);
			RepChain::append(WorkRecord { outcome: Outcome::Rated, rating: Some(5), ..r }, None);
		};
		// Cheap jobs (a hundredth of a unit), one puppet buyer: barely moves.
		for _ in 0..50 {
			vouch(MINER, UNIT / 100, BUYER);
		}
		assert!(
			RepChain::score(&MINER) < Permill::from_percent(55),
			"{:?}",
			RepChain::score(&MINER)
		);
		// Real value from one buyer: the first record counts in full, the rest less and less.
		for _ in 0..50 {
			vouch(EXCHANGE, UNIT, BUYER);
		}
		// Positive evidence < 2 × 2 × (1 + 1/2 + 1/4 + …) units: at most (8 + 1) / (8 + 2).
		assert!(RepChain::score(&EXCHANGE) <= Permill::from_rational(9u32, 10u32));
		assert_eq!(Dealings::<Test>::get(EXCHANGE, BUYER), 50);
		// The same value from fifty distinct buyers is fifty buyers' worth of evidence.
		for buyer in 1_000..1_050 {
			vouch(OTHER, UNIT, buyer);
		}
		assert!(RepChain::score(&OTHER) > Permill::from_percent(98));
		// Failures always count in full, whoever paid.
		let before = RepChain::score(&EXCHANGE);
		let mut failed = record(EXCHANGE, Outcome::Failure, UNIT, None);
		failed.counterparty = Some(BUYER);
		RepChain::append(failed, None);
		assert!(RepChain::score(&EXCHANGE) < before);
	});
}
