//! # RepChain pallet
//!
//! The registry of the marketplace's participants and their hash-chained reputation.
//!
//! ## Overview
//!
//! Miners, exchanges and escrow operators register with a bond, held from their free balance
//! under [`HoldReason::Bond`]. Every finished piece of work appends an immutable
//! [`WorkRecord`] to its subject's history; the record is in the [`Event::Recorded`] event,
//! the latest `MaxRecentRecords` are kept in storage, and an aggregate keeps counts, a score
//! and the root of the subject's hash chain.
//!
//! ## Terms
//!
//! - **Bond**: funds held while registered; a miner's failure slashes `MinerSlash` of it to
//!   the harmed buyer. Unregistering is possible only with no work running, and the bond is
//!   withdrawable `UnbondingDelay` blocks later, so a misbehaving participant cannot run with
//!   its bond the moment it is caught.
//! - **History root**: `root = blake2_256(prev_root ‖ SCALE(record))`, starting from zero. Anyone
//!   holding the events can recompute it; the chain checks the stored recent records against it.
//! - **Score**: Beta reputation `(r + 1) / (r + s + 2)` as `Permill`, where `r` and `s` are
//!   positive and negative evidence. Each record adds evidence weighted by the work's value,
//!   `w = 1 + ⌊log2(1 + value / ValueUnit)⌋`, to `r` on success and `FailureWeight · w` to `s`
//!   on failure; a buyer's rating `k ∈ 1..=5` adds `w(k−1)/4` to `r` and `w(5−k)/4` to `s`.
//!   Every `DecayPeriod` blocks both are multiplied by `DecayFactor`, so recent behaviour weighs
//!   more. A new subject has `r = s = 0`: a neutral score of 50 %.
//!
//! ## Design
//!
//! - Money only moves through `fungible` holds; the invariant "bonds recorded == funds held"
//!   is checked by `do_try_state`.
//! - The log weighting keeps one big job from buying a reputation, and failures weigh more than
//!   successes (by default twice) so a miner cannot bank successes to afford failing.
//! - Other pallets use [`Registry`] and [`ReputationApi`]; they never touch storage here.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::repchain";
pub use cutopia_primitives::{Registry, ReputationApi};
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::*;
use sp_core::H256;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill, Permill, SaturatedConversion,
};

/// Balance type of the currency bonds are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A registration as stored.
pub type RegistrationOf<T> = Registration<BalanceOf<T>, BlockNumberFor<T>>;
/// A record as stored.
pub type RecordOf<T> =
	WorkRecord<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// One unit of evidence, in the millionths `Reputation` counts in.
pub const EVIDENCE_UNIT: u128 = 1_000_000;

