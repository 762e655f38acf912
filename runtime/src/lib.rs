//! # CuTopia runtime
//!
//! The state transition function of the CuTopia chain: a marketplace where buyers post
//! Computation Indentures, miners win them by proving capability, and everyone is paid in CU,
//! the chain's native token that mirrors the CuToken ERC20 one to one (18 decimals).
//!
//! Pallet indices are part of the wire format of every extrinsic and storage key, so they are
//! explicit and never reused:
//!
//! | index | pallet |
//! |---|---|
//! | 0–9 | FRAME system and consensus: System, Timestamp, Aura, Grandpa |
//! | 10–19 | money: Balances, TransactionPayment |
//! | 20–29 | governance and helpers: Sudo, Utility |
//! | 40–49 | marketplace: Indenture 40, RepChain 41, Escrow 42, Challenge 43 |
//! | 50–59 | bridge: Bridge 50 |
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`-style macros expand to large types; the default limit is too small.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
#[cfg(test)]
mod economics_tests;
pub mod genesis_config_presets;
#[cfg(test)]
mod tests;
pub mod weights;

extern crate alloc;

use alloc::vec::Vec;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Types the node needs without knowing the runtime's extrinsic format, so it keeps syncing
/// across runtime upgrades that change it.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The keys a validator holds: Aura for authoring, GRANDPA for finality.
	pub struct SessionKeys {
		pub aura: Aura,
		pub grandpa: Grandpa,
	}
}

/// The runtime's version. `spec_version` must grow with every runtime upgrade.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("cutopia"),
	impl_name: alloc::borrow::Cow::Borrowed("cutopia-node"),
	authoring_version: 1,
	spec_version: 100,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

mod block_times {
	/// Target block time. Three seconds keeps the marketplace's heartbeat rounds and the
	/// end-to-end tests short while leaving a debug node on two cores enough time to author.
	pub const MILLI_SECS_PER_BLOCK: u64 = 3000;

	/// The slot duration cannot change once a chain has started: Aura would stop authoring.
	pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;
}
pub use block_times::*;

/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// How many recent block hashes the chain keeps (mortal transactions refer to them).
pub const BLOCK_HASH_COUNT: BlockNumber = 2400;

/// Decimals of CU; the same as the CuToken ERC20 so the bridge needs no rounding.
pub const TOKEN_DECIMALS: u8 = 18;
/// The token symbol shown by wallets.
pub const TOKEN_SYMBOL: &str = "CU";
/// One CU in base units.
pub const CU: Balance = cutopia_primitives::CU;
/// One thousandth of a CU.
pub const MILLI_CU: Balance = CU / 1_000;
/// One millionth of a CU.
pub const MICRO_CU: Balance = CU / 1_000_000;

/// Below this an account is reaped. Small enough that any bridged amount worth moving is kept,
/// large enough that creating accounts is not free state bloat.
pub const EXISTENTIAL_DEPOSIT: Balance = MICRO_CU;

/// Alias to 512-bit hash when used in the context of a transaction signature on the chain.
pub type Signature = MultiSignature;

/// Accounts are the public keys of the signature scheme (sr25519, ed25519 or ecdsa).
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// Balance of an account, in base units (10^-18 CU).
pub type Balance = u128;

/// Index of a transaction in the chain.
pub type Nonce = u32;

/// A hash of some data used by the chain.
pub type Hash = sp_core::H256;

/// An index to a block.
pub type BlockNumber = u32;

/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// A block signed with a justification.
pub type SignedBlock = generic::SignedBlock<Block>;

/// BlockId type as expected by this runtime.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions every signed extrinsic carries, in order.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_skip_feeless_payment::SkipCheckIfFeeless<
		Runtime,
		pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	>,
	// A member's free `relay` first in the pool, one per member (carries no data).
	pallet_bridge::PrioritizeRelay<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// The extensions a wallet signs with, for the signer's `nonce` and `era` (no tip, no
/// metadata hash): what the node's benchmarks and the runtime's fee tests sign.
pub fn tx_extension(nonce: Nonce, era: sp_runtime::generic::Era) -> TxExtension {
	(
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(era),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0).into(),
		pallet_bridge::PrioritizeRelay::<Runtime>::new(),
		frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
		frame_system::WeightReclaim::<Runtime>::new(),
	)
}

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// A transaction's validity as the pool sees it: the extensions' verdict, with every
/// transaction but a member's free bridge relay held below the relay's priority (tips add up
/// and saturate; see `pallet_bridge::extension`).
pub fn validate_for_pool(
	source: sp_runtime::transaction_validity::TransactionSource,
	tx: <Block as sp_runtime::traits::Block>::Extrinsic,
	block_hash: <Block as sp_runtime::traits::Block>::Hash,
) -> sp_runtime::transaction_validity::TransactionValidity {
	let mut valid = Executive::validate_transaction(source, tx, block_hash)?;
	pallet_bridge::extension::cap_priority(&mut valid);
	Ok(valid)
}

/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Migrations of the runtime beyond the ones the pallets declare.
#[allow(unused_parens)]
type Migrations = ();

/// Executive: dispatches to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(10)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(11)]
	pub type TransactionPayment = pallet_transaction_payment;

	/// Skips the fee of calls their pallet marks free (`feeless_if`): a relayer's `relay`.
	#[runtime::pallet_index(12)]
	pub type SkipFeelessPayment = pallet_skip_feeless_payment;

	#[runtime::pallet_index(20)]
	pub type Sudo = pallet_sudo;

	#[runtime::pallet_index(21)]
	pub type Utility = pallet_utility;

	// 40: Indenture (arrives with its issue).
	#[runtime::pallet_index(40)]
	pub type Indenture = pallet_indenture;

	#[runtime::pallet_index(41)]
	pub type RepChain = pallet_repchain;

	#[runtime::pallet_index(42)]
	pub type Escrow = pallet_escrow;

	#[runtime::pallet_index(43)]
	pub type Challenge = pallet_challenge;

	#[runtime::pallet_index(50)]
	pub type Bridge = pallet_bridge;
}
