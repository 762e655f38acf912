//! The CuTopia side: the bridge pallet's storage as the relayer reads it (many entries per RPC
//! call), the node's RPC, and submitting a cycle's work as one `Bridge.relay`, which is free
//! for a member's first call in a block.

use pallet_bridge::raw_keys;
use std::collections::{HashMap, HashSet};
use subxt::ext::codec::Decode;
use subxt::{
	config::DefaultExtrinsicParamsBuilder,
	error::{
		ConstantError, EventsError, ExtrinsicError, OnlineClientAtBlockError, OnlineClientError,
		StorageError, StorageValueError, TransactionEventsError, TransactionProgressError,
	},
	ext::scale_decode::DecodeAsType,
	extrinsics::ExtrinsicEvents,
	tx::TransactionStatus,
	utils::{AccountId32, H256},
	Metadata, OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::Keypair;
use thiserror::Error;

/// The runtime's interface, generated from the metadata plexus keeps in step with the runtime
/// (the runtime test `plexus_metadata_matches_the_runtime`).
#[subxt::subxt(
	runtime_metadata_path = "../plexus/metadata/cutopia.scale",
	derive_for_all_types = "Clone, PartialEq, Eq"
)]
pub mod cutopia {}

// subxt's macro reads the metadata without telling cargo: this makes the file part of the
// crate's inputs, so regenerating it (`scripts/update-metadata.sh`) rebuilds the interface.
const _METADATA: &[u8] = include_bytes!("../../plexus/metadata/cutopia.scale");

type Api = OnlineClient<PolkadotConfig>;
/// The chain's state at one block: every decision of a cycle is made against one state.
pub type At = subxt::client::ClientAtBlock<
	PolkadotConfig,
	subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
>;
type Rpc = subxt::rpcs::LegacyRpcMethods<subxt::config::RpcConfigFor<PolkadotConfig>>;

/// Errors of the CuTopia node. subxt's errors are boxed to keep every `Result` small.
#[derive(Debug, Error)]
pub enum ChainError {
	#[error(transparent)]
	Rpc(Box<subxt::rpcs::Error>),
	#[error(transparent)]
	Subxt(Box<subxt::Error>),
	#[error("the chain has no best block")]
	NoBestBlock,
	#[error("the chain has no header for its finalized head")]
	NoFinalizedHeader,
	#[error("the relay call's block has no header")]
	NoBatchHeader,
	#[error("the chain has no relayer set")]
	NoRelayers,
	#[error("the chain has no vault configured (Bridge::set_vault)")]
	NoVault,
	#[error("the transaction's status stream ended")]
	StatusStreamEnded,
	#[error("the relay call was not included: {0}")]
	NotIncluded(String),
	#[error("undecodable chain storage: {0}")]
	Decode(String),
}

impl From<subxt::rpcs::Error> for ChainError {
	fn from(e: subxt::rpcs::Error) -> Self {
		Self::Rpc(Box::new(e))
	}
}

// Each subxt call has its own error type; all of them convert into `subxt::Error`.
macro_rules! subxt_error_from {
	($($source:ty),* $(,)?) => {$(
		impl From<$source> for ChainError {
			fn from(e: $source) -> Self {
				Self::Subxt(Box::new(subxt::Error::from(e)))
			}
		}
	)*};
}

subxt_error_from!(
	ConstantError,
	EventsError,
	ExtrinsicError,
	OnlineClientAtBlockError,
	OnlineClientError,
	StorageError,
	StorageValueError,
	TransactionEventsError,
	TransactionProgressError,
);

/// A connection to a CuTopia node.
pub struct Chain {
	api: Api,
	rpc: Rpc,
}

/// A `relay` call in a best block.
pub struct Included {
	pub number: u64,
	pub hash: H256,
	/// The items the chain refused, by index (attestations first, then signatures).
	pub rejected: Vec<(usize, ItemError)>,
}

/// Why an item of a `relay` call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemError {
	/// A pallet's error, e.g. `Bridge(AlreadyProcessed)`.
	Pallet(cutopia::Error),
	/// Any other dispatch error, or a pallet error the metadata does not describe.
	Dispatch(cutopia::DispatchError),
}

impl std::fmt::Display for ItemError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Pallet(e) => write!(f, "{e:?}"),
			Self::Dispatch(e) => write!(f, "{e:?}"),
		}
	}
}

