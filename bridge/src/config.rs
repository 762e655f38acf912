//! The relayer's command line. Keys can come from the environment so that they stay out of
//! process listings.

use alloy::primitives::Address;
use clap::Parser;
use std::path::PathBuf;

/// Relays CuBridgeVault deposits to the CuTopia chain and signs withdrawals for the vault.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Args {
	/// Ethereum JSON-RPC endpoints (HTTP), comma-separated or the flag repeated. With several,
	/// every read that decides a vote must be answered alike by `--eth-quorum` of them.
	#[arg(
		long,
		env = "CUTOPIA_BRIDGE_ETH_RPC",
		value_delimiter = ',',
		default_value = "http://127.0.0.1:8545"
	)]
	pub eth_rpc: Vec<String>,
	/// How many `--eth-rpc` providers must agree before a deposit is attested or a vault state
	/// believed (default: a majority of them).
	#[arg(long, env = "CUTOPIA_BRIDGE_ETH_QUORUM")]
	pub eth_quorum: Option<usize>,
	/// CuTopia node WebSocket endpoint.
	#[arg(long, env = "CUTOPIA_BRIDGE_CHAIN_RPC", default_value = "ws://127.0.0.1:9944")]
	pub chain_rpc: String,
	/// The CuBridgeVault address.
	#[arg(long, env = "CUTOPIA_BRIDGE_VAULT")]
	pub vault: Address,
	/// The relayer's chain key as a secret URI (`//Alice` on the dev chain, a mnemonic, or
	/// `0x…` seed). Prefer the environment variable to keep it out of process listings.
	#[arg(long, env = "CUTOPIA_BRIDGE_CHAIN_KEY", hide_env_values = true)]
	pub chain_key: String,
	/// The relayer's Ethereum signing key (hex), registered with its address in the relayer set.
	#[arg(long, env = "CUTOPIA_BRIDGE_ETH_KEY", hide_env_values = true)]
	pub eth_key: String,
	/// Follow `latest − N` instead of the `finalized` block (dev chains such as anvil have no
	/// finality). Never use it on a chain with finality.
	#[arg(long, env = "CUTOPIA_BRIDGE_CONFIRMATIONS")]
	pub confirmations: Option<u64>,
	/// First Ethereum block to scan when there is no checkpoint (the vault's deployment block).
	#[arg(long, env = "CUTOPIA_BRIDGE_START_BLOCK", default_value_t = 0)]
	pub start_block: u64,
	/// The checkpoint file: the last Ethereum block whose deposits are final on the chain.
	#[arg(long, env = "CUTOPIA_BRIDGE_CHECKPOINT", default_value = "cutopia-bridge.checkpoint")]
	pub checkpoint: PathBuf,
	/// Most Ethereum blocks per log query.
	#[arg(long, default_value_t = 2_000)]
	pub max_range: u64,
	/// Seconds between cycles.
	#[arg(long, default_value_t = 2.0)]
	pub poll: f64,
	/// Prometheus metrics on this port (0: off).
	#[arg(long, env = "CUTOPIA_BRIDGE_PROMETHEUS_PORT", default_value_t = 9616)]
	pub prometheus_port: u16,
	/// Exit after this many cycles without work (tests); run forever when absent.
	#[arg(long, hide = true)]
	pub exit_when_idle: Option<u32>,
}
