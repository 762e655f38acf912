//! Unit tests of Escrow: holds, streaming, settlement splits, acceptance and disputes.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};

const BUYER: u64 = 1;
const EXCHANGE: u64 = 2;
const OPERATOR: u64 = 3;
const MINER_A: u64 = 4;
const MINER_B: u64 = 5;
const ID: EscrowId = 7;

fn held(who: u64) -> Balance {
	Balances::balance_on_hold(&HoldReason::Escrow.into(), &who)
}

fn free(who: u64) -> Balance {
	Balances::free_balance(who)
}

/// Incentive 1,000, exchange fee 30, escrow fee 10.
fn open() {
	assert_ok!(Escrow::open(ID, &BUYER, &EXCHANGE, &OPERATOR, 1_000, 30, 10));
}

fn awaiting(payouts: Vec<(u64, Balance)>, until: u64) {
	open();
	assert_ok!(Escrow::await_acceptance(ID, payouts, until));
}

#[test]
fn open_holds_incentive_and_fees() {
	build_and_execute(|| {
		open();
		assert_eq!(held(BUYER), 1_040);
		assert_eq!(free(BUYER), 8_960);
		assert_eq!(Escrow::held(ID), 1_040);
		System::assert_last_event(Event::Opened { id: ID, buyer: BUYER, held: 1_040 }.into());
		assert_noop!(
			Escrow::open(ID, &BUYER, &EXCHANGE, &OPERATOR, 1, 0, 0),
			Error::<Test>::AlreadyOpen
		);
		assert_noop!(
			Escrow::open(8, &BUYER, &EXCHANGE, &OPERATOR, 9_000, 0, 0),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn payments_stream_but_never_exceed_the_incentive() {
	build_and_execute(|| {
		assert_noop!(Escrow::pay(ID, &MINER_A, 1), Error::<Test>::UnknownEscrow);
		open();
		assert_ok!(Escrow::pay(ID, &MINER_A, 400));
		assert_ok!(Escrow::pay(ID, &MINER_B, 600));
		assert_eq!(free(MINER_A), 10_400);
		assert_eq!(Escrow::held(ID), 40);
		assert_noop!(Escrow::pay(ID, &MINER_A, 1), Error::<Test>::ExceedsHeld);
	});
}

#[test]
fn settlement_pays_exactly_what_was_held() {
	build_and_execute(|| {
		open();
		assert_ok!(Escrow::pay(ID, &MINER_A, 300));
		let s = Escrow::settle(ID, &[(MINER_A, 500), (MINER_B, 100)], Perbill::one()).unwrap();
		assert_eq!(
			s,
			Settlement {
				to_miners: 600,
				payouts: vec![(MINER_A, 500), (MINER_B, 100)],
				exchange_fee: 30,
				escrow_fee: 10,
				refunded: 100
			}
		);
		assert_eq!(free(MINER_A), 10_800);
		assert_eq!(free(MINER_B), 10_100);
		assert_eq!(free(EXCHANGE), 10_030);
		assert_eq!(free(OPERATOR), 10_010);
		assert_eq!(free(BUYER), 10_000 - 300 - 600 - 40);
		assert_eq!(held(BUYER), 0);
		assert!(Escrows::<Test>::get(ID).is_none());
	});
}

#[test]
fn settlement_that_would_pay_more_than_held_changes_nothing() {
	build_and_execute(|| {
		open();
		assert_ok!(Escrow::pay(ID, &MINER_A, 300));
		assert_noop!(
			Escrow::settle(ID, &[(MINER_A, 600), (MINER_B, 101)], Perbill::one()),
			Error::<Test>::ExceedsHeld
		);
		assert_noop!(
			Escrow::settle(ID, &[(MINER_A, u128::MAX), (MINER_B, 2)], Perbill::one()),
			Error::<Test>::ExceedsHeld
		);
		assert_noop!(Escrow::settle(99, &[], Perbill::one()), Error::<Test>::UnknownEscrow);
	});
}

#[test]
fn a_cancelled_or_expired_escrow_refunds_everything() {
	build_and_execute(|| {
		open();
		let s = Escrow::settle(ID, &[], Perbill::zero()).unwrap();
		assert_eq!(s.refunded, 1_040);
		assert_eq!(free(BUYER), 10_000);
	});
}

#[test]
fn partial_fees_round_down_and_dust_goes_to_the_buyer() {
	build_and_execute(|| {
		open();
		// A failed lease: a third of the rounds were proven, fees follow.
		let share = Perbill::from_rational(1u32, 3u32);
		let s = Escrow::settle(ID, &[(MINER_A, 333)], share).unwrap();
		assert_eq!(s.exchange_fee, 9);
		assert_eq!(s.escrow_fee, 3);
		assert_eq!(s.refunded, 1_040 - 333 - 9 - 3);
	});
}

#[test]
fn await_acceptance_validates_payouts() {
	build_and_execute(|| {
		assert_noop!(Escrow::await_acceptance(ID, vec![], 5), Error::<Test>::UnknownEscrow);
		open();
		assert_noop!(
			Escrow::await_acceptance(ID, vec![(MINER_A, 1_001)], 5),
			Error::<Test>::ExceedsHeld
		);
		assert_noop!(
			Escrow::await_acceptance(
				ID,
				vec![(MINER_A, 1), (MINER_A, 1), (MINER_A, 1), (MINER_B, 1)],
				5
			),
			Error::<Test>::TooManyPayees
		);
		assert_ok!(Escrow::await_acceptance(ID, vec![(MINER_A, 1_000)], 5));
		assert_noop!(Escrow::await_acceptance(ID, vec![], 5), Error::<Test>::WrongState);
	});
}

#[test]
fn accept_by_the_buyer_early_or_anyone_late() {
	build_and_execute(|| {
		awaiting(vec![(MINER_A, 1_000)], 5);
		assert_noop!(
			Escrow::accept(RuntimeOrigin::signed(MINER_A), ID),
			Error::<Test>::AcceptanceWindowOpen
		);
		assert_ok!(Escrow::accept(RuntimeOrigin::signed(BUYER), ID));
		assert_eq!(free(MINER_A), 11_000);
		assert_noop!(
			Escrow::accept(RuntimeOrigin::signed(BUYER), ID),
			Error::<Test>::UnknownEscrow
		);

		assert_ok!(Escrow::open(8, &BUYER, &EXCHANGE, &OPERATOR, 100, 0, 0));
		assert_noop!(Escrow::accept(RuntimeOrigin::signed(BUYER), 8), Error::<Test>::WrongState);
		assert_ok!(Escrow::await_acceptance(8, vec![(MINER_B, 100)], 5));
		System::set_block_number(6);
		assert_ok!(Escrow::accept(RuntimeOrigin::signed(MINER_B), 8));
		assert_eq!(free(MINER_B), 10_100);
	});
}

#[test]
fn dispute_errors() {
	build_and_execute(|| {
		assert_noop!(
			Escrow::dispute(RuntimeOrigin::signed(BUYER), ID),
			Error::<Test>::UnknownEscrow
		);
		open();
		assert_noop!(Escrow::dispute(RuntimeOrigin::signed(BUYER), ID), Error::<Test>::WrongState);
		assert_ok!(Escrow::await_acceptance(ID, vec![(MINER_A, 1_000)], 5));
		assert_noop!(Escrow::dispute(RuntimeOrigin::signed(MINER_A), ID), Error::<Test>::NotBuyer);
		System::set_block_number(6);
		assert_noop!(
			Escrow::dispute(RuntimeOrigin::signed(BUYER), ID),
			Error::<Test>::AcceptanceWindowClosed
		);
	});
}

#[test]
fn the_operator_resolves_with_an_exact_split() {
	build_and_execute(|| {
		awaiting(vec![(MINER_A, 501), (MINER_B, 499)], 5);
		assert_noop!(
			Escrow::resolve(RuntimeOrigin::signed(OPERATOR), ID, Perbill::one()),
			Error::<Test>::WrongState
		);
		assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), ID));
		System::assert_last_event(Event::Disputed { id: ID, deadline: 6 }.into());
		assert_noop!(
			Escrow::resolve(RuntimeOrigin::signed(BUYER), ID, Perbill::one()),
			Error::<Test>::NotOperator
		);
		assert_noop!(
			Escrow::resolve_default(RuntimeOrigin::signed(MINER_A), ID),
			Error::<Test>::ResolutionWindowOpen
		);
		let taken = Escrow::resolve(RuntimeOrigin::signed(OPERATOR), ID, Perbill::from_percent(25));
		assert_eq!(taken.map(|i| i.pays_fee), Ok(Pays::No), "the operator's duty is free");
		// 25 % of 501 = 125.25 -> 125, of 499 = 124.75 -> 124; the 0.75 + 0.25 stay with the buyer.
		assert_eq!(free(MINER_A), 10_125);
		assert_eq!(free(MINER_B), 10_124);
		assert_eq!(free(OPERATOR), 10_010);
		assert_eq!(free(EXCHANGE), 10_030);
		assert_eq!(free(BUYER), 10_000 - 125 - 124 - 40);
		assert_eq!(RESOLVED.with(|r| r.borrow().clone()), vec![(ID, OPERATOR, true)]);
	});
}

#[test]
fn an_operator_that_does_not_resolve_loses_its_fee() {
	build_and_execute(|| {
		awaiting(vec![(MINER_A, 1_000)], 5);
		assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), ID));
		System::set_block_number(7);
		assert_noop!(
			Escrow::resolve(RuntimeOrigin::signed(OPERATOR), ID, Perbill::one()),
			Error::<Test>::ResolutionWindowClosed
		);
		assert_ok!(Escrow::resolve_default(RuntimeOrigin::signed(MINER_A), ID));
		assert_eq!(free(MINER_A), 10_500);
		assert_eq!(free(OPERATOR), 10_000);
		assert_eq!(free(EXCHANGE), 10_030);
		assert_eq!(free(BUYER), 10_000 - 500 - 30);
		assert_eq!(RESOLVED.with(|r| r.borrow().clone()), vec![(ID, OPERATOR, false)]);
	});
}

