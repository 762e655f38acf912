//! # Indenture pallet
//!
//! Computation Indentures and the IndentureQueue.
//!
//! ## Overview
//!
//! A buyer submits a Computation Indenture: what to run, on what resources, for how long and
//! for how much. The incentive plus the exchange's and the escrow operator's fees are held by
//! the Escrow pallet, and the indenture is listed in the IndentureQueue, ordered by priority
//! then age, until miners win its slots or its award deadline passes.
//!
//! Each slot (nodes × replicas) is decided by its own capability challenge in the Challenge
//! pallet; this pallet tells the Challenge pallet who may compete ([`Pallet::may_compete`]) and,
//! when a slot is won, starts the winner's heartbeat lease. Once every slot has a miner the
//! indenture is Leased and leaves the queue.
//!
//! Built so far: submission, pricing, the queue, cancellation, expiry, competition and award.
//! Streaming payment per proven heartbeat, failures, results and settlement are the next part
//! (see the project's issue "Pallet Indenture").
//!
//! ## Terms
//!
//! - **Compute units (CU)**: `⌈Σ resources × weights / 1000⌉ × nodes × duration`, one CU being
//!   one CPU core for one block ([`CuWeights::compute_units`]); the weights are runtime
//!   parameters.
//! - **Market rate**: price per compute unit, seeded at genesis.
//! - **Indicative price**: compute units × market rate.
//! - **Minimum incentive**: `max(MinIncentive, MinPriceRatio × indicative price)`. An offer far
//!   below the market would only sit in the queue until it expires while holding the buyer's
//!   funds and a queue slot, so it is refused up front.
//!
//! ## Design
//!
//! - The queue is one bounded, sorted vector: reading it is one storage read for agents and
//!   RPC, inserting is a binary search, and its bound (`MaxQueue`) is the pallet's only limit on
//!   open work.
//! - Money is never touched here: [`pallet_escrow::EscrowApi`] holds and refunds it.
//! - Exchanges and escrow operators are marked busy in RepChain while they serve an indenture,
//!   so they cannot unregister and run.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;
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
	storage::with_storage_layer,
	traits::fungible::{Inspect, Mutate},
};
use frame_system::pallet_prelude::*;
use pallet_challenge::{
	ChallengeApi, ChallengeId, ChallengeKind, ContextId, LeaseId, LeaseOutcome,
};
use pallet_escrow::EscrowApi;
use pallet_repchain::{Registry, ReputationApi, Role};
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	Perbill, Permill, SaturatedConversion,
};

/// Balance type of the currency incentives are paid in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// An indenture as stored.
pub type IndentureOf<T> =
	Indenture<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A slot as stored.
pub type SlotOf<T> = Slot<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
/// A CIRecord as stored and emitted.
pub type CiRecordOf<T> =
	CiRecord<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A spec as submitted.
pub type SpecOf<T> = IndentureSpec<<T as frame_system::Config>::AccountId, BalanceOf<T>>;

/// Blocks after a full one that `schedule` tries before giving up on the agenda.
const AGENDA_SPREAD: u32 = 8;