/// What signing withdrawals needs from the chain.
pub struct SigningContext {
	pub set_id: u32,
	pub vault: pallet_bridge::VaultInfo,
	/// The next withdrawal's nonce: every one below it exists or existed.
	pub next: u64,
}

/// How much one `relay` call may carry, and which deposit nonces the chain takes votes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
	pub attestations: usize,
	pub signatures: usize,
	/// Votes are taken for nonces below this.
	pub window_end: u64,
}

/// A stored withdrawal, as much of it as signing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWithdrawal {
	/// The vault that pays it (signed for that vault only).
	pub vault: pallet_bridge::VaultInfo,
	/// Refunded: nothing more to sign.
	pub refunded: bool,
	pub to: [u8; 20],
	pub amount: u128,
	pub set_id: u32,
	/// `Some(owner)` once its owner asked for a refund: the signatures are then for refunding
	/// it to that chain account, not for releasing it.
	pub refund_to: Option<[u8; 32]>,
	/// The Ethereum addresses that signed it already.
	pub signers: Vec<[u8; 20]>,
}

impl Chain {
	/// Connects to `url` (WebSocket).
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		let client = subxt::rpcs::RpcClient::from_insecure_url(url).await?;
		let api = Api::from_rpc_client(client.clone()).await?;
		Ok(Self { api, rpc: Rpc::new(client) })
	}

	/// State at the best block: subxt's current block is the finalized one, which lags, and a
	/// cycle must see the batches of the cycles before it.
	pub async fn at_best(&self) -> Result<At, ChainError> {
		let best = self.rpc.chain_get_block_hash(None).await?.ok_or(ChainError::NoBestBlock)?;
		Ok(self.api.at_block(best).await?)
	}

	/// The number of the finalized block.
	pub async fn finalized_number(&self) -> Result<u64, ChainError> {
		let hash = self.rpc.chain_get_finalized_head().await?;
		let header =
			self.rpc.chain_get_header(Some(hash)).await?.ok_or(ChainError::NoFinalizedHeader)?;
		Ok(header.number)
	}

	/// The hash of block `number` on the chain the node follows now.
	pub async fn canonical_hash(&self, number: u64) -> Result<Option<H256>, ChainError> {
		Ok(self.rpc.chain_get_block_hash(Some(number.into())).await?)
	}

	/// Submits this cycle's attestations and signatures as one `Bridge.relay` judged against
	/// `at`, and waits until it is in a best block.
	pub async fn submit_relay(
		&self,
		at: &At,
		attestations: Vec<Attestation>,
		signatures: Vec<(u64, [u8; 65])>,
		signer: &Keypair,
	) -> Result<Included, ChainError> {
		use cutopia::runtime_types::bounded_collections::bounded_vec::BoundedVec;
		// Unvalidated: encoded by name against the node's metadata, so a runtime upgrade that
		// leaves the call's fields as they are does not stop the relayer.
		let call = cutopia::transactions()
			.bridge()
			.relay(BoundedVec(attestations), BoundedVec(signatures))
			.unvalidated();
		// The pool's next nonce: the previous call may be in a block that is not final.
		let nonce =
			self.rpc.system_account_next_index(&signer.public_key().to_account_id()).await?;
		let params = DefaultExtrinsicParamsBuilder::<PolkadotConfig>::new().nonce(nonce).build();
		let mut progress =
			at.transactions().sign_and_submit_then_watch(&call, signer, params).await?;
		let included = loop {
			match progress.next().await.ok_or(ChainError::StatusStreamEnded)?? {
				TransactionStatus::InBestBlock(b) | TransactionStatus::InFinalizedBlock(b) => {
					break b
				},
				TransactionStatus::Error { message }
				| TransactionStatus::Invalid { message }
				| TransactionStatus::Dropped { message } => {
					return Err(ChainError::NotIncluded(message));
				},
				_ => {},
			}
		};
		let hash = included.block_hash();
		let number =
			self.rpc.chain_get_header(Some(hash)).await?.ok_or(ChainError::NoBatchHeader)?.number;
		let events = included.wait_for_success().await?;
		let rejected = rejected_items(&events, at.metadata_ref())?;
		Ok(Included { number, hash, rejected })
	}

	/// The values of Bridge storage `keys` at `at`, a few hundred per RPC call: one cycle's
	/// reads cost a handful of round trips, not one per deposit or withdrawal.
	async fn read_many(
		&self,
		at: &At,
		keys: &[Vec<u8>],
	) -> Result<HashMap<Vec<u8>, Vec<u8>>, ChainError> {
		const PER_CALL: usize = 512;
		let mut values = HashMap::new();
		for chunk in keys.chunks(PER_CALL) {
			let sets = self
				.rpc
				.state_query_storage_at(chunk.iter().map(Vec::as_slice), Some(at.block_hash()))
				.await?;
			for set in sets {
				for (key, value) in set.changes {
					if let Some(value) = value {
						values.insert(key.0, value.0);
					}
				}
			}
		}
		Ok(values)
	}

	/// Which of `vault`'s deposit `nonces` still need `who`'s vote: neither processed nor voted
	/// by it.
	pub async fn needing_votes(
		&self,
		at: &At,
		vault: &pallet_bridge::VaultInfo,
		nonces: &[u64],
		who: &AccountId32,
	) -> Result<HashSet<u64>, ChainError> {
		// Per nonce, its `Processed` key then its `Votes` key.
		let keys: Vec<_> = nonces
			.iter()
			.flat_map(|n| [raw_keys::processed(vault, *n), raw_keys::vote(vault, *n, &who.0)])
			.collect();
		let present = self.read_many(at, &keys).await?;
		Ok(nonces
			.iter()
			.zip(keys.chunks(2))
			.filter(|(_, keys)| keys.iter().all(|k| !present.contains_key(k)))
			.map(|(n, _)| *n)
			.collect())
	}

	/// Whether withdrawal `nonce` waits for a refund of `amount` to chain account `to`: what
	/// the vault's refund deposit must match before this relayer attests it.
	pub async fn refund_asked(
		&self,
		at: &At,
		nonce: u64,
		to: &[u8; 32],
		amount: u128,
	) -> Result<bool, ChainError> {
		let stored = self.withdrawals(at, nonce..nonce + 1).await?;
		Ok(stored
			.first()
			.is_some_and(|(_, w)| w.refund_to.as_ref() == Some(to) && w.amount == amount))
	}

	/// Withdrawals whose refund was asked for and has not minted yet, however old
	/// (`PendingRefunds`' keys, a page of 1,000 at a time).
	pub async fn pending_refunds(&self, at: &At) -> Result<Vec<u64>, ChainError> {
		const PAGE: u32 = 1_000;
		let prefix = raw_keys::pending_refunds_prefix();
		let mut nonces = Vec::new();
		let mut start: Option<Vec<u8>> = None;
		loop {
			let keys = self
				.rpc
				.state_get_keys_paged(&prefix, PAGE, start.as_deref(), Some(at.block_hash()))
				.await?;
			for key in &keys {
				let tail: [u8; 8] = key[key.len().saturating_sub(8)..]
					.try_into()
					.map_err(|_| ChainError::Decode("a short PendingRefunds key".into()))?;
				nonces.push(u64::from_le_bytes(tail));
			}
			if keys.len() < PAGE as usize {
				break;
			}
			start = keys.last().cloned();
		}
		nonces.sort_unstable();
		Ok(nonces)
	}

	/// Withdrawals `nonces` that are stored, in order.
	pub async fn withdrawals(
		&self,
		at: &At,
		nonces: impl IntoIterator<Item = u64>,
	) -> Result<Vec<(u64, StoredWithdrawal)>, ChainError> {
		let nonces: Vec<u64> = nonces.into_iter().collect();
		let keys: Vec<_> = nonces.iter().copied().map(raw_keys::withdrawal).collect();
		let values = self.read_many(at, &keys).await?;
		let mut out = Vec::new();
		for (nonce, key) in nonces.into_iter().zip(&keys) {
			let Some(raw) = values.get(key) else { continue };
			let w = RawWithdrawal::decode(&mut &raw[..])
				.map_err(|e| ChainError::Decode(format!("withdrawal {nonce}: {e}")))?;
			out.push((
				nonce,
				StoredWithdrawal {
					vault: w.vault,
					refunded: w.payout == pallet_bridge::Payout::Refunded,
					to: w.to.0,
					amount: w.amount,
					set_id: w.set_id,
					refund_to: (w.payout == pallet_bridge::Payout::Refund).then_some(w.who),
					signers: w.signatures.into_iter().map(|(signer, _)| signer.0).collect(),
				},
			));
		}
		Ok(out)
	}
}

