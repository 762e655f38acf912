//! The registry: who is registered as what, with which bond, and whether it is busy.

use super::*;

impl<T: Config> Pallet<T> {
	/// A miner's terms are usable: some resources, at least one executor and each once (a
	/// duplicate would only make the stored profile ambiguous to read), an endpoint.
	pub(crate) fn check_offer(
		resources: &Resources,
		executors: &Executors,
		endpoint: &Endpoint,
	) -> DispatchResult {
		ensure!(!resources.is_zero(), Error::<T>::NoResources);
		ensure!(!executors.is_empty(), Error::<T>::NoExecutors);
		ensure!(cutopia_primitives::each_once(executors), Error::<T>::DuplicateExecutor);
		ensure!(!endpoint.is_empty(), Error::<T>::EmptyField);
		Ok(())
	}

	pub(crate) fn register(
		who: T::AccountId,
		role: Role,
		profile: Profile<BalanceOf<T>>,
		bond: BalanceOf<T>,
		min_bond: BalanceOf<T>,
	) -> DispatchResult {
		ensure!(!Registrations::<T>::contains_key(&who, role), Error::<T>::AlreadyRegistered);
		ensure!(bond >= min_bond, Error::<T>::BondTooLow);
		T::Currency::hold(&HoldReason::Bond.into(), &who, bond)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Registrations::<T>::insert(
			&who,
			role,
			Registration { profile, bond, active: 0, unbonding_until: None },
		);
		Self::deposit_event(Event::Registered { who, role, bond });
		Ok(())
	}
}

impl<T: Config> Registry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	/// A miner that is leaving, or whose bond was slashed below the minimum, offers nothing:
	/// it could not be slashed for the next failure.
	fn miner(who: &T::AccountId) -> Option<MinerOffer<BalanceOf<T>>> {
		match Registrations::<T>::get(who, Role::Miner)? {
			Registration {
				profile: Profile::Miner { resources, executors, price_floor, addresses, .. },
				unbonding_until: None,
				bond,
				..
			} if bond >= T::MinMinerBond::get() => {
				Some(MinerOffer { resources, price_floor, executors, addresses })
			},
			_ => None,
		}
	}

	fn service_fee(who: &T::AccountId, role: Role) -> Option<Permill> {
		match Registrations::<T>::get(who, role)? {
			Registration {
				profile: Profile::Service { fee, .. }, unbonding_until: None, ..
			} => Some(fee),
			_ => None,
		}
	}

	fn begin_work(who: &T::AccountId, role: Role) -> DispatchResult {
		Registrations::<T>::try_mutate(who, role, |r| {
			let r = r.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(r.unbonding_until.is_none(), Error::<T>::Leaving);
			r.active = r.active.saturating_add(1);
			Ok(())
		})
	}

	fn end_work(who: &T::AccountId, role: Role) {
		Registrations::<T>::mutate(who, role, |r| {
			if let Some(r) = r {
				r.active = r.active.saturating_sub(1);
			}
		});
	}

	fn miner_endpoint(who: &T::AccountId) -> Option<Endpoint> {
		match Registrations::<T>::get(who, Role::Miner)?.profile {
			Profile::Miner { endpoint, .. } => Some(endpoint),
			Profile::Service { .. } => None,
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(who: &T::AccountId, role: Role) {
		let (profile, bond) = match role {
			Role::Miner => (
				Profile::Miner {
					resources: Resources {
						cpu_millicores: u32::MAX,
						memory_mib: u32::MAX,
						storage_gib: u32::MAX,
						gpus: u32::MAX,
					},
					executors: BoundedVec::truncate_from(alloc::vec![
						Executor::Wasm,
						Executor::Container,
						Executor::MicroVm,
					]),
					price_floor: Zero::zero(),
					endpoint: BoundedVec::truncate_from(alloc::vec![b'm'; 256]),
					addresses: u16::MAX,
				},
				T::MinMinerBond::get(),
			),
			_ => (
				Profile::Service {
					fee: T::MaxFee::get(),
					name: BoundedVec::truncate_from(alloc::vec![b's'; 64]),
					endpoint: BoundedVec::truncate_from(alloc::vec![b's'; 256]),
				},
				T::MinServiceBond::get(),
			),
		};
		let ed = T::Currency::minimum_balance();
		let funds = bond.saturating_mul(1_000u32.into()).saturating_add(ed);
		T::Currency::mint_into(who, funds).expect("benchmark funds can be minted");
		Self::register(who.clone(), role, profile, bond, bond).expect("a funded account registers");
	}
}
