#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

mod adapters;
mod agenda;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod events;
mod lease;
mod market;
#[cfg(test)]
mod mock;
mod results;
mod settle;
#[cfg(test)]
mod tests;
#[cfg(any(test, feature = "try-runtime"))]
mod try_state;
pub mod types;
pub mod weights;

use cutopia_primitives::{
	ChallengeApi, ChallengeId, ChallengeKind, ChallengeOutcome, ContextId, Eligibility, EscrowApi,
	EscrowId, EscrowOutcome, LeaseId, LeaseOutcome, MinerOffer, Outcome, Registry, ReputationApi,
	Resources, Role, Settlement, Stake, WorkRecord,
};
use frame_support::{
	defensive,
	pallet_macros::import_section,
	pallet_prelude::*,
	storage::with_storage_layer,
	traits::fungible::{Inspect, Mutate},
};
use frame_system::pallet_prelude::*;
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	Perbill, Permill, SaturatedConversion,
};

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::indenture";

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
/// A miner its buyer may still rate, as stored.
pub type RateableOf<T> =
	Rateable<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A RepChain record as this pallet writes it.
pub type WorkRecordOf<T> =
	WorkRecord<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// The queue's premium of an entry a miner has won a slot of: it can no longer be evicted.
pub const WON: u64 = u64::MAX;
/// Blocks after a full one that `schedule` tries before it puts a deadline in the backlog.
const AGENDA_SPREAD: u32 = 8;
/// Backlog entries not yet due that one block moves to the back, past which due ones wait.
const BACKLOG_ROTATIONS: u32 = 8;
/// Blocks of market-rate history kept in storage.
pub const RATE_HISTORY: u32 = 64;