/// A withdrawal as stored, decoded raw (the signatures' bound only limits decoding).
type RawWithdrawal = pallet_bridge::Withdrawal<[u8; 32], u128, u32, sp_core::ConstU32<1024>>;

/// An attestation as the `relay` call carries it.
pub type Attestation = cutopia::runtime_types::pallet_bridge::types::Deposit<AccountId32, u128>;

/// The bounds of one `relay` call and `vault`'s vote window, at `at`.
pub async fn limits(at: &At, vault: &pallet_bridge::VaultInfo) -> Result<Limits, ChainError> {
	use cutopia::runtime_types::pallet_bridge::types::VaultInfo;
	let constants = at.constants();
	let attestations = constants.entry(cutopia::constants().bridge().max_attestations())?;
	let signatures = constants.entry(cutopia::constants().bridge().max_signatures())?;
	let window = constants.entry(cutopia::constants().bridge().vote_window())?;
	let key = VaultInfo { chain_id: vault.chain_id, vault: subxt::utils::H160(vault.vault.0) };
	let floor = at
		.storage()
		.fetch(cutopia::storage().bridge().nonce_floor().unvalidated(), (key,))
		.await?
		.decode()?;
	Ok(Limits {
		attestations: attestations as usize,
		signatures: signatures as usize,
		window_end: floor.saturating_add(window),
	})
}

