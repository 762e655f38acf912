//! Types of the CuToken bridge.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::Get, BoundedVec};
use scale_info::TypeInfo;
use sp_core::{H160, H256};

/// A vault deposit nonce (strictly increasing on Ethereum).
pub type DepositNonce = u64;
/// A withdrawal nonce (strictly increasing here).
pub type WithdrawalNonce = u64;
/// The place of a delayed deposit in the queue of deposits waiting to mint.
pub type DelayedId = u64;
/// An Ethereum signature `r ‖ s ‖ v`.
pub type EthSignature = [u8; 65];

/// A `Deposited` event of the vault as relayers attest it.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Deposit<AccountId, Balance> {
	/// The vault that emitted it: nonces count per vault, so a deposit is known by both.
	pub vault: VaultInfo,
	/// The vault's nonce of the deposit.
	pub nonce: DepositNonce,
	/// Who deposited on Ethereum.
	pub from: H160,
	/// Who gets the CU here (the `bytes32 recipient` of the event).
	pub recipient: AccountId,
	/// How much, in base units (18 decimals on both sides).
	pub amount: Balance,
	/// The Ethereum transaction that made it, for audits.
	pub tx_hash: H256,
	/// `Some(w)` for the vault's refund of withdrawal `w` (a deposit from the vault itself):
	/// it mints only if it matches a refund the chain asked for, once.
	pub refund_of: Option<WithdrawalNonce>,
}

/// The relayers and how many of them must agree.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(S))]
#[codec(mel_bound(AccountId: MaxEncodedLen))]
pub struct RelayerSet<AccountId, S: Get<u32>> {
	/// Increases with every change; signatures name the set they were made for.
	pub id: u32,
	/// Members: their account here and the Ethereum address they sign withdrawals with.
	pub members: BoundedVec<(AccountId, H160), S>,
	/// Agreeing members needed, `⌈2N/3⌉ ≤ threshold ≤ N`.
	pub threshold: u32,
}

impl<AccountId: PartialEq, S: Get<u32>> RelayerSet<AccountId, S> {
	/// Whether `who` is a member.
	pub fn contains(&self, who: &AccountId) -> bool {
		self.members.iter().any(|(a, _)| a == who)
	}

	/// The Ethereum address of member `who`.
	pub fn eth_address(&self, who: &AccountId) -> Option<H160> {
		self.members.iter().find(|(a, _)| a == who).map(|(_, e)| *e)
	}
}

/// The smallest threshold a set of `n` relayers may have: `⌈2n/3⌉`, so that two conflicting
/// payloads can never both gather it (`2·⌈2n/3⌉ > n`) and more than a third must collude.
pub fn min_threshold(n: u32) -> u32 {
	(2 * n).div_ceil(3)
}

/// A deposit that met its threshold but waits: the window's undelayed mints reached
/// `LargeDeposit`, or the mint cap was spent.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Delayed<AccountId, Balance, BlockNumber> {
	/// The deposit.
	pub deposit: Deposit<AccountId, Balance>,
	/// First block it can be minted in.
	pub not_before: BlockNumber,
}

/// What a withdrawal's signatures are for.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub enum Payout {
	/// Its release to `to` by the vault ([`withdrawal_digest`]).
	Release,
	/// Its owner asked for it back: the vault voids it and credits it to `who` here, as a
	/// deposit of tokens it already holds ([`refund_digest`]).
	Refund,
	/// Its refund was attested and minted (or waits in the delay queue): done.
	Refunded,
}

/// A withdrawal burned here, to be released by the vault (or refunded).
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
#[scale_info(skip_type_params(S))]
#[codec(mel_bound(AccountId: MaxEncodedLen, Balance: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct Withdrawal<AccountId, Balance, BlockNumber, S: Get<u32>> {
	/// The vault that pays it: it is signed for that vault only, so that a vault move never
	/// lets a second vault pay it again.
	pub vault: VaultInfo,
	/// Who burned the CU (and gets a refund).
	pub who: AccountId,
	/// The Ethereum recipient.
	pub to: H160,
	/// Amount, in base units.
	pub amount: Balance,
	/// The relayer set whose signatures the vault must see.
	pub set_id: u32,
	/// Signatures of set members over the EIP-712 digest of `payout`, with the signer's
	/// address.
	pub signatures: BoundedVec<(H160, EthSignature), S>,
	/// When it was requested: a refund may be asked for `RefundAfter` blocks later.
	pub requested_at: BlockNumber,
	/// What the signatures are for.
	pub payout: Payout,
	/// Whether its owner may ask for a refund: CU it burned. A cancelled deposit's refund
	/// (nothing burned, root's decision) may not come back.
	pub refundable: bool,
}

