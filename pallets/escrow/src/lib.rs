//! # Escrow pallet
//!
//! Holds what a buyer owes for an indenture and pays it out as the work is proven.
//!
//! ## Overview
//!
//! When an indenture is submitted, its incentive plus the exchange's and the escrow
//! operator's fees are held from the buyer under [`HoldReason::Escrow`]; nothing moves until
//! it is earned. Miners are paid per proven heartbeat round as the lease runs ([`EscrowApi::pay`]);
//! the rest is paid at settlement, fees included, and whatever is not owed goes back to the
//! buyer. A buyer may dispute a result inside its acceptance window; the indenture's escrow
//! operator then decides how much of the outstanding payouts the miners get.
//!
//! ## Terms
//!
//! - **Held**: `incentive + exchange_fee + escrow_fee − paid`, always equal to what the
//!   buyer has on hold for this indenture.
//! - **Payouts**: what the miners are owed beyond the streamed payments, fixed by the opener
//!   (Indenture) when the result is reported.
//! - **Acceptance window**: blocks during which the buyer may dispute the payouts. After it,
//!   anyone may call `accept` to settle them.
//! - **Resolution**: the escrow operator's `miner_share` of every outstanding payout; if it does
//!   not decide within `ResolutionWindow`, anyone applies `DefaultMinerShare`, the operator's fee
//!   goes back to the buyer and the opener is told so it can record the failure.
//!
//! ## Design
//!
//! - Every split is exact, in base units: scaled payouts round down and the remainder (dust)
//!   is the buyer's, so what was held equals what was paid out plus what was refunded.
//! - Settlement never pays more than is held for the indenture: such a request is refused with
//!   [`Error::ExceedsHeld`] and nothing changes.
//! - Money moves only through `fungible` holds (`transfer_on_hold`, `release`).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::escrow";
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	defensive,
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::{DepositConsequence, Fortitude, Precision, Provenance, Restriction},
	},
};
use frame_system::pallet_prelude::*;
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

/// Balance type of the currency held.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
pub use cutopia_primitives::{EscrowApi, EscrowId, EscrowOutcome, Settlement};
/// An escrow entry as stored.
pub type EntryOf<T> = EscrowEntry<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxPayees,
>;

/// Where an escrow is.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum EscrowState<BlockNumber> {
	/// The work is running; payments stream.
	Active,
	/// A result was reported; the buyer may dispute until `until`.
	AwaitingAcceptance {
		/// Last block of the acceptance window.
		until: BlockNumber,
	},
	/// The buyer disputed; the operator must resolve by `deadline`.
	Disputed {
		/// Last block the operator may resolve in.
		deadline: BlockNumber,
	},
}

/// What is held for one indenture and where it goes.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(MaxPayees))]
pub struct EscrowEntry<AccountId, Balance, BlockNumber, MaxPayees: Get<u32>> {
	/// Who pays.
	pub buyer: AccountId,
	/// Gets `exchange_fee` at settlement.
	pub exchange: AccountId,
	/// Resolves disputes; gets `escrow_fee` at settlement.
	pub operator: AccountId,
	/// The price of the work.
	pub incentive: Balance,
	/// The exchange's fee.
	pub exchange_fee: Balance,
	/// The escrow operator's fee.
	pub escrow_fee: Balance,
	/// Paid to miners so far.
	pub paid: Balance,
	/// Where it is.
	pub state: EscrowState<BlockNumber>,
	/// Outstanding payouts awaiting acceptance or resolution.
	pub payouts: BoundedVec<(AccountId, Balance), MaxPayees>,
}

