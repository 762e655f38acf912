//! # Bridge pallet
//!
//! CU on this chain mirrors the CuToken ERC20 on Ethereum, 1:1 with 18 decimals on both sides.
//!
//! ## Overview
//!
//! - **Inbound**: relayers attest each `Deposited` event of the `CuBridgeVault`
//!   ([`Pallet::relay`], or one at a time with [`Pallet::attest_deposit`]). Each relayer votes
//!   once per (vault, nonce) for the deposit's hash; when `threshold` *current* members agree
//!   on one hash the recipient is credited (or the deposit is delayed, see below). A deposit
//!   names its vault and only the current vault's deposits are taken; a processed
//!   (vault, nonce) is remembered forever and never mints again, whatever vault root names
//!   later.
//! - **Outbound**: [`Pallet::withdraw`] burns at once and emits `WithdrawalRequested`; each
//!   relayer posts its EIP-712 signature ([`Pallet::relay`] or [`Pallet::sign_withdrawal`]),
//!   checked here against its registered Ethereum address, so anyone can take `threshold` of
//!   them to the vault's `release`. Only bridged CU may leave: a withdrawal never takes the
//!   burned total above the minted one. One not released `RefundAfter` blocks later may be
//!   refunded ([`Pallet::request_refund`]): the relayers sign a refund instead, the vault voids
//!   the withdrawal (it pays each nonce once: release or refund) and emits a deposit of its
//!   amount to the owner, which mints here like any other. A burned withdrawal is always
//!   either released or refunded.
//!
//! ## Terms
//!
//! - **Relayer set**: members (account + Ethereum address) and a threshold `T` with
//!   `⌈2N/3⌉ ≤ T ≤ N`; changed only by root, each change a new set id.
//! - **Bridged supply**: minted − burned by this pallet; never more than the vault holds.
//! - **Mint window**: the last `MintPeriod` blocks, kept as `MintBuckets` buckets; the
//!   window's buckets together never hold more than `MintCap` (a sliding window: no burst of
//!   two caps across a boundary). Deposits mint at once while the window's undelayed mints
//!   stay below `LargeDeposit` (one large deposit, or many small ones: splitting does not skip
//!   the delay); the others wait `LargeDepositDelay` blocks, during which root may cancel
//!   them, and then mint in arrival order as the cap allows, by themselves (`on_initialize`,
//!   at most `MaxDueMints` a block).
//!
//! ## Design
//!
//! - A conflicting vote (another payload for a nonce that already has votes) is recorded for
//!   its own payload and raises `ConflictingAttestation`: one faulty relayer cannot block the
//!   honest ones, and because `2T > N` two payloads can never both reach the threshold.
//! - Votes of relayers removed from the set stop counting; the tally only counts current
//!   members.
//! - Pauses are separate for inbound and outbound, so an incident on one side does not freeze
//!   the other.
//! - Relaying costs members nothing: [`Pallet::relay`] carries up to `MaxAttestations` votes
//!   and `MaxSignatures` signatures, is free (`feeless_if`) for a current member's first call in
//!   a block, and every member's account exists by membership (a provider reference), so a
//!   relayer holding 0 CU can relay the bridge's first deposit. The per-call bounds are sized
//!   so a full call fits a block whatever the backlog; attestations and signatures have
//!   separate bounds, so deposits never wait behind withdrawals. One member, even compromised,
//!   gets one free call a block (the [`PrioritizeRelay`] transaction extension puts that call
//!   first in the pool, one per member, and refuses relays that are not free before anyone
//!   pays; the runtime keeps every other transaction's priority below it), and its votes only
//!   count for nonces inside `VoteWindow`
//!   above the highest processed one, which bounds the votes it can store; a vote's entries
//!   are cleared when its nonce is processed.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

/// Where this pallet logs.
pub const LOG_TARGET: &str = "runtime::bridge";
pub use extension::PrioritizeRelay;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod extension;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::{
	pallet_prelude::*,
	storage::with_storage_layer,
	traits::{
		fungible::{Inspect, Mutate},
		tokens::{Fortitude, Precision, Preservation},
	},
};
use frame_system::pallet_prelude::*;
use sp_core::{H160, H256};
use sp_runtime::traits::{Saturating, Zero};

/// Balance type of CU.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A deposit as attested.
pub type DepositOf<T> = Deposit<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
/// The relayer set as stored.
pub type RelayerSetOf<T> =
	RelayerSet<<T as frame_system::Config>::AccountId, <T as Config>::MaxRelayers>;