/// What one bucket of the sliding mint window holds.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen, Default)]
pub struct MintBucket<BlockNumber> {
	/// Which bucket: block number / bucket length.
	pub index: BlockNumber,
	/// Minted in it (every mint counts against the cap).
	pub minted: u128,
	/// Minted in it without a delay (these count against `LargeDeposit`).
	pub undelayed: u128,
}

/// Where the vault lives; part of every signed withdrawal (EIP-712 domain) and every attested
/// deposit.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
	Default,
)]
pub struct VaultInfo {
	/// Ethereum chain id.
	pub chain_id: u64,
	/// The `CuBridgeVault` contract.
	pub vault: H160,
}

/// EIP-712 domain name and version of the vault.
pub const EIP712_NAME: &[u8] = b"CuBridgeVault";
/// EIP-712 version.
pub const EIP712_VERSION: &[u8] = b"1";

fn keccak(data: &[u8]) -> [u8; 32] {
	sp_io::hashing::keccak_256(data)
}

fn word_u64(x: u64) -> [u8; 32] {
	let mut w = [0u8; 32];
	w[24..].copy_from_slice(&x.to_be_bytes());
	w
}

fn word_u128(x: u128) -> [u8; 32] {
	let mut w = [0u8; 32];
	w[16..].copy_from_slice(&x.to_be_bytes());
	w
}

fn word_address(a: &H160) -> [u8; 32] {
	let mut w = [0u8; 32];
	w[12..].copy_from_slice(a.as_bytes());
	w
}

/// The EIP-712 digest relayers sign for a withdrawal, as the vault computes it:
/// `keccak256(0x1901 ‖ domainSeparator ‖ keccak256(abi.encode(WITHDRAWAL_TYPEHASH, setId,
/// nonce, recipient, amount)))` with the domain `CuBridgeVault`, version `1`, the chain id and
/// the vault address.
pub fn withdrawal_digest(
	vault: &VaultInfo,
	set_id: u32,
	nonce: WithdrawalNonce,
	to: &H160,
	amount: u128,
) -> [u8; 32] {
	let type_hash =
		keccak(b"Withdrawal(uint64 setId,uint64 nonce,address recipient,uint256 amount)");
	typed_digest(vault, type_hash, set_id, nonce, word_address(to), amount)
}

/// `keccak256(0x1901 ‖ domainSeparator ‖ keccak256(abi.encode(typeHash, setId, nonce,
/// recipient, amount)))`: the two message types of the vault differ only in the type and the
/// recipient's word.
fn typed_digest(
	vault: &VaultInfo,
	type_hash: [u8; 32],
	set_id: u32,
	nonce: WithdrawalNonce,
	recipient: [u8; 32],
	amount: u128,
) -> [u8; 32] {
	let domain_type = keccak(
		b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
	);
	let mut domain = alloc::vec::Vec::with_capacity(160);
	domain.extend(domain_type);
	domain.extend(keccak(EIP712_NAME));
	domain.extend(keccak(EIP712_VERSION));
	domain.extend(word_u64(vault.chain_id));
	domain.extend(word_address(&vault.vault));
	let separator = keccak(&domain);
	let mut data = alloc::vec::Vec::with_capacity(160);
	data.extend(type_hash);
	data.extend(word_u64(set_id.into()));
	data.extend(word_u64(nonce));
	data.extend(recipient);
	data.extend(word_u128(amount));
	let struct_hash = keccak(&data);
	let mut msg = alloc::vec::Vec::with_capacity(66);
	msg.extend([0x19, 0x01]);
	msg.extend(separator);
	msg.extend(struct_hash);
	keccak(&msg)
}

