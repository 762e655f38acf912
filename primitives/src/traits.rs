//! What one pallet asks of another, and how it learns what happened.
//!
//! The runtime wires the pallets through these traits (Indenture implements the outcome
//! traits and [`Eligibility`]; Challenge, Escrow and RepChain implement the APIs). The
//! `()` implementations stand for a part a runtime or a test leaves out.

use crate::types::*;
use sp_core::H256;
use sp_runtime::{DispatchError, DispatchResult, Perbill, Permill, Weight};

/// What the opener of challenges and leases (Indenture) calls.
pub trait ChallengeApi<AccountId, BlockNumber> {
	/// Opens a challenge of `kind` for `context`, worth `work` compute units, accepting
	/// answers until `deadline`. Factorization needs the `issuer` who will post `C`; its
	/// commits carry a deposit sized by `stake.value` and forfeited to `stake.beneficiary`
	/// when they are not revealed.
	fn open(
		context: ContextId,
		kind: ChallengeKind,
		issuer: Option<AccountId>,
		work: u64,
		deadline: BlockNumber,
		stake: Stake<AccountId>,
	) -> Result<ChallengeId, DispatchError>;
	/// Withdraws a challenge nobody has won yet (the work was cancelled). No outcome is reported.
	fn cancel(id: ChallengeId) -> DispatchResult;
	/// Starts heartbeats for `miner`: `rounds` rounds every `period` blocks from `start`, each
	/// open for `window` blocks; more than `max_misses` misses fail the lease.
	fn start_lease(
		context: ContextId,
		miner: AccountId,
		start: BlockNumber,
		rounds: u32,
		period: u32,
		window: u32,
		max_misses: u32,
	) -> Result<LeaseId, DispatchError>;
	/// Ends a lease early, returning `(proven, missed)` so far. No outcome is reported.
	fn stop_lease(id: LeaseId) -> Result<(u32, u32), DispatchError>;
	/// Moves a challenge past its deadline, as the permissionless `conclude` call does.
	/// Returns whether it is still undecided: it waits for reveals of commits made in time.
	fn conclude(id: ChallengeId) -> bool;
	/// Counts a lease's rounds whose window closed unanswered, and ends a lease whose every
	/// round is resolved or that missed too many, as `report_missed` does.
	fn count_missed(lease: LeaseId) -> DispatchResult;
	/// The most one [`Self::conclude`] may weigh (deciding a challenge with every commit it
	/// can hold, and telling the opener).
	fn conclude_weight() -> Weight {
		Weight::zero()
	}
	/// The last block after a factorization challenge concludes in which its issuer may still
	/// reveal `p` (the audit window); `None` for kinds that are never audited.
	fn audit_until(id: ChallengeId) -> Option<BlockNumber>;
	/// Closes the audit of a concluded factorization challenge whose issuer never revealed `p`
	/// in its window, as the permissionless `report_unaudited` does (the issuer fails; the
	/// challenge leaves storage).
	fn close_audit(id: ChallengeId) -> DispatchResult;
	/// The most one [`Self::close_audit`] may weigh (telling the opener included).
	fn close_audit_weight() -> Weight {
		Weight::zero()
	}
}

/// Lets the pallet that opened challenges and leases learn how they end.
///
/// Implementations must not fail: the challenge's state has already changed when they are
/// called. The weight an implementation may use is bounded by [`Self::max_weight`], which the
/// Challenge pallet adds to the weight of every call that can trigger it.
pub trait ChallengeOutcome<AccountId> {
	/// `winner` won challenge `id` of `context`.
	fn awarded(context: ContextId, id: ChallengeId, winner: &AccountId);
	/// Nobody solved challenge `id` in time.
	fn expired(context: ContextId, id: ChallengeId);
	/// Challenge `id` was voided because `issuer` failed its duty (posting or auditing `C`).
	fn voided(context: ContextId, id: ChallengeId, issuer: &AccountId);
	/// `round` of `lease` was proven by the miner.
	fn heartbeat_proven(context: ContextId, lease: LeaseId, round: u32);
	/// `newly_missed` more rounds of `lease` were missed (`total` so far).
	fn heartbeats_missed(context: ContextId, lease: LeaseId, newly_missed: u32, total: u32);
	/// `lease` ended.
	fn lease_ended(
		context: ContextId,
		lease: LeaseId,
		outcome: LeaseOutcome,
		proven: u32,
		missed: u32,
	);
	/// The most weight any one of the functions above uses.
	fn max_weight() -> Weight {
		Weight::zero()
	}
	/// The most weight a challenge's decision causes here: [`Self::awarded`],
	/// [`Self::expired`] or [`Self::voided`]. Solving, revealing, concluding and auditing are
	/// charged this, not [`Self::max_weight`]: they never end a lease, whose settlement (every
	/// slot paid and recorded) is the heaviest outcome by far.
	fn decision_weight() -> Weight {
		Self::max_weight()
	}
	/// The most weight one heartbeat answer may cause here: [`Self::heartbeat_proven`] and
	/// [`Self::heartbeats_missed`] together. A heartbeat is charged this, not
	/// [`Self::max_weight`]: an answer never ends a lease ([`Self::lease_ended`] runs when the
	/// opener calls [`ChallengeApi::count_missed`] at the lease's end, or anyone reports).
	fn heartbeat_weight() -> Weight {
		Weight::zero()
	}
}

