//! `cutopia-bridge`: one relayer of the CuToken bridge.
//!
//! Every cycle it
//! 1. reads Ethereum's finalized head (or `latest − confirmations` on dev chains) and stops with
//!    an error if it ever goes backwards;
//! 2. fetches the vault's `Deposited` logs from its checkpoint up to that head, skips removed
//!    logs, re-reads each receipt (status 1, the log really from the vault, an ERC20 `Transfer`
//!    of the same amount from the token into the vault), and skips nonces the chain already
//!    processed or this relayer already voted on;
//! 3. signs (EIP-712) the withdrawals of the current relayer set it has not signed yet;
//! 4. submits both as one `Bridge.relay` signed by its chain key, bounded by the chain's
//!    `MaxAttestations` and `MaxSignatures` (so a call always fits a block) and free for a
//!    member's first call in a block (a relayer needs no CU; the runtime's `PrioritizeRelay`
//!    extension puts it first in the pool), with its nonce from the pool so
//!    calls can follow each other before they are final, and goes on once it is in a best
//!    block; it writes its checkpoint file only when that block is final, and rescans from the
//!    checkpoint if the block left the chain.
//!
//! Any RPC error backs off with jitter and retries the whole cycle from the checkpoint, which
//! never advances past a failure. Restarting from any checkpoint is safe: the chain refuses
//! processed nonces and repeated votes. Prometheus metrics and a watchdog comparing the vault's
//! token balance with the chain's bridged supply run alongside.
//!
//! With several `--eth-rpc` providers, a deposit, a receipt or a vault state is believed only
//! when `--eth-quorum` of them (default: a majority) answer alike, and the followed head is
//! the highest that many have reached.
//!
//! Modules: [`config`] (flags), [`eth`] (Ethereum side), [`quorum`] (agreement of providers), [`chain`] (CuTopia side), [`batch`]
//! (what goes into a batch), [`checkpoint`], [`backoff`], [`metrics`], [`relay`] (the loop)
//! and [`error`]. Logs go to stderr; `CUTOPIA_BRIDGE_LOG` filters them (default `info`), not
//! `RUST_LOG`, so a filter meant for a node started from the same shell cannot silence them.

mod backoff;
mod batch;
mod chain;
mod checkpoint;
mod config;
mod error;
mod eth;
mod metrics;
mod quorum;
mod relay;

use clap::Parser;
use tracing_subscriber::{filter::LevelFilter, EnvFilter};

#[tokio::main]
async fn main() {
	let args = config::Args::parse();
	tracing_subscriber::fmt()
		.with_env_filter(
			EnvFilter::builder()
				.with_default_directive(LevelFilter::INFO.into())
				.with_env_var("CUTOPIA_BRIDGE_LOG")
				.from_env_lossy(),
		)
		.with_writer(std::io::stderr)
		.with_ansi(false)
		.init();
	if let Err(e) = relay::run(args).await {
		tracing::error!("{e}");
		std::process::exit(1);
	}
}
