//! [`PrioritizeRelay`]: the transaction extension that lets a member's free `relay` through the
//! transaction pool ahead of paid traffic, one per member at a time.
//!
//! A fee-less transaction gets priority 0 from `ChargeTransactionPayment` (it is skipped), so
//! without this (a) paid transactions that fill blocks delay relaying for as long as someone
//! pays for them, and (b) a compromised member could park any number of free `relay`
//! transactions in the pool under successive nonces: only one a block is free, but the pool's
//! validity cannot see the block a transaction will land in, so all of them look valid there.
//! This extension gives a free relay (a current member's first in the block, not empty: the
//! call's own `feeless_if`) the highest priority, a short longevity and a `provides` tag per
//! member, so the pool keeps at most one of them per member and builds it into the next block
//! first. With CU's 18 decimals a tip of ~0.01 CU already saturates a paid transaction's
//! priority at the same maximum, so the runtime's pool entry point keeps every transaction
//! that does not provide a relay tag strictly below [`RELAY_PRIORITY`] (see
//! [`cap_priority`]): a free relay is always first, whatever others tip. A relay that is not
//! free (a stranger's, a member's second in the block, an empty one) can only fail in the call,
//! so it is refused here, before anyone pays for it (`InvalidTransaction::Call`). Every other
//! transaction is left as it is. A relay the next blocks did not take is dropped from the pool
//! after [`RELAY_LONGEVITY`] blocks; its relayer submits a fresh one.

use crate::{Call, Config, Pallet};
use codec::{Decode, DecodeWithMemTracking, Encode};
use core::marker::PhantomData;
use frame_support::{
	pallet_prelude::{TransactionSource, Weight},
	traits::{Get, IsSubType, OriginTrait},
	DefaultNoBound,
};
use scale_info::TypeInfo;
use sp_runtime::{
	impl_tx_ext_default,
	traits::{DispatchInfoOf, TransactionExtension, ValidateResult},
	transaction_validity::{
		InvalidTransaction, TransactionLongevity, TransactionPriority, ValidTransaction,
	},
};

/// The pool priority of a free `relay`: the highest; every other transaction is held below it
/// by [`cap_priority`].
pub const RELAY_PRIORITY: TransactionPriority = TransactionPriority::MAX;

/// Blocks a free `relay` stays valid in the pool: a relay no block took is soon replaced by
/// its relayer's next one.
pub const RELAY_LONGEVITY: TransactionLongevity = 2;

/// What every relay tag starts with.
const RELAY_TAG_PREFIX: &[u8; 13] = b"cutopia/relay";

/// The `provides` tag of member `who`'s free `relay`: one in the pool per member.
pub fn relay_tag<AccountId: Encode>(who: &AccountId) -> alloc::vec::Vec<u8> {
	(RELAY_TAG_PREFIX, who).encode()
}

/// For the runtime's pool entry point (`TaggedTransactionQueue::validate_transaction`): a
/// transaction that is not a free relay gets at most `RELAY_PRIORITY − 1`, so tips, which
/// add up and saturate, never tie with a relay. Only this extension makes relay tags (an
/// account whose encoding starts with the prefix cannot be found: 2^104 tries).
pub fn cap_priority(valid: &mut ValidTransaction) {
	if !valid.provides.iter().any(|tag| tag.starts_with(RELAY_TAG_PREFIX)) {
		valid.priority = valid.priority.min(RELAY_PRIORITY - 1);
	}
}

/// See the module's documentation. It carries no data: wallets and clients that do not know
/// it sign and encode as if it were not there.
#[derive(Encode, Decode, DecodeWithMemTracking, DefaultNoBound, Clone, Eq, PartialEq, TypeInfo)]
#[scale_info(skip_type_params(T))]
pub struct PrioritizeRelay<T>(PhantomData<T>);

impl<T> PrioritizeRelay<T> {
	/// The extension (it has no parameters).
	pub fn new() -> Self {
		Self(PhantomData)
	}
}

impl<T> core::fmt::Debug for PrioritizeRelay<T> {
	fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
		f.write_str("PrioritizeRelay")
	}
}

impl<T: Config + Send + Sync> TransactionExtension<T::RuntimeCall> for PrioritizeRelay<T>
where
	T::RuntimeCall: IsSubType<Call<T>>,
{
	const IDENTIFIER: &'static str = "PrioritizeRelay";
	type Implicit = ();
	type Val = ();
	type Pre = ();

	/// `relays_free` reads the relayer set and the member's last relay; other calls read
	/// nothing.
	fn weight(&self, call: &T::RuntimeCall) -> Weight {
		match call.is_sub_type() {
			Some(Call::relay { .. }) => T::DbWeight::get().reads(2),
			_ => Weight::zero(),
		}
	}

	fn validate(
		&self,
		origin: T::RuntimeOrigin,
		call: &T::RuntimeCall,
		_info: &DispatchInfoOf<T::RuntimeCall>,
		_len: usize,
		_self_implicit: Self::Implicit,
		_inherited_implication: &impl Encode,
		_source: TransactionSource,
	) -> ValidateResult<Self::Val, T::RuntimeCall> {
		let mut valid = ValidTransaction::default();
		if let Some(Call::relay { attestations, signatures }) = call.is_sub_type() {
			let items = attestations.len().saturating_add(signatures.len());
			if let Some(who) = origin.as_signer() {
				if !Pallet::<T>::relays_free(&origin, items) {
					return Err(InvalidTransaction::Call.into());
				}
				valid.priority = RELAY_PRIORITY;
				valid.longevity = RELAY_LONGEVITY;
				valid.provides = alloc::vec![relay_tag(who)];
			}
		}
		Ok((valid, (), origin))
	}

	impl_tx_ext_default!(T::RuntimeCall; prepare);
}