/// The 32 bytes of a chain account as the vault's `bytes32 recipient` carries them (an
/// `AccountId32` as it is; shorter test accounts right-aligned).
pub fn account_bytes(who: &impl codec::Encode) -> [u8; 32] {
	let encoded = who.encode();
	let n = encoded.len().min(32);
	let mut out = [0u8; 32];
	out[32 - n..].copy_from_slice(&encoded[..n]);
	out
}

/// The EIP-712 digest relayers sign to refund withdrawal `nonce` to chain account `recipient`,
/// as the vault's `refundDigest` computes it: type
/// `Refund(uint64 setId,uint64 nonce,bytes32 recipient,uint256 amount)` in the vault's domain.
pub fn refund_digest(
	vault: &VaultInfo,
	set_id: u32,
	nonce: WithdrawalNonce,
	recipient: &[u8; 32],
	amount: u128,
) -> [u8; 32] {
	let type_hash = keccak(b"Refund(uint64 setId,uint64 nonce,bytes32 recipient,uint256 amount)");
	typed_digest(vault, type_hash, set_id, nonce, *recipient, amount)
}

/// The Ethereum address that signed `digest`, if the signature is one the vault accepts:
/// low `s` and `v` of 27 or 28, as OpenZeppelin's `ECDSA.recover` demands. A signature the
/// vault would refuse (`v` of 0/1) must not be stored: it would take its relayer's place for
/// the withdrawal and the release would revert.
pub fn recover_signer(digest: &[u8; 32], sig: &EthSignature) -> Option<H160> {
	// secp256k1 order / 2: signatures with a higher `s` are rejected, as OpenZeppelin's ECDSA
	// does on the vault, so each signer has exactly one valid signature per digest.
	const HALF_ORDER: [u8; 32] = [
		0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b,
		0x20, 0xa0,
	];
	if sig[32..64] > HALF_ORDER[..] || !matches!(sig[64], 27 | 28) {
		return None;
	}
	let mut normalized = *sig;
	normalized[64] -= 27;
	let public = sp_io::crypto::secp256k1_ecdsa_recover(&normalized, digest).ok()?;
	Some(H160::from_slice(&keccak(&public)[12..]))
}

/// Raw storage keys of the entries relayers read in bulk over RPC (`state_queryStorageAt`),
/// for a runtime that names this pallet `Bridge`; the unit test
/// `raw_keys_are_the_pallets_keys` holds them to the pallet's own.
pub mod raw_keys {
	use super::{DepositNonce, VaultInfo, WithdrawalNonce};
	use alloc::vec::Vec;
	use codec::Encode;
	use sp_io::hashing::{blake2_128, twox_128, twox_64};

	fn item(name: &[u8], suffix: &[u8]) -> Vec<u8> {
		let mut key = twox_128(b"Bridge").to_vec();
		key.extend(twox_128(name));
		key.extend(suffix);
		key
	}

	fn twox64_concat(data: &[u8]) -> Vec<u8> {
		let mut out = twox_64(data).to_vec();
		out.extend(data);
		out
	}

	/// `Processed[(vault, nonce)]`.
	pub fn processed(vault: &VaultInfo, nonce: DepositNonce) -> Vec<u8> {
		item(b"Processed", &twox64_concat(&(vault, nonce).encode()))
	}

	/// `Votes[(vault, nonce)][who]`.
	pub fn vote(vault: &VaultInfo, nonce: DepositNonce, who: &impl Encode) -> Vec<u8> {
		let mut suffix = twox64_concat(&(vault, nonce).encode());
		let who = who.encode();
		suffix.extend(blake2_128(&who));
		suffix.extend(who);
		item(b"Votes", &suffix)
	}

	/// The prefix of every `PendingRefunds` key (the nonce is the last 8 bytes of each).
	pub fn pending_refunds_prefix() -> Vec<u8> {
		item(b"PendingRefunds", &[])
	}

	/// `Withdrawals[nonce]`.
	pub fn withdrawal(nonce: WithdrawalNonce) -> Vec<u8> {
		item(b"Withdrawals", &twox64_concat(&nonce.encode()))
	}
}