sp_api::decl_runtime_apis! {
	/// Reputation queries for agents and wallets.
	pub trait RepChainApi<AccountId> where AccountId: codec::Codec {
		/// Score of `who` now, `Permill` (500_000 for a new subject).
		fn score(who: AccountId) -> Permill;
		/// `(records, successes, failures)` of `who`.
		fn counts(who: AccountId) -> (u32, u32, u32);
		/// Root of `who`'s record hash chain (zero when it has none).
		fn history_root(who: AccountId) -> H256;
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why RepChain holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A participant's registration bond.
		#[codec(index = 0)]
		Bond,
	}

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config {
		/// The currency bonds are held in.
		#[pallet::no_default]
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Mutate<Self::AccountId>;
		/// The runtime's hold reasons.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// Smallest bond of a miner.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type MinMinerBond: Get<BalanceOf<Self>>;
		/// Smallest bond of an exchange or escrow operator.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type MinServiceBond: Get<BalanceOf<Self>>;
		/// Highest fee an exchange or escrow operator may ask.
		#[pallet::constant]
		type MaxFee: Get<Permill>;
		/// Blocks between unregistering and withdrawing the bond.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type UnbondingDelay: Get<BlockNumberFor<Self>>;
		/// Records kept in storage per subject (the rest are in events).
		#[pallet::constant]
		type MaxRecentRecords: Get<u32>;
		/// Blocks per decay step.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type DecayPeriod: Get<BlockNumberFor<Self>>;
		/// What evidence keeps of its weight each decay step.
		#[pallet::constant]
		type DecayFactor: Get<Perbill>;
		/// Value that earns one extra doubling of a record's weight.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type ValueUnit: Get<BalanceOf<Self>>;
		/// How many times a failure weighs more than a success.
		#[pallet::constant]
		type FailureWeight: Get<u32>;
		/// Part of a miner's bond a failure slashes to the harmed buyer.
		#[pallet::constant]
		type MinerSlash: Get<Perbill>;
	}

	/// Default configurations of this pallet for test runtimes.
	pub mod config_preludes {
		use super::*;
		use frame_support::{
			derive_impl, parameter_types, register_default_impl,
			traits::{ConstU128, ConstU32, ConstU64},
		};

		parameter_types! {
			/// Fees up to 20 %.
			pub const TestMaxFee: Permill = Permill::from_percent(20);
			/// Half.
			pub const TestHalf: Perbill = Perbill::from_percent(50);
			/// A tenth.
			pub const TestTenth: Perbill = Perbill::from_percent(10);
		}

		/// What the pallet's own tests and other pallets' mocks (balances in `u128`, blocks in
		/// `u64`) use; a mock overrides what its tests need differently.
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type WeightInfo = ();
			type MinMinerBond = ConstU128<100>;
			type MinServiceBond = ConstU128<50>;
			type MaxFee = TestMaxFee;
			type UnbondingDelay = ConstU64<10>;
			type MaxRecentRecords = ConstU32<3>;
			type DecayPeriod = ConstU64<100>;
			type DecayFactor = TestHalf;
			type ValueUnit = ConstU128<1_000>;
			type FailureWeight = ConstU32<2>;
			type MinerSlash = TestTenth;
		}
	}

	/// Registrations by account and role.
	#[pallet::storage]
	pub type Registrations<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, Role, RegistrationOf<T>>;

	/// Aggregate reputation of each subject with at least one record.
	#[pallet::storage]
	pub type Reputations<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Reputation<BlockNumberFor<T>>>;

	/// The latest records of each subject with the history root after each, oldest first.
	#[pallet::storage]
	pub type RecentRecords<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<(RecordOf<T>, H256), T::MaxRecentRecords>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	// Each variant's doc names what its fields mean.
	#[allow(missing_docs)]
	pub enum Event<T: Config> {
		/// `who` registered as `role` with `bond` held.
		Registered { who: T::AccountId, role: Role, bond: BalanceOf<T> },
		/// `who` changed its terms as `role`.
		Updated { who: T::AccountId, role: Role },
		/// `who` added `amount` to its bond as `role`.
		BondIncreased { who: T::AccountId, role: Role, amount: BalanceOf<T> },
		/// `who` is leaving `role`; its bond is withdrawable from block `until`.
		Unbonding { who: T::AccountId, role: Role, until: BlockNumberFor<T> },
		/// `who` left `role` and got its bond back.
		Withdrawn { who: T::AccountId, role: Role, bond: BalanceOf<T> },
		/// A record was appended to `record.subject`'s history.
		Recorded { record: RecordOf<T>, root: H256, score: Permill },
		/// `amount` of `who`'s bond went to `beneficiary` after a failure.
		Slashed { who: T::AccountId, beneficiary: T::AccountId, amount: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// Already registered in this role.
		AlreadyRegistered,
		/// Not registered in this role.
		NotRegistered,
		/// The bond is below the minimum for the role.
		BondTooLow,
		/// Not enough free balance to hold the bond.
		InsufficientBalance,
		/// The fee is above `MaxFee`.
		FeeTooHigh,
		/// A miner must declare some resources.
		NoResources,
		/// Names and endpoints must not be empty.
		EmptyField,
		/// This call is for another role.
		WrongRole,
		/// Work is still running in this role.
		StillActive,
		/// Already leaving this role.
		AlreadyUnbonding,
		/// Not leaving this role: unregister first.
		NotUnbonding,
		/// The unbonding delay has not passed yet.
		StillUnbonding,
		/// Leaving this role: no new work.
		Leaving,
		/// Nothing to add.
		ZeroAmount,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxRecentRecords::get() > 0, "keep at least one record");
			assert!(!T::DecayPeriod::get().is_zero(), "DecayPeriod must be positive");
			assert!(!T::ValueUnit::get().is_zero(), "ValueUnit must be positive");
			assert!(T::FailureWeight::get() >= 1, "a failure weighs at least a success");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as a miner with its resources, price floor per compute unit
		/// and endpoint, holding `bond` (at least `MinMinerBond`).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_miner())]
		pub fn register_miner(
			origin: OriginFor<T>,
			resources: Resources,
			price_floor: BalanceOf<T>,
			endpoint: Endpoint,
			bond: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!resources.is_zero(), Error::<T>::NoResources);
			ensure!(!endpoint.is_empty(), Error::<T>::EmptyField);
			let profile = Profile::Miner { resources, price_floor, endpoint };
			Self::register(who, Role::Miner, profile, bond, T::MinMinerBond::get())
		}

		/// Registers the caller as an exchange or escrow operator with its fee, name and
		/// endpoint, holding `bond` (at least `MinServiceBond`).
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register_service())]
		pub fn register_service(
			origin: OriginFor<T>,
			role: Role,
			fee: Permill,
			name: Name,
			endpoint: Endpoint,
			bond: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(role != Role::Miner, Error::<T>::WrongRole);
			ensure!(fee <= T::MaxFee::get(), Error::<T>::FeeTooHigh);
			ensure!(!name.is_empty() && !endpoint.is_empty(), Error::<T>::EmptyField);
			let profile = Profile::Service { fee, name, endpoint };
			Self::register(who, role, profile, bond, T::MinServiceBond::get())
		}

		/// A miner changes its resources, price floor and endpoint. Running work keeps the
		/// terms it was awarded under.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::update_miner())]
		pub fn update_miner(
			origin: OriginFor<T>,
			resources: Resources,
			price_floor: BalanceOf<T>,
			endpoint: Endpoint,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!resources.is_zero(), Error::<T>::NoResources);
			ensure!(!endpoint.is_empty(), Error::<T>::EmptyField);
			Registrations::<T>::try_mutate(&who, Role::Miner, |r| -> DispatchResult {
				let r = r.as_mut().ok_or(Error::<T>::NotRegistered)?;
				r.profile = Profile::Miner { resources, price_floor, endpoint };
				Ok(())
			})?;
			Self::deposit_event(Event::Updated { who, role: Role::Miner });
			Ok(())
		}

		/// An exchange or escrow operator changes its fee, name and endpoint.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::update_service())]
		pub fn update_service(
			origin: OriginFor<T>,
			role: Role,
			fee: Permill,
			name: Name,
			endpoint: Endpoint,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(role != Role::Miner, Error::<T>::WrongRole);
			ensure!(fee <= T::MaxFee::get(), Error::<T>::FeeTooHigh);
			ensure!(!name.is_empty() && !endpoint.is_empty(), Error::<T>::EmptyField);
			Registrations::<T>::try_mutate(&who, role, |r| -> DispatchResult {
				let r = r.as_mut().ok_or(Error::<T>::NotRegistered)?;
				r.profile = Profile::Service { fee, name, endpoint };
				Ok(())
			})?;
			Self::deposit_event(Event::Updated { who, role });
			Ok(())
		}

		/// Adds `amount` to the caller's bond in `role`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(
			origin: OriginFor<T>,
			role: Role,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let mut r = Registrations::<T>::get(&who, role).ok_or(Error::<T>::NotRegistered)?;
			ensure!(r.unbonding_until.is_none(), Error::<T>::Leaving);
			T::Currency::hold(&HoldReason::Bond.into(), &who, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			r.bond = r.bond.saturating_add(amount);
			Registrations::<T>::insert(&who, role, r);
			Self::deposit_event(Event::BondIncreased { who, role, amount });
			Ok(())
		}

		/// Starts leaving `role`. Only with no work running; the bond can be withdrawn after
		/// `UnbondingDelay` blocks.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::unregister())]
		pub fn unregister(origin: OriginFor<T>, role: Role) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut r = Registrations::<T>::get(&who, role).ok_or(Error::<T>::NotRegistered)?;
			ensure!(r.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
			ensure!(r.active == 0, Error::<T>::StillActive);
			let until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingDelay::get());
			r.unbonding_until = Some(until);
			Registrations::<T>::insert(&who, role, r);
			Self::deposit_event(Event::Unbonding { who, role, until });
			Ok(())
		}

		/// Withdraws the bond of a role left at least `UnbondingDelay` blocks ago and removes
		/// the registration. The reputation stays.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>, role: Role) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let r = Registrations::<T>::get(&who, role).ok_or(Error::<T>::NotRegistered)?;
			let until = r.unbonding_until.ok_or(Error::<T>::NotUnbonding)?;
			ensure!(frame_system::Pallet::<T>::block_number() >= until, Error::<T>::StillUnbonding);
			T::Currency::release(&HoldReason::Bond.into(), &who, r.bond, Precision::BestEffort)?;
			Registrations::<T>::remove(&who, role);
			Self::deposit_event(Event::Withdrawn { who, role, bond: r.bond });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		fn register(
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

		/// Applies the decay steps that have passed by `now`.
		fn decayed(
			mut rep: Reputation<BlockNumberFor<T>>,
			now: BlockNumberFor<T>,
		) -> Reputation<BlockNumberFor<T>> {
			let period = T::DecayPeriod::get();
			let elapsed = now.saturating_sub(rep.decayed_at);
			let steps: u32 = (elapsed / period).saturated_into();
			if steps > 0 {
				// Past ~10,000 steps any factor below one has long reached zero.
				let f = T::DecayFactor::get().saturating_pow(steps.min(10_000) as usize);
				rep.positive = f.mul_floor(rep.positive);
				rep.negative = f.mul_floor(rep.negative);
				rep.decayed_at = rep.decayed_at.saturating_add(period.saturating_mul(steps.into()));
			}
			rep
		}

		/// The evidence one record of `value` weighs, in millionths:
		/// `1 + ⌊log2(1 + value / ValueUnit)⌋` units.
		pub fn evidence_weight(value: BalanceOf<T>) -> u128 {
			let units: u128 = (value / T::ValueUnit::get()).saturated_into();
			EVIDENCE_UNIT.saturating_mul(1 + u128::from(units.saturating_add(1).ilog2()))
		}

		/// The Beta score of `rep`: `(r + 1) / (r + s + 2)`.
		pub fn score_of(rep: &Reputation<BlockNumberFor<T>>) -> Permill {
			Permill::from_rational(
				rep.positive.saturating_add(EVIDENCE_UNIT),
				rep.positive.saturating_add(rep.negative).saturating_add(2 * EVIDENCE_UNIT),
			)
		}

		/// `blake2_256(prev ‖ SCALE(record))`.
		pub fn chain_root(prev: &H256, record: &RecordOf<T>) -> H256 {
			cutopia_primitives::hashes::record_link(prev, record)
		}

		/// Invariants, checked after every unit test and by try-runtime:
		/// - for every account, the bonds of its registrations equal what is held from it
		///   under [`HoldReason::Bond`];
		/// - every subject's stored recent records chain: each root is `chain_root` of the
		///   previous root and its record, the last root is the aggregate's root, and when all
		///   its records are stored the first starts from zero;
		/// - successes + failures ≤ records (the rest are ratings), and the stored records are at most `records`.
		#[cfg(any(test, feature = "try-runtime"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			for (who, _, r) in Registrations::<T>::iter() {
				let e = bonds.entry(who).or_default();
				*e = e.saturating_add(r.bond);
			}
			for (who, bond) in bonds {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::Bond.into(), &who) == bond,
					"bonds differ from held funds"
				);
			}
			for (who, rep) in Reputations::<T>::iter() {
				ensure!(rep.successes.saturating_add(rep.failures) <= rep.records, "counts");
				let recent = RecentRecords::<T>::get(&who);
				ensure!(recent.len() as u32 <= rep.records, "more records stored than made");
				let mut prev: Option<H256> =
					if recent.len() as u32 == rep.records { Some(H256::zero()) } else { None };
				for (record, root) in recent.iter() {
					ensure!(record.subject == who, "record of another subject");
					if let Some(p) = prev {
						ensure!(Self::chain_root(&p, record) == *root, "root does not recompute");
					}
					prev = Some(*root);
				}
				ensure!(prev.unwrap_or(H256::zero()) == rep.root, "last root differs");
			}
			Ok(())
		}
	}

	impl<T: Config> Registry<T::AccountId, BalanceOf<T>> for Pallet<T> {
		fn miner(who: &T::AccountId) -> Option<(Resources, BalanceOf<T>)> {
			match Registrations::<T>::get(who, Role::Miner)? {
				Registration {
					profile: Profile::Miner { resources, price_floor, .. },
					unbonding_until: None,
					..
				} => Some((resources, price_floor)),
				_ => None,
			}
		}

		fn service_fee(who: &T::AccountId, role: Role) -> Option<Permill> {
			match Registrations::<T>::get(who, role)? {
				Registration {
					profile: Profile::Service { fee, .. },
					unbonding_until: None,
					..
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
						price_floor: Zero::zero(),
						endpoint: BoundedVec::truncate_from(alloc::vec![b'm'; 256]),
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
			Self::register(who.clone(), role, profile, bond, bond)
				.expect("a funded account registers");
		}
	}

	impl<T: Config> ReputationApi<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
		fn append(record: RecordOf<T>, harmed: Option<&T::AccountId>) -> H256 {
			let now = frame_system::Pallet::<T>::block_number();
			let who = record.subject.clone();
			let mut rep = match Reputations::<T>::get(&who) {
				Some(rep) => Self::decayed(rep, now),
				None => Reputation { decayed_at: now, ..Default::default() },
			};
			let w = Self::evidence_weight(record.value);
			match record.outcome {
				Outcome::Success => {
					rep.successes = rep.successes.saturating_add(1);
					rep.positive = rep.positive.saturating_add(w);
				},
				Outcome::Failure => {
					rep.failures = rep.failures.saturating_add(1);
					rep.negative = rep
						.negative
						.saturating_add(w.saturating_mul(T::FailureWeight::get().into()));
				},
				Outcome::Rated => {},
			}
			if let Some(k) = record.rating.filter(|k| (1..=5).contains(k)) {
				let k = u128::from(k);
				rep.positive = rep.positive.saturating_add(w * (k - 1) / 4);
				rep.negative = rep.negative.saturating_add(w * (5 - k) / 4);
			}
			rep.records = rep.records.saturating_add(1);
			rep.root = Self::chain_root(&rep.root, &record);
			let root = rep.root;
			let score = Self::score_of(&rep);
			RecentRecords::<T>::mutate(&who, |recent| {
				if recent.is_full() {
					recent.remove(0);
				}
				if recent.try_push((record.clone(), root)).is_err() {
					frame_support::defensive!("a slot was freed above when full");
				}
			});
			Reputations::<T>::insert(&who, rep);

			if record.outcome == Outcome::Failure && record.role == Role::Miner {
				if let Some(beneficiary) = harmed {
					Self::slash(&who, beneficiary);
				}
			}
			Self::deposit_event(Event::Recorded { record, root, score });
			root
		}

		fn score(who: &T::AccountId) -> Permill {
			let now = frame_system::Pallet::<T>::block_number();
			Reputations::<T>::get(who)
				.map(|rep| Self::score_of(&Self::decayed(rep, now)))
				.unwrap_or(Permill::from_percent(50))
		}
	}

	impl<T: Config> Pallet<T> {
		/// Moves `MinerSlash` of `who`'s miner bond to `beneficiary`.
		fn slash(who: &T::AccountId, beneficiary: &T::AccountId) {
			let Some(mut r) = Registrations::<T>::get(who, Role::Miner) else { return };
			let amount = T::MinerSlash::get().mul_floor(r.bond);
			if amount.is_zero() {
				return;
			}
			let moved = T::Currency::transfer_on_hold(
				&HoldReason::Bond.into(),
				who,
				beneficiary,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_default();
			r.bond = r.bond.saturating_sub(moved);
			Registrations::<T>::insert(who, Role::Miner, r);
			Self::deposit_event(Event::Slashed {
				who: who.clone(),
				beneficiary: beneficiary.clone(),
				amount: moved,
			});
		}

		/// `(records, successes, failures)` of `who`.
		pub fn counts(who: &T::AccountId) -> (u32, u32, u32) {
			Reputations::<T>::get(who)
				.map(|r| (r.records, r.successes, r.failures))
				.unwrap_or_default()
		}

		/// Root of `who`'s history.
		pub fn history_root(who: &T::AccountId) -> H256 {
			Reputations::<T>::get(who).map(|r| r.root).unwrap_or_default()
		}
	}
}
