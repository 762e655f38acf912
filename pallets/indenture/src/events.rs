//! The pallet's events and errors, imported into the pallet module by `import_section`.

use frame_support::pallet_macros::pallet_section;

/// Events and errors of the Indenture pallet.
#[pallet_section]
mod events {
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
		/// Indenture `id`, the cheapest open entry of a full queue nobody had won a slot of,
		/// gave its place to `by`, which pays more: everything held was refunded.
		Evicted { id: IndentureId, by: IndentureId, refunded: BalanceOf<T> },
		/// The buyer withdrew indenture `id`; everything held was refunded.
		Cancelled { id: IndentureId, refunded: BalanceOf<T> },
		/// Indenture `id` was not awarded in time; everything held was refunded.
		Expired { id: IndentureId, refunded: BalanceOf<T> },
		/// Slot `slot` of indenture `id` went to `miner`, who answers heartbeats on `lease`.
		SlotAwarded { id: IndentureId, slot: u32, miner: T::AccountId, lease: LeaseId },
		/// Every slot of indenture `id` has a miner; it left the queue.
		Leased { id: IndentureId },
		/// `amount` was streamed to `miner` for its `round`-th proven heartbeat round (counted
		/// from 0), released `DisputeLag` proven rounds later.
		RoundPaid { id: IndentureId, miner: T::AccountId, round: u32, amount: BalanceOf<T> },
		/// The lease of slot `slot` ended.
		LeaseEnded { id: IndentureId, slot: u32, end: LeaseEnd },
		/// Batch indenture `id` waits for sealed results until `seal_until`.
		ResultsDue { id: IndentureId, seal_until: BlockNumberFor<T> },
		/// The miner of `slot` sealed its result.
		ResultSealed { id: IndentureId, slot: u32 },
		/// The miner of service `id`'s `slot` published where its workload answers.
		AccessPublished { id: IndentureId, slot: u32, access: ServiceAccess },
		/// The miner of `slot` revealed `result`.
		ResultRevealed { id: IndentureId, slot: u32, result: H256 },
		/// The results were counted: `result` won with `votes` of `slots` (none: no majority).
		ResultsConcluded { id: IndentureId, result: Option<H256>, votes: u32, slots: u32 },
		/// The replicas of `id` revealed different results (`(slot, result)` for each that
		/// revealed): nobody is blamed by count; the escrow operator judges by `deadline`.
		ResultsDisputed {
			id: IndentureId,
			results: alloc::vec::Vec<(u32, H256)>,
			deadline: BlockNumberFor<T>,
		},
		/// The buyer ended indenture `id`'s leases early; `refunded` (the unserved part and
		/// the fees on it) went back to it.
		Terminated { id: IndentureId, refunded: BalanceOf<T> },
		/// The buyer disputed indenture `id`'s leased work: its leases stopped, `withheld` (the
		/// pay of the rounds not yet released) awaits the escrow operator's decision by
		/// `deadline`.
		LeaseDisputed { id: IndentureId, withheld: BalanceOf<T>, deadline: BlockNumberFor<T> },
		/// The escrow operator judged `result` right (none: every revealed result wrong).
		Judged { id: IndentureId, result: Option<H256> },
		/// An indenture ended: the whitepaper's CIRecord.
		CiRecorded { record: CiRecordOf<T> },
		/// The buyer rated `miner`'s work on indenture `id` (1 worst to 5 best).
		Rated { id: IndentureId, miner: T::AccountId, rating: u8 },
		/// The agenda had no room for `deadline` near its block: it waits in the backlog, which
		/// the chain works through as its budget allows (its permissionless call remains).
		AgendaFull { deadline: Deadline },
		/// The award of slot `slot` to `miner` did not stand (the miner was no longer eligible
		/// or could not take the work): the slot is open again under `challenge`, or, past the
		/// award deadline (`None`), it stays empty and the indenture expires.
		SlotReopened {
			id: IndentureId,
			slot: u32,
			miner: T::AccountId,
			challenge: Option<ChallengeId>,
		},
		/// Slot `slot` of `id`, whose challenge was not won (nobody qualified, or the exchange
		/// failed), is open again under a fresh `challenge` of `kind`.
		SlotChallengeRenewed {
			id: IndentureId,
			slot: u32,
			challenge: ChallengeId,
			kind: ChallengeKind,
		},
		/// The exchange of `id` failed its duty on `challenge` (no modulus in time, an unfair
		/// one, or no audit): its fee went back to the buyer, part of its bond was slashed to
		/// the buyer, and the indenture's slots use hash-target challenges from now on.
		ExchangeFailed { id: IndentureId, exchange: T::AccountId, challenge: ChallengeId },
		/// Leased indenture `id` paid `paid` per compute unit; the market rate moved to `rate`.
		MarketRateMoved { id: IndentureId, paid: BalanceOf<T>, rate: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such indenture.
		UnknownIndenture,
		/// The task has no URI, an empty inline payload, or a container without a program.
		EmptyTask,
		/// The executor cannot run this kind of task: a Wasm module needs `Wasm`, an image
		/// `Container` or `MicroVm`.
		WrongExecutor,
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
		/// The buyer has `MaxOpenPerBuyer` indentures open already.
		TooManyOpen,
		/// The queue is full (and the offer does not pay enough more than the cheapest open
		/// entry nobody has won a slot of to take its place).
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
		/// The indenture is not leased (its work is not running).
		NotLeased,
		/// The indenture's results are not disputed.
		NotDisputed,
		/// No pay is withheld (no round proven yet): there is nothing to dispute; `terminate`
		/// stops the work.
		NothingWithheld,
		/// Only the indenture's escrow operator may do this.
		NotOperator,
		/// No miner of the indenture revealed this result.
		NotAResult,
		/// The rating window of this indenture has closed.
		RatingWindowClosed,
		/// The buyer cannot be its own exchange or escrow operator.
		SelfDealing,
		/// Only a service's workload is reached at an address of its own.
		NotService,
		/// The slot's lease has ended: its workload no longer runs.
		LeaseOver,
		/// An address is empty or not printable ASCII without spaces, or a host key is not an
		/// `ssh-ed25519 <base64>` line: clients print and pass these bytes, so nothing else is
		/// taken.
		BadAccess,
		/// A public address is for a service run from an image (a container or a microVM):
		/// a batch task and a Wasm service have no port to reach.
		NoAddressForTask,
		/// A slot that needs a dedicated public address publishes its service at port 80 and
		/// its SSH gateway at port 22 of one literal IP address.
		NotDedicated,
		/// Another running lease was published at this dedicated address.
		AddressTaken,
	}
}