/// A withdrawal as stored.
pub type WithdrawalOf<T> = Withdrawal<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxRelayers,
>;
/// A delayed deposit as stored.
pub type DelayedOf<T> =
	Delayed<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// CU.
		type Currency: Mutate<Self::AccountId, Balance = u128>;
		/// Weights of the calls.
		type WeightInfo: WeightInfo;
		/// Most relayers in a set.
		#[pallet::constant]
		type MaxRelayers: Get<u32>;
		/// Length of the sliding mint window, in blocks (a multiple of `MintBuckets`).
		#[pallet::constant]
		type MintPeriod: Get<BlockNumberFor<Self>>;
		/// Buckets the mint window is kept in: the cap holds over any `MintBuckets`
		/// consecutive buckets, so over any `MintPeriod · (MintBuckets − 1) / MintBuckets`
		/// blocks.
		#[pallet::constant]
		type MintBuckets: Get<u32>;
		/// Most CU minted in the window.
		#[pallet::constant]
		type MintCap: Get<BalanceOf<Self>>;
		/// A deposit that would take the window's undelayed mints to this or more waits
		/// `LargeDepositDelay` blocks.
		#[pallet::constant]
		type LargeDeposit: Get<BalanceOf<Self>>;
		/// How long a large deposit waits (root may cancel it meanwhile), until root sets
		/// another delay ([`Pallet::set_delays`]).
		#[pallet::constant]
		type LargeDepositDelay: Get<BlockNumberFor<Self>>;
		/// Smallest deposit or withdrawal (at least the existential deposit, so no dust).
		#[pallet::constant]
		type MinTransfer: Get<BalanceOf<Self>>;
		/// Most attestations in one [`Pallet::relay`].
		#[pallet::constant]
		type MaxAttestations: Get<u32>;
		/// Most withdrawal signatures in one [`Pallet::relay`].
		#[pallet::constant]
		type MaxSignatures: Get<u32>;
		/// Votes are taken only for deposit nonces below the highest processed one plus this.
		#[pallet::constant]
		type VoteWindow: Get<DepositNonce>;
		/// Most delayed deposits one block mints by itself.
		#[pallet::constant]
		type MaxDueMints: Get<u32>;
		/// Largest withdrawal: at most the vault's daily release cap, so that the vault can
		/// always release it.
		#[pallet::constant]
		type MaxWithdrawal: Get<BalanceOf<Self>>;
		/// How long after its request a withdrawal's owner may ask for a refund instead, until
		/// root sets another delay ([`Pallet::set_delays`]).
		#[pallet::constant]
		type RefundAfter: Get<BlockNumberFor<Self>>;
	}

	/// The current relayer set.
	#[pallet::storage]
	pub type Relayers<T: Config> = StorageValue<_, RelayerSetOf<T>, OptionQuery>;

	/// Where the vault lives (set by root once it is deployed).
	#[pallet::storage]
	pub type Vault<T: Config> = StorageValue<_, VaultInfo, OptionQuery>;

	/// Votes for a deposit of a vault: who voted for which payload hash.
	#[pallet::storage]
	pub type Votes<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(VaultInfo, DepositNonce),
		Blake2_128Concat,
		T::AccountId,
		H256,
		OptionQuery,
	>;

	/// Deposits (vault, nonce) already minted, delayed or cancelled: never minted again.
	#[pallet::storage]
	pub type Processed<T: Config> =
		StorageMap<_, Twox64Concat, (VaultInfo, DepositNonce), (), OptionQuery>;

	/// Deposits that met their threshold but wait, by their place in the queue.
	#[pallet::storage]
	pub type DelayedDeposits<T: Config> =
		StorageMap<_, Twox64Concat, DelayedId, DelayedOf<T>, OptionQuery>;

	/// `(head, next)` of the delay queue: ids below `head` are minted or cancelled, `next` is
	/// the id the next delayed deposit gets. All wait the same delay, so the queue is in
	/// `not_before` order.
	#[pallet::storage]
	pub type DelayQueue<T: Config> = StorageValue<_, (DelayedId, DelayedId), ValueQuery>;

	/// The mint window's buckets, oldest first (older ones are dropped as they leave it).
	#[pallet::storage]
	pub type MintWindow<T: Config> =
		StorageValue<_, BoundedVec<MintBucket<BlockNumberFor<T>>, T::MintBuckets>, ValueQuery>;

	/// Total minted by the bridge.
	#[pallet::storage]
	pub type TotalMinted<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Total burned by the bridge.
	#[pallet::storage]
	pub type TotalBurned<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// The nonce the next withdrawal gets.
	#[pallet::storage]
	pub type NextWithdrawal<T: Config> = StorageValue<_, WithdrawalNonce, ValueQuery>;

	/// Withdrawals and the relayers' signatures for them.
	#[pallet::storage]
	pub type Withdrawals<T: Config> =
		StorageMap<_, Twox64Concat, WithdrawalNonce, WithdrawalOf<T>, OptionQuery>;

	/// Per vault, one above its highest processed deposit nonce: votes are taken below this
	/// plus `VoteWindow`.
	#[pallet::storage]
	pub type NonceFloor<T: Config> =
		StorageMap<_, Twox64Concat, VaultInfo, DepositNonce, ValueQuery>;

	/// The block in which each current member last relayed (cleared when the set changes).
	#[pallet::storage]
	pub type LastRelay<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, BlockNumberFor<T>, OptionQuery>;

	/// Accounts this pallet holds a provider reference for (members, and leavers whose
	/// reference could not be given back): one reference per account, never two.
	#[pallet::storage]
	pub type ProviderHeld<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, (), OptionQuery>;

	/// Withdrawals whose refund was asked for and has not minted yet: relayers read these keys
	/// to find refunds to sign however old the withdrawal (they scan only recent withdrawals
	/// otherwise). An entry leaves when its refund deposit reaches the threshold.
	#[pallet::storage]
	pub type PendingRefunds<T: Config> =
		StorageMap<_, Twox64Concat, WithdrawalNonce, (), OptionQuery>;

	/// `(large deposit delay, refund after)` set by root, in place of the configured ones.
	#[pallet::storage]
	pub type Delays<T: Config> =
		StorageValue<_, (BlockNumberFor<T>, BlockNumberFor<T>), OptionQuery>;

	/// Inbound (minting) paused.
	#[pallet::storage]
	pub type InboundPaused<T: Config> = StorageValue<_, bool, ValueQuery>;

	/// Outbound (withdrawals and their signatures) paused.
	#[pallet::storage]
	pub type OutboundPaused<T: Config> = StorageValue<_, bool, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Initial relayers: account and Ethereum address.
		pub relayers: alloc::vec::Vec<(T::AccountId, H160)>,
		/// Initial threshold.
		pub threshold: u32,
		/// The vault, if already known: `(chain id, address)`.
		pub vault: Option<(u64, H160)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if !self.relayers.is_empty() {
				let set = Pallet::<T>::validated_set(0, self.relayers.clone(), self.threshold)
					.expect("genesis relayer set is valid");
				Pallet::<T>::install(set);
			}
			if let Some((chain_id, vault)) = self.vault {
				Vault::<T>::put(VaultInfo { chain_id, vault });
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	#[allow(missing_docs)]
	pub enum Event<T: Config> {
		/// Root installed relayer set `id`.
		RelayersChanged { id: u32, members: u32, threshold: u32 },
		/// Root set the vault.
		VaultSet { vault: VaultInfo },
		/// `relayer` voted for payload `hash` of deposit `nonce`; `votes` current members agree.
		Attested { nonce: DepositNonce, relayer: T::AccountId, hash: H256, votes: u32 },
		/// `relayer` voted for `hash` while `other` already had votes for the same nonce.
		ConflictingAttestation {
			nonce: DepositNonce,
			relayer: T::AccountId,
			hash: H256,
			other: H256,
		},
		/// Deposit `nonce` credited `amount` to `recipient`.
		Minted { nonce: DepositNonce, recipient: T::AccountId, amount: BalanceOf<T> },
		/// Deposit `nonce` met its threshold but waits, as delayed deposit `id`, until
		/// `not_before` (and then for room under the cap).
		DepositDelayed {
			id: DelayedId,
			nonce: DepositNonce,
			amount: BalanceOf<T>,
			not_before: BlockNumberFor<T>,
		},
		/// Root cancelled delayed deposit `id` (vault nonce `nonce`); its tokens go back to the
		/// depositor through withdrawal `refund` (signed by the relayers like any other,
		/// nothing burned here).
		DepositCancelled { id: DelayedId, nonce: DepositNonce, refund: WithdrawalNonce, to: H160 },
		/// Delayed deposit `id` could not be minted by the block (`error`); it stays for
		/// `mint_delayed` or root's `cancel_delayed`.
		DelayedMintFailed { id: DelayedId, error: DispatchError },
		/// Withdrawal `nonce`, requested under an older relayer set, is being signed again by
		/// set `set_id` (the vault only takes the current set's signatures).
		WithdrawalResigned { nonce: WithdrawalNonce, set_id: u32 },
		/// `who` asked for withdrawal `nonce` back: set `set_id` now signs its refund.
		RefundRequested { nonce: WithdrawalNonce, who: T::AccountId, set_id: u32 },
		/// Root set the delays: deposits that wait wait `large_deposit`, refunds may be asked
		/// for `refund_after` blocks after a withdrawal.
		DelaysChanged { large_deposit: BlockNumberFor<T>, refund_after: BlockNumberFor<T> },
		/// `who` burned `amount` to be released to `to` on Ethereum.
		WithdrawalRequested {
			nonce: WithdrawalNonce,
			who: T::AccountId,
			to: H160,
			amount: BalanceOf<T>,
			set_id: u32,
		},
		/// `relayer` (Ethereum address `signer`) signed withdrawal `nonce`; `signatures` so far.
		WithdrawalSigned { nonce: WithdrawalNonce, signer: H160, signatures: u32 },
		/// Root changed the pauses.
		PauseChanged { inbound: bool, outbound: bool },
		/// `relayer`'s `relay` call: `accepted` votes and signatures counted, `late` ones
		/// needed no more (processed, already voted or signed), `rejected` ones refused (each
		/// with a `VoteRejected`).
		Relayed { relayer: T::AccountId, accepted: u32, late: u32, rejected: u32 },
		/// Item `index` of `relayer`'s `relay` call (attestations first, then signatures) was
		/// refused with `error`; the other items stand.
		VoteRejected { relayer: T::AccountId, index: u32, error: DispatchError },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// Relayer sets need at least one member, unique accounts and Ethereum addresses, no
		/// zero address.
		BadRelayerSet,
		/// The threshold must be between ⌈2N/3⌉ and N.
		BadThreshold,
		/// Only a member of the current relayer set may do this.
		NotRelayer,
		/// No relayer set is installed.
		NoRelayers,
		/// This relayer already voted on this nonce.
		AlreadyVoted,
		/// This deposit nonce was already processed.
		AlreadyProcessed,
		/// The amount is zero, below `MinTransfer` (dust) or too large.
		BadAmount,
		/// The recipient is the zero account or address.
		BadRecipient,
		/// Inbound transfers are paused.
		InboundPaused,
		/// Outbound transfers are paused.
		OutboundPaused,
		/// Not enough free balance to burn.
		InsufficientBalance,
		/// No such withdrawal.
		UnknownWithdrawal,
		/// The signature does not recover to the relayer's Ethereum address.
		BadSignature,
		/// This relayer already signed this withdrawal.
		AlreadySigned,
		/// The vault is not configured yet.
		NoVault,
		/// No such delayed deposit.
		UnknownDeposit,
		/// The delay or the period's cap has not passed yet.
		TooEarly,
		/// Only CU that came through the bridge may leave through it: this withdrawal would
		/// burn more than was ever minted.
		ExceedsBridgedSupply,
		/// The deposit nonce is beyond the vote window above the highest processed nonce.
		OutsideVoteWindow,
		/// This member already relayed in this block.
		AlreadyRelayed,
		/// A `relay` call with nothing in it.
		EmptyRelay,
		/// The deposit names another vault than the one the chain takes deposits from.
		WrongVault,
		/// Above `MaxWithdrawal`: the vault's daily cap could never release it.
		AboveVaultCap,
		/// Only the withdrawal's owner may ask for a refund.
		NotOwner,
		/// This withdrawal burned nothing (a cancelled deposit's refund): it is not refunded
		/// here.
		NotRefundable,
		/// A refund of this withdrawal was asked for already.
		RefundRequested,
		/// This withdrawal was refunded.
		Refunded,
		/// A refund deposit that matches no refund the chain asked for (withdrawal, vault,
		/// owner, amount), or a deposit from the vault itself that names none.
		BadRefund,
		/// A refund deposit cannot be cancelled: its owner's CU would be lost.
		RefundCannotBeCancelled,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(_n: BlockNumberFor<T>) -> Weight {
			T::WeightInfo::mint_due(Self::mint_due(T::MaxDueMints::get()))
		}

		fn integrity_test() {
			assert!(T::MaxRelayers::get() > 0);
			let buckets: BlockNumberFor<T> = T::MintBuckets::get().into();
			assert!(T::MintBuckets::get() >= 2, "a sliding window needs two buckets");
			assert!(
				!T::MintPeriod::get().is_zero() && (T::MintPeriod::get() % buckets).is_zero(),
				"the mint window is a whole number of buckets"
			);
			assert!(
				T::LargeDeposit::get() <= T::MintCap::get(),
				"a large deposit must fit the window"
			);
			assert!(
				T::MaxWithdrawal::get().saturating_add(T::LargeDeposit::get()) <= T::MintCap::get(),
				"a refund must find room under the cap beside the window's undelayed mints"
			);
			assert!(!T::MinTransfer::get().is_zero());
			assert!(T::VoteWindow::get() > 0);
			assert!(T::MaxAttestations::get() > 0 && T::MaxSignatures::get() > 0);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Root installs a new relayer set (new set id). Votes of removed members stop counting;
		/// withdrawals already requested keep the set they were signed for.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::set_relayers(T::MaxRelayers::get()))]
		pub fn set_relayers(
			origin: OriginFor<T>,
			members: alloc::vec::Vec<(T::AccountId, H160)>,
			threshold: u32,
		) -> DispatchResult {
			ensure_root(origin)?;
			let id = Relayers::<T>::get().map(|s| s.id.saturating_add(1)).unwrap_or(1);
			let set = Self::validated_set(id, members, threshold)?;
			Self::deposit_event(Event::RelayersChanged {
				id,
				members: set.members.len() as u32,
				threshold,
			});
			Self::install(set);
			Ok(())
		}

		/// A relayer attests one vault deposit. Paid like any call: the free way to relay is
		/// [`Pallet::relay`], once per member and block.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::attest_deposit(T::MaxRelayers::get()))]
		pub fn attest_deposit(
			origin: OriginFor<T>,
			deposit: DepositOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let set = Relayers::<T>::get().ok_or(Error::<T>::NoRelayers)?;
			ensure!(set.contains(&who), Error::<T>::NotRelayer);
			let votes = Self::do_attest(&who, &set, deposit)?;
			Ok(Some(T::WeightInfo::attest_deposit(votes)).into())
		}

		/// Burns `amount` of the caller's CU (keeping its account alive) and requests its
		/// release to `to` on Ethereum.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>, to: H160, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!OutboundPaused::<T>::get(), Error::<T>::OutboundPaused);
			ensure!(to != H160::zero(), Error::<T>::BadRecipient);
			Self::check_amount(amount)?;
			ensure!(amount <= T::MaxWithdrawal::get(), Error::<T>::AboveVaultCap);
			let set = Relayers::<T>::get().ok_or(Error::<T>::NoRelayers)?;
			let vault = Vault::<T>::get().ok_or(Error::<T>::NoVault)?;
			// Genesis (development) CU is not backed by the vault: burning it would release
			// tokens other users deposited.
			let burned = TotalBurned::<T>::get().saturating_add(amount);
			ensure!(burned <= TotalMinted::<T>::get(), Error::<T>::ExceedsBridgedSupply);
			T::Currency::burn_from(
				&who,
				amount,
				Preservation::Preserve,
				Precision::Exact,
				Fortitude::Polite,
			)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
			TotalBurned::<T>::put(burned);
			Self::request_withdrawal(who, to, amount, &set, vault, true);
			Ok(())
		}

		/// A relayer posts its EIP-712 signature of withdrawal `nonce`
		/// ([`withdrawal_digest`]); it must recover to the relayer's Ethereum address. Paid like
		/// any call: the free way is [`Pallet::relay`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::sign_withdrawal(T::MaxRelayers::get()))]
		pub fn sign_withdrawal(
			origin: OriginFor<T>,
			nonce: WithdrawalNonce,
			signature: EthSignature,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let set = Relayers::<T>::get().ok_or(Error::<T>::NoRelayers)?;
			let eth = set.eth_address(&who).ok_or(Error::<T>::NotRelayer)?;
			let signatures = Self::do_sign(eth, &set, nonce, signature)?;
			Ok(Some(T::WeightInfo::sign_withdrawal(signatures)).into())
		}

		/// Root pauses or resumes each direction.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_paused())]
		pub fn set_paused(origin: OriginFor<T>, inbound: bool, outbound: bool) -> DispatchResult {
			ensure_root(origin)?;
			InboundPaused::<T>::put(inbound);
			OutboundPaused::<T>::put(outbound);
			Self::deposit_event(Event::PauseChanged { inbound, outbound });
			Ok(())
		}

		/// Root records where the vault is deployed.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_vault())]
		pub fn set_vault(origin: OriginFor<T>, vault: VaultInfo) -> DispatchResult {
			ensure_root(origin)?;
			ensure!(vault.vault != H160::zero(), Error::<T>::BadRecipient);
			Vault::<T>::put(vault);
			Self::deposit_event(Event::VaultSet { vault });
			Ok(())
		}

		/// Anyone mints delayed deposit `id` once its time has come and the cap allows, out
		/// of queue order (blocks mint the queue's head by themselves).
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::mint_delayed())]
		pub fn mint_delayed(origin: OriginFor<T>, id: DelayedId) -> DispatchResult {
			ensure_signed(origin)?;
			ensure!(!InboundPaused::<T>::get(), Error::<T>::InboundPaused);
			let d = DelayedDeposits::<T>::get(id).ok_or(Error::<T>::UnknownDeposit)?;
			ensure!(Self::is_due(&d), Error::<T>::TooEarly);
			// Out of order only with room left for the queue's head: minting small ones by
			// hand must not keep a large one waiting forever.
			let (head, _) = DelayQueue::<T>::get();
			if id != head {
				let reserved = DelayedDeposits::<T>::get(head).map_or(0, |h| h.deposit.amount);
				ensure!(
					d.deposit.amount.saturating_add(reserved) <= Self::cap_room(),
					Error::<T>::TooEarly
				);
			}
			DelayedDeposits::<T>::remove(id);
			Self::mint(d.deposit, false)
		}

		/// Root cancels a delayed deposit (it stays processed: it can never mint) and refunds
		/// it on Ethereum: a withdrawal of its amount to its depositor, which the relayers sign
		/// and anyone releases from the vault. Nothing was minted for it, so nothing is burned:
		/// the vault gives back tokens it holds beyond the bridged supply.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::cancel_delayed())]
		pub fn cancel_delayed(origin: OriginFor<T>, id: DelayedId) -> DispatchResult {
			ensure_root(origin)?;
			let d = DelayedDeposits::<T>::get(id).ok_or(Error::<T>::UnknownDeposit)?;
			// A refund's tokens left nobody's wallet: cancelling it would send them to the
			// vault itself and burn its owner's CU for good.
			ensure!(d.deposit.refund_of.is_none(), Error::<T>::RefundCannotBeCancelled);
			let set = Relayers::<T>::get().ok_or(Error::<T>::NoRelayers)?;
			DelayedDeposits::<T>::remove(id);
			let (to, nonce) = (d.deposit.from, d.deposit.nonce);
			let refund = Self::request_withdrawal(
				d.deposit.recipient,
				to,
				d.deposit.amount,
				&set,
				d.deposit.vault,
				false,
			);
			Self::deposit_event(Event::DepositCancelled { id, nonce, refund, to });
			Ok(())
		}

		/// The owner of withdrawal `nonce`, not released `RefundAfter` blocks after its
		/// request, asks for it back: from now on the relayers sign its refund
		/// ([`refund_digest`]), which anyone takes to the vault's `refund`; the vault voids the
		/// withdrawal, unless it was released meanwhile, and emits a deposit of its amount to
		/// the owner, which mints here like any other deposit.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::request_refund())]
		pub fn request_refund(origin: OriginFor<T>, nonce: WithdrawalNonce) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut w = Withdrawals::<T>::get(nonce).ok_or(Error::<T>::UnknownWithdrawal)?;
			ensure!(w.who == who, Error::<T>::NotOwner);
			ensure!(w.refundable, Error::<T>::NotRefundable);
			ensure!(w.payout == Payout::Release, Error::<T>::RefundRequested);
			ensure!(Vault::<T>::get() == Some(w.vault), Error::<T>::WrongVault);
			ensure!(
				frame_system::Pallet::<T>::block_number()
					>= w.requested_at.saturating_add(Self::delays().1),
				Error::<T>::TooEarly
			);
			let set = Relayers::<T>::get().ok_or(Error::<T>::NoRelayers)?;
			w.payout = Payout::Refund;
			w.set_id = set.id;
			w.signatures = BoundedVec::new();
			Withdrawals::<T>::insert(nonce, w);
			PendingRefunds::<T>::insert(nonce, ());
			Self::deposit_event(Event::RefundRequested { nonce, who, set_id: set.id });
			Ok(())
		}

		/// Root sets how long deposits that wait wait, and how long after its request a
		/// withdrawal may be refunded (in place of `LargeDepositDelay` and `RefundAfter`).
		/// Deposits already waiting keep their time.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::set_delays())]
		pub fn set_delays(
			origin: OriginFor<T>,
			large_deposit: BlockNumberFor<T>,
			refund_after: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure_root(origin)?;
			Delays::<T>::put((large_deposit, refund_after));
			Self::deposit_event(Event::DelaysChanged { large_deposit, refund_after });
			Ok(())
		}

		/// A relayer's work of a cycle in one call: deposit attestations and withdrawal
		/// signatures. Free for a current member's first `relay` in a block (others pay, and a
		/// member's second one in a block fails with `AlreadyRelayed`). Each item stands alone:
		/// one that is no longer needed counts as late, one that fails raises `VoteRejected`
		/// and the rest go on.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::relay(attestations.len() as u32, signatures.len() as u32))]
		#[pallet::feeless_if(|origin: &OriginFor<T>,
			attestations: &BoundedVec<DepositOf<T>, T::MaxAttestations>,
			signatures: &BoundedVec<(WithdrawalNonce, EthSignature), T::MaxSignatures>| -> bool {
			Pallet::<T>::relays_free(origin, attestations.len().saturating_add(signatures.len()))
		})]
		pub fn relay(
			origin: OriginFor<T>,
			attestations: BoundedVec<DepositOf<T>, T::MaxAttestations>,
			signatures: BoundedVec<(WithdrawalNonce, EthSignature), T::MaxSignatures>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			ensure!(!attestations.is_empty() || !signatures.is_empty(), Error::<T>::EmptyRelay);
			let set = Relayers::<T>::get().ok_or(Error::<T>::NoRelayers)?;
			let eth = set.eth_address(&who).ok_or(Error::<T>::NotRelayer)?;
			ensure!(!Self::relayed_this_block(&who), Error::<T>::AlreadyRelayed);
			LastRelay::<T>::insert(&who, frame_system::Pallet::<T>::block_number());

			let (mut late, mut rejected) = (0u32, 0u32);
			// Taken items are charged at their worst case (the benchmark), the others as a
			// single-vote item: junk does not weigh as much as real work.
			let (mut taken_attestations, mut taken_signatures) = (0u32, 0u32);
			let (offset, total) = (attestations.len(), attestations.len() + signatures.len());
			let mut judge = |index: usize, result: DispatchResult| match result {
				Ok(()) if index < offset => {
					taken_attestations = taken_attestations.saturating_add(1)
				},
				Ok(()) => taken_signatures = taken_signatures.saturating_add(1),
				Err(e) if Self::is_late(&e) => late = late.saturating_add(1),
				Err(error) => {
					rejected = rejected.saturating_add(1);
					Self::deposit_event(Event::VoteRejected {
						relayer: who.clone(),
						index: index as u32,
						error,
					});
				},
			};
			// Each item in its own storage layer: a failing one leaves no trace.
			for (i, deposit) in attestations.into_iter().enumerate() {
				judge(i, with_storage_layer(|| Self::do_attest(&who, &set, deposit).map(|_| ())));
			}
			for (i, (nonce, signature)) in signatures.into_iter().enumerate() {
				judge(
					offset.saturating_add(i),
					with_storage_layer(|| Self::do_sign(eth, &set, nonce, signature).map(|_| ())),
				);
			}
			let accepted = taken_attestations.saturating_add(taken_signatures);
			Self::deposit_event(Event::Relayed { relayer: who, accepted, late, rejected });
			let untaken_attestations = (offset as u32).saturating_sub(taken_attestations);
			let untaken_signatures =
				(total.saturating_sub(offset) as u32).saturating_sub(taken_signatures);
			let actual = T::WeightInfo::relay(taken_attestations, taken_signatures)
				.saturating_add(
					T::WeightInfo::attest_deposit(1).saturating_mul(untaken_attestations.into()),
				)
				.saturating_add(
					T::WeightInfo::sign_withdrawal(1).saturating_mul(untaken_signatures.into()),
				);
			Ok(Some(actual).into())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks and builds a relayer set.
		pub fn validated_set(
			id: u32,
			members: alloc::vec::Vec<(T::AccountId, H160)>,
			threshold: u32,
		) -> Result<RelayerSetOf<T>, DispatchError> {
			let n = members.len() as u32;
			ensure!(n > 0, Error::<T>::BadRelayerSet);
			for (i, (a, e)) in members.iter().enumerate() {
				ensure!(*e != H160::zero(), Error::<T>::BadRelayerSet);
				ensure!(
					members[..i].iter().all(|(a2, e2)| a2 != a && e2 != e),
					Error::<T>::BadRelayerSet
				);
			}
			ensure!(threshold >= min_threshold(n) && threshold <= n, Error::<T>::BadThreshold);
			let members = BoundedVec::try_from(members).map_err(|_| Error::<T>::BadRelayerSet)?;
			Ok(RelayerSet { id, members, threshold })
		}

		/// Installs `set`: members new to the bridge get a provider reference, so that a relayer
		/// account exists (and can sign `relay` calls, which are free) without holding CU;
		/// members leaving give theirs back.
		pub(crate) fn install(set: RelayerSetOf<T>) {
			let old = Relayers::<T>::get();
			for (who, _) in set.members.iter() {
				if !ProviderHeld::<T>::contains_key(who) {
					frame_system::Pallet::<T>::inc_providers(who);
					ProviderHeld::<T>::insert(who, ());
				}
			}
			for (who, _) in old.iter().flat_map(|o| o.members.iter()) {
				if set.contains(who) {
					continue;
				}
				if frame_system::Pallet::<T>::dec_providers(who).is_ok() {
					ProviderHeld::<T>::remove(who);
				} else {
					// Its last provider while something still needs the account: the reference
					// stays (recorded, so a return does not add a second one) rather than strand
					// whatever that is.
					log::warn!(target: LOG_TARGET, "a removed relayer keeps its provider");
				}
			}
			let _ = LastRelay::<T>::clear(T::MaxRelayers::get(), None);
			Relayers::<T>::put(set);
		}

		/// Records a withdrawal of `amount` to `to` for the relayers to sign; returns its nonce.
		/// `refundable`: it burned `who`'s CU, which may come back if it is not released.
		fn request_withdrawal(
			who: T::AccountId,
			to: H160,
			amount: BalanceOf<T>,
			set: &RelayerSetOf<T>,
			vault: VaultInfo,
			refundable: bool,
		) -> WithdrawalNonce {
			let nonce = NextWithdrawal::<T>::get();
			NextWithdrawal::<T>::put(nonce.saturating_add(1));
			Withdrawals::<T>::insert(
				nonce,
				Withdrawal {
					vault,
					who: who.clone(),
					to,
					amount,
					set_id: set.id,
					signatures: BoundedVec::new(),
					requested_at: frame_system::Pallet::<T>::block_number(),
					payout: Payout::Release,
					refundable,
				},
			);
			Self::deposit_event(Event::WithdrawalRequested {
				nonce,
				who,
				to,
				amount,
				set_id: set.id,
			});
			nonce
		}

		/// `(large deposit delay, refund after)`: root's, or the configured ones.
		pub fn delays() -> (BlockNumberFor<T>, BlockNumberFor<T>) {
			Delays::<T>::get().unwrap_or((T::LargeDepositDelay::get(), T::RefundAfter::get()))
		}

		/// Whether a `relay` call of `items` items by `origin` is free: a current member's
		/// first one in this block, and not empty.
		pub fn relays_free(origin: &OriginFor<T>, items: usize) -> bool {
			let Ok(who) = ensure_signed(origin.clone()) else { return false };
			items > 0
				&& Relayers::<T>::get().is_some_and(|set| set.contains(&who))
				&& !Self::relayed_this_block(&who)
		}

		fn relayed_this_block(who: &T::AccountId) -> bool {
			LastRelay::<T>::get(who) == Some(frame_system::Pallet::<T>::block_number())
		}

		/// Errors of a vote that was simply not needed any more.
		fn is_late(e: &DispatchError) -> bool {
			[
				Error::<T>::AlreadyProcessed,
				Error::<T>::AlreadyVoted,
				Error::<T>::AlreadySigned,
				Error::<T>::Refunded,
			]
			.into_iter()
			.any(|late| *e == late.into())
		}

		/// Member `who` of `set` votes for `deposit`; returns the votes counted (the weight
		/// component).
		fn do_attest(
			who: &T::AccountId,
			set: &RelayerSetOf<T>,
			deposit: DepositOf<T>,
		) -> Result<u32, DispatchError> {
			ensure!(!InboundPaused::<T>::get(), Error::<T>::InboundPaused);
			let vault = Vault::<T>::get().ok_or(Error::<T>::NoVault)?;
			ensure!(deposit.vault == vault, Error::<T>::WrongVault);
			let nonce = deposit.nonce;
			let key = (vault, nonce);
			ensure!(!Processed::<T>::contains_key(key), Error::<T>::AlreadyProcessed);
			ensure!(!Votes::<T>::contains_key(key, who), Error::<T>::AlreadyVoted);
			ensure!(
				nonce < NonceFloor::<T>::get(vault).saturating_add(T::VoteWindow::get()),
				Error::<T>::OutsideVoteWindow
			);
			Self::check_amount(deposit.amount)?;
			ensure!(!Self::is_zero_account(&deposit.recipient), Error::<T>::BadRecipient);
			// A deposit from the vault itself is a refund, and a refund stands only for one the
			// chain asked for: that withdrawal of this vault, owner and amount, once.
			match deposit.refund_of {
				Some(n) => {
					let w = Withdrawals::<T>::get(n).ok_or(Error::<T>::BadRefund)?;
					ensure!(
						deposit.from == vault.vault
							&& w.payout == Payout::Refund
							&& w.vault == vault && w.who == deposit.recipient
							&& w.amount == deposit.amount,
						Error::<T>::BadRefund
					);
				},
				None => ensure!(deposit.from != vault.vault, Error::<T>::BadRefund),
			}

			let hash = H256(sp_io::hashing::blake2_256(&deposit.encode()));
			let (mut agreeing, mut counted) = (1u32, 1u32);
			let mut other = None;
			let mut stale = alloc::vec::Vec::new();
			for (voter, h) in Votes::<T>::iter_prefix(key) {
				counted = counted.saturating_add(1);
				if !set.contains(&voter) {
					// A former member's vote counts for nothing: dropped, so that a nonce never
					// holds more votes than a set has members.
					stale.push(voter);
				} else if h == hash {
					agreeing = agreeing.saturating_add(1);
				} else {
					other = Some(h);
				}
			}
			for voter in stale {
				Votes::<T>::remove(key, voter);
			}
			Votes::<T>::insert(key, who, hash);
			if let Some(other) = other {
				Self::deposit_event(Event::ConflictingAttestation {
					nonce,
					relayer: who.clone(),
					hash,
					other,
				});
			}
			Self::deposit_event(Event::Attested {
				nonce,
				relayer: who.clone(),
				hash,
				votes: agreeing,
			});
			if agreeing >= set.threshold {
				Processed::<T>::insert(key, ());
				NonceFloor::<T>::mutate(vault, |f| *f = (*f).max(nonce.saturating_add(1)));
				// Former members' votes were dropped above: at most one vote per current member
				// is left, and one pass removes them all.
				let votes = Votes::<T>::clear_prefix(key, T::MaxRelayers::get(), None);
				debug_assert!(votes.maybe_cursor.is_none());
				if let Some(n) = deposit.refund_of {
					Withdrawals::<T>::mutate(n, |w| {
						if let Some(w) = w {
							w.payout = Payout::Refunded;
						}
					});
					PendingRefunds::<T>::remove(n);
				}
				Self::mint_or_delay(deposit)?;
			}
			// Weighed as the votes it read; more than `MaxRelayers` only once, right after a set
			// change, and the surplus is removed here.
			Ok(counted.min(T::MaxRelayers::get()))
		}

		/// Member `eth` of `set` signs withdrawal `nonce`; returns the signatures it now has.
		fn do_sign(
			eth: H160,
			set: &RelayerSetOf<T>,
			nonce: WithdrawalNonce,
			signature: EthSignature,
		) -> Result<u32, DispatchError> {
			ensure!(!OutboundPaused::<T>::get(), Error::<T>::OutboundPaused);
			let mut w = Withdrawals::<T>::get(nonce).ok_or(Error::<T>::UnknownWithdrawal)?;
			let vault = Vault::<T>::get().ok_or(Error::<T>::NoVault)?;
			// Signed for its own vault only: after a vault move a new vault, which does not
			// know what the old one paid, must never get signatures for it.
			ensure!(w.vault == vault, Error::<T>::WrongVault);
			ensure!(w.payout != Payout::Refunded, Error::<T>::Refunded);
			if w.set_id != set.id {
				// The vault checks signatures against its current set only: a withdrawal of an
				// older set, released or not, is signed again by this one, or its CU stays
				// burned with the tokens in the vault. One released already is refused by the
				// vault (each nonce pays once), so signing it again is harmless.
				w.set_id = set.id;
				w.signatures = BoundedVec::new();
				Self::deposit_event(Event::WithdrawalResigned { nonce, set_id: set.id });
			}
			ensure!(w.signatures.iter().all(|(s, _)| *s != eth), Error::<T>::AlreadySigned);
			let digest = match w.payout {
				Payout::Release => withdrawal_digest(&vault, w.set_id, nonce, &w.to, w.amount),
				Payout::Refund | Payout::Refunded => {
					refund_digest(&vault, w.set_id, nonce, &account_bytes(&w.who), w.amount)
				},
			};
			ensure!(recover_signer(&digest, &signature) == Some(eth), Error::<T>::BadSignature);
			w.signatures.try_push((eth, signature)).map_err(|_| Error::<T>::AlreadySigned)?;
			let signatures = w.signatures.len() as u32;
			Withdrawals::<T>::insert(nonce, w);
			Self::deposit_event(Event::WithdrawalSigned { nonce, signer: eth, signatures });
			Ok(signatures)
		}

		/// Bridged supply: minted − burned.
		pub fn bridged_supply() -> i128 {
			TotalMinted::<T>::get() as i128 - TotalBurned::<T>::get() as i128
		}

		fn check_amount(amount: BalanceOf<T>) -> DispatchResult {
			ensure!(
				amount >= T::MinTransfer::get() && amount >= T::Currency::minimum_balance(),
				Error::<T>::BadAmount
			);
			Ok(())
		}

		fn is_zero_account(who: &T::AccountId) -> bool {
			who.encode().iter().all(|b| *b == 0)
		}

		/// The bucket of the mint window the current block is in.
		fn bucket() -> BlockNumberFor<T> {
			let buckets: BlockNumberFor<T> = T::MintBuckets::get().into();
			frame_system::Pallet::<T>::block_number() / (T::MintPeriod::get() / buckets)
		}

		/// Whether bucket `index` is still in the window of the current bucket.
		fn in_window(index: BlockNumberFor<T>, current: BlockNumberFor<T>) -> bool {
			index.saturating_add(T::MintBuckets::get().into()) > current
		}

		/// `(minted, minted undelayed)` in the window.
		pub fn window_totals() -> (BalanceOf<T>, BalanceOf<T>) {
			let current = Self::bucket();
			MintWindow::<T>::get()
				.iter()
				.filter(|b| Self::in_window(b.index, current))
				.fold((0, 0), |(m, u), b| {
					(m.saturating_add(b.minted), u.saturating_add(b.undelayed))
				})
		}

		/// What the window may still mint.
		pub fn cap_room() -> BalanceOf<T> {
			T::MintCap::get().saturating_sub(Self::window_totals().0)
		}

		/// Whether delayed deposit `d` may mint now: its delay passed and it fits the cap.
		fn is_due(d: &DelayedOf<T>) -> bool {
			frame_system::Pallet::<T>::block_number() >= d.not_before
				&& d.deposit.amount <= Self::cap_room()
		}

		fn mint_or_delay(deposit: DepositOf<T>) -> DispatchResult {
			let (minted, undelayed) = Self::window_totals();
			// Keyed on the window's total, not on this deposit: a large amount split into
			// small deposits waits like the large one would.
			let at_once = undelayed.saturating_add(deposit.amount) < T::LargeDeposit::get()
				&& minted.saturating_add(deposit.amount) <= T::MintCap::get();
			if at_once {
				return Self::mint(deposit, true);
			}
			let not_before =
				frame_system::Pallet::<T>::block_number().saturating_add(Self::delays().0);
			let id = DelayQueue::<T>::mutate(|(_, next)| {
				let id = *next;
				*next = next.saturating_add(1);
				id
			});
			Self::deposit_event(Event::DepositDelayed {
				id,
				nonce: deposit.nonce,
				amount: deposit.amount,
				not_before,
			});
			DelayedDeposits::<T>::insert(id, Delayed { deposit, not_before });
			Ok(())
		}

		/// Mints the delay queue's due deposits in order, examining at most `max` ids; stops
		/// at the first that is not due (the queue is in `not_before` order, and a deposit
		/// waiting for cap room keeps its place: smaller ones behind it do not overtake it
		/// forever). Returns the ids examined (the weight).
		pub(crate) fn mint_due(max: u32) -> u32 {
			let (head, next) = DelayQueue::<T>::get();
			if head == next || InboundPaused::<T>::get() {
				return 0;
			}
			let mut id = head;
			let mut examined = 0u32;
			while id < next && examined < max {
				examined = examined.saturating_add(1);
				if let Some(d) = DelayedDeposits::<T>::get(id) {
					if !Self::is_due(&d) {
						break;
					}
					DelayedDeposits::<T>::remove(id);
					let deposit = d.deposit.clone();
					if let Err(error) = with_storage_layer(|| Self::mint(deposit, false)) {
						// Kept (out of the queue) for `mint_delayed` or root's `cancel_delayed`:
						// one deposit that cannot mint must not block the ones behind it.
						log::error!(target: LOG_TARGET, "delayed deposit {id} did not mint: {error:?}");
						DelayedDeposits::<T>::insert(id, d);
						Self::deposit_event(Event::DelayedMintFailed { id, error });
					}
				}
				id = id.saturating_add(1);
			}
			if id != head {
				DelayQueue::<T>::put((id, next));
			}
			examined
		}

		fn mint(deposit: DepositOf<T>, undelayed: bool) -> DispatchResult {
			T::Currency::mint_into(&deposit.recipient, deposit.amount)?;
			let current = Self::bucket();
			MintWindow::<T>::mutate(|window| {
				window.retain(|b| Self::in_window(b.index, current));
				match window.last_mut() {
					Some(b) if b.index == current => {
						b.minted = b.minted.saturating_add(deposit.amount);
						if undelayed {
							b.undelayed = b.undelayed.saturating_add(deposit.amount);
						}
					},
					_ => {
						// After `retain` the window holds at most `MintBuckets − 1` buckets
						// before the current one, so the push always fits.
						let pushed = window.try_push(MintBucket {
							index: current,
							minted: deposit.amount,
							undelayed: if undelayed { deposit.amount } else { 0 },
						});
						debug_assert!(pushed.is_ok());
					},
				}
			});
			TotalMinted::<T>::mutate(|m| *m = m.saturating_add(deposit.amount));
			Self::deposit_event(Event::Minted {
				nonce: deposit.nonce,
				recipient: deposit.recipient,
				amount: deposit.amount,
			});
			Ok(())
		}

		/// Invariants, checked after every unit test and by try-runtime:
		/// - burned ≤ minted + what the chain started with is not checkable here, but minted
		///   and burned never exceed total issuance, and the period's mints respect the cap;
		/// - the relayer set satisfies its threshold rule;
		/// - every delayed deposit is processed;
		/// - every withdrawal's signers are distinct and below the next nonce.
		#[cfg(any(test, feature = "try-runtime"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let issuance = T::Currency::total_issuance();
			ensure!(
				TotalMinted::<T>::get() <= issuance.saturating_add(TotalBurned::<T>::get()),
				"minted beyond issuance"
			);
			let current = Self::bucket();
			let window = MintWindow::<T>::get();
			ensure!(
				window.windows(2).all(|w| w[0].index < w[1].index),
				"mint buckets out of order"
			);
			ensure!(
				window
					.iter()
					.filter(|b| Self::in_window(b.index, current))
					.map(|b| b.minted)
					.fold(0u128, |a, m| a.saturating_add(m))
					<= T::MintCap::get(),
				"mint window over the cap"
			);
			ensure!(window.iter().all(|b| b.undelayed <= b.minted), "undelayed above minted");
			if let Some(set) = Relayers::<T>::get() {
				let n = set.members.len() as u32;
				ensure!(set.threshold >= min_threshold(n) && set.threshold <= n, "bad threshold");
			}
			let (head, next_delayed) = DelayQueue::<T>::get();
			ensure!(head <= next_delayed, "the delay queue's head beyond its end");
			for nonce in PendingRefunds::<T>::iter_keys() {
				ensure!(
					Withdrawals::<T>::get(nonce).is_some_and(|w| w.payout == Payout::Refund),
					"a pending refund that is not a refund"
				);
			}
			for (id, d) in DelayedDeposits::<T>::iter() {
				ensure!(id < next_delayed, "a delayed deposit beyond the queue");
				ensure!(
					Processed::<T>::contains_key((d.deposit.vault, d.deposit.nonce)),
					"delayed but not processed"
				);
			}
			ensure!(TotalBurned::<T>::get() <= TotalMinted::<T>::get(), "burned beyond minted");
			for ((vault, nonce), _, _) in Votes::<T>::iter() {
				let window_end = NonceFloor::<T>::get(vault).saturating_add(T::VoteWindow::get());
				ensure!(nonce < window_end, "a vote outside the window");
				ensure!(
					!Processed::<T>::contains_key((vault, nonce)),
					"votes left on a processed nonce"
				);
			}
			if let Some(set) = Relayers::<T>::get() {
				for (who, _) in set.members.iter() {
					ensure!(
						ProviderHeld::<T>::contains_key(who)
							&& frame_system::Pallet::<T>::providers(who) > 0,
						"a relayer without a provider"
					);
				}
				ensure!(
					LastRelay::<T>::iter_keys().all(|who| set.contains(&who)),
					"a relay record of a non-member"
				);
			}
			let next = NextWithdrawal::<T>::get();
			for (nonce, w) in Withdrawals::<T>::iter() {
				ensure!(nonce < next, "withdrawal beyond the next nonce");
				ensure!(w.refundable || w.payout == Payout::Release, "an unrefundable refund");
				ensure!(
					(w.payout == Payout::Refund) == PendingRefunds::<T>::contains_key(nonce),
					"a refund not pending, or a pending one that is not a refund"
				);
				for (i, (s, _)) in w.signatures.iter().enumerate() {
					ensure!(w.signatures[..i].iter().all(|(s2, _)| s2 != s), "duplicate signer");
				}
			}
			Ok(())
		}
	}
}
