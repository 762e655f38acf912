//! Benchmarks of RepChain (frame-benchmarking v2), each at its worst case.

use super::*;
use crate::Pallet as RepChain;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;

fn funded<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	let bond = T::MinMinerBond::get().max(T::MinServiceBond::get());
	let amount = bond.saturating_mul(100u32.into());
	T::Currency::set_balance(who, amount);
	bond
}

fn endpoint() -> Endpoint {
	BoundedVec::truncate_from(alloc::vec![b'e'; 256])
}

fn name() -> Name {
	BoundedVec::truncate_from(alloc::vec![b'n'; 64])
}

/// Every executor there is: the most a valid offer names (each once).
fn executors() -> Executors {
	BoundedVec::truncate_from(alloc::vec![Executor::Wasm, Executor::Container, Executor::MicroVm])
}

fn resources() -> Resources {
	Resources { cpu_millicores: 64_000, memory_mib: 262_144, storage_gib: 4_096, gpus: 8 }
}

fn miner<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	let bond = funded::<T>(who);
	RepChain::<T>::register_miner(
		RawOrigin::Signed(who.clone()).into(),
		resources(),
		executors(),
		1u32.into(),
		endpoint(),
		u16::MAX,
		bond,
	)
	.expect("register");
	bond
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_miner() {
		let who: T::AccountId = whitelisted_caller();
		let bond = funded::<T>(&who);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			resources(),
			executors(),
			1u32.into(),
			endpoint(),
			u16::MAX,
			bond,
		);
		assert!(Registrations::<T>::contains_key(&who, Role::Miner));
	}

	#[benchmark]
	fn register_service() {
		let who: T::AccountId = whitelisted_caller();
		let bond = funded::<T>(&who);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			Role::Exchange,
			T::MaxFee::get(),
			name(),
			endpoint(),
			bond,
		);
		assert!(Registrations::<T>::contains_key(&who, Role::Exchange));
	}

	#[benchmark]
	fn update_miner() {
		let who: T::AccountId = whitelisted_caller();
		miner::<T>(&who);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			resources(),
			executors(),
			2u32.into(),
			endpoint(),
			u16::MAX,
		);
		assert_eq!(RepChain::<T>::miner(&who).map(|m| m.price_floor), Some(2u32.into()));
	}

	#[benchmark]
	fn update_service() {
		let who: T::AccountId = whitelisted_caller();
		let bond = funded::<T>(&who);
		RepChain::<T>::register_service(
			RawOrigin::Signed(who.clone()).into(),
			Role::EscrowOperator,
			Permill::zero(),
			name(),
			endpoint(),
			bond,
		)
		.expect("register");
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			Role::EscrowOperator,
			T::MaxFee::get(),
			name(),
			endpoint(),
		);
		assert_eq!(RepChain::<T>::service_fee(&who, Role::EscrowOperator), Some(T::MaxFee::get()));
	}

	#[benchmark]
	fn bond_extra() {
		let who: T::AccountId = whitelisted_caller();
		let bond = miner::<T>(&who);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Role::Miner, bond);
		assert_eq!(Registrations::<T>::get(&who, Role::Miner).map(|r| r.bond), Some(bond + bond));
	}

	#[benchmark]
	fn unregister() {
		let who: T::AccountId = whitelisted_caller();
		miner::<T>(&who);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Role::Miner);
		assert!(
			Registrations::<T>::get(&who, Role::Miner).is_some_and(|r| r.unbonding_until.is_some())
		);
	}

	#[benchmark]
	fn withdraw() {
		let who: T::AccountId = whitelisted_caller();
		miner::<T>(&who);
		RepChain::<T>::unregister(RawOrigin::Signed(who.clone()).into(), Role::Miner)
			.expect("unregister");
		let later = frame_system::Pallet::<T>::block_number() + T::UnbondingDelay::get();
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Role::Miner);
		assert!(!Registrations::<T>::contains_key(&who, Role::Miner));
	}

	/// A failure record (rated, so the counterparty's dealings are counted) for a miner with a
	/// full recent-records list, slashing its bond.
	#[benchmark]
	fn append_record() {
		let who: T::AccountId = account("miner", 0, 0);
		let buyer: T::AccountId = account("buyer", 0, 0);
		miner::<T>(&who);
		funded::<T>(&buyer);
		let record = |outcome| WorkRecord {
			subject: who.clone(),
			role: Role::Miner,
			indenture: 1,
			outcome,
			value: T::ValueUnit::get(),
			heartbeats_proven: 100,
			heartbeats_missed: 3,
			duration: 100u32.into(),
			rating: Some(3),
			at: frame_system::Pallet::<T>::block_number(),
			// A counterparty: its dealings with the subject are read and written.
			counterparty: Some(buyer.clone()),
		};
		for _ in 0..T::MaxRecentRecords::get() {
			RepChain::<T>::append(record(Outcome::Success), None);
		}
		let held_before = Registrations::<T>::get(&who, Role::Miner).map(|r| r.bond);
		#[block]
		{
			RepChain::<T>::append(
				record(Outcome::Failure),
				Some((&buyer, <BalanceOf<T> as sp_runtime::traits::Bounded>::max_value())),
			);
		}
		assert!(Registrations::<T>::get(&who, Role::Miner).map(|r| r.bond) < held_before);
	}

	impl_benchmark_test_suite!(RepChain, crate::mock::new_test_ext(), crate::mock::Test);
}