#[import_section(events::events)]
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
		/// Proven rounds whose pay a lease withholds: a round is paid once this many later
		/// rounds are proven, so the buyer can `dispute` work whose heartbeats prove nothing
		/// about it (or `terminate` it) before that pay is gone. The rest of the lease streams.
		#[pallet::constant]
		type DisputeLag: Get<u32>;
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
		/// Blocks after an indenture ends in which its buyer may rate each miner: a time, not a
		/// place among recent records that a flood of cheap indentures could push it out of.
		#[pallet::constant]
		type RatingWindow: Get<BlockNumberFor<Self>>;
		/// Most indentures open at once.
		#[pallet::constant]
		type MaxQueue: Get<u32>;
		/// Most indentures one buyer may have open at once.
		#[pallet::constant]
		type MaxOpenPerBuyer: Get<u32>;
		/// How much higher a new offer's premium over its own minimum incentive must be than the
		/// lowest premium among the open entries nobody has won a slot of, to take that
		/// entry's place in a full queue.
		#[pallet::constant]
		type OutbidMargin: Get<Permill>;
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
		/// How far one leased indenture of at least `RateReferenceUnits` compute units moves
		/// the market rate toward what it pays per unit (smaller work moves it in proportion).
		#[pallet::constant]
		type RateSmoothing: Get<Perbill>;
		/// Compute units at which an indenture moves the rate by the full `RateSmoothing`.
		#[pallet::constant]
		type RateReferenceUnits: Get<u64>;
		/// Most the market rate moves in one block, as a part of the rate the block began
		/// with, however many indentures are leased in it.
		#[pallet::constant]
		type MaxRateStep: Get<Perbill>;
	}

	/// Price per compute unit, in base units of CU: a moving average of what leased
	/// indentures pay per compute unit (see [`Pallet::observe_price`]).
	#[pallet::storage]
	pub type MarketRate<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// How the market rate moved: `(block, rate at its end)` of the last blocks it changed
	/// in, oldest first.
	#[pallet::storage]
	pub type RateHistory<T: Config> = StorageValue<
		_,
		BoundedVec<(BlockNumberFor<T>, BalanceOf<T>), ConstU32<RATE_HISTORY>>,
		ValueQuery,
	>;

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

	/// The slots each miner holds, as `(indenture, slot)`, from its award until its indenture
	/// ends: what a miner's agent serves, read without scanning every slot on the chain.
	#[pallet::storage]
	pub type SlotsOf<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, (IndentureId, u32), ()>;

	/// Deadlines due in each block, processed in `on_initialize` within `AgendaBudget`.
	#[pallet::storage]
	pub type Agenda<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<Deadline, T::MaxAgenda>,
		ValueQuery,
	>;

	/// Deadlines the agenda had no room for near their block, by sequence number, as `(due
	/// block, deadline)`: worked through in order after each block's own agenda, as far as the
	/// budget allows, so no deadline is ever dropped however many arrive at once.
	#[pallet::storage]
	pub type Backlog<T: Config> = StorageMap<_, Twox64Concat, u64, (BlockNumberFor<T>, Deadline)>;

	/// `(first, next)` sequence numbers of the `Backlog`: it holds `first..next`.
	#[pallet::storage]
	pub type BacklogRange<T> = StorageValue<_, (u64, u64), ValueQuery>;

	/// The CIRecords of the last `MaxRecentRecords` ended indentures, by id.
	#[pallet::storage]
	pub type Records<T: Config> = StorageMap<_, Twox64Concat, IndentureId, CiRecordOf<T>>;

	/// Ids of `Records`, oldest first.
	#[pallet::storage]
	pub type RecentRecords<T: Config> =
		StorageValue<_, BoundedVec<IndentureId, T::MaxRecentRecords>, ValueQuery>;

	/// Miners of an ended indenture its buyer has not rated yet, until its `RatingWindow`
	/// closes.
	#[pallet::storage]
	pub type Unrated<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		IndentureId,
		Blake2_128Concat,
		T::AccountId,
		RateableOf<T>,
	>;

	/// Which indenture slot a heartbeat lease serves.
	#[pallet::storage]
	pub type SlotOfLease<T: Config> = StorageMap<_, Twox64Concat, LeaseId, (IndentureId, u32)>;

	/// Which indenture slot a challenge decides.
	#[pallet::storage]
	pub type SlotOfChallenge<T: Config> =
		StorageMap<_, Twox64Concat, ChallengeId, (IndentureId, u32)>;

	/// The IndentureQueue: open indentures as `(priority, id, premium)`, highest priority
	/// first, then oldest first. The premium is the offer over its own minimum incentive in
	/// parts per million (`WON` once a miner has won one of its slots): a full queue's `submit`
	/// evicts the entry with the lowest premium for a better one.
	#[pallet::storage]
	pub type Queue<T: Config> =
		StorageValue<_, BoundedVec<(u8, IndentureId, u64), T::MaxQueue>, ValueQuery>;

	/// How many indentures each buyer has open (in the queue), at most `MaxOpenPerBuyer`.
	#[pallet::storage]
	pub type OpenOf<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// How many running leases of each miner hold one of its dedicated public addresses
	/// (slots of services asking for one, [`PublicIp::needs_address`]): a miner competes for
	/// such a slot only while it has registered more addresses than this.
	#[pallet::storage]
	pub type AddressesHeld<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u16, ValueQuery>;

	/// Which running lease of each miner each of its dedicated public addresses was published
	/// for: one address is one lease's, so a miner cannot serve two buyers who each asked for
	/// an address of their own from one. Kept per miner: an address is not proven anyone's, so
	/// a global index would let anyone holding such a slot publish a rival's address first and
	/// keep the rival from publishing it (review); another miner's false claim only misleads
	/// its own buyer.
	#[pallet::storage]
	pub type DedicatedAt<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Blake2_128Concat,
		AddressKey,
		(IndentureId, u32),
	>;

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
			RateHistory::<T>::put(BoundedVec::truncate_from(alloc::vec![(
				BlockNumberFor::<T>::zero(),
				self.market_rate
			)]));
		}
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
			assert!(T::DisputeLag::get() > 0, "a buyer must be able to dispute some pay");
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
		/// Charged by its slots and task bytes, not the largest possible indenture. When the
		/// queue is full, an offer whose premium over its own minimum incentive beats the lowest
		/// premium of the open entries nobody has won a slot of by more than `OutbidMargin`
		/// takes that entry's place (it is refunded in full, `Evicted`) and pays for the
		/// eviction; otherwise it is refused with `QueueFull`.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::submit_weight(spec).saturating_add(Pallet::<T>::eviction_weight()))]
		pub fn submit(origin: OriginFor<T>, spec: SpecOf<T>) -> DispatchResultWithPostInfo {
			let buyer = ensure_signed(origin)?;
			let base = Self::submit_weight(&spec);
			let evicted = Self::do_submit(buyer, spec)?;
			Ok(Some(if evicted { base.saturating_add(Self::eviction_weight()) } else { base })
				.into())
		}

		/// The buyer withdraws an indenture no miner has won yet: everything held is refunded.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel())]
		pub fn cancel(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel(who, id)
		}

		/// Anyone moves an indenture past its award deadline: its slots' challenges are
		/// concluded (a solution revealed in time still wins its slot); if a slot is still
		/// empty, everything held is refunded to the buyer. The chain does this itself from
		/// its agenda; this call is the fallback.
		#[pallet::call_index(2)]
		#[pallet::weight(Pallet::<T>::expire_weight())]
		pub fn expire(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_expire(id)
		}

		/// A miner of a batch task seals its result:
		/// [`Pallet::result_seal`]`(id, slot, miner, result, salt)` with a salt it keeps secret.
		/// Free when taken (the slot's miner, once, in the window): reporting is its duty.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::commit_result())]
		pub fn commit_result(
			origin: OriginFor<T>,
			id: IndentureId,
			seal: H256,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_commit_result(who, id, seal)?;
			Ok(Pays::No.into())
		}

		/// A miner reveals the result it sealed and the salt it sealed it with, once every
		/// slot has sealed or sealing closed. Free when taken, as sealing is.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::reveal_result())]
		pub fn reveal_result(
			origin: OriginFor<T>,
			id: IndentureId,
			result: H256,
			salt: H256,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_reveal_result(who, id, result, salt)?;
			Ok(Pays::No.into())
		}

		/// Anyone counts the results once the reveal window has closed. Silent miners failed
		/// (failure records, slashed at most the unserved part of their slot). Agreeing results
		/// pay their miners: at once when more than half of the slots of a replicated task
		/// agree, else after the buyer's acceptance window. Different results go to the escrow
		/// operator (`judge`), nobody blamed by count.
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
			Self::do_rate(who, id, miner, rating)
		}

		/// The buyer ends its leased work early (a service it no longer needs, a batch task it
		/// gave up on): every running lease stops now, each miner keeps the pay of the rounds
		/// it proved (already streamed) and gets a success record worth it, both fees are paid
		/// in proportion to the rounds proven, and the unserved rest is refunded.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::terminate().saturating_add(Pallet::<T>::address_weight(T::MaxSlots::get())))]
		pub fn terminate(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_terminate(who, id)
		}

		/// The buyer disputes its leased work (a service that does not serve, a task whose
		/// heartbeats prove nothing about it): every running lease stops now, the pay of the
		/// rounds still withheld (the last `DisputeLag` proven per slot) goes to the escrow
		/// operator's decision (`Escrow::resolve`, by its deadline, else the default rule),
		/// both fees are cut to the share of rounds proven and the unserved rest is refunded.
		/// Rounds already paid stay paid: that is what the lag bounds.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::dispute().saturating_add(Pallet::<T>::address_weight(T::MaxSlots::get())))]
		pub fn dispute(origin: OriginFor<T>, id: IndentureId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_dispute(who, id)
		}

		/// The miner of a service's slot publishes where its running workload answers (and
		/// its SSH gateway, when the buyer gave a key), so the buyer finds it on chain rather
		/// than trusting an address handed over elsewhere. It may publish again while its lease
		/// runs (a restarted miner gets new ports); each time costs the usual fee. A slot that
		/// needs a dedicated public address publishes port 80 (and 22 for SSH) of one literal IP
		/// that no other running lease was published at.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::publish_access().saturating_add(Pallet::<T>::address_weight(1)))]
		pub fn publish_access(
			origin: OriginFor<T>,
			id: IndentureId,
			access: ServiceAccess,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_publish_access(who, id, access)
		}

		/// The escrow operator judges disputed results by the escrow's deadline: the miners
		/// that revealed `result` are paid their result share and recorded as successes; the
		/// other revealed results were wrong (failure records, no slash: a judgement is not an
		/// objective fault); `None` judges every revealed result wrong. Free when taken: it is
		/// the operator's duty, once per dispute.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::judge())]
		pub fn judge(
			origin: OriginFor<T>,
			id: IndentureId,
			result: Option<H256>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_judge(who, id, result)?;
			Ok(Pays::No.into())
		}
	}
}