/// An exchange that failed its duty (issue 12, item 1) gets nothing: its fee goes back to the
/// buyer at once, settlement pays it nothing, and waiving twice moves nothing more.
#[test]
fn a_waived_exchange_fee_goes_back_to_the_buyer() {
	build_and_execute(|| {
		assert_eq!(Escrow::waive_exchange_fee(ID), 0, "no escrow, nothing to waive");
		open();
		assert_eq!(Escrow::waive_exchange_fee(ID), 30);
		System::assert_last_event(Event::ExchangeFeeWaived { id: ID, amount: 30 }.into());
		assert_eq!((held(BUYER), free(BUYER), Escrow::held(ID)), (1_010, 8_990, 1_010));
		assert_eq!(Escrow::waive_exchange_fee(ID), 0);
		let s = Escrow::settle(ID, &[(MINER_A, 1_000)], Perbill::one()).expect("settles");
		assert_eq!((s.exchange_fee, s.escrow_fee, s.to_miners), (0, 10, 1_000));
		assert_eq!(free(EXCHANGE), 10_000);
	});
}

/// A miner that left and was reaped cannot take a payout below the existential deposit (2
/// here): that payout goes back to the buyer and the rest settles. It used to fail the whole
/// settlement, leaving the escrow, the exchange and the operator held for good (review of
/// issue 12 item 6: withheld rounds are now paid at settlement).
#[test]
fn a_payout_its_miner_cannot_take_goes_back_to_the_buyer() {
	build_and_execute(|| {
		const GONE: u64 = 99;
		open();
		let s = Escrow::settle(ID, &[(MINER_A, 500), (GONE, 1)], Perbill::one()).expect("settles");
		assert_eq!((s.to_miners, s.payouts.clone(), s.refunded), (500, vec![(MINER_A, 500)], 500));
		System::assert_has_event(
			Event::PayoutUndeliverable { id: ID, miner: GONE, amount: 1 }.into(),
		);
		assert_eq!(free(GONE), 0);
		assert_eq!(free(BUYER), 10_000 - 540);
		assert!(Escrows::<Test>::get(ID).is_none());
	});
}

