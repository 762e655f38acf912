//! The miner and exchange agents. Both are loops over the chain's best block that derive
//! everything they must do from chain state, plus a small state file for the secrets that
//! only they know (a miner's unrevealed factors and salts, an exchange's primes). Killing and
//! restarting an agent therefore loses nothing: it reads where things stand and goes on.
//!
//! They log with `tracing`, under the targets `cutopia::miner` and `cutopia::exchange`; the
//! `cutopia` CLI prints those lines on stderr as `[miner] …` and `[exchange] …`.

mod exchange;
mod miner;

pub use exchange::{run_exchange, ExchangeConfig};
#[cfg(target_os = "linux")]
pub use miner::Containers;
pub use miner::{run_miner, MinerConfig};

use crate::{
	chain::{AccountId32, Chain},
	cutopia::{
		self,
		runtime_types::{
			cutopia_primitives::types::Role, pallet_challenge::types::Challenge,
			pallet_repchain::types::Profile,
		},
	},
};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::{path::Path, time::Duration};
use subxt_signer::sr25519::Keypair;

/// A small JSON file written atomically (temporary file, then rename), mode 0600.
fn save<T: Serialize>(path: &Path, value: &T) -> Result<()> {
	crate::work::write_private(path, serde_json::to_string_pretty(value)?.as_bytes())
}

fn load<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T> {
	match std::fs::read_to_string(path) {
		Ok(s) => serde_json::from_str(&s)
			.with_context(|| format!("corrupt state file {}", path.display())),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
		Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
	}
}

/// Logs a refused transaction at warn level as `<what>: <error and its causes>`: anyhow's
/// `{:#}` prints the causes `a: b: c`, while a `ChainError` on its own prints only its first
/// message.
macro_rules! refused {
	($target:expr, $e:expr, $($what:tt)+) => {
		tracing::warn!(
			target: $target,
			"{}: {:#}",
			format_args!($($what)+),
			anyhow::Error::from($e)
		)
	};
}
pub(crate) use refused;

/// Logs how an agent found its registration: resumed or new.
macro_rules! log_registration {
	($target:expr, $registration:expr, $me:expr, $role:literal) => {
		match $registration {
			Registration::Found(_) => {
				tracing::info!(target: $target, "{} is registered; resuming from chain state", $me)
			},
			Registration::New => tracing::info!(target: $target, "registered {} as {}", $me, $role),
		}
	};
}
pub(crate) use log_registration;

/// Logs (at debug) how many JSON-RPC calls block `$now` cost an agent: `$worked` doing its
/// work, `$waited` polling for it. `scripts/bench-agents.sh` reads these lines.
macro_rules! log_rpc_calls {
	($target:expr, $now:expr, $worked:expr, $waited:expr) => {
		tracing::debug!(
			target: $target,
			"block #{}: {} RPC calls for its work, {} waiting for it",
			$now,
			$worked,
			$waited
		)
	};
}
pub(crate) use log_rpc_calls;

/// The last block the issuer may post `C` of challenge `c` in (as the Challenge pallet's
/// `posting_deadline`): `CommitWindow` blocks after opening, or its deadline if sooner.
fn posting_deadline(c: &Challenge<AccountId32, u32, u128>, commit_window: u32) -> u32 {
	c.deadline.min(c.opened + commit_window)
}

/// Waits for the next best block after `last`, polling twice a second; returns it and the
/// JSON-RPC calls the wait cost.
async fn next_block(chain: &Chain, last: u32) -> Result<(u32, u64)> {
	let before = chain.rpc_calls();
	loop {
		let (n, _) = chain.best().await?;
		if n > last {
			return Ok((n, chain.rpc_calls() - before));
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Whether an agent found itself on RepChain or had to register.
enum Registration {
	/// A restarted agent: already registered in its role, with this profile.
	Found(Profile<u128>),
	/// Registered just now.
	New,
}

/// Sends `register` unless RepChain already has `key` in `role`. The caller logs the outcome,
/// under its own target.
async fn ensure_registered(
	chain: &Chain,
	key: &Keypair,
	role: Role,
	register: &impl subxt::tx::Payload,
	agent: &str,
) -> Result<Registration> {
	let me = key.public_key().to_account_id();
	let (_, at) = chain.at_best().await?;
	let registered = at
		.storage()
		.try_fetch(cutopia::storage().rep_chain().registrations(), (me, role))
		.await?
		.map(|r| r.decode())
		.transpose()?;
	if let Some(registered) = registered {
		return Ok(Registration::Found(registered.profile));
	}
	chain.submit(register, key).await.with_context(|| format!("registering as {agent}"))?;
	Ok(Registration::New)
}
