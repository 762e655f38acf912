//! `cutopia-bridge`: one relayer of the CuToken bridge.
//!
//! Every cycle it
//! 1. reads Ethereum's finalized head (or `latest − confirmations` on dev chains) and stops with
//!    an error if it ever goes backwards;
//! 2. fetches the vault's `Deposited` logs from its checkpoint up to that head, skips removed
//!    logs, re-reads each receipt (status 1, the log really from the vault, an ERC20 `Transfer`
//!    of the same amount from the token into the vault), and skips nonces the chain already
//!    processed or this relayer already voted on;
//! 3. signs (EIP-712) every withdrawal of the current relayer set it has not signed yet;
//! 4. submits all of it as one `Utility.force_batch` signed by its chain key (nonce from the
//!    pool, so batches can follow each other before they are final) and goes on once it is in a
//!    best block; it writes its checkpoint file only when that block is final, and rescans from
//!    the checkpoint if the block left the chain.
//!
//! Any RPC error backs off with jitter and retries the whole cycle from the checkpoint, which
//! never advances past a failure. Restarting from any checkpoint is safe: the chain refuses
//! processed nonces and repeated votes. Prometheus metrics and a watchdog comparing the vault's
//! token balance with the chain's bridged supply run alongside.

use alloy::{
	primitives::{Address, B256, U256},
	providers::{Provider, ProviderBuilder},
	rpc::types::{BlockNumberOrTag, Filter},
	signers::{local::PrivateKeySigner, SignerSync},
	sol,
	sol_types::SolEvent,
};
use clap::Parser;
use rand::Rng;
use scale_value::{At, Value, ValueDef};
use std::{
	path::PathBuf,
	time::{Duration, Instant},
};
use substrate_prometheus_endpoint::{register, Gauge, Registry, U64};
use subxt::{dynamic, OnlineClient, PolkadotConfig};

sol! {
	event Deposited(uint64 indexed nonce, address indexed from, bytes32 recipient, uint256 amount);
	event Transfer(address indexed from, address indexed to, uint256 value);
	#[sol(rpc)]
	interface IVault {
		function token() external view returns (address);
	}
	#[sol(rpc)]
	interface IERC20 {
		function balanceOf(address who) external view returns (uint256);
	}
}

/// Relays CuBridgeVault deposits to the CuTopia chain and signs withdrawals for the vault.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
	/// Ethereum JSON-RPC endpoint (HTTP).
	#[arg(long, env = "CUTOPIA_BRIDGE_ETH_RPC", default_value = "http://127.0.0.1:8545")]
	eth_rpc: String,
	/// CuTopia node WebSocket endpoint.
	#[arg(long, env = "CUTOPIA_BRIDGE_CHAIN_RPC", default_value = "ws://127.0.0.1:9944")]
	chain_rpc: String,
	/// The CuBridgeVault address.
	#[arg(long, env = "CUTOPIA_BRIDGE_VAULT")]
	vault: Address,
	/// The relayer's chain key as a secret URI (`//Alice` on the dev chain, a mnemonic, or
	/// `0x…` seed). Prefer the environment variable to keep it out of process listings.
	#[arg(long, env = "CUTOPIA_BRIDGE_CHAIN_KEY", hide_env_values = true)]
	chain_key: String,
	/// The relayer's Ethereum signing key (hex), registered with its address in the relayer set.
	#[arg(long, env = "CUTOPIA_BRIDGE_ETH_KEY", hide_env_values = true)]
	eth_key: String,
	/// Follow `latest − N` instead of the `finalized` block (dev chains such as anvil have no
	/// finality). Never use it on a chain with finality.
	#[arg(long, env = "CUTOPIA_BRIDGE_CONFIRMATIONS")]
	confirmations: Option<u64>,
	/// First Ethereum block to scan when there is no checkpoint (the vault's deployment block).
	#[arg(long, env = "CUTOPIA_BRIDGE_START_BLOCK", default_value_t = 0)]
	start_block: u64,
	/// The checkpoint file: the last Ethereum block whose deposits are final on the chain.
	#[arg(long, env = "CUTOPIA_BRIDGE_CHECKPOINT", default_value = "cutopia-bridge.checkpoint")]
	checkpoint: PathBuf,
	/// Most Ethereum blocks per log query.
	#[arg(long, default_value_t = 2_000)]
	max_range: u64,
	/// Seconds between cycles.
	#[arg(long, default_value_t = 2.0)]
	poll: f64,
	/// Prometheus metrics on this port (0: off).
	#[arg(long, env = "CUTOPIA_BRIDGE_PROMETHEUS_PORT", default_value_t = 9616)]
	prometheus_port: u16,
	/// Exit after this many cycles without work (tests); run forever when absent.
	#[arg(long, hide = true)]
	exit_when_idle: Option<u32>,
}