impl<AccountId> ChallengeOutcome<AccountId> for () {
	fn awarded(_: ContextId, _: ChallengeId, _: &AccountId) {}
	fn expired(_: ContextId, _: ChallengeId) {}
	fn voided(_: ContextId, _: ChallengeId, _: &AccountId) {}
	fn heartbeat_proven(_: ContextId, _: LeaseId, _: u32) {}
	fn heartbeats_missed(_: ContextId, _: LeaseId, _: u32, _: u32) {}
	fn lease_ended(_: ContextId, _: LeaseId, _: LeaseOutcome, _: u32, _: u32) {}
}

/// Decides who may compete for a challenge (for the marketplace: registered miners whose
/// reputation, resources and price floor fit the indenture, and who hold no other slot of it).
pub trait Eligibility<AccountId> {
	/// Whether `who` may commit to or solve challenge `challenge` of `context` (the
	/// challenge of one slot: a slot may ask more of its miner than its siblings do).
	fn may_compete(context: ContextId, challenge: ChallengeId, who: &AccountId) -> bool;
	/// How `who` ranks among the miners that qualified for challenge `challenge` of `context`
	/// (higher wins), or `None` if it may not compete (any more). Ties are broken by the
	/// Challenge pallet with a block hash nobody knew when the commits closed.
	fn rank(context: ContextId, challenge: ChallengeId, who: &AccountId) -> Option<u64> {
		Self::may_compete(context, challenge, who).then_some(0)
	}
	/// The most weight one `may_compete` or `rank` call uses (added to `commit`, `solve` and
	/// per commit to awarding).
	fn weight() -> Weight {
		Weight::zero()
	}
	/// The most a further `rank` of the same `context` uses, right after one: what the
	/// first read of the context is cached, so ranking a challenge's qualified miners costs
	/// one [`Self::weight`] and then this per miner.
	fn repeat_weight() -> Weight {
		Self::weight()
	}
	/// Benchmarks: make `who` eligible for `context`.
	#[cfg(feature = "runtime-benchmarks")]
	fn make_eligible(_context: ContextId, _who: &AccountId) {}
}

/// Anyone may compete: for runtimes and tests without a marketplace.
impl<AccountId> Eligibility<AccountId> for () {
	fn may_compete(_: ContextId, _: ChallengeId, _: &AccountId) -> bool {
		true
	}
}

/// What the opener (Indenture) asks of the escrow.
pub trait EscrowApi<AccountId, Balance, BlockNumber> {
	/// Holds `incentive + exchange_fee + escrow_fee` from `buyer` for `id`.
	fn open(
		id: EscrowId,
		buyer: &AccountId,
		exchange: &AccountId,
		operator: &AccountId,
		incentive: Balance,
		exchange_fee: Balance,
		escrow_fee: Balance,
	) -> DispatchResult;
	/// Streams `amount` of the incentive to `miner` now.
	fn pay(id: EscrowId, miner: &AccountId, amount: Balance) -> DispatchResult;
	/// Opens the acceptance window until `until` for `payouts`.
	fn await_acceptance(
		id: EscrowId,
		payouts: alloc::vec::Vec<(AccountId, Balance)>,
		until: BlockNumber,
	) -> DispatchResult;
	/// Pays `payouts`, `fee_share` of both fees, refunds the rest and closes the escrow.
	fn settle(
		id: EscrowId,
		payouts: &[(AccountId, Balance)],
		fee_share: Perbill,
	) -> Result<Settlement<AccountId, Balance>, DispatchError>;
	/// What is held for `id` (zero when there is no such escrow).
	fn held(id: EscrowId) -> Balance;
	/// The last block the operator may decide disputed escrow `id` in; `None` when it is not
	/// disputed.
	fn dispute_deadline(id: EscrowId) -> Option<BlockNumber>;
	/// The exchange failed its duty: its fee is returned to the buyer now and it gets nothing
	/// at settlement. Returns what was returned (zero if there was no fee or no escrow).
	fn waive_exchange_fee(id: EscrowId) -> Balance;
	/// Work ended after `share` of it was served (rounds proven of all rounds): both fees are
	/// cut to `share` of themselves, the rest returned to the buyer now. Returns what was
	/// returned (zero if there was no escrow).
	fn scale_fees(id: EscrowId, share: Perbill) -> Balance;
	/// Settles a result whose acceptance window has passed undisputed, as anyone's `accept`
	/// call after the window does.
	fn accept_expired(id: EscrowId) -> DispatchResult;
	/// Puts an active escrow in front of its operator at once (replicas disagreed, or the buyer
	/// disputed its leased work): `payouts`
	/// are the most each miner can be paid. Returns the last block the operator may decide in;
	/// after it the default rule applies (`resolve_default`).
	fn dispute_results(
		id: EscrowId,
		payouts: alloc::vec::Vec<(AccountId, Balance)>,
	) -> Result<BlockNumber, DispatchError>;
	/// Applies the default rule to a dispute its operator left past its deadline, as anyone's
	/// `resolve_default` call does.
	fn resolve_expired(id: EscrowId) -> DispatchResult;
	/// The operator `who` decides a disputed escrow in time: `payouts` (each at most what was
	/// outstanding for its miner) are paid, both fees too, the rest is refunded, the escrow
	/// closes and the operator's timely resolution is recorded (`dispute_resolved`).
	fn resolve_with(
		id: EscrowId,
		who: &AccountId,
		payouts: &[(AccountId, Balance)],
	) -> Result<Settlement<AccountId, Balance>, DispatchError>;
}

