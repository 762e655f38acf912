//! A connection to a CuTopia node: typed extrinsics and storage (code generated from the
//! runtime's metadata, see [`crate::cutopia`]), the node's JSON-RPC, and submission that
//! waits for a best block and turns a failed dispatch into the pallet's error name.

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use std::sync::{
	atomic::{AtomicU64, Ordering},
	Arc,
};
use subxt::{
	config::PolkadotExtrinsicParamsBuilder,
	error::{DispatchError, ExtrinsicError, TransactionEventsError},
	rpcs::{
		client::{RawRpcFuture, RawRpcSubscription, RawValue, RpcClientT},
		RpcClient,
	},
	tx::TransactionStatus,
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::Keypair;

pub use subxt::utils::{AccountId32, H256};

/// Why talking to the node failed. Agents match on the variant (a pallet's error by name)
/// rather than on text; the texts are what users and scripts read, so they stay as they were.
/// Inner errors are kept as values, not sources, so that `{:#}` prints each message once; the
/// large ones are boxed to keep `Result<_, ChainError>` small (clippy's `result_large_err`).
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// No node answers at the URL.
	#[error("cannot reach a CuTopia node at {url}: {error}")]
	Unreachable { url: String, error: subxt::rpcs::Error },
	/// A node answers but its metadata could not be read.
	#[error("cannot read the chain at {url}: {error}")]
	Unreadable { url: String, error: Box<subxt::error::OnlineClientError> },
	/// A JSON-RPC call failed.
	#[error("{method}: {error}")]
	Rpc { method: String, error: subxt::rpcs::Error },
	/// The transaction could not be built, signed or handed to the pool.
	#[error("the node refused the transaction: {0}")]
	Refused(Box<ExtrinsicError>),
	/// The pool dropped the transaction or found it invalid.
	#[error("transaction not included: {0}")]
	NotIncluded(String),
	/// The status subscription ended before the transaction was in a block.
	#[error("the node stopped reporting the transaction's status")]
	StatusEnded,
	/// The transaction is in a block but a pallet refused it, e.g. `Indenture::SealingOpen`.
	#[error(
		"The transaction failed with the following dispatch error: Pallet error: {pallet}::{error}"
	)]
	Dispatch { pallet: String, error: String },
	/// The transaction is in a block but failed outside any known pallet error (bad origin,
	/// funds, arithmetic, or a pallet error the metadata does not name).
	#[error("The transaction failed with the following dispatch error: {0}")]
	DispatchOther(DispatchError),
	/// The transaction is in a block but its events could not be read.
	#[error("{0}")]
	Events(Box<TransactionEventsError>),
	/// Anything else subxt reports on the way.
	#[error(transparent)]
	Subxt(Box<subxt::Error>),
}

impl From<subxt::Error> for ChainError {
	fn from(e: subxt::Error) -> Self {
		ChainError::Subxt(Box::new(e))
	}
}

impl From<TransactionEventsError> for ChainError {
	fn from(e: TransactionEventsError) -> Self {
		match e {
			TransactionEventsError::ExtrinsicFailed(DispatchError::Module(m)) => {
				let names = m
					.details()
					.ok()
					.map(|d| (d.pallet.name().to_string(), d.variant.name.to_string()));
				match names {
					Some((pallet, error)) => ChainError::Dispatch { pallet, error },
					None => ChainError::DispatchOther(DispatchError::Module(m)),
				}
			},
			TransactionEventsError::ExtrinsicFailed(d) => ChainError::DispatchOther(d),
			e => ChainError::Events(Box::new(e)),
		}
	}
}

/// subxt's client for CuTopia (standard Substrate signed extensions, as Polkadot).
pub type Api = OnlineClient<PolkadotConfig>;
/// State and calls at one block.
pub type At = subxt::client::ClientAtBlock<
	PolkadotConfig,
	subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
>;

