//! Benchmarks of the Escrow pallet (frame-benchmarking v2), each at its worst case.

use super::*;
use crate::Pallet as Escrow;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_system::RawOrigin;

const ID: EscrowId = 1;

/// The existential deposit: amounts are multiples of it so any runtime's ED is respected.
fn unit<T: Config>() -> BalanceOf<T> {
	T::Currency::minimum_balance().max(1u32.into())
}

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	T::Currency::set_balance(&who, unit::<T>() * 1_000_000_000u32.into());
	who
}

/// An escrow with `p` payees awaiting acceptance until block 10; returns the buyer.
fn awaiting<T: Config>(p: u32) -> T::AccountId {
	let buyer: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&buyer, unit::<T>() * 1_000_000_000u32.into());
	let exchange = funded::<T>("exchange", 0);
	let operator = funded::<T>("operator", 0);
	Escrow::<T>::open(
		ID,
		&buyer,
		&exchange,
		&operator,
		1_000_000u32.into(),
		1_000u32.into(),
		1_000u32.into(),
	)
	.expect("open");
	let payouts: Vec<_> = (0..p).map(|i| (funded::<T>("miner", i), 1_000u32.into())).collect();
	Escrow::<T>::await_acceptance(ID, payouts, 10u32.into()).expect("await");
	buyer
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn dispute() {
		let buyer = awaiting::<T>(T::MaxPayees::get());
		frame_system::Pallet::<T>::set_block_number(1u32.into());
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), ID);
		assert!(matches!(
			Escrows::<T>::get(ID).map(|e| e.state),
			Some(EscrowState::Disputed { .. })
		));
	}

	#[benchmark]
	fn accept(p: Linear<1, { T::MaxPayees::get() }>) {
		let buyer = awaiting::<T>(p);
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), ID);
		assert!(Escrows::<T>::get(ID).is_none());
	}

	#[benchmark]
	fn resolve(p: Linear<1, { T::MaxPayees::get() }>) {
		let buyer = awaiting::<T>(p);
		frame_system::Pallet::<T>::set_block_number(1u32.into());
		Escrow::<T>::dispute(RawOrigin::Signed(buyer).into(), ID).expect("dispute");
		let operator: T::AccountId = account("operator", 0, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(operator), ID, Perbill::from_percent(50));
		assert!(Escrows::<T>::get(ID).is_none());
	}

	#[benchmark]
	fn resolve_default(p: Linear<1, { T::MaxPayees::get() }>) {
		let buyer = awaiting::<T>(p);
		frame_system::Pallet::<T>::set_block_number(1u32.into());
		Escrow::<T>::dispute(RawOrigin::Signed(buyer.clone()).into(), ID).expect("dispute");
		let late =
			frame_system::Pallet::<T>::block_number() + T::ResolutionWindow::get() + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(late);
		#[extrinsic_call]
		_(RawOrigin::Signed(buyer), ID);
		assert!(Escrows::<T>::get(ID).is_none());
	}

	impl_benchmark_test_suite!(Escrow, crate::mock::new_test_ext(), crate::mock::Test);
}