/// Tells the opener how a dispute ended and when an escrow was settled through a call of the
/// Escrow pallet (acceptance or dispute).
pub trait EscrowOutcome<AccountId, Balance> {
	/// The dispute of `id` was resolved by `operator` in time (`true`) or by default (`false`).
	fn dispute_resolved(id: EscrowId, operator: &AccountId, in_time: bool);
	/// Escrow `id` was settled after acceptance or a dispute, as `settlement` says.
	fn settled(id: EscrowId, settlement: &Settlement<AccountId, Balance>);
	/// The most weight one call of the functions above uses (added to the calls' weights).
	fn max_weight() -> Weight {
		Weight::zero()
	}
}

impl<AccountId, Balance> EscrowOutcome<AccountId, Balance> for () {
	fn dispute_resolved(_: EscrowId, _: &AccountId, _: bool) {}
	fn settled(_: EscrowId, _: &Settlement<AccountId, Balance>) {}
}

/// What other pallets (Indenture) ask of the registry (RepChain).
pub trait Registry<AccountId, Balance> {
	/// What a miner offers, if it is registered, not leaving, and bonded at least the
	/// minimum (a slashed miner tops up before it is offered work again).
	fn miner(who: &AccountId) -> Option<MinerOffer<Balance>>;
	/// An exchange's or escrow operator's fee, if it is registered in `role` and not leaving.
	fn service_fee(who: &AccountId, role: Role) -> Option<Permill>;
	/// Notes that `who` starts a piece of work in `role`; it cannot unregister until it ends.
	fn begin_work(who: &AccountId, role: Role) -> DispatchResult;
	/// Notes that a piece of work of `who` in `role` ended.
	fn end_work(who: &AccountId, role: Role);
	/// Where a registered miner is reached.
	fn miner_endpoint(who: &AccountId) -> Option<Endpoint>;
	/// Funds and registers `who` in `role` with a minimal bond; a miner declares resources
	/// that cover any request and no price floor.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(who: &AccountId, role: Role);
}

/// Nobody is registered: every lookup fails, so no work can be offered or taken.
impl<AccountId, Balance> Registry<AccountId, Balance> for () {
	fn miner(_: &AccountId) -> Option<MinerOffer<Balance>> {
		None
	}
	fn service_fee(_: &AccountId, _: Role) -> Option<Permill> {
		None
	}
	fn begin_work(_: &AccountId, _: Role) -> DispatchResult {
		Err(DispatchError::Other("no registry"))
	}
	fn end_work(_: &AccountId, _: Role) {}
	fn miner_endpoint(_: &AccountId) -> Option<Endpoint> {
		None
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(_: &AccountId, _: Role) {}
}

/// What other pallets use to build reputations (RepChain).
pub trait ReputationApi<AccountId, Balance, BlockNumber> {
	/// Appends `record` to its subject's history and returns the new history root. A failure
	/// with `harmed = (who, cap)` slashes part of the subject's bond in the record's role to
	/// `who`, never more than `cap` (what the failure cost `who`).
	fn append(
		record: WorkRecord<AccountId, Balance, BlockNumber>,
		harmed: Option<(&AccountId, Balance)>,
	) -> H256;
	/// The subject's current score.
	fn score(who: &AccountId) -> Permill;
}

/// No history is kept: every subject has the neutral score of a newcomer (one half).
impl<AccountId, Balance, BlockNumber> ReputationApi<AccountId, Balance, BlockNumber> for () {
	fn append(
		_: WorkRecord<AccountId, Balance, BlockNumber>,
		_: Option<(&AccountId, Balance)>,
	) -> H256 {
		H256::zero()
	}
	fn score(_: &AccountId) -> Permill {
		Permill::from_percent(50)
	}
}