/// A node connection.
#[derive(Clone)]
pub struct Chain {
	pub api: Api,
	pub rpc: RpcClient,
	pub url: String,
	/// Requests and subscriptions sent so far, by this connection and its clones.
	calls: Arc<AtomicU64>,
}

/// Counts what goes through a connection: an agent's load on its node is measured by its
/// requests per block, which must follow its own work and not the chain's size.
struct Counted {
	inner: RpcClient,
	calls: Arc<AtomicU64>,
}

impl RpcClientT for Counted {
	fn request_raw<'a>(
		&'a self,
		method: &'a str,
		params: Option<Box<RawValue>>,
	) -> RawRpcFuture<'a, Box<RawValue>> {
		self.calls.fetch_add(1, Ordering::Relaxed);
		self.inner.request_raw(method, params)
	}

	fn subscribe_raw<'a>(
		&'a self,
		sub: &'a str,
		params: Option<Box<RawValue>>,
		unsub: &'a str,
	) -> RawRpcFuture<'a, RawRpcSubscription> {
		self.calls.fetch_add(1, Ordering::Relaxed);
		self.inner.subscribe_raw(sub, params, unsub)
	}
}

/// What an included extrinsic caused.
pub struct Included {
	/// The block it is in.
	pub block: H256,
	/// Its events, decoded.
	pub events: subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>,
}

impl Included {
	/// Its first event of type `E`.
	pub fn find<E: subxt::events::DecodeAsEvent>(&self) -> Option<E> {
		self.events.find_first::<E>().and_then(|r| r.ok())
	}

	/// The transaction fee it paid.
	pub fn fee(&self) -> u128 {
		self.find::<crate::cutopia::transaction_payment::events::TransactionFeePaid>()
			.map(|e| e.actual_fee)
			.unwrap_or_default()
	}
}