// Storage is read without subxt's check against the node's metadata: the relayer must keep
// relaying across runtime upgrades that leave the Bridge's entries decodable, as it did when it
// read them dynamically; a change that does not decode still fails the read (and the cycle).

/// The relayer set's id, the vault and the next withdrawal nonce.
pub async fn signing_context(at: &At) -> Result<SigningContext, ChainError> {
	let storage = at.storage();
	let set = storage
		.try_fetch(cutopia::storage().bridge().relayers().unvalidated(), ())
		.await?
		.ok_or(ChainError::NoRelayers)?
		.decode()?;
	let next = storage
		.fetch(cutopia::storage().bridge().next_withdrawal().unvalidated(), ())
		.await?
		.decode()?;
	Ok(SigningContext { set_id: set.id, vault: vault(at).await?, next })
}

/// The vault the chain's bridge names (`NoVault` until root has set one).
pub async fn vault(at: &At) -> Result<pallet_bridge::VaultInfo, ChainError> {
	let vault = at
		.storage()
		.try_fetch(cutopia::storage().bridge().vault().unvalidated(), ())
		.await?
		.ok_or(ChainError::NoVault)?
		.decode()?;
	Ok(pallet_bridge::VaultInfo { chain_id: vault.chain_id, vault: sp_core::H160(vault.vault.0) })
}

/// CU minted and burned by the bridge so far.
pub async fn minted_and_burned(at: &At) -> Result<(u128, u128), ChainError> {
	let storage = at.storage();
	let minted = storage
		.fetch(cutopia::storage().bridge().total_minted().unvalidated(), ())
		.await?
		.decode()?;
	let burned = storage
		.fetch(cutopia::storage().bridge().total_burned().unvalidated(), ())
		.await?
		.decode()?;
	Ok((minted, burned))
}

/// The items a `relay` call's events report refused, in order.
fn rejected_items(
	events: &ExtrinsicEvents<PolkadotConfig>,
	metadata: &Metadata,
) -> Result<Vec<(usize, ItemError)>, ChainError> {
	use cutopia::bridge::events::VoteRejected;
	let mut rejected = Vec::new();
	for ev in events.iter() {
		if let Some(r) = ev?.decode_fields_as::<VoteRejected>() {
			let r = r?;
			rejected.push((r.index as usize, item_error(metadata, r.error)));
		}
	}
	Ok(rejected)
}

/// Resolves a module error to the runtime's error enum, so that it can be matched by type.
fn item_error(metadata: &Metadata, error: cutopia::DispatchError) -> ItemError {
	if let cutopia::DispatchError::Module(m) = &error {
		// `RuntimeError` is encoded as the pallet index followed by the pallet's error.
		let bytes = [m.index, m.error[0], m.error[1], m.error[2], m.error[3]];
		let decoded = cutopia::Error::decode_as_type(
			&mut &bytes[..],
			metadata.outer_enums().error_enum_ty(),
			metadata.types(),
		);
		if let Ok(e) = decoded {
			return ItemError::Pallet(e);
		}
	}
	ItemError::Dispatch(error)
}
