//! What can go wrong, sorted by what the relayer does about it: a fatal error stops it, a
//! transient one backs off and retries the cycle from the checkpoint.

use crate::{chain::ChainError, eth::EthError};
use alloy::primitives::Address;
use substrate_prometheus_endpoint::PrometheusError;
use thiserror::Error;

/// Why a cycle did not complete.
#[derive(Debug, Error)]
pub enum RelayError {
	/// Going on could relay from a wrong history, or cannot work at all.
	#[error(transparent)]
	Fatal(#[from] Fatal),
	/// Nothing moved past the failure: retrying from the checkpoint is safe.
	#[error(transparent)]
	Transient(#[from] Transient),
}

/// Errors that stop the relayer with a non-zero exit status.
#[derive(Debug, Error)]
pub enum Fatal {
	/// It could not start.
	#[error(transparent)]
	Setup(#[from] SetupError),
	/// Finality does not go back on an honest node: the Ethereum node or its history is wrong.
	#[error("the followed Ethereum head went backwards from {from} to {to}: refusing to continue")]
	HeadWentBackwards { from: u64, to: u64 },
	/// Root moved the bridge to another vault: this relayer's deposits are no longer taken.
	#[error("the chain's bridge now names vault {now} on Ethereum chain {chain_id} instead of the one this relayer follows: restart it with the new --vault")]
	VaultChanged { now: Address, chain_id: u64 },
}

/// Errors of a cycle that leave the checkpoint where it is.
#[derive(Debug, Error)]
pub enum Transient {
	#[error(transparent)]
	Eth(#[from] EthError),
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The checkpoint file could not be written.
	#[error(transparent)]
	Checkpoint(#[from] std::io::Error),
	/// The chain refused an attestation for a reason that may pass (inbound paused, …).
	#[error("an attestation failed; retrying from the checkpoint")]
	AttestationFailed,
}

/// Errors before the first cycle.
#[derive(Debug, Error)]
pub enum SetupError {
	#[error("{flag}: {reason}")]
	Flag { flag: &'static str, reason: String },
	#[error("cannot reach the chain at {url}: {source}")]
	Chain { url: String, source: ChainError },
	#[error("cannot read the vault's token at {vault}: {source}")]
	Token { vault: Address, source: Box<alloy::contract::Error> },
	#[error(transparent)]
	Metrics(#[from] PrometheusError),
	#[error("the chain's bridge names vault {chain_vault} on Ethereum chain {chain_id}, but this relayer follows {vault} on chain {eth_chain_id}: refusing to relay (check --vault and --eth-rpc, or Bridge::set_vault)")]
	VaultMismatch { chain_vault: Address, chain_id: u64, vault: Address, eth_chain_id: u64 },
	#[error("cannot read the Ethereum chain id: {0}")]
	EthChainId(String),
}

impl SetupError {
	/// The value of `flag` is unusable.
	pub fn flag(flag: &'static str, reason: impl std::fmt::Display) -> Self {
		Self::Flag { flag, reason: reason.to_string() }
	}
}

// `?` in a cycle converts the errors of both sides straight into a retry.
macro_rules! transient_from {
	($($source:ty),* $(,)?) => {$(
		impl From<$source> for RelayError {
			fn from(e: $source) -> Self {
				Self::Transient(e.into())
			}
		}
	)*};
}

transient_from!(EthError, ChainError, std::io::Error);