sp_api::decl_runtime_apis! {
	/// Pricing and queue queries for buyers' and miners' agents (the node serves them as the
	/// `indenture_*` RPC methods).
	pub trait IndentureApi<AccountId, Balance, BlockNumber>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
		BlockNumber: codec::Codec,
	{
		/// `(compute units, indicative price, minimum incentive)` of work with these resources
		/// per node, nodes and duration.
		fn indicative_price(resources: pallet_repchain::Resources, nodes: u32, duration: u32) -> (u64, Balance, Balance);
		/// Ids of the queue that pass `filter`, from the `start`-th match, at most `count`, in
		/// queue order (priority, then age).
		fn queue(filter: QueueFilter<Balance>, start: u32, count: u32) -> alloc::vec::Vec<IndentureId>;
		/// An indenture with its slots while it runs, or its CIRecord once it ended (while it
		/// is among the recent records).
		fn get(id: IndentureId) -> Option<IndentureInfo<AccountId, Balance, BlockNumber>>;
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency incentives are paid in (`Mutate` only so benchmarks can fund buyers).
		type Currency: Mutate<Self::AccountId>;
		/// Holds and pays the money.
		type Escrow: EscrowApi<Self::AccountId, BalanceOf<Self>, BlockNumberFor<Self>>;
		/// Who is registered as what.
		type Registry: Registry<Self::AccountId, BalanceOf<Self>>;
		/// Reputation scores (and, later, records).
		type Reputation: ReputationApi<Self::AccountId, BalanceOf<Self>, BlockNumberFor<Self>>;
		/// Capability challenges and heartbeat leases.
		type Challenges: ChallengeApi<Self::AccountId, BlockNumberFor<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// Blocks between heartbeat rounds of a lease.
		#[pallet::constant]
		type HeartbeatPeriod: Get<u32>;
		/// Blocks a heartbeat round accepts answers for (at most the period).
		#[pallet::constant]
		type HeartbeatWindow: Get<u32>;
		/// Missed rounds a lease tolerates before it fails.
		#[pallet::constant]
		type MaxMissedRounds: Get<u32>;
		/// Part of a batch task's incentive paid for its accepted result (the rest streams per
		/// proven heartbeat round).
		#[pallet::constant]
		type BatchResultShare: Get<Permill>;
		/// Blocks to seal results after the last lease ends, and again to reveal them.
		#[pallet::constant]
		type ResultWindow: Get<BlockNumberFor<Self>>;
		/// Blocks the buyer has to dispute a single-replica result.
		#[pallet::constant]
		type AcceptanceWindow: Get<BlockNumberFor<Self>>;
		/// Most indentures open at once.
		#[pallet::constant]
		type MaxQueue: Get<u32>;
		/// Most nodes of one indenture.
		#[pallet::constant]
		type MaxNodes: Get<u32>;
		/// Most replicas of one indenture.
		#[pallet::constant]
		type MaxReplicas: Get<u32>;
		/// Most slots (nodes × replicas) of one indenture; at most Escrow's `MaxPayees`.
		#[pallet::constant]
		type MaxSlots: Get<u32>;
		/// Longest lease, in blocks.
		#[pallet::constant]
		type MaxDuration: Get<u32>;
		/// Blocks an indenture stays open for miners before it expires.
		#[pallet::constant]
		type AwardWindow: Get<BlockNumberFor<Self>>;
		/// Smallest incentive of any indenture.
		#[pallet::constant]
		type MinIncentive: Get<BalanceOf<Self>>;
		/// Smallest incentive as a part of the indicative price.
		#[pallet::constant]
		type MinPriceRatio: Get<Permill>;
		/// Thousandths of a compute unit per millicore per block.
		#[pallet::constant]
		type CuPerMillicore: Get<u64>;
		/// Thousandths of a compute unit per GiB of memory per block.
		#[pallet::constant]
		type CuPerGibMemory: Get<u64>;
		/// Thousandths of a compute unit per GiB of storage per block.
		#[pallet::constant]
		type CuPerGibStorage: Get<u64>;
		/// Thousandths of a compute unit per GPU per block.
		#[pallet::constant]
		type CuPerGpu: Get<u64>;
		/// Ended indentures whose CIRecord stays in storage (and whose miners the buyer can
		/// rate); older ones are only in events.
		#[pallet::constant]
		type MaxRecentRecords: Get<u32>;
		/// Most deadlines one block's agenda holds.
		#[pallet::constant]
		type MaxAgenda: Get<u32>;
		/// Most weight a block spends on its agenda; what does not fit moves to the next block.
		#[pallet::constant]
		type AgendaBudget: Get<Weight>;
	}

	/// Price per compute unit, in base units of CU.
	#[pallet::storage]
	pub type MarketRate<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// The id the next indenture gets.
	#[pallet::storage]
	pub type NextIndentureId<T> = StorageValue<_, IndentureId, ValueQuery>;

	/// Indentures that are open.
	#[pallet::storage]
	pub type Indentures<T: Config> = StorageMap<_, Twox64Concat, IndentureId, IndentureOf<T>>;

	/// The slots of each indenture (nodes × replicas), by index.
	#[pallet::storage]
	pub type Slots<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		IndentureId,
		Twox64Concat,
		u32,
		Slot<T::AccountId, BlockNumberFor<T>>,
	>;

	/// Deadlines due in each block, processed in `on_initialize` within `AgendaBudget`.
	#[pallet::storage]
	pub type Agenda<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<Deadline, T::MaxAgenda>,
		ValueQuery,
	>;

	/// The CIRecords of the last `MaxRecentRecords` ended indentures, by id.
	#[pallet::storage]
	pub type Records<T: Config> = StorageMap<_, Twox64Concat, IndentureId, CiRecordOf<T>>;

	/// Ids of `Records`, oldest first.
	#[pallet::storage]
	pub type RecentRecords<T: Config> =
		StorageValue<_, BoundedVec<IndentureId, T::MaxRecentRecords>, ValueQuery>;

	/// Miners of a recently ended indenture its buyer has not rated yet.
	#[pallet::storage]
	pub type Unrated<T: Config> =
		StorageDoubleMap<_, Twox64Concat, IndentureId, Blake2_128Concat, T::AccountId, ()>;

	/// Which indenture slot a heartbeat lease serves.
	#[pallet::storage]
	pub type SlotOfLease<T: Config> = StorageMap<_, Twox64Concat, LeaseId, (IndentureId, u32)>;

	/// Which indenture slot a challenge decides.
	#[pallet::storage]
	pub type SlotOfChallenge<T: Config> =
		StorageMap<_, Twox64Concat, ChallengeId, (IndentureId, u32)>;

	/// The IndentureQueue: open indentures as `(priority, id)`, highest priority first, then
	/// oldest first.
	#[pallet::storage]
	pub type Queue<T: Config> =
		StorageValue<_, BoundedVec<(u8, IndentureId), T::MaxQueue>, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The initial price per compute unit.
		pub market_rate: BalanceOf<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			MarketRate::<T>::put(self.market_rate);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	// Each variant's doc names what its fields mean.
	#[allow(missing_docs)]
	pub enum Event<T: Config> {
		/// `buyer` submitted indenture `id` worth `compute_units`; `held` is on hold.
		Submitted {
			id: IndentureId,
			buyer: T::AccountId,
			compute_units: u64,
			incentive: BalanceOf<T>,
			held: BalanceOf<T>,
			award_deadline: BlockNumberFor<T>,
		},
		/// The buyer withdrew indenture `id`; everything held was refunded.
		Cancelled { id: IndentureId, refunded: BalanceOf<T> },
		/// Indenture `id` was not awarded in time; everything held was refunded.
		Expired { id: IndentureId, refunded: BalanceOf<T> },
		/// Slot `slot` of indenture `id` went to `miner`, who answers heartbeats on `lease`.
		SlotAwarded { id: IndentureId, slot: u32, miner: T::AccountId, lease: LeaseId },
		/// Every slot of indenture `id` has a miner; it left the queue.
		Leased { id: IndentureId },
		/// `amount` was streamed to `miner` for a proven heartbeat round.
		RoundPaid { id: IndentureId, miner: T::AccountId, round: u32, amount: BalanceOf<T> },
		/// The lease of slot `slot` ended.
		LeaseEnded { id: IndentureId, slot: u32, end: LeaseEnd },
		/// Batch indenture `id` waits for sealed results until `seal_until`.
		ResultsDue { id: IndentureId, seal_until: BlockNumberFor<T> },
		/// The miner of `slot` sealed its result.
		ResultSealed { id: IndentureId, slot: u32 },
		/// The miner of `slot` revealed `result`.
		ResultRevealed { id: IndentureId, slot: u32, result: H256 },
		/// The results were counted: `result` won with `votes` of `slots` (none: no majority).
		ResultsConcluded { id: IndentureId, result: Option<H256>, votes: u32, slots: u32 },
		/// An indenture ended: the whitepaper's CIRecord.
		CiRecorded { record: CiRecordOf<T> },
		/// The buyer rated `miner`'s work on indenture `id` (1 worst to 5 best).
		Rated { id: IndentureId, miner: T::AccountId, rating: u8 },
		/// The agenda had no room for `deadline` near its block: it waits for the
		/// permissionless call (`expire`, `conclude_results`, Escrow's `accept`, Challenge's
		/// `report_missed`).
		AgendaFull { deadline: Deadline },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such indenture.
		UnknownIndenture,
		/// The task has no URI or an empty inline payload.
		EmptyTask,
		/// Every resource is zero.
		NoResources,
		/// Nodes must be between 1 and `MaxNodes`.
		BadNodes,
		/// Replicas must be between 1 and `MaxReplicas`.
		BadReplicas,
		/// Nodes × replicas exceed `MaxSlots`.
		TooManySlots,
		/// Duration must be between 1 and `MaxDuration` blocks.
		BadDuration,
		/// The exchange is not a registered, active exchange.
		UnknownExchange,
		/// The escrow operator is not a registered, active escrow operator.
		UnknownEscrowOperator,
		/// The incentive is below the minimum (see the crate docs).
		IncentiveTooLow,
		/// The queue is full.
		QueueFull,
		/// Only the buyer may do this.
		NotBuyer,
		/// The indenture is not open.
		NotOpen,
		/// The award deadline has not passed.
		DeadlineNotReached,
		/// A slot was already awarded: the indenture can no longer be withdrawn.
		AlreadyAwarded,
		/// The caller holds no slot of this indenture.
		NotMiner,
		/// The indenture is not collecting results.
		NotReporting,
		/// This slot's result was already sealed.
		AlreadySealed,
		/// Results are still being sealed.
		SealingOpen,
		/// The window for this step has closed.
		WindowClosed,
		/// This slot has no sealed result to reveal.
		NotSealed,
		/// The result does not match its seal.
		SealMismatch,
		/// Results can be counted once all are revealed or the reveal window has closed.
		RevealsOpen,
		/// A slot's challenge still waits for reveals made in time; try again shortly.
		AwardPending,
		/// No recent record of this indenture (it has not ended, or ended too long ago).
		UnknownRecord,
		/// A rating is 1 (worst) to 5 (best).
		BadRating,
		/// This miner did not work on the indenture, or was rated already.
		NotRateable,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(n: BlockNumberFor<T>) -> Weight {
			Self::process_agenda(n)
		}

		fn integrity_test() {
			assert!(T::MaxSlots::get() <= MAX_SLOTS_BOUND, "CIRecords list at most 64 sellers");
			assert!(T::MaxAgenda::get() > 0 && T::MaxRecentRecords::get() > 0);
			assert!(
				T::AgendaBudget::get().all_gte(Self::max_deadline_weight()),
				"the agenda budget must fit the heaviest deadline"
			);
			assert!(T::MaxQueue::get() > 0 && T::MaxNodes::get() > 0 && T::MaxReplicas::get() > 0);
			assert!(T::MaxSlots::get() > 0 && T::MaxDuration::get() > 0);
			assert!(!T::AwardWindow::get().is_zero(), "miners need time to compete");
			assert!(
				T::HeartbeatWindow::get() > 0
					&& T::HeartbeatWindow::get() <= T::HeartbeatPeriod::get()
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Submits a Computation Indenture. Holds `incentive` plus the exchange's and the escrow
		/// operator's fees and lists it in the queue until `AwardWindow` blocks from now.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit())]
		pub fn submit(origin: OriginFor<T>, spec: SpecOf<T>) -> DispatchResult {
			let buyer = ensure_signed(origin)?;
			ensure!(spec.task.is_valid(), Error::<T>::EmptyTask);
			ensure!(!spec.resources.is_zero(), Error::<T>::NoResources);
			ensure!((1..=T::MaxNodes::get()).contains(&spec.nodes), Error::<T>::BadNodes);
			ensure!((1..=T::MaxReplicas::get()).contains(&spec.replicas), Error::<T>::BadReplicas);
			ensure!(
				spec.nodes.saturating_mul(spec.replicas) <= T::MaxSlots::get(),
				Error::<T>::TooManySlots
			);
			ensure!((1..=T::MaxDuration::get()).contains(&spec.duration), Error::<T>::BadDuration);
			let exchange_rate = T::Registry::service_fee(&spec.exchange, Role::Exchange)
				.ok_or(Error::<T>::UnknownExchange)?;
			let escrow_rate = T::Registry::service_fee(&spec.escrow_operator, Role::EscrowOperator)
				.ok_or(Error::<T>::UnknownEscrowOperator)?;
			let (compute_units, indicative) =
				Self::indicative_price(&spec.resources, spec.nodes, spec.duration);
			ensure!(
				spec.incentive >= Self::minimum_incentive(indicative),
				Error::<T>::IncentiveTooLow
			);
			let id = NextIndentureId::<T>::get();
			let mut queue = Queue::<T>::get();
			let pos = Self::queue_position(&queue, spec.priority, id);
			queue.try_insert(pos, (spec.priority, id)).map_err(|_| Error::<T>::QueueFull)?;

			let exchange_fee = exchange_rate.mul_floor(spec.incentive);
			let escrow_fee = escrow_rate.mul_floor(spec.incentive);
			T::Escrow::open(
				id,
				&buyer,
				&spec.exchange,
				&spec.escrow_operator,
				spec.incentive,
				exchange_fee,
				escrow_fee,
			)?;
			T::Registry::begin_work(&spec.exchange, Role::Exchange)?;
			T::Registry::begin_work(&spec.escrow_operator, Role::EscrowOperator)?;

			let now = frame_system::Pallet::<T>::block_number();
			let award_deadline = now.saturating_add(T::AwardWindow::get());
			// One challenge per slot: each slot goes to a different miner.
			let issuer =
				(spec.challenge == ChallengeKind::Factorization).then(|| spec.exchange.clone());
			for slot in 0..spec.nodes.saturating_mul(spec.replicas) {
				let challenge = T::Challenges::open(
					id,
					spec.challenge,
					issuer.clone(),
					compute_units,
					award_deadline,
				)?;
				Slots::<T>::insert(
					id,
					slot,
					Slot {
						challenge,
						miner: None,
						lease: None,
						access: None,
						ended: None,
						result: None,
					},
				);
				SlotOfChallenge::<T>::insert(challenge, (id, slot));
			}
			let incentive = spec.incentive;
			Self::schedule(award_deadline.saturating_add(One::one()), Deadline::Award(id));
			NextIndentureId::<T>::put(id.saturating_add(1));
			Queue::<T>::put(queue);
			Indentures::<T>::insert(
				id,
				Indenture {
					buyer: buyer.clone(),
					spec,
					compute_units,
					exchange_fee,
					escrow_fee,
					submitted: now,
					award_deadline,
					status: Status::Open,
					results_deadline: None,
					result: None,
				},
			);
			Self::deposit_event(Event::Submitted {
				id,
				buyer,
				compute_units,
				incentive,
				held: T::Escrow::held(id),
				award_deadline,
			});
			Ok(())
		}

		/// The buyer withdraws an indenture no miner has won yet: everything held is refunded.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel())]
		pub fn cancel(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
			ensure!(ind.buyer == who, Error::<T>::NotBuyer);
			ensure!(ind.status == Status::Open, Error::<T>::NotOpen);
			ensure!(
				Slots::<T>::iter_prefix_values(id).all(|s| s.miner.is_none()),
				Error::<T>::AlreadyAwarded
			);
			let refunded = Self::close_unawarded(id, ind)?;
			Self::deposit_event(Event::Cancelled { id, refunded });
			Ok(())
		}

		/// Anyone moves an indenture past its award deadline: its slots' challenges are
		/// concluded (a solution revealed in time still wins its slot); if a slot is still
		/// empty, everything held is refunded to the buyer. The chain does this itself from
		/// its agenda; this call is the fallback.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::expire())]
		pub fn expire(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_expire(id)
		}

		/// A miner of a batch task seals its result: [`Pallet::result_seal`]`(result, miner)`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::commit_result())]
		pub fn commit_result(origin: OriginFor<T>, id: IndentureId, seal: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
			ensure!(ind.status == Status::Reporting, Error::<T>::NotReporting);
			let (index, mut slot) = Self::slot_of(id, &who).ok_or(Error::<T>::NotMiner)?;
			ensure!(slot.result.is_none(), Error::<T>::AlreadySealed);
			ensure!(
				frame_system::Pallet::<T>::block_number()
					<= ind.results_deadline.unwrap_or(ind.submitted),
				Error::<T>::WindowClosed
			);
			slot.result = Some(SlotResult::Sealed(seal));
			Slots::<T>::insert(id, index, slot);
			Self::deposit_event(Event::ResultSealed { id, slot: index });
			Ok(())
		}

		/// A miner reveals the result it sealed, once every slot has sealed or sealing closed.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::reveal_result())]
		pub fn reveal_result(
			origin: OriginFor<T>,
			id: IndentureId,
			result: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
			ensure!(ind.status == Status::Reporting, Error::<T>::NotReporting);
			let (index, mut slot) = Self::slot_of(id, &who).ok_or(Error::<T>::NotMiner)?;
			let Some(SlotResult::Sealed(seal)) = slot.result else {
				return Err(Error::<T>::NotSealed.into());
			};
			let now = frame_system::Pallet::<T>::block_number();
			let seal_until = ind.results_deadline.unwrap_or(ind.submitted);
			let all_sealed = Slots::<T>::iter_prefix_values(id).all(|s| s.result.is_some());
			ensure!(all_sealed || now > seal_until, Error::<T>::SealingOpen);
			ensure!(
				now <= seal_until.saturating_add(T::ResultWindow::get()),
				Error::<T>::WindowClosed
			);
			ensure!(Self::result_seal(&result, &who) == seal, Error::<T>::SealMismatch);
			slot.result = Some(SlotResult::Revealed(result));
			Slots::<T>::insert(id, index, slot);
			Self::deposit_event(Event::ResultRevealed { id, slot: index, result });
			if Slots::<T>::iter_prefix_values(id)
				.all(|s| matches!(s.result, Some(SlotResult::Revealed(_))))
			{
				Self::do_conclude_results(id)?;
			}
			Ok(())
		}

		/// Anyone counts the results once the reveal window has closed: the majority result
		/// wins and its miners are paid; dissenters and silent miners get failure records.
		/// A single-replica result then waits for the buyer's acceptance in Escrow.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::conclude_results())]
		pub fn conclude_results(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_conclude_results(id)
		}

		/// The buyer rates a miner of one of its recently ended indentures, once, from 1
		/// (worst) to 5 (best). The rating is appended to the miner's RepChain history and
		/// counts as evidence in its score.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::rate())]
		pub fn rate(
			origin: OriginFor<T>,
			id: IndentureId,
			miner: T::AccountId,
			rating: u8,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let record = Records::<T>::get(id).ok_or(Error::<T>::UnknownRecord)?;
			ensure!(record.client == who, Error::<T>::NotBuyer);
			ensure!((1..=5).contains(&rating), Error::<T>::BadRating);
			Unrated::<T>::take(id, &miner).ok_or(Error::<T>::NotRateable)?;
			let now = frame_system::Pallet::<T>::block_number();
			T::Reputation::append(
				pallet_repchain::WorkRecord {
					subject: miner.clone(),
					role: Role::Miner,
					indenture: id,
					outcome: pallet_repchain::Outcome::Rated,
					value: record.incentive,
					heartbeats_proven: 0,
					heartbeats_missed: 0,
					duration: record.duration,
					rating: Some(rating),
					at: now,
				},
				None,
			);
			Self::deposit_event(Event::Rated { id, miner, rating });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The compute-unit weights configured in the runtime.
		pub fn cu_weights() -> CuWeights {
			CuWeights {
				per_millicore: T::CuPerMillicore::get(),
				per_gib_memory: T::CuPerGibMemory::get(),
				per_gib_storage: T::CuPerGibStorage::get(),
				per_gpu: T::CuPerGpu::get(),
			}
		}

		/// `(compute units, compute units × market rate)`.
		pub fn indicative_price(
			resources: &pallet_repchain::Resources,
			nodes: u32,
			duration: u32,
		) -> (u64, BalanceOf<T>) {
			let cu = Self::cu_weights().compute_units(resources, nodes, duration);
			let rate = MarketRate::<T>::get();
			(cu, rate.saturating_mul(cu.saturated_into()))
		}

		/// `max(MinIncentive, MinPriceRatio × indicative)`.
		pub fn minimum_incentive(indicative: BalanceOf<T>) -> BalanceOf<T> {
			T::MinPriceRatio::get().mul_ceil(indicative).max(T::MinIncentive::get())
		}

		/// Where `(priority, id)` goes: after every entry of higher priority, and after older
		/// entries of the same priority.
		fn queue_position(queue: &[(u8, IndentureId)], priority: u8, id: IndentureId) -> usize {
			queue.partition_point(|(p, i)| *p > priority || (*p == priority && *i < id))
		}

		/// Refunds everything, frees the exchange, the escrow operator and any miners already
		/// awarded a slot, and drops the indenture with its challenges and leases.
		fn close_unawarded(
			id: IndentureId,
			ind: IndentureOf<T>,
		) -> Result<BalanceOf<T>, DispatchError> {
			let settlement = T::Escrow::settle(id, &[], Perbill::zero())?;
			for (_, slot) in Slots::<T>::drain_prefix(id) {
				SlotOfChallenge::<T>::remove(slot.challenge);
				match (slot.miner, slot.lease) {
					// A lease that already ended has freed its miner; only running ones stop here.
					(Some(_), _) if slot.ended.is_some() => {},
					(Some(miner), lease) => {
						T::Registry::end_work(&miner, Role::Miner);
						if let Some(lease) = lease {
							SlotOfLease::<T>::remove(lease);
							let _ = T::Challenges::stop_lease(lease);
						}
					},
					// Awarded challenges are gone from the Challenge pallet already; open ones
					// are withdrawn so nobody keeps working on them.
					(None, _) => {
						let _ = T::Challenges::cancel(slot.challenge);
					},
				}
			}
			T::Registry::end_work(&ind.spec.exchange, Role::Exchange);
			T::Registry::end_work(&ind.spec.escrow_operator, Role::EscrowOperator);
			Queue::<T>::mutate(|q| q.retain(|(_, i)| *i != id));
			Indentures::<T>::remove(id);
			Ok(settlement.refunded)
		}

		/// Ids of the queue from `start`, at most `count`.
		pub fn queue_page(start: u32, count: u32) -> alloc::vec::Vec<IndentureId> {
			Self::queue_filtered(&QueueFilter::default(), start, count)
		}

		/// Ids of the queue that pass `filter`, from the `start`-th match, at most `count`.
		pub fn queue_filtered(
			filter: &QueueFilter<BalanceOf<T>>,
			start: u32,
			count: u32,
		) -> alloc::vec::Vec<IndentureId> {
			Queue::<T>::get()
				.iter()
				.filter(|(p, _)| *p >= filter.min_priority)
				.map(|(_, id)| *id)
				.filter(|id| {
					if filter.is_trivial() {
						return true;
					}
					let Some(ind) = Indentures::<T>::get(id) else { return false };
					let cu: BalanceOf<T> = ind.compute_units.max(1).saturated_into();
					filter.resources.is_none_or(|r| r.covers(&ind.spec.resources))
						&& filter.challenge.is_none_or(|c| c == ind.spec.challenge)
						&& filter
							.min_price_per_cu
							.is_none_or(|p| p.saturating_mul(cu) <= ind.spec.incentive)
				})
				.skip(start as usize)
				.take(count as usize)
				.collect()
		}

		/// An indenture with its slots (in slot order), or its recent CIRecord.
		pub fn info(
			id: IndentureId,
		) -> Option<IndentureInfo<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
			if let Some(indenture) = Indentures::<T>::get(id) {
				let mut slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
				slots.sort_by_key(|(i, _)| *i);
				return Some(IndentureInfo::Active { indenture, slots });
			}
			Records::<T>::get(id).map(IndentureInfo::Ended)
		}

		/// Invariants, checked after every unit test and by try-runtime:
		/// - the queue is sorted (priority descending, then id ascending) and holds exactly the
		///   open indentures;
		/// - every open indenture has an escrow holding its incentive plus fees (less what its
		///   awarded slots have been paid);
		/// - every indenture has nodes × replicas slots; an empty slot still has its challenge,
		///   an awarded one has its lease (mapped back to the slot while it runs); a leased
		///   indenture has no empty slot.
		#[cfg(any(test, feature = "try-runtime"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let queue = Queue::<T>::get();
			ensure!(
				queue.windows(2).all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
				"queue out of order"
			);
			for (id, ind) in Indentures::<T>::iter() {
				let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
				ensure!(
					slots.len() as u32 == ind.spec.nodes.saturating_mul(ind.spec.replicas),
					"an indenture has the wrong number of slots"
				);
				for (index, slot) in &slots {
					ensure!(
						slot.miner.is_some() == slot.lease.is_some(),
						"a miner without a lease"
					);
					if let (Some(lease), None) = (slot.lease, slot.ended) {
						ensure!(
							SlotOfLease::<T>::get(lease) == Some((id, *index)),
							"a running lease lost its slot"
						);
					}
					if slot.miner.is_none() {
						ensure!(
							SlotOfChallenge::<T>::get(slot.challenge).is_some_and(|(i, _)| i == id),
							"an open slot lost its challenge"
						);
					}
				}
				if ind.status == Status::Leased {
					ensure!(
						slots.iter().all(|(_, s)| s.miner.is_some()),
						"leased with an empty slot"
					);
				}
			}
			let open = Indentures::<T>::iter().filter(|(_, i)| i.status == Status::Open).count();
			ensure!(open == queue.len(), "queue and open indentures differ");
			for (p, id) in queue.iter() {
				let ind = Indentures::<T>::get(id).ok_or("queued indenture missing")?;
				ensure!(ind.spec.priority == *p, "queued priority differs");
				let full = ind
					.spec
					.incentive
					.saturating_add(ind.exchange_fee)
					.saturating_add(ind.escrow_fee);
				// Slots already awarded stream their rounds while the others are still open.
				let awarded = Slots::<T>::iter_prefix_values(id).any(|s| s.miner.is_some());
				let held = T::Escrow::held(*id);
				ensure!(
					held == full || (awarded && held <= full),
					"escrow of an open indenture does not hold incentive + fees"
				);
			}
			Ok(())
		}
	}
	impl<T: Config> Pallet<T> {
		/// Whether `who` may compete for a slot of indenture `id`: a registered miner whose
		/// resources cover one node, whose price floor is at most the offered price per compute
		/// unit, whose reputation meets the minimum, and who holds no other slot of it.
		pub fn may_compete(id: IndentureId, who: &T::AccountId) -> bool {
			let Some(ind) = Indentures::<T>::get(id) else { return false };
			if ind.status != Status::Open {
				return false;
			}
			let Some((resources, price_floor)) = T::Registry::miner(who) else { return false };
			let cu: BalanceOf<T> = ind.compute_units.max(1).saturated_into();
			resources.covers(&ind.spec.resources)
				&& price_floor.saturating_mul(cu) <= ind.spec.incentive
				&& T::Reputation::score(who) >= ind.spec.min_reputation
				&& Slots::<T>::iter_prefix_values(id).all(|s| s.miner.as_ref() != Some(who))
		}

		pub(crate) fn on_awarded(challenge: ChallengeId, winner: &T::AccountId) {
			let Some((id, slot_index)) = SlotOfChallenge::<T>::take(challenge) else { return };
			let Some(mut ind) = Indentures::<T>::get(id) else { return };
			let Some(mut slot) = Slots::<T>::get(id, slot_index) else { return };
			let now = frame_system::Pallet::<T>::block_number();
			let period = T::HeartbeatPeriod::get();
			let rounds = (ind.spec.duration / period).max(1);
			// The miner was eligible when it committed; should it have started leaving since,
			// the award still stands and its bond stays until the work ends.
			let _ = T::Registry::begin_work(winner, Role::Miner);
			let start = now.saturating_add(One::one());
			let window = T::HeartbeatWindow::get();
			let lease = match T::Challenges::start_lease(
				id,
				winner.clone(),
				start,
				rounds,
				period,
				window,
				T::MaxMissedRounds::get(),
			) {
				Ok(lease) => lease,
				Err(_) => return,
			};
			// The last round closes `window` blocks after it opens; then its misses are counted.
			let last_close = start.saturating_add(
				rounds.saturating_sub(1).saturating_mul(period).saturating_add(window).into(),
			);
			Self::schedule(last_close, Deadline::LeaseEnd(lease));
			slot.miner = Some(winner.clone());
			slot.lease = Some(lease);
			slot.access = Some(Access {
				start,
				end: last_close,
				endpoint: T::Registry::miner_endpoint(winner).unwrap_or_default(),
			});
			Slots::<T>::insert(id, slot_index, slot);
			SlotOfLease::<T>::insert(lease, (id, slot_index));
			Self::deposit_event(Event::SlotAwarded {
				id,
				slot: slot_index,
				miner: winner.clone(),
				lease,
			});
			if Slots::<T>::iter_prefix_values(id).all(|s| s.miner.is_some()) {
				ind.status = Status::Leased;
				Indentures::<T>::insert(id, ind);
				Queue::<T>::mutate(|q| q.retain(|(_, i)| *i != id));
				Self::deposit_event(Event::Leased { id });
			}
		}
	}

	impl<T: Config> Pallet<T> {
		/// Heartbeat rounds of one lease of `ind`.
		pub fn rounds_of(ind: &IndentureOf<T>) -> u32 {
			(ind.spec.duration / T::HeartbeatPeriod::get()).max(1)
		}

		/// What one proven round pays: the incentive split evenly over slots and rounds,
		/// rounded down (the remainder goes back to the buyer at settlement).
		pub fn pay_per_round(ind: &IndentureOf<T>) -> BalanceOf<T> {
			let slots = ind.spec.nodes.saturating_mul(ind.spec.replicas).max(1);
			let rounds = Self::rounds_of(ind);
			let streamed = ind.spec.incentive.saturating_sub(Self::result_part(ind));
			streamed / BalanceOf::<T>::from(slots.saturating_mul(rounds))
		}

		fn on_heartbeat_proven(lease: LeaseId, round: u32) {
			let Some((id, slot_index)) = SlotOfLease::<T>::get(lease) else { return };
			let (Some(ind), Some(slot)) =
				(Indentures::<T>::get(id), Slots::<T>::get(id, slot_index))
			else {
				return;
			};
			let Some(miner) = slot.miner else { return };
			let amount = Self::pay_per_round(&ind);
			// Cannot exceed the incentive: rounds × slots × per-round ≤ incentive.
			if T::Escrow::pay(id, &miner, amount).is_ok() {
				Self::deposit_event(Event::RoundPaid { id, miner, round, amount });
			}
		}

		pub(crate) fn on_lease_ended(lease: LeaseId, failed: bool, proven: u32, missed: u32) {
			// A lease that proved no round at all delivered nothing: it failed, even when its
			// misses stayed within the tolerance.
			let failed = failed || proven == 0;
			let Some((id, slot_index)) = SlotOfLease::<T>::take(lease) else { return };
			let (Some(ind), Some(mut slot)) =
				(Indentures::<T>::get(id), Slots::<T>::get(id, slot_index))
			else {
				return;
			};
			let end = LeaseEnd { proven, missed, failed };
			slot.ended = Some(end);
			if let Some(miner) = slot.miner.clone() {
				T::Registry::end_work(&miner, Role::Miner);
				if failed {
					// A failed miner's bond is slashed in part to the buyer it left without
					// service. Successes are recorded when the work is settled.
					Self::record(&ind, id, miner, false, proven, missed);
				}
			}
			Slots::<T>::insert(id, slot_index, slot);
			Self::deposit_event(Event::LeaseEnded { id, slot: slot_index, end });
			let all_ended = Slots::<T>::iter_prefix_values(id).all(|s| s.ended.is_some());
			// Services, and work with a failed lease, settle on their heartbeats now; a batch task
			// whose leases all completed collects its results first.
			let any_failed =
				Slots::<T>::iter_prefix_values(id).any(|s| s.ended.is_some_and(|e| e.failed));
			if !all_ended {
				return;
			}
			if ind.spec.task_type == TaskType::Service || any_failed {
				Self::settle_on_heartbeats(id, ind, any_failed);
			} else {
				let mut ind = ind;
				let seal_until = frame_system::Pallet::<T>::block_number()
					.saturating_add(T::ResultWindow::get());
				ind.status = Status::Reporting;
				ind.results_deadline = Some(seal_until);
				Indentures::<T>::insert(id, ind);
				let reveal_until = seal_until.saturating_add(T::ResultWindow::get());
				Self::schedule(reveal_until.saturating_add(One::one()), Deadline::Results(id));
				Self::deposit_event(Event::ResultsDue { id, seal_until });
			}
		}

		/// Settles work paid per proven round: fees in proportion to the rounds proven, the
		/// unproven rest back to the buyer.
		fn settle_on_heartbeats(id: IndentureId, ind: IndentureOf<T>, failed: bool) {
			let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix_values(id).collect();
			let total_rounds = Self::rounds_of(&ind).saturating_mul(slots.len() as u32).max(1);
			let proven: u32 = slots.iter().filter_map(|s| s.ended).map(|e| e.proven).sum();
			let fee_share = Perbill::from_rational(proven.min(total_rounds), total_rounds);
			let Ok(settlement) = T::Escrow::settle(id, &[], fee_share) else { return };
			for slot in &slots {
				if let (Some(miner), Some(end)) = (slot.miner.clone(), slot.ended) {
					if !end.failed {
						Self::record(&ind, id, miner, true, end.proven, end.missed);
					}
				}
			}
			Self::finalize(
				id,
				ind,
				settlement,
				if failed { Status::Failed } else { Status::Settled },
			);
		}

		/// Appends a miner's record to RepChain; a failure slashes part of its bond to the buyer.
		fn record(
			ind: &IndentureOf<T>,
			id: IndentureId,
			miner: T::AccountId,
			success: bool,
			proven: u32,
			missed: u32,
		) {
			let now = frame_system::Pallet::<T>::block_number();
			let record = pallet_repchain::WorkRecord {
				subject: miner,
				role: Role::Miner,
				indenture: id,
				outcome: if success {
					pallet_repchain::Outcome::Success
				} else {
					pallet_repchain::Outcome::Failure
				},
				value: ind.spec.incentive,
				heartbeats_proven: proven,
				heartbeats_missed: missed,
				duration: now.saturating_sub(ind.submitted),
				rating: None,
				at: now,
			};
			T::Reputation::append(record, (!success).then_some(&ind.buyer));
		}

		/// Ends an indenture whose escrow was settled: frees the exchange and the escrow
		/// operator, drops its slots and emits the CIRecord.
		fn finalize(
			id: IndentureId,
			ind: IndentureOf<T>,
			settlement: pallet_escrow::Settlement<BalanceOf<T>>,
			status: Status,
		) {
			let mut streamed = BalanceOf::<T>::zero();
			let mut slots: alloc::vec::Vec<_> = Slots::<T>::drain_prefix(id).collect();
			slots.sort_by_key(|(index, _)| *index);
			let mut sellers = alloc::vec::Vec::new();
			for (_, slot) in slots {
				SlotOfChallenge::<T>::remove(slot.challenge);
				let proven = slot.ended.map(|e| e.proven).unwrap_or_default();
				streamed = streamed
					.saturating_add(Self::pay_per_round(&ind).saturating_mul(proven.into()));
				if let Some(miner) = slot.miner {
					sellers.push(miner);
				}
			}
			T::Registry::end_work(&ind.spec.exchange, Role::Exchange);
			T::Registry::end_work(&ind.spec.escrow_operator, Role::EscrowOperator);
			Indentures::<T>::remove(id);
			let now = frame_system::Pallet::<T>::block_number();
			for miner in &sellers {
				Unrated::<T>::insert(id, miner, ());
			}
			let record = CiRecord {
				cid: id,
				time: now,
				client: ind.buyer,
				sellers: BoundedVec::truncate_from(sellers),
				// During `on_initialize` the extrinsic index already reads 0; the phase tells.
				tx_index: match frame_system::Pallet::<T>::execution_phase() {
					Some(frame_system::Phase::ApplyExtrinsic(i)) => Some(i),
					_ => None,
				},
				escrow: id,
				task: ind.spec.task,
				task_type: ind.spec.task_type,
				incentive: ind.spec.incentive,
				paid_to_miners: streamed.saturating_add(settlement.to_miners),
				refunded: settlement.refunded,
				status,
				duration: now.saturating_sub(ind.submitted),
			};
			Self::keep_record(record.clone());
			Self::deposit_event(Event::CiRecorded { record });
		}

		/// Adds `record` to the recent-records index, dropping the oldest (and its pending
		/// ratings) when full.
		pub(crate) fn keep_record(record: CiRecordOf<T>) {
			let id = record.cid;
			RecentRecords::<T>::mutate(|recent| {
				if recent.is_full() {
					let old = recent.remove(0);
					Records::<T>::remove(old);
					let _ = Unrated::<T>::clear_prefix(old, MAX_SLOTS_BOUND, None);
				}
				// Cannot fail: a place was freed above when full.
				let _ = recent.try_push(id);
			});
			Records::<T>::insert(id, record);
		}

		/// Puts `deadline` on the agenda of block `at`, or of one of the next few blocks when
		/// that one is full.
		pub(crate) fn schedule(at: BlockNumberFor<T>, deadline: Deadline) {
			let mut block = at;
			for _ in 0..AGENDA_SPREAD {
				if Agenda::<T>::try_mutate(block, |a| a.try_push(deadline)).is_ok() {
					return;
				}
				block = block.saturating_add(One::one());
			}
			Self::deposit_event(Event::AgendaFull { deadline });
		}

		/// The weight of processing one deadline.
		pub fn deadline_weight(deadline: &Deadline) -> Weight {
			match deadline {
				Deadline::Award(_) => T::WeightInfo::expire(),
				Deadline::Results(_) => T::WeightInfo::conclude_results(),
				Deadline::Acceptance(_) => T::WeightInfo::accept_expired(),
				Deadline::LeaseEnd(_) => T::WeightInfo::lease_end(),
			}
		}

		/// The heaviest kind of deadline.
		pub fn max_deadline_weight() -> Weight {
			[
				Deadline::Award(0),
				Deadline::Results(0),
				Deadline::Acceptance(0),
				Deadline::LeaseEnd(0),
			]
			.iter()
			.map(Self::deadline_weight)
			.fold(Weight::zero(), |a, b| a.max(b))
		}

		/// Processes block `n`'s agenda within `AgendaBudget`; what does not fit moves on to
		/// the next block. Each deadline runs in its own storage layer, so one that fails
		/// changes nothing (its permissionless call remains).
		fn process_agenda(n: BlockNumberFor<T>) -> Weight {
			let db = T::DbWeight::get();
			let mut used = db.reads_writes(1, 1);
			let due = Agenda::<T>::take(n);
			let budget = T::AgendaBudget::get();
			for deadline in due {
				let w = Self::deadline_weight(&deadline);
				if used.saturating_add(w).any_gt(budget) {
					Self::schedule(n.saturating_add(One::one()), deadline);
					used = used.saturating_add(db.reads_writes(1, 1));
					continue;
				}
				used = used.saturating_add(w);
				let _ = with_storage_layer(|| Self::process_deadline(n, deadline));
			}
			used
		}

		pub(crate) fn process_deadline(n: BlockNumberFor<T>, deadline: Deadline) -> DispatchResult {
			match deadline {
				Deadline::Award(id) => match Self::do_expire(id) {
					Err(e) if e == Error::<T>::AwardPending.into() => {
						Self::schedule(n.saturating_add(One::one()), deadline);
						Ok(())
					},
					other => other,
				},
				Deadline::Results(id) => Self::do_conclude_results(id),
				Deadline::Acceptance(id) => {
					let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
					ensure!(ind.status == Status::Reported, Error::<T>::NotReporting);
					T::Escrow::accept_expired(id)
				},
				Deadline::LeaseEnd(lease) => T::Challenges::count_missed(lease),
			}
		}

		/// Concludes the empty slots' challenges, then expires the indenture if a slot is still
		/// empty. Fails with `AwardPending` (changing nothing) while a challenge waits for
		/// reveals made in time.
		pub(crate) fn do_expire(id: IndentureId) -> DispatchResult {
			let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
			ensure!(ind.status == Status::Open, Error::<T>::NotOpen);
			ensure!(
				frame_system::Pallet::<T>::block_number() > ind.award_deadline,
				Error::<T>::DeadlineNotReached
			);
			let empty: alloc::vec::Vec<_> = Slots::<T>::iter_prefix_values(id)
				.filter(|s| s.miner.is_none())
				.map(|s| s.challenge)
				.collect();
			let mut pending = false;
			for challenge in empty {
				pending |= T::Challenges::conclude(challenge);
			}
			ensure!(!pending, Error::<T>::AwardPending);
			// Concluding may have awarded the last empty slots.
			let ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
			if ind.status != Status::Open {
				return Ok(());
			}
			let refunded = Self::close_unawarded(id, ind)?;
			Self::deposit_event(Event::Expired { id, refunded });
			Ok(())
		}

		/// The part of the incentive a batch task pays for its result (zero for services).
		pub fn result_part(ind: &IndentureOf<T>) -> BalanceOf<T> {
			match ind.spec.task_type {
				TaskType::Batch => T::BatchResultShare::get().mul_floor(ind.spec.incentive),
				TaskType::Service => Zero::zero(),
			}
		}

		/// `blake2_256(SCALE(("cutopia/result", result, miner)))`: what a miner seals.
		pub fn result_seal(result: &H256, miner: &T::AccountId) -> H256 {
			use codec::Encode;
			<sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(
				&(b"cutopia/result", result, miner).encode(),
			)
		}

		/// The slot of indenture `id` held by `who`.
		fn slot_of(id: IndentureId, who: &T::AccountId) -> Option<(u32, SlotOf<T>)> {
			Slots::<T>::iter_prefix(id).find(|(_, s)| s.miner.as_ref() == Some(who))
		}

		pub(crate) fn do_conclude_results(id: IndentureId) -> DispatchResult {
			let mut ind = Indentures::<T>::get(id).ok_or(Error::<T>::UnknownIndenture)?;
			ensure!(ind.status == Status::Reporting, Error::<T>::NotReporting);
			let seal_until = ind.results_deadline.unwrap_or(ind.submitted);
			let reveal_until = seal_until.saturating_add(T::ResultWindow::get());
			let slots: alloc::vec::Vec<_> = Slots::<T>::iter_prefix(id).collect();
			let all_revealed =
				slots.iter().all(|(_, s)| matches!(s.result, Some(SlotResult::Revealed(_))));
			ensure!(
				all_revealed || frame_system::Pallet::<T>::block_number() > reveal_until,
				Error::<T>::RevealsOpen
			);
			// Count the revealed results; the winner needs more than half of all slots.
			let revealed: alloc::vec::Vec<H256> = slots
				.iter()
				.filter_map(|(_, s)| match s.result {
					Some(SlotResult::Revealed(r)) => Some(r),
					_ => None,
				})
				.collect();
			let (winner, votes) = revealed
				.iter()
				.map(|r| (*r, revealed.iter().filter(|x| *x == r).count() as u32))
				.max_by_key(|(_, n)| *n)
				.unwrap_or_default();
			let total = slots.len() as u32;
			let result = (votes * 2 > total).then_some(winner);
			Self::deposit_event(Event::ResultsConcluded { id, result, votes, slots: total });
			let per_slot = Self::result_part(&ind) / BalanceOf::<T>::from(total.max(1));
			let mut payouts = alloc::vec::Vec::new();
			for (_, slot) in &slots {
				let Some(miner) = slot.miner.clone() else { continue };
				let agrees = result.is_some() && slot.result == result.map(SlotResult::Revealed);
				if agrees {
					payouts.push((miner, per_slot));
				} else if result.is_some() || !matches!(slot.result, Some(SlotResult::Revealed(_)))
				{
					// Dissenters and miners that never revealed failed the task; when there is
					// no majority, those who revealed are not blamed.
					let end =
						slot.ended.unwrap_or(LeaseEnd { proven: 0, missed: 0, failed: false });
					Self::record(&ind, id, miner, false, end.proven, end.missed);
				}
			}
			ind.result = result;
			if ind.spec.replicas == 1 && result.is_some() {
				let until = frame_system::Pallet::<T>::block_number()
					.saturating_add(T::AcceptanceWindow::get());
				T::Escrow::await_acceptance(id, payouts, until)?;
				Self::schedule(until.saturating_add(One::one()), Deadline::Acceptance(id));
				ind.status = Status::Reported;
				Indentures::<T>::insert(id, ind);
			} else {
				let settlement = T::Escrow::settle(id, &payouts, Perbill::one())?;
				Self::record_agreeing(&ind, id);
				let status = if result.is_some() { Status::Settled } else { Status::Failed };
				Self::finalize(id, ind, settlement, status);
			}
			Ok(())
		}

		/// Success records for the miners whose revealed result is the indenture's result.
		fn record_agreeing(ind: &IndentureOf<T>, id: IndentureId) {
			let Some(result) = ind.result else { return };
			for (_, slot) in Slots::<T>::iter_prefix(id) {
				if let (Some(miner), Some(SlotResult::Revealed(r))) = (slot.miner, slot.result) {
					if r == result {
						let end =
							slot.ended.unwrap_or(LeaseEnd { proven: 0, missed: 0, failed: false });
						Self::record(ind, id, miner, true, end.proven, end.missed);
					}
				}
			}
		}
	}

	impl<T: Config> Pallet<T> {
		/// Makes sure an open indenture `id` exists for other pallets' benchmarks (Challenge's
		/// eligibility check); it is stored directly, with no escrow or slots.
		#[cfg(feature = "runtime-benchmarks")]
		pub fn open_for_benchmarks(id: IndentureId) {
			use sp_runtime::traits::{Bounded, TrailingZeroInput};
			if Indentures::<T>::contains_key(id) {
				return;
			}
			let nobody =
				T::AccountId::decode(&mut TrailingZeroInput::zeroes()).expect("infinite input");
			let spec = IndentureSpec {
				task: types::Task::Inline(BoundedVec::truncate_from(alloc::vec![0u8])),
				task_type: TaskType::Batch,
				resources: pallet_repchain::Resources { cpu_millicores: 1, ..Default::default() },
				nodes: 1,
				public_ip: PublicIp::None,
				duration: 1,
				incentive: BalanceOf::<T>::max_value() / 4u32.into(),
				priority: 0,
				min_reputation: Permill::zero(),
				exchange: nobody.clone(),
				escrow_operator: nobody.clone(),
				challenge: ChallengeKind::HashTarget,
				replicas: 1,
				ssh_key: None,
			};
			Indentures::<T>::insert(
				id,
				Indenture {
					buyer: nobody,
					spec,
					compute_units: 1,
					exchange_fee: Zero::zero(),
					escrow_fee: Zero::zero(),
					submitted: Zero::zero(),
					award_deadline: BlockNumberFor::<T>::max_value(),
					status: Status::Open,
					results_deadline: None,
					result: None,
				},
			);
		}
	}

	impl<T: Config> pallet_escrow::EscrowOutcome<T::AccountId, BalanceOf<T>> for Pallet<T> {
		fn dispute_resolved(id: pallet_escrow::EscrowId, operator: &T::AccountId, in_time: bool) {
			let now = frame_system::Pallet::<T>::block_number();
			let value = Indentures::<T>::get(id).map(|i| i.spec.incentive).unwrap_or_default();
			let record = pallet_repchain::WorkRecord {
				subject: operator.clone(),
				role: Role::EscrowOperator,
				indenture: id,
				outcome: if in_time {
					pallet_repchain::Outcome::Success
				} else {
					pallet_repchain::Outcome::Failure
				},
				value,
				heartbeats_proven: 0,
				heartbeats_missed: 0,
				duration: Zero::zero(),
				rating: None,
				at: now,
			};
			T::Reputation::append(record, None);
		}

		fn max_weight() -> Weight {
			T::WeightInfo::dispute_resolved().max(T::WeightInfo::accept_expired())
		}

		/// A single-replica result was accepted or its dispute resolved.
		fn settled(
			id: pallet_escrow::EscrowId,
			settlement: &pallet_escrow::Settlement<BalanceOf<T>>,
		) {
			let Some(ind) = Indentures::<T>::get(id) else { return };
			if ind.status != Status::Reported {
				return;
			}
			Self::record_agreeing(&ind, id);
			Self::finalize(id, ind, settlement.clone(), Status::Settled);
		}
	}

	impl<T: Config> pallet_challenge::Eligibility<T::AccountId> for Pallet<T> {
		fn may_compete(context: ContextId, who: &T::AccountId) -> bool {
			Self::may_compete(context, who)
		}

		fn weight() -> Weight {
			T::WeightInfo::may_compete()
		}

		#[cfg(feature = "runtime-benchmarks")]
		fn make_eligible(context: ContextId, who: &T::AccountId) {
			T::Registry::register_for_benchmarks(who, Role::Miner);
			Self::open_for_benchmarks(context);
		}
	}

	impl<T: Config> pallet_challenge::ChallengeOutcome<T::AccountId> for Pallet<T> {
		fn awarded(_context: ContextId, id: ChallengeId, winner: &T::AccountId) {
			Self::on_awarded(id, winner);
		}
		// An unsolved or voided challenge leaves its slot empty: the indenture expires at its
		// award deadline through `expire`, which refunds everything and drops the mapping.
		fn expired(_context: ContextId, _id: ChallengeId) {}
		fn voided(_context: ContextId, _id: ChallengeId, _issuer: &T::AccountId) {}
		fn heartbeat_proven(_context: ContextId, lease: LeaseId, round: u32) {
			Self::on_heartbeat_proven(lease, round);
		}
		// Misses are counted by the Challenge pallet; they matter here when the lease ends.
		fn heartbeats_missed(_: ContextId, _: LeaseId, _: u32, _: u32) {}
		fn lease_ended(
			_context: ContextId,
			lease: LeaseId,
			outcome: LeaseOutcome,
			proven: u32,
			missed: u32,
		) {
			Self::on_lease_ended(lease, outcome == LeaseOutcome::Failed, proven, missed);
		}

		fn max_weight() -> Weight {
			T::WeightInfo::awarded()
				.max(T::WeightInfo::heartbeat_proven())
				.max(T::WeightInfo::lease_ended())
		}
	}
}