type Chain = OnlineClient<PolkadotConfig>;
/// The chain's state at one block: every decision of a cycle is made against one state.
type ChainAt = subxt::client::ClientAtBlock<
	PolkadotConfig,
	subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
>;
type Rpc = subxt::rpcs::LegacyRpcMethods<subxt::config::RpcConfigFor<PolkadotConfig>>;

/// A cycle's work included in a chain block that is not final yet: once that block is final
/// (and still on the canonical chain), the checkpoint may move to `eth_to`.
struct Pending {
	number: u64,
	hash: subxt::utils::H256,
	eth_to: u64,
}

/// Attestations per batch: at 16 relayers one weighs ~5 ms on the reference machine, so 100
/// stay well inside a block's normal-class weight.
const MAX_ATTESTATIONS_PER_BATCH: u64 = 100;

struct Metrics {
	lag: Gauge<U64>,
	seen: Gauge<U64>,
	attested: Gauge<U64>,
	signed: Gauge<U64>,
	pending_age: Gauge<U64>,
	rpc_errors: Gauge<U64>,
	supply_delta: Gauge<U64>,
}

impl Metrics {
	fn new(registry: &Registry) -> Result<Self, Box<dyn std::error::Error>> {
		let g = |name: &str, help: &str| register(Gauge::new(name, help)?, registry);
		Ok(Self {
			lag: g("cutopia_bridge_lag_blocks", "Ethereum blocks between the followed head and the checkpoint")?,
			seen: g("cutopia_bridge_deposits_seen", "Deposited logs seen and checked")?,
			attested: g("cutopia_bridge_deposits_attested", "Deposits this relayer attested")?,
			signed: g("cutopia_bridge_withdrawals_signed", "Withdrawals this relayer signed")?,
			pending_age: g("cutopia_bridge_pending_age_seconds", "Age of the oldest unfinished cycle")?,
			rpc_errors: g("cutopia_bridge_rpc_errors", "RPC errors (each one backs off)")?,
			supply_delta: g(
				"cutopia_bridge_supply_delta",
				"Vault token balance minus bridged supply, in whole CU (alerts when it shrinks below 0)",
			)?,
		})
	}
}

