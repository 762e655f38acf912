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
//! - **Bond**: funds held while registered; a failure recorded with a harmed party slashes
//!   `MinerSlash` of the role's minimum bond (at most what is bonded) to it — a miner's failed
//!   lease to its buyer, an exchange's unposted or unfair challenge to its buyer — and a miner
//!   whose bond fell below the minimum is offered no work until it tops up. Unregistering is possible only with no work running, and the bond is
//!   withdrawable `UnbondingDelay` blocks later, so a misbehaving participant cannot run with
//!   its bond the moment it is caught.
//! - **History root**: `root = blake2_256(prev_root ‖ SCALE(record))`, starting from zero. Anyone
//!   holding the events can recompute it; the chain checks the stored recent records against it.
//! - **Score**: Beta reputation `(r + 1) / (r + s + 2)` as `Permill`, where `r` and `s` are
//!   positive and negative evidence. Each record adds evidence weighted by the work's value,
//!   `w = value / ValueUnit` below one unit, `1 + ⌊log2(value / ValueUnit)⌋` from there, to `r`
//!   on success (halved for each earlier positive record from the same counterparty) and
//!   `FailureWeight · w` to `s`
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
//!
//! ## Files
//!
//! | file | what happens there |
//! |---|---|
//! | `lib.rs` | declarations: config, storage, events, errors, hooks, calls |
//! | `registry.rs` | registrations, bonds, busy work; [`Registry`] |
//! | `reputation.rs` | hash-chained records, evidence and decay, scores, slashes; [`ReputationApi`] |
//! | `try_state.rs` | invariants, checked after every test and by try-runtime |
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::repchain";
pub use cutopia_primitives::{MinerOffer, Registry, ReputationApi};
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
mod registry;
mod reputation;
#[cfg(test)]
mod tests;
#[cfg(any(test, feature = "try-runtime"))]
mod try_state;
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
		/// Part of the minimum bond of its role a failure slashes to the harmed party (named
		/// for miners, whose failures are the common case; exchanges are slashed alike).
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

	/// How many successes `counterparty` has paid `subject` for so far: the positive evidence
	/// of its next record (success or rating) is halved that many times, so a ring of sock
	/// puppets vouching for one another earns little past each pair's first job.
	#[pallet::storage]
	pub type Dealings<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Blake2_128Concat,
		T::AccountId,
		u32,
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
		/// A miner must offer at least one executor.
		NoExecutors,
		/// An executor is named more than once.
		DuplicateExecutor,
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
		/// Registers the caller as a miner with its resources, the executors it offers, its
		/// price floor per compute unit, its endpoint and the public addresses it can dedicate
		/// to services, holding `bond` (at least `MinMinerBond`).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_miner())]
		pub fn register_miner(
			origin: OriginFor<T>,
			resources: Resources,
			executors: Executors,
			price_floor: BalanceOf<T>,
			endpoint: Endpoint,
			addresses: u16,
			bond: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_offer(&resources, &executors, &endpoint)?;
			let profile = Profile::Miner { resources, executors, price_floor, endpoint, addresses };
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

		/// A miner changes its resources, executors, price floor, endpoint and public
		/// addresses. Running work keeps the terms it was awarded under (fewer addresses than
		/// its leases hold only keep it from new ones).
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::update_miner())]
		pub fn update_miner(
			origin: OriginFor<T>,
			resources: Resources,
			executors: Executors,
			price_floor: BalanceOf<T>,
			endpoint: Endpoint,
			addresses: u16,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_offer(&resources, &executors, &endpoint)?;
			Registrations::<T>::try_mutate(&who, Role::Miner, |r| -> DispatchResult {
				let r = r.as_mut().ok_or(Error::<T>::NotRegistered)?;
				r.profile =
					Profile::Miner { resources, executors, price_floor, endpoint, addresses };
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
}