impl Chain {
	/// Connects to `url` (`ws://` on loopback or a private network, `wss://` elsewhere).
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		let rpc = if url.starts_with("wss://") {
			RpcClient::from_url(url).await
		} else {
			RpcClient::from_insecure_url(url).await
		}
		.map_err(|error| ChainError::Unreachable { url: url.to_string(), error })?;
		let calls = Arc::new(AtomicU64::new(0));
		let rpc = RpcClient::new(Counted { inner: rpc, calls: calls.clone() });
		let api = Api::from_rpc_client(rpc.clone())
			.await
			.map_err(|e| ChainError::Unreadable { url: url.to_string(), error: Box::new(e) })?;
		Ok(Self { api, rpc, url: url.to_string(), calls })
	}

	/// JSON-RPC requests and subscriptions this connection has sent so far.
	pub fn rpc_calls(&self) -> u64 {
		self.calls.load(Ordering::Relaxed)
	}

	/// A JSON-RPC call with positional parameters.
	pub async fn call<T: DeserializeOwned>(
		&self,
		method: &str,
		params: Vec<serde_json::Value>,
	) -> Result<T, ChainError> {
		let rpc_error = |error| ChainError::Rpc { method: method.to_string(), error };
		let mut p = subxt::rpcs::client::RpcParams::new();
		for v in params {
			p.push(v).map_err(rpc_error)?;
		}
		self.rpc.request(method, p).await.map_err(rpc_error)
	}

	/// Number and hash of the best block.
	pub async fn best(&self) -> Result<(u32, H256)> {
		let header: serde_json::Value = self.call("chain_getHeader", vec![]).await?;
		let number = header["number"]
			.as_str()
			.and_then(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).ok())
			.context("chain_getHeader: no block number")?;
		let hash: H256 = self.call("chain_getBlockHash", vec![number.into()]).await?;
		Ok((number, hash))
	}

	/// Hash of block `number` on the best chain.
	pub async fn block_hash(&self, number: u32) -> Result<Option<H256>, ChainError> {
		self.call("chain_getBlockHash", vec![number.into()]).await
	}

	/// State at the best block (subxt's "current" block is the finalized one, which lags).
	pub async fn at_best(&self) -> Result<(u32, At)> {
		let (number, hash) = self.best().await?;
		Ok((number, self.api.at_block(hash).await?))
	}

	/// Signs `tx` with the pool's next nonce for `signer` (earlier transactions may still be
	/// in the pool), waits until it is in a best block and returns its events; a pallet's
	/// refusal comes back as [`ChainError::Dispatch`] with the error's name.
	pub async fn submit(
		&self,
		tx: &impl subxt::tx::Payload,
		signer: &Keypair,
	) -> Result<Included, ChainError> {
		let mut all = self.submit_all(std::slice::from_ref(tx), signer).await?;
		all.pop().unwrap_or(Err(ChainError::StatusEnded))
	}

	/// Signs `txs` with consecutive nonces from the pool's next one for `signer` and hands them
	/// all to the pool before waiting, so they can land in one block (an exchange posting the
	/// moduli of many slots within their posting window). Returns each one's outcome, in
	/// order; the error is only for a failure before any was handed over.
	pub async fn submit_all<P: subxt::tx::Payload>(
		&self,
		txs: &[P],
		signer: &Keypair,
	) -> Result<Vec<Result<Included, ChainError>>, ChainError> {
		let who = signer.public_key().to_account_id().to_string();
		let first: u64 = self.call("system_accountNextIndex", vec![who.into()]).await?;
		let mut client = self.api.transactions().await.map_err(subxt::Error::from)?;
		let mut watching = Vec::with_capacity(txs.len());
		for (nonce, tx) in (first..).zip(txs) {
			let params =
				PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new().nonce(nonce).build();
			watching.push(
				client
					.sign_and_submit_then_watch(tx, signer, params)
					.await
					.map_err(|e| ChainError::Refused(Box::new(e))),
			);
		}
		let mut out = Vec::with_capacity(watching.len());
		for progress in watching {
			let mut progress = match progress {
				Ok(progress) => progress,
				Err(e) => {
					out.push(Err(e));
					continue;
				},
			};
			let outcome = async {
				while let Some(status) = progress.next().await {
					match status.map_err(subxt::Error::from)? {
						TransactionStatus::InBestBlock(b)
						| TransactionStatus::InFinalizedBlock(b) => {
							let block = b.block_hash();
							let events = b.wait_for_success().await?;
							return Ok(Included { block, events });
						},
						TransactionStatus::Error { message }
						| TransactionStatus::Invalid { message }
						| TransactionStatus::Dropped { message } => {
							return Err(ChainError::NotIncluded(message));
						},
						_ => {},
					}
				}
				Err(ChainError::StatusEnded)
			};
			out.push(outcome.await);
		}
		Ok(out)
	}

	/// Calls `f` with each Indenture event of each new best block, in order, until `f`
	/// returns `false`: the queue as it changes (submitted, awarded, leased, results, records).
	pub async fn follow_indenture_events(
		&self,
		mut f: impl FnMut(u64, crate::cutopia::indenture::Event) -> bool,
	) -> Result<()> {
		let mut blocks = self.api.stream_best_blocks().await?;
		while let Some(block) = blocks.next().await {
			let block = block?;
			let number = block.number();
			let events = block.at().await?.events().fetch().await?;
			for ev in events.iter() {
				if let crate::cutopia::Event::Indenture(e) =
					ev?.decode_as::<crate::cutopia::Event>()?
				{
					if !f(number, e) {
						return Ok(());
					}
				}
			}
		}
		bail!("the node stopped sending blocks")
	}

	/// Free balance of `who` at the best block.
	pub async fn free(&self, who: &AccountId32) -> Result<u128> {
		let (_, at) = self.at_best().await?;
		let account =
			at.storage().try_fetch(crate::cutopia::storage().system().account(), (*who,)).await?;
		Ok(match account {
			Some(v) => v.decode()?.data.free,
			None => 0,
		})
	}
}
