//! The CuTopia side: the bridge pallet's storage as the relayer reads it, the node's RPC, and
//! submitting a cycle's work as one `Utility.force_batch`.

use subxt::{
	config::DefaultExtrinsicParamsBuilder,
	error::{
		EventsError, ExtrinsicError, OnlineClientAtBlockError, OnlineClientError, StorageError,
		StorageValueError, TransactionEventsError, TransactionProgressError,
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
	#[error("the batch's block has no header")]
	NoBatchHeader,
	#[error("the chain has no relayer set")]
	NoRelayers,
	#[error("the chain has no vault configured (Bridge::set_vault)")]
	NoVault,
	#[error("the transaction's status stream ended")]
	StatusStreamEnded,
	#[error("the batch was not included: {0}")]
	NotIncluded(String),
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

/// A batch in a best block.
pub struct Included {
	pub number: u64,
	pub hash: H256,
	/// What became of each call of the batch, in order.
	pub items: Vec<ItemOutcome>,
}

/// What became of one call of a `force_batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
	Completed,
	Failed(ItemError),
}

/// Why a call of a batch failed.
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

/// A stored withdrawal, as much of it as signing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWithdrawal {
	pub to: [u8; 20],
	pub amount: u128,
	pub set_id: u32,
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

	/// Submits `calls` as one `Utility.force_batch` judged against `at`, and waits until it is
	/// in a best block. `force_batch` goes on past failing calls and reports each in order.
	pub async fn submit_batch(
		&self,
		at: &At,
		calls: Vec<cutopia::Call>,
		signer: &Keypair,
	) -> Result<Included, ChainError> {
		// Unvalidated: the codegen hash of `force_batch` covers `RuntimeCall`, i.e. every
		// pallet's calls, while encoding by name against the node's metadata checks exactly the
		// calls the batch holds.
		let batch = cutopia::transactions().utility().force_batch(calls).unvalidated();
		// The pool's next nonce: the previous batch may be in a block that is not final.
		let nonce =
			self.rpc.system_account_next_index(&signer.public_key().to_account_id()).await?;
		let params = DefaultExtrinsicParamsBuilder::<PolkadotConfig>::new().nonce(nonce).build();
		let mut progress =
			at.transactions().sign_and_submit_then_watch(&batch, signer, params).await?;
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
		let items = item_outcomes(&events, at.metadata_ref())?;
		Ok(Included { number, hash, items })
	}
}

// Storage is read without subxt's check against the node's metadata: the relayer must keep
// relaying across runtime upgrades that leave the Bridge's entries decodable, as it did when it
// read them dynamically; a change that does not decode still fails the read (and the cycle).

/// Whether the chain still needs `who`'s vote on deposit `nonce`: neither processed nor voted.
pub async fn needs_vote(at: &At, nonce: u64, who: AccountId32) -> Result<bool, ChainError> {
	let storage = at.storage();
	if storage
		.try_fetch(cutopia::storage().bridge().processed().unvalidated(), (nonce,))
		.await?
		.is_some()
	{
		return Ok(false);
	}
	let voted =
		storage.try_fetch(cutopia::storage().bridge().votes().unvalidated(), (nonce, who)).await?;
	Ok(voted.is_none())
}

/// The relayer set's id, the vault and the next withdrawal nonce.
pub async fn signing_context(at: &At) -> Result<SigningContext, ChainError> {
	let storage = at.storage();
	let set = storage
		.try_fetch(cutopia::storage().bridge().relayers().unvalidated(), ())
		.await?
		.ok_or(ChainError::NoRelayers)?
		.decode()?;
	let vault = storage
		.try_fetch(cutopia::storage().bridge().vault().unvalidated(), ())
		.await?
		.ok_or(ChainError::NoVault)?
		.decode()?;
	let next = storage
		.fetch(cutopia::storage().bridge().next_withdrawal().unvalidated(), ())
		.await?
		.decode()?;
	Ok(SigningContext {
		set_id: set.id,
		vault: pallet_bridge::VaultInfo {
			chain_id: vault.chain_id,
			vault: sp_core::H160(vault.vault.0),
		},
		next,
	})
}

/// Withdrawal `nonce`, if it is stored.
pub async fn withdrawal(at: &At, nonce: u64) -> Result<Option<StoredWithdrawal>, ChainError> {
	let stored = at
		.storage()
		.try_fetch(cutopia::storage().bridge().withdrawals().unvalidated(), (nonce,))
		.await?;
	let Some(stored) = stored else { return Ok(None) };
	let w = stored.decode()?;
	Ok(Some(StoredWithdrawal {
		to: w.to.0,
		amount: w.amount,
		set_id: w.set_id,
		signers: w.signatures.0.iter().map(|(signer, _)| signer.0).collect(),
	}))
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

/// The `Utility` item events of a batch, in order.
fn item_outcomes(
	events: &ExtrinsicEvents<PolkadotConfig>,
	metadata: &Metadata,
) -> Result<Vec<ItemOutcome>, ChainError> {
	use cutopia::utility::events::{ItemCompleted, ItemFailed};
	let mut items = Vec::new();
	for ev in events.iter() {
		let ev = ev?;
		if ev.is::<ItemCompleted>() {
			items.push(ItemOutcome::Completed);
		} else if let Some(failed) = ev.decode_fields_as::<ItemFailed>() {
			items.push(ItemOutcome::Failed(item_error(metadata, failed?.error)));
		}
	}
	Ok(items)
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
