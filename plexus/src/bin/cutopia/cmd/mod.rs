//! The commands, one module per role; each owns its arguments and its `run`. What they share:
//! the signing key from the global flags, the node connection, and argument parsing.

pub mod client;
pub mod escrow;
pub mod exchange;
pub mod miner;
pub mod wallet;

use crate::Cli;
use anyhow::{anyhow, bail, Result};
use plexus::{
	chain::{AccountId32, Chain},
	keys,
};
use std::str::FromStr;
use subxt_signer::sr25519::Keypair;

/// The key from `--key` or `--keystore`.
fn signer(cli: &Cli) -> Result<Keypair> {
	match (&cli.key, &cli.keystore) {
		(Some(_), Some(_)) => bail!("give --key or --keystore, not both"),
		(Some(uri), None) => keys::from_uri(uri),
		(None, Some(path)) => {
			let pw = std::env::var("CUTOPIA_PASSWORD")
				.map_err(|_| anyhow!("set CUTOPIA_PASSWORD to open {}", path.display()))?;
			keys::open(path, &pw)
		},
		(None, None) => {
			bail!("this command signs: give --key (e.g. //Alice on a dev chain) or --keystore")
		},
	}
}

/// The node at `--url`. Commands connect before they read the key, so that a command run
/// against no node says so first.
async fn connect(cli: &Cli) -> Result<Chain> {
	Ok(Chain::connect(&cli.url).await?)
}

fn account(s: &str) -> Result<AccountId32> {
	AccountId32::from_str(s).map_err(|e| anyhow!("`{s}` is not an address: {e}"))
}

/// `p` percent in parts per million.
fn percent(p: f64, what: &str) -> Result<u32> {
	if !(0.0..=100.0).contains(&p) {
		bail!("{what} is a percentage from 0 to 100");
	}
	Ok((p * 10_000.0).round() as u32)
}