fn read_checkpoint(path: &PathBuf) -> Option<u64> {
	std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Writes the checkpoint atomically (write + rename), so a crash leaves the old or the new one.
fn write_checkpoint(path: &PathBuf, block: u64) -> std::io::Result<()> {
	let tmp = path.with_extension("tmp");
	std::fs::write(&tmp, format!("{block}\n"))?;
	std::fs::rename(tmp, path)
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A `Deposited` log; attested only after [`Relayer::verify`] accepts its receipt.
struct Deposit {
	block: u64,
	nonce: u64,
	from: Address,
	recipient: [u8; 32],
	amount: u128,
	tx_hash: B256,
}

async fn storage_value(
	at: &ChainAt,
	pallet: &str,
	entry: &str,
	keys: Vec<Value>,
) -> Result<Option<Value<()>>, Error> {
	let addr = dynamic::storage::<Vec<Value>, Value<()>>(pallet, entry);
	match at.storage().try_fetch(addr, keys).await? {
		Some(v) => Ok(Some(v.decode()?)),
		None => Ok(None),
	}
}

/// A withdrawal as stored by pallet-bridge (newtypes such as `BoundedVec` and `H160` decode
/// into their contents).
#[derive(scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct WithdrawalView {
	to: [u8; 20],
	amount: u128,
	set_id: u32,
	signatures: Vec<([u8; 20], [u8; 65])>,
}

async fn withdrawal(at: &ChainAt, nonce: u64) -> Result<Option<WithdrawalView>, Error> {
	let addr = dynamic::storage::<(u64,), WithdrawalView>("Bridge", "Withdrawals");
	match at.storage().try_fetch(addr, (nonce,)).await? {
		Some(v) => Ok(Some(v.decode()?)),
		None => Ok(None),
	}
}

fn bytes_of(v: &Value<()>) -> Vec<u8> {
	fn walk(v: &Value<()>, out: &mut Vec<u8>) {
		match &v.value {
			ValueDef::Primitive(p) => out.push(p.as_u128().unwrap_or_default() as u8),
			ValueDef::Composite(c) => c.values().for_each(|x| walk(x, out)),
			ValueDef::Variant(var) => var.values.values().for_each(|x| walk(x, out)),
			_ => {},
		}
	}
	let mut out = Vec::new();
	walk(v, &mut out);
	out
}

fn uint(v: &Value<()>, field: &str) -> Option<u128> {
	v.at(field).and_then(|x| x.as_u128())
}

struct Relayer {
	args: Args,
	eth: alloy::providers::DynProvider,
	chain: Chain,
	rpc: Rpc,
	signer: subxt_signer::sr25519::Keypair,
	eth_signer: PrivateKeySigner,
	token: Address,
	metrics: Option<Metrics>,
	last_head: u64,
	/// No withdrawal below this needs this relayer's signature.
	sign_from: u64,
	/// The next Ethereum block to scan; `None`: the one after the checkpoint.
	cursor: Option<u64>,
	/// Included, not yet final batches, oldest first.
	pending: std::collections::VecDeque<Pending>,
}

impl Relayer {
	/// The Ethereum block to follow: finalized, or latest − confirmations.
	async fn head(&mut self) -> Result<u64, Error> {
		let head = match self.args.confirmations {
			Some(c) => self.eth.get_block_number().await?.saturating_sub(c),
			None => {
				self.eth
					.get_block_by_number(BlockNumberOrTag::Finalized)
					.await?
					.ok_or("the Ethereum node has no finalized block")?
					.header
					.number
			},
		};
		if head < self.last_head && self.args.confirmations.is_some() {
			// Without finality the tip moves back on every reorg; the blocks below the
			// confirmation depth are what was checkpointed. Wait for the tip to grow again.
			eprintln!(
				"cutopia-bridge: the Ethereum tip moved back ({} → {head} after confirmations); waiting",
				self.last_head
			);
			return Ok(head);
		}
		if head < self.last_head {
			return Err(format!(
				"the followed Ethereum head went backwards from {} to {head}: refusing to continue",
				self.last_head
			)
			.into());
		}
		self.last_head = head;
		Ok(head)
	}

	/// The `Deposited` logs of blocks `from..=to`, still unverified: receipts are fetched only
	/// for deposits the chain still needs this relayer's vote on (see [`Self::verify`]).
	async fn deposits(&self, from: u64, to: u64) -> Result<Vec<Deposit>, Error> {
		let filter = Filter::new()
			.address(self.args.vault)
			.event_signature(Deposited::SIGNATURE_HASH)
			.from_block(from)
			.to_block(to);
		let mut out = Vec::new();
		for log in self.eth.get_logs(&filter).await? {
			if log.removed {
				continue;
			}
			let Some(tx_hash) = log.transaction_hash else { continue };
			let Ok(ev) = Deposited::decode_log(&log.inner) else { continue };
			let Ok(amount) = u128::try_from(ev.amount) else { continue };
			out.push(Deposit {
				block: log.block_number.ok_or("a log without a block number")?,
				nonce: ev.nonce,
				from: ev.from,
				recipient: ev.recipient.0,
				amount,
				tx_hash,
			});
		}
		if let Some(m) = &self.metrics {
			m.seen.add(out.len() as u64);
		}
		Ok(out)
	}

	/// Whether the deposit's receipt shows a real deposit: status 1, the `Deposited` log from
	/// the vault and an ERC20 `Transfer` of the same amount from the vault's token into the
	/// vault (a clone contract emitting the same event fails the last two).
	async fn verify(&self, d: &Deposit) -> Result<bool, Error> {
		let receipt = self
			.eth
			.get_transaction_receipt(d.tx_hash)
			.await?
			.ok_or("a deposit's receipt is missing")?;
		let logs = receipt.inner.logs();
		let from_vault = logs.iter().any(|l| {
			l.address() == self.args.vault
				&& l.topics().first() == Some(&Deposited::SIGNATURE_HASH)
				&& Deposited::decode_log(&l.inner).is_ok_and(|e| e.nonce == d.nonce)
		});
		let transferred = logs.iter().any(|l| {
			l.address() == self.token
				&& Transfer::decode_log(&l.inner)
					.is_ok_and(|t| t.to == self.args.vault && t.value == U256::from(d.amount))
		});
		let ok = receipt.status() && from_vault && transferred;
		if !ok {
			eprintln!(
				"cutopia-bridge: deposit {} in {} fails the receipt checks; ignored",
				d.nonce, d.tx_hash
			);
		}
		Ok(ok)
	}

	/// Whether the chain still needs this relayer's vote on `nonce`.
	async fn needs_vote(&self, at: &ChainAt, nonce: u64) -> Result<bool, Error> {
		let processed =
			storage_value(at, "Bridge", "Processed", vec![Value::u128(nonce.into())]).await?;
		if processed.is_some() {
			return Ok(false);
		}
		let me = Value::from_bytes(self.signer.public_key().0);
		let voted =
			storage_value(at, "Bridge", "Votes", vec![Value::u128(nonce.into()), me]).await?;
		Ok(voted.is_none())
	}

	/// `sign_withdrawal` calls for every withdrawal of the current set this relayer has not
	/// signed.
	async fn signatures(&mut self, at: &ChainAt) -> Result<Vec<Value>, Error> {
		let set = storage_value(at, "Bridge", "Relayers", vec![])
			.await?
			.ok_or("the chain has no relayer set")?;
		let vault = storage_value(at, "Bridge", "Vault", vec![])
			.await?
			.ok_or("the chain has no vault configured (Bridge::set_vault)")?;
		let set_id = uint(&set, "id").unwrap_or_default() as u32;
		let vault = pallet_bridge::VaultInfo {
			chain_id: uint(&vault, "chain_id").unwrap_or_default() as u64,
			vault: sp_core::H160::from_slice(&bytes_of(vault.at("vault").ok_or("vault")?)),
		};
		let me = self.eth_signer.address();
		let next = storage_value(at, "Bridge", "NextWithdrawal", vec![])
			.await?
			.and_then(|v| v.as_u128())
			.unwrap_or_default() as u64;
		let mut calls = Vec::new();
		// Withdrawals stay on-chain: scan from the lowest one this relayer may still owe a
		// signature (everything below is signed by it or belongs to an older set).
		let mut all_done = true;
		for nonce in self.sign_from.max(next.saturating_sub(1_024))..next {
			let Some(w) = withdrawal(at, nonce).await? else { continue };
			if w.set_id != set_id || w.signatures.iter().any(|(a, _)| a == me.as_slice()) {
				if all_done {
					self.sign_from = nonce + 1;
				}
				continue;
			}
			all_done = false;
			let (to, amount) = (sp_core::H160(w.to), w.amount);
			let digest = pallet_bridge::withdrawal_digest(&vault, set_id, nonce, &to, amount);
			let sig = self.eth_signer.sign_hash_sync(&B256::from(digest))?;
			let bytes: [u8; 65] = sig.as_bytes();
			calls.push(Value::unnamed_variant(
				"Bridge",
				[Value::named_variant(
					"sign_withdrawal",
					[("nonce", Value::u128(nonce.into())), ("signature", Value::from_bytes(bytes))],
				)],
			));
		}
		Ok(calls)
	}

	/// Moves the checkpoint over every pending batch whose block is now final. A batch whose
	/// block left the canonical chain is forgotten with everything after it: the next cycle
	/// scans again from the checkpoint and votes again where the chain lacks the vote.
	async fn settle(&mut self) -> Result<(), Error> {
		if self.pending.is_empty() {
			return Ok(());
		}
		let finalized = self.rpc.chain_get_finalized_head().await?;
		let finalized = self
			.rpc
			.chain_get_header(Some(finalized))
			.await?
			.ok_or("the chain has no header for its finalized head")?
			.number as u64;
		while let Some(p) = self.pending.front() {
			if p.number > finalized {
				break;
			}
			let canonical = self.rpc.chain_get_block_hash(Some(p.number.into())).await?;
			if canonical != Some(p.hash) {
				eprintln!(
					"cutopia-bridge: chain block #{} with this relayer's batch was not finalized; rescanning from the checkpoint",
					p.number
				);
				self.pending.clear();
				self.cursor = None;
				self.sign_from = 0;
				break;
			}
			write_checkpoint(&self.args.checkpoint, p.eth_to)?;
			self.pending.pop_front();
		}
		Ok(())
	}

	/// One cycle; returns whether it found work.
	///
	/// Cycles are pipelined: a batch is judged against the best block's state and the next
	/// cycle starts once it is in a best block, not once it is final; the checkpoint follows
	/// finality in [`Self::settle`].
	async fn cycle(&mut self) -> Result<bool, Error> {
		let started = Instant::now();
		self.settle().await?;
		let head = self.head().await?;
		let best =
			self.rpc.chain_get_block_hash(None).await?.ok_or("the chain has no best block")?;
		let at = self.chain.at_block(best).await?;
		let from = match self.cursor {
			Some(c) => c,
			None => read_checkpoint(&self.args.checkpoint)
				.map(|c| c + 1)
				.unwrap_or(self.args.start_block),
		};
		let mut to = head.min(from.saturating_add(self.args.max_range).saturating_sub(1));
		let mut calls = Vec::new();
		let mut attesting = 0u64;
		let mut hold = false;
		if from <= to {
			for d in self.deposits(from, to).await? {
				// A batch must fit a block: stop before the block of the deposit that would
				// overflow it; the checkpoint then ends just before that block.
				if attesting >= MAX_ATTESTATIONS_PER_BATCH {
					if d.block > from {
						to = d.block - 1;
					} else {
						// More than a batch in one block: attest a batch and scan the block
						// again; the next cycle skips what is voted and goes on.
						hold = true;
					}
					break;
				}
				if !self.needs_vote(&at, d.nonce).await? || !self.verify(&d).await? {
					continue;
				}
				attesting += 1;
				calls.push(Value::unnamed_variant(
					"Bridge",
					[Value::named_variant(
						"attest_deposit",
						[(
							"deposit",
							Value::named_composite([
								("nonce", Value::u128(d.nonce.into())),
								("from", Value::from_bytes(d.from.0 .0)),
								("recipient", Value::from_bytes(d.recipient)),
								("amount", Value::u128(d.amount)),
								("tx_hash", Value::from_bytes(d.tx_hash.0)),
							]),
						)],
					)],
				));
			}
		}
		let signatures = self.signatures(&at).await?;
		let signing = signatures.len() as u64;
		calls.extend(signatures);
		let (mut number, mut hash) = (at.block_number(), best);
		if !calls.is_empty() {
			let batch = dynamic::transaction(
				"Utility",
				"force_batch",
				vec![Value::unnamed_composite(calls)],
			);
			// The pool's next nonce: the previous batch may be in a block that is not final.
			let nonce = self
				.rpc
				.system_account_next_index(&self.signer.public_key().to_account_id())
				.await?;
			let params = subxt::config::DefaultExtrinsicParamsBuilder::new().nonce(nonce).build();
			let mut progress =
				at.transactions().sign_and_submit_then_watch(&batch, &self.signer, params).await?;
			let included = loop {
				match progress.next().await.ok_or("the transaction's status stream ended")?? {
					subxt::tx::TransactionStatus::InBestBlock(b)
					| subxt::tx::TransactionStatus::InFinalizedBlock(b) => break b,
					subxt::tx::TransactionStatus::Error { message }
					| subxt::tx::TransactionStatus::Invalid { message }
					| subxt::tx::TransactionStatus::Dropped { message } => {
						return Err(format!("the batch was not included: {message}").into())
					},
					_ => {},
				}
			};
			hash = included.block_hash();
			number = self
				.rpc
				.chain_get_header(Some(hash))
				.await?
				.ok_or("the batch's block has no header")?
				.number as u64;
			let events = included.wait_for_success().await?;
			// force_batch goes on past failing items and reports each item in order. A failed
			// attestation (inbound paused, a nonce another relayer completed in the same block)
			// keeps the checkpoint where it is: the next cycle re-reads the range and re-checks
			// what the chain still needs, so a paused backlog is attested once unpaused.
			let mut item = 0u64;
			let mut attestation_failed = false;
			for ev in events.iter() {
				let ev = ev?;
				match (ev.pallet_name(), ev.event_name()) {
					("Utility", "ItemCompleted") => item += 1,
					("Utility", "ItemFailed") => {
						let fields = ev.decode_fields_unchecked_as::<Value<()>>()?;
						// Another relayer's votes completed the deposit earlier in the same
						// block, or a batch retracted by a fork came back from the pool: the
						// vote is not needed or already there, nothing to retry.
						let benign = matches!(
							module_error(&at.metadata(), &fields).as_deref(),
							Some("Bridge::AlreadyProcessed" | "Bridge::AlreadyVoted")
						);
						if !benign {
							eprintln!("cutopia-bridge: batched call {item} failed: {fields}");
							attestation_failed |= item < attesting;
						}
						item += 1;
					},
					_ => {},
				}
			}
			if attestation_failed {
				self.cursor = None;
				self.pending.clear();
				return Err("an attestation failed; retrying from the checkpoint".into());
			}
			eprintln!(
				"cutopia-bridge: {attesting} attestation(s), {signing} signature(s) in chain block #{number}"
			);
		}
		if from <= to && !hold {
			self.pending.push_back(Pending { number, hash, eth_to: to });
			self.cursor = Some(to + 1);
		}
		if let Some(m) = &self.metrics {
			m.attested.add(attesting);
			m.signed.add(signing);
			m.lag.set(head.saturating_sub(to));
			m.pending_age.set(started.elapsed().as_secs());
		}
		self.watchdog(&at).await?;
		Ok(attesting + signing > 0 || to < head || hold || !self.pending.is_empty())
	}

	/// Compares the vault's token balance with the bridged supply in the cycle's chain state.
	async fn watchdog(&self, at: &ChainAt) -> Result<(), Error> {
		let balance = IERC20::new(self.token, &self.eth).balanceOf(self.args.vault).call().await?;
		let minted = storage_value(at, "Bridge", "TotalMinted", vec![])
			.await?
			.and_then(|v| v.as_u128())
			.unwrap_or_default();
		let burned = storage_value(at, "Bridge", "TotalBurned", vec![])
			.await?
			.and_then(|v| v.as_u128())
			.unwrap_or_default();
		let supply = U256::from(minted.saturating_sub(burned));
		// Released withdrawals leave the vault after they were burned, and deposits enter it
		// before they are minted: the vault may hold more than the supply, never less.
		if balance < supply {
			eprintln!(
				"cutopia-bridge: WATCHDOG: the vault holds {balance} but the chain's bridged supply is {supply}"
			);
		}
		if let Some(m) = &self.metrics {
			let whole = |x: U256| u64::try_from(x / U256::from(10u128.pow(18))).unwrap_or(u64::MAX);
			m.supply_delta.set(whole(balance.saturating_sub(supply)));
		}
		Ok(())
	}
}

/// `Pallet::Error` of a `DispatchError::Module` value, resolved with the chain's metadata.
fn module_error(metadata: &subxt::Metadata, fields: &Value<()>) -> Option<String> {
	let module = fields.at("error")?.at(0)?;
	let pallet = u8::try_from(module.at("index")?.as_u128()?).ok()?;
	let code = u8::try_from(module.at("error")?.at(0)?.as_u128()?).ok()?;
	let p = metadata.pallet_by_error_index(pallet)?;
	Some(format!("{}::{}", p.name(), p.error_variant_by_index(code)?.name))
}

#[tokio::main]
async fn main() {
	let args = Args::parse();
	if let Err(e) = run(args).await {
		eprintln!("cutopia-bridge: {e}");
		std::process::exit(1);
	}
}

async fn run(args: Args) -> Result<(), Error> {
	let uri: subxt_signer::SecretUri =
		args.chain_key.parse().map_err(|e| format!("--chain-key: {e}"))?;
	let signer =
		subxt_signer::sr25519::Keypair::from_uri(&uri).map_err(|e| format!("--chain-key: {e}"))?;
	let eth_signer: PrivateKeySigner =
		args.eth_key.trim_start_matches("0x").parse().map_err(|e| format!("--eth-key: {e}"))?;
	let eth = ProviderBuilder::new()
		.connect_http(args.eth_rpc.parse().map_err(|e| format!("--eth-rpc: {e}"))?)
		.erased();
	let rpc_client = subxt::rpcs::RpcClient::from_insecure_url(&args.chain_rpc)
		.await
		.map_err(|e| format!("cannot reach the chain at {}: {e}", args.chain_rpc))?;
	let chain = Chain::from_rpc_client(rpc_client.clone())
		.await
		.map_err(|e| format!("cannot reach the chain at {}: {e}", args.chain_rpc))?;
	let rpc = Rpc::new(rpc_client);
	let token = IVault::new(args.vault, &eth)
		.token()
		.call()
		.await
		.map_err(|e| format!("cannot read the vault's token at {}: {e}", args.vault))?;
	let metrics = if args.prometheus_port > 0 {
		let registry = Registry::new_custom(None, None)?;
		let metrics = Metrics::new(&registry).map_err(|e| e.to_string())?;
		let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.prometheus_port));
		tokio::spawn(async move {
			if let Err(e) = substrate_prometheus_endpoint::init_prometheus(addr, registry).await {
				eprintln!("cutopia-bridge: metrics endpoint: {e}");
			}
		});
		Some(metrics)
	} else {
		None
	};
	eprintln!(
		"cutopia-bridge: relaying vault {} (token {token}) as {} / {}",
		args.vault,
		signer.public_key().to_account_id(),
		eth_signer.address()
	);
	let poll = Duration::from_secs_f64(args.poll);
	let exit_when_idle = args.exit_when_idle;
	let mut relayer = Relayer {
		args,
		eth,
		chain,
		rpc,
		signer,
		eth_signer,
		token,
		metrics,
		last_head: 0,
		sign_from: 0,
		cursor: None,
		pending: Default::default(),
	};
	let mut backoff = Duration::from_millis(500);
	let mut idle = 0u32;
	loop {
		match relayer.cycle().await {
			Ok(worked) => {
				backoff = Duration::from_millis(500);
				idle = if worked { 0 } else { idle + 1 };
				if exit_when_idle.is_some_and(|n| idle >= n) {
					return Ok(());
				}
				tokio::time::sleep(poll).await;
			},
			Err(e) if e.to_string().contains("went backwards") => return Err(e),
			Err(e) => {
				if let Some(m) = &relayer.metrics {
					m.rpc_errors.inc();
				}
				let jitter = rand::thread_rng().gen_range(0..=backoff.as_millis() as u64 / 2);
				eprintln!(
					"cutopia-bridge: {e}; retrying in {} ms",
					backoff.as_millis() as u64 + jitter
				);
				tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
				backoff = (backoff * 2).min(Duration::from_secs(60));
			},
		}
	}
}