/// Work that ended part-served (a disputed or completed lease) cuts both fees to the served
/// share now, rounding down, and returns the cut to the buyer.
#[test]
fn fees_are_cut_to_the_served_share() {
	build_and_execute(|| {
		assert_eq!(Escrow::scale_fees(ID, Perbill::from_percent(50)), 0, "no escrow");
		open();
		assert_eq!(Escrow::scale_fees(ID, Perbill::one()), 0, "nothing to cut");
		// 30 × 45 % = 13.5 → 13, 10 × 45 % = 4.5 → 4: 17 + 6 = 23 back.
		assert_eq!(Escrow::scale_fees(ID, Perbill::from_percent(45)), 23);
		System::assert_last_event(
			Event::FeesCut { id: ID, share: Perbill::from_percent(45), refunded: 23 }.into(),
		);
		assert_eq!((held(BUYER), free(BUYER), Escrow::held(ID)), (1_017, 8_983, 1_017));
		let s = Escrow::settle(ID, &[], Perbill::one()).expect("settles");
		assert_eq!((s.exchange_fee, s.escrow_fee, s.refunded), (13, 4, 1_000));
		assert_eq!(free(BUYER), 10_000 - 17);
	});
}

/// Disagreeing replicas (issue 12, items 4 and 5): the escrow goes straight to its operator
/// with what each miner could be paid; the operator's decision may only cut those payouts.
#[test]
fn disputed_results_are_decided_by_the_operator_within_what_was_owed() {
	build_and_execute(|| {
		assert_noop!(Escrow::dispute_results(ID, vec![]), Error::<Test>::UnknownEscrow);
		open();
		assert_noop!(
			Escrow::dispute_results(ID, vec![(MINER_A, 600), (MINER_B, 401)]),
			Error::<Test>::ExceedsHeld
		);
		assert_noop!(
			Escrow::dispute_results(ID, vec![(MINER_A, 1); 4]),
			Error::<Test>::TooManyPayees
		);
		assert_noop!(Escrow::resolve_with(ID, &OPERATOR, &[]), Error::<Test>::WrongState);
		assert_eq!(Escrow::dispute_results(ID, vec![(MINER_A, 300), (MINER_B, 300)]), Ok(6));
		System::assert_last_event(Event::Disputed { id: ID, deadline: 6 }.into());
		assert_noop!(Escrow::dispute_results(ID, vec![]), Error::<Test>::WrongState);
		assert_noop!(Escrow::resolve_with(ID, &BUYER, &[]), Error::<Test>::NotOperator);
		assert_noop!(
			Escrow::resolve_with(ID, &OPERATOR, &[(MINER_A, 301)]),
			Error::<Test>::NotOutstanding
		);
		assert_noop!(
			Escrow::resolve_with(ID, &OPERATOR, &[(MINER_A, 200), (MINER_A, 200)]),
			Error::<Test>::NotOutstanding
		);
		assert_noop!(
			Escrow::resolve_with(ID, &OPERATOR, &[(EXCHANGE, 1)]),
			Error::<Test>::NotOutstanding
		);
		System::set_block_number(7);
		assert_noop!(
			Escrow::resolve_with(ID, &OPERATOR, &[(MINER_A, 300)]),
			Error::<Test>::ResolutionWindowClosed
		);
		System::set_block_number(6);
		let settled = Escrow::resolve_with(ID, &OPERATOR, &[(MINER_B, 300)]).unwrap();
		assert_eq!(settled.to_miners, 300);
		System::assert_has_event(
			Event::Resolved { id: ID, miner_share: Perbill::from_percent(50), by_operator: true }
				.into(),
		);
		assert_eq!(free(MINER_B), 10_300);
		assert_eq!(free(MINER_A), 10_000);
		assert_eq!(free(BUYER), 10_000 - 300 - 40);
		assert_eq!(RESOLVED.with(|r| r.borrow().clone()), vec![(ID, OPERATOR, true)]);
	});
}