impl<AccountId, Balance: Saturating + Copy, BlockNumber, MaxPayees: Get<u32>>
	EscrowEntry<AccountId, Balance, BlockNumber, MaxPayees>
{
	/// What is still held for this entry.
	pub fn held(&self) -> Balance {
		self.incentive
			.saturating_add(self.exchange_fee)
			.saturating_add(self.escrow_fee)
			.saturating_sub(self.paid)
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why Escrow holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// An indenture's incentive and fees.
		#[codec(index = 0)]
		Escrow,
	}

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config {
		/// The currency held.
		#[pallet::no_default]
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Mutate<Self::AccountId>;
		/// The runtime's hold reasons.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;
		/// Told how disputes end.
		#[pallet::no_default_bounds]
		type Outcome: EscrowOutcome<Self::AccountId, BalanceOf<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// Most payees (miners) of one escrow.
		#[pallet::constant]
		type MaxPayees: Get<u32>;
		/// Blocks the escrow operator has to resolve a dispute.
		#[pallet::no_default_bounds]
		#[pallet::constant]
		type ResolutionWindow: Get<BlockNumberFor<Self>>;
		/// Share of the outstanding payouts miners get when the operator does not resolve.
		#[pallet::constant]
		type DefaultMinerShare: Get<Perbill>;
	}

	/// Default configurations of this pallet for test runtimes.
	pub mod config_preludes {
		use super::*;
		use frame_support::{
			derive_impl, parameter_types, register_default_impl,
			traits::{ConstU32, ConstU64},
		};

		parameter_types! {
			/// Half.
			pub const TestHalf: Perbill = Perbill::from_percent(50);
		}

		/// What the pallet's own tests and other pallets' mocks (blocks in `u64`) use; a mock
		/// overrides what its tests need differently (and names its `Outcome`).
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type Outcome = ();
			type WeightInfo = ();
			type MaxPayees = ConstU32<3>;
			type ResolutionWindow = ConstU64<5>;
			type DefaultMinerShare = TestHalf;
		}
	}

	/// Open escrows by indenture id.
	#[pallet::storage]
	pub type Escrows<T: Config> = StorageMap<_, Twox64Concat, EscrowId, EntryOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	// Each variant's doc names what its fields mean.
	#[allow(missing_docs)]
	pub enum Event<T: Config> {
		/// `held` was put on hold from `buyer` for escrow `id`.
		Opened { id: EscrowId, buyer: T::AccountId, held: BalanceOf<T> },
		/// `amount` was streamed to `miner`.
		Paid { id: EscrowId, miner: T::AccountId, amount: BalanceOf<T> },
		/// A result is awaiting the buyer's acceptance until `until`.
		AwaitingAcceptance { id: EscrowId, until: BlockNumberFor<T> },
		/// The buyer disputed; the operator must resolve by `deadline`.
		Disputed { id: EscrowId, deadline: BlockNumberFor<T> },
		/// The dispute ended with miners getting `miner_share` of the payouts.
		Resolved { id: EscrowId, miner_share: Perbill, by_operator: bool },
		/// `miner`'s account could not take its payout of `amount` (it was reaped and the
		/// amount is below the existential deposit): it went back to the buyer.
		PayoutUndeliverable { id: EscrowId, miner: T::AccountId, amount: BalanceOf<T> },
		/// The work ended with `share` of it served: both fees were cut to that share and
		/// `refunded` went back to the buyer.
		FeesCut { id: EscrowId, share: Perbill, refunded: BalanceOf<T> },
		/// The exchange failed its duty: its fee went back to the buyer.
		ExchangeFeeWaived { id: EscrowId, amount: BalanceOf<T> },
		/// The escrow closed: what went where.
		Settled {
			id: EscrowId,
			to_miners: BalanceOf<T>,
			exchange_fee: BalanceOf<T>,
			escrow_fee: BalanceOf<T>,
			refunded: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such escrow.
		UnknownEscrow,
		/// An escrow with this id exists.
		AlreadyOpen,
		/// The buyer cannot cover what must be held.
		InsufficientBalance,
		/// The payment would pay more than is held for this escrow.
		ExceedsHeld,
		/// Too many payees.
		TooManyPayees,
		/// Only the buyer may do this.
		NotBuyer,
		/// Only the escrow operator may do this.
		NotOperator,
		/// The escrow is not in the state this call needs.
		WrongState,
		/// The acceptance window has closed.
		AcceptanceWindowClosed,
		/// The acceptance window is still open (only the buyer may accept early).
		AcceptanceWindowOpen,
		/// The resolution deadline has passed.
		ResolutionWindowClosed,
		/// A payout of a decision exceeds what was outstanding for that miner.
		NotOutstanding,
		/// The operator still has time to resolve.
		ResolutionWindowOpen,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxPayees::get() > 0, "an escrow pays at least one miner");
			assert!(!T::ResolutionWindow::get().is_zero(), "operators need time to resolve");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// The buyer disputes the reported result inside its acceptance window.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::dispute())]
		pub fn dispute(origin: OriginFor<T>, id: EscrowId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			ensure!(e.buyer == who, Error::<T>::NotBuyer);
			let EscrowState::AwaitingAcceptance { until } = e.state else {
				return Err(Error::<T>::WrongState.into());
			};
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now <= until, Error::<T>::AcceptanceWindowClosed);
			let deadline = now.saturating_add(T::ResolutionWindow::get());
			e.state = EscrowState::Disputed { deadline };
			Escrows::<T>::insert(id, e);
			Self::deposit_event(Event::Disputed { id, deadline });
			Ok(())
		}

		/// Settles an undisputed result: the buyer at any time in the window, anyone after it.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::accept(T::MaxPayees::get())
			.saturating_add(T::Outcome::max_weight()))]
		pub fn accept(origin: OriginFor<T>, id: EscrowId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			let EscrowState::AwaitingAcceptance { until } = e.state else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				who == e.buyer || frame_system::Pallet::<T>::block_number() > until,
				Error::<T>::AcceptanceWindowOpen
			);
			let payouts = e.payouts.to_vec();
			let settlement = Self::do_settle(id, e, &payouts, Perbill::one(), Perbill::one())?;
			T::Outcome::settled(id, &settlement);
			Ok(())
		}

		/// The escrow operator resolves a dispute: miners get `miner_share` of each outstanding
		/// payout, the rest goes back to the buyer; both fees are paid. Free when taken: it is
		/// the operator's duty, once per dispute, and its fee must not go to transaction fees.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::resolve(T::MaxPayees::get())
			.saturating_add(T::Outcome::max_weight().saturating_mul(2)))]
		pub fn resolve(
			origin: OriginFor<T>,
			id: EscrowId,
			miner_share: Perbill,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			ensure!(e.operator == who, Error::<T>::NotOperator);
			let EscrowState::Disputed { deadline } = e.state else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() <= deadline,
				Error::<T>::ResolutionWindowClosed
			);
			let operator = e.operator.clone();
			let payouts = Self::scaled(&e.payouts, miner_share);
			let settlement = Self::do_settle(id, e, &payouts, Perbill::one(), Perbill::one())?;
			Self::deposit_event(Event::Resolved { id, miner_share, by_operator: true });
			T::Outcome::dispute_resolved(id, &operator, true);
			T::Outcome::settled(id, &settlement);
			Ok(Pays::No.into())
		}

		/// Anyone applies `DefaultMinerShare` to a dispute the operator left unresolved past
		/// its deadline; the operator's fee goes back to the buyer.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::resolve_default(T::MaxPayees::get())
			.saturating_add(T::Outcome::max_weight().saturating_mul(2)))]
		pub fn resolve_default(origin: OriginFor<T>, id: EscrowId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_resolve_default(id)
		}
	}

	impl<T: Config> Pallet<T> {
		fn do_resolve_default(id: EscrowId) -> DispatchResult {
			let e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			let EscrowState::Disputed { deadline } = e.state else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() > deadline,
				Error::<T>::ResolutionWindowOpen
			);
			let operator = e.operator.clone();
			let share = T::DefaultMinerShare::get();
			let payouts = Self::scaled(&e.payouts, share);
			let settlement = Self::do_settle(id, e, &payouts, Perbill::one(), Perbill::zero())?;
			Self::deposit_event(Event::Resolved { id, miner_share: share, by_operator: false });
			T::Outcome::dispute_resolved(id, &operator, false);
			T::Outcome::settled(id, &settlement);
			Ok(())
		}

		/// Active escrow `id` with `payouts` outstanding, checked to fit what is left of its
		/// incentive (not stored: the caller sets the state and stores it).
		fn with_payouts(
			id: EscrowId,
			payouts: alloc::vec::Vec<(T::AccountId, BalanceOf<T>)>,
		) -> Result<EntryOf<T>, DispatchError> {
			let mut e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			ensure!(e.state == EscrowState::Active, Error::<T>::WrongState);
			let total = payouts
				.iter()
				.try_fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.checked_add(a))
				.ok_or(Error::<T>::ExceedsHeld)?;
			ensure!(e.paid.saturating_add(total) <= e.incentive, Error::<T>::ExceedsHeld);
			e.payouts = BoundedVec::try_from(payouts).map_err(|_| Error::<T>::TooManyPayees)?;
			Ok(e)
		}

		fn scaled(
			payouts: &[(T::AccountId, BalanceOf<T>)],
			share: Perbill,
		) -> alloc::vec::Vec<(T::AccountId, BalanceOf<T>)> {
			payouts.iter().map(|(who, amount)| (who.clone(), share.mul_floor(*amount))).collect()
		}

		fn transfer(
			from: &T::AccountId,
			to: &T::AccountId,
			amount: BalanceOf<T>,
		) -> Result<BalanceOf<T>, DispatchError> {
			if amount.is_zero() {
				return Ok(amount);
			}
			T::Currency::transfer_on_hold(
				&HoldReason::Escrow.into(),
				from,
				to,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)
		}

		/// Pays `payouts`, the fees scaled by their shares, refunds the rest, removes the entry.
		/// Checks everything first: on error nothing has moved.
		fn do_settle(
			id: EscrowId,
			e: EntryOf<T>,
			payouts: &[(T::AccountId, BalanceOf<T>)],
			exchange_share: Perbill,
			escrow_share: Perbill,
		) -> Result<Settlement<T::AccountId, BalanceOf<T>>, DispatchError> {
			let to_miners = payouts
				.iter()
				.try_fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.checked_add(a))
				.ok_or(Error::<T>::ExceedsHeld)?;
			ensure!(e.paid.saturating_add(to_miners) <= e.incentive, Error::<T>::ExceedsHeld);
			// A payout its miner's account cannot take (it left and was reaped, and the payout
			// is below the existential deposit) goes back to the buyer: one miner that left
			// must not hold the whole escrow, and everyone on it, forever.
			let (payouts, undeliverable): (alloc::vec::Vec<_>, alloc::vec::Vec<_>) =
				payouts.iter().cloned().partition(|(miner, amount)| {
					T::Currency::can_deposit(miner, *amount, Provenance::Extant)
						== DepositConsequence::Success
				});
			let to_miners =
				payouts.iter().fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a));
			let exchange_fee = exchange_share.mul_floor(e.exchange_fee);
			let escrow_fee = escrow_share.mul_floor(e.escrow_fee);
			let held = e.held();
			// Everything below moves held funds that were checked to be there; a failure here
			// would be a bug, and the transaction is rolled back as a whole.
			frame_support::storage::with_transaction(|| {
				let result =
					(|| -> Result<Settlement<T::AccountId, BalanceOf<T>>, DispatchError> {
						for (miner, amount) in &payouts {
							Self::transfer(&e.buyer, miner, *amount)?;
						}
						Self::transfer(&e.buyer, &e.exchange, exchange_fee)?;
						Self::transfer(&e.buyer, &e.operator, escrow_fee)?;
						let refunded = held
							.saturating_sub(to_miners)
							.saturating_sub(exchange_fee)
							.saturating_sub(escrow_fee);
						if !refunded.is_zero() {
							T::Currency::release(
								&HoldReason::Escrow.into(),
								&e.buyer,
								refunded,
								Precision::Exact,
							)?;
						}
						let payouts = payouts.clone();
						Ok(Settlement { to_miners, payouts, exchange_fee, escrow_fee, refunded })
					})();
				match result {
					Ok(s) => sp_runtime::TransactionOutcome::Commit(Ok(s)),
					Err(err) => sp_runtime::TransactionOutcome::Rollback(Err(err)),
				}
			})
			.inspect(|s| {
				for (miner, amount) in &undeliverable {
					Self::deposit_event(Event::PayoutUndeliverable {
						id,
						miner: miner.clone(),
						amount: *amount,
					});
				}
				Escrows::<T>::remove(id);
				Self::deposit_event(Event::Settled {
					id,
					to_miners: s.to_miners,
					exchange_fee: s.exchange_fee,
					escrow_fee: s.escrow_fee,
					refunded: s.refunded,
				});
			})
		}

		/// Invariants, checked after every unit test and by try-runtime:
		/// - for every buyer, the sum of `held()` over its escrows equals what it has on hold
		///   under [`HoldReason::Escrow`];
		/// - no escrow has paid more than its incentive, and outstanding payouts fit in what
		///   is left of the incentive.
		#[cfg(any(test, feature = "try-runtime"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			for (_, e) in Escrows::<T>::iter() {
				ensure!(e.paid <= e.incentive, "paid more than the incentive");
				let outstanding = e
					.payouts
					.iter()
					.fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a));
				ensure!(
					e.paid.saturating_add(outstanding) <= e.incentive,
					"payouts exceed the incentive"
				);
				let h = held.entry(e.buyer.clone()).or_default();
				*h = h.saturating_add(e.held());
			}
			for (buyer, amount) in held {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::Escrow.into(), &buyer) == amount,
					"held funds differ from escrow entries"
				);
			}
			Ok(())
		}
	}

	impl<T: Config> EscrowApi<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
		fn open(
			id: EscrowId,
			buyer: &T::AccountId,
			exchange: &T::AccountId,
			operator: &T::AccountId,
			incentive: BalanceOf<T>,
			exchange_fee: BalanceOf<T>,
			escrow_fee: BalanceOf<T>,
		) -> DispatchResult {
			ensure!(!Escrows::<T>::contains_key(id), Error::<T>::AlreadyOpen);
			let entry = EscrowEntry {
				buyer: buyer.clone(),
				exchange: exchange.clone(),
				operator: operator.clone(),
				incentive,
				exchange_fee,
				escrow_fee,
				paid: Zero::zero(),
				state: EscrowState::Active,
				payouts: Default::default(),
			};
			let held = entry.held();
			T::Currency::hold(&HoldReason::Escrow.into(), buyer, held)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Escrows::<T>::insert(id, entry);
			Self::deposit_event(Event::Opened { id, buyer: buyer.clone(), held });
			Ok(())
		}

		fn pay(id: EscrowId, miner: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
			let mut e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			let paid = e.paid.saturating_add(amount);
			ensure!(paid <= e.incentive, Error::<T>::ExceedsHeld);
			Self::transfer(&e.buyer, miner, amount)?;
			e.paid = paid;
			Escrows::<T>::insert(id, e);
			Self::deposit_event(Event::Paid { id, miner: miner.clone(), amount });
			Ok(())
		}

		fn await_acceptance(
			id: EscrowId,
			payouts: alloc::vec::Vec<(T::AccountId, BalanceOf<T>)>,
			until: BlockNumberFor<T>,
		) -> DispatchResult {
			let mut e = Self::with_payouts(id, payouts)?;
			e.state = EscrowState::AwaitingAcceptance { until };
			Escrows::<T>::insert(id, e);
			Self::deposit_event(Event::AwaitingAcceptance { id, until });
			Ok(())
		}

		fn settle(
			id: EscrowId,
			payouts: &[(T::AccountId, BalanceOf<T>)],
			fee_share: Perbill,
		) -> Result<Settlement<T::AccountId, BalanceOf<T>>, DispatchError> {
			let e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			Self::do_settle(id, e, payouts, fee_share, fee_share)
		}

		fn scale_fees(id: EscrowId, share: Perbill) -> BalanceOf<T> {
			let Some(mut e) = Escrows::<T>::get(id) else { return Zero::zero() };
			let (exchange_fee, escrow_fee) =
				(share.mul_floor(e.exchange_fee), share.mul_floor(e.escrow_fee));
			let cut = e
				.exchange_fee
				.saturating_sub(exchange_fee)
				.saturating_add(e.escrow_fee.saturating_sub(escrow_fee));
			if cut.is_zero() {
				return cut;
			}
			// The cut is part of what is held for this entry: releasing it cannot fail unless
			// the hold and the entry disagree, which `do_try_state` rules out.
			if let Err(err) =
				T::Currency::release(&HoldReason::Escrow.into(), &e.buyer, cut, Precision::Exact)
			{
				defensive!("releasing unearned fees failed", err);
				return Zero::zero();
			}
			(e.exchange_fee, e.escrow_fee) = (exchange_fee, escrow_fee);
			Escrows::<T>::insert(id, e);
			Self::deposit_event(Event::FeesCut { id, share, refunded: cut });
			cut
		}

		fn held(id: EscrowId) -> BalanceOf<T> {
			Escrows::<T>::get(id).map(|e| e.held()).unwrap_or_default()
		}

		fn dispute_deadline(id: EscrowId) -> Option<BlockNumberFor<T>> {
			match Escrows::<T>::get(id)?.state {
				EscrowState::Disputed { deadline } => Some(deadline),
				_ => None,
			}
		}

		fn waive_exchange_fee(id: EscrowId) -> BalanceOf<T> {
			let Some(mut e) = Escrows::<T>::get(id) else { return Zero::zero() };
			if e.exchange_fee.is_zero() {
				return Zero::zero();
			}
			let released = T::Currency::release(
				&HoldReason::Escrow.into(),
				&e.buyer,
				e.exchange_fee,
				Precision::BestEffort,
			)
			.unwrap_or_default();
			// Only what was released leaves the entry: what is held stays accounted for.
			e.exchange_fee = e.exchange_fee.saturating_sub(released);
			Escrows::<T>::insert(id, e);
			Self::deposit_event(Event::ExchangeFeeWaived { id, amount: released });
			released
		}

		fn dispute_results(
			id: EscrowId,
			payouts: alloc::vec::Vec<(T::AccountId, BalanceOf<T>)>,
		) -> Result<BlockNumberFor<T>, DispatchError> {
			let mut e = Self::with_payouts(id, payouts)?;
			let deadline = frame_system::Pallet::<T>::block_number()
				.saturating_add(T::ResolutionWindow::get());
			e.state = EscrowState::Disputed { deadline };
			Escrows::<T>::insert(id, e);
			Self::deposit_event(Event::Disputed { id, deadline });
			Ok(deadline)
		}

		fn resolve_expired(id: EscrowId) -> DispatchResult {
			Self::do_resolve_default(id)
		}

		fn resolve_with(
			id: EscrowId,
			who: &T::AccountId,
			payouts: &[(T::AccountId, BalanceOf<T>)],
		) -> Result<Settlement<T::AccountId, BalanceOf<T>>, DispatchError> {
			let e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			ensure!(&e.operator == who, Error::<T>::NotOperator);
			let EscrowState::Disputed { deadline } = e.state else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() <= deadline,
				Error::<T>::ResolutionWindowClosed
			);
			// A decision can only take away from what each miner was owed, never add to it.
			let owed_to = |list: &[(T::AccountId, BalanceOf<T>)], miner: &T::AccountId| {
				list.iter()
					.filter(|(m, _)| m == miner)
					.fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a))
			};
			for (miner, _) in payouts {
				ensure!(
					owed_to(payouts, miner) <= owed_to(&e.payouts, miner),
					Error::<T>::NotOutstanding
				);
			}
			let outstanding =
				e.payouts.iter().fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a));
			let paid =
				payouts.iter().fold(BalanceOf::<T>::zero(), |acc, (_, a)| acc.saturating_add(*a));
			let operator = e.operator.clone();
			let settlement = Self::do_settle(id, e, payouts, Perbill::one(), Perbill::one())?;
			let miner_share = if outstanding.is_zero() {
				Perbill::zero()
			} else {
				Perbill::from_rational(paid, outstanding)
			};
			Self::deposit_event(Event::Resolved { id, miner_share, by_operator: true });
			T::Outcome::dispute_resolved(id, &operator, true);
			Ok(settlement)
		}

		fn accept_expired(id: EscrowId) -> DispatchResult {
			let e = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
			let EscrowState::AwaitingAcceptance { until } = e.state else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() > until,
				Error::<T>::AcceptanceWindowOpen
			);
			let payouts = e.payouts.to_vec();
			let settlement = Self::do_settle(id, e, &payouts, Perbill::one(), Perbill::one())?;
			T::Outcome::settled(id, &settlement);
			Ok(())
		}
	}
}
