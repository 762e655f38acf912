//! `cutopia wallet`: keys, balances, transfers and the CuToken bridge.

use super::{account, connect, signer};
use crate::{output::out, Cli};
use anyhow::{anyhow, Result};
use clap::Subcommand;
use plexus::{chain::Chain, cutopia, format_cu, keys, parse_cu};
use serde_json::json;
use std::{
	path::{Path, PathBuf},
	str::FromStr,
};

#[derive(Subcommand)]
pub enum Wallet {
	/// A new key from the OS random source: prints the address and mnemonic, or seals it in
	/// a keystore file (password from CUTOPIA_PASSWORD) with `--out`.
	New {
		/// Keystore file to seal the new key in (mode 0600, never overwritten).
		#[arg(long)]
		out: Option<PathBuf>,
	},
	/// The address of the signing key.
	Address,
	/// Free balance (of the signing key, or of ADDRESS).
	Balance {
		/// SS58 address to look up instead of the signing key's.
		address: Option<String>,
	},
	/// Send AMOUNT CU to ADDRESS (keeps the sender's account alive).
	Transfer {
		/// Recipient SS58 address.
		to: String,
		/// CU to send (e.g. 2 or 0.5).
		amount: String,
	},
	/// Bridge CU back to Ethereum: burns AMOUNT here; relayers sign the release.
	Withdraw {
		/// Ethereum recipient (0x…, 20 bytes).
		#[arg(long)]
		eth: String,
		/// CU to burn here and release on Ethereum.
		amount: String,
	},
	/// Take back withdrawal NONCE that the vault has not released (two days after it, or what
	/// root set): the relayers then sign its refund instead, which anyone submits to the
	/// vault's `refund`, and the CU is minted back here.
	Refund {
		/// The withdrawal's nonce (`cutopia wallet withdraw` printed it).
		nonce: u64,
	},
	/// The bridge's totals, this key's withdrawals with their relayer signatures, and with
	/// `--deposit N` whether the current vault's deposit N is minted here yet.
	BridgeStatus {
		/// Nonce of a vault deposit to check.
		#[arg(long)]
		deposit: Option<u64>,
	},
}

pub async fn run(cli: &Cli, w: &Wallet) -> Result<()> {
	match w {
		Wallet::New { out: path } => new_key(cli, path.as_deref()),
		Wallet::Address => {
			let a = signer(cli)?.public_key().to_account_id().to_string();
			out(cli, json!({ "address": a }), || a.clone());
			Ok(())
		},
		Wallet::Balance { address } => {
			let chain = connect(cli).await?;
			let who = match address {
				Some(a) => account(a)?,
				None => signer(cli)?.public_key().to_account_id(),
			};
			let free = chain.free(&who).await?;
			out(cli, json!({ "address": who.to_string(), "free": free.to_string() }), || {
				format!("{} CU", format_cu(free))
			});
			Ok(())
		},
		Wallet::Transfer { to, amount } => {
			let chain = connect(cli).await?;
			let key = signer(cli)?;
			let (dest, value) = (account(to)?, parse_cu(amount)?);
			let tx = cutopia::transactions().balances().transfer_keep_alive(dest.into(), value);
			let inc = chain.submit(&tx, &key).await?;
			out(cli, json!({ "block": inc.block, "fee": inc.fee().to_string() }), || {
				format!("sent {} CU to {to} (fee {} CU)", format_cu(value), format_cu(inc.fee()))
			});
			Ok(())
		},
		Wallet::Withdraw { eth, amount } => {
			let chain = connect(cli).await?;
			let key = signer(cli)?;
			let to = subxt::utils::H160::from_str(eth)
				.map_err(|e| anyhow!("`{eth}` is not an Ethereum address: {e}"))?;
			let value = parse_cu(amount)?;
			let inc =
				chain.submit(&cutopia::transactions().bridge().withdraw(to, value), &key).await?;
			let nonce = inc
				.find::<cutopia::bridge::events::WithdrawalRequested>()
				.map(|e| e.nonce)
				.ok_or_else(|| anyhow!("no WithdrawalRequested event"))?;
			out(cli, json!({ "nonce": nonce, "block": inc.block }), || {
				format!(
					"withdrawal {nonce}: {} CU burned; relayers sign its release to {eth}",
					format_cu(value)
				)
			});
			Ok(())
		},
		Wallet::Refund { nonce } => {
			let chain = connect(cli).await?;
			let key = signer(cli)?;
			let inc = chain
				.submit(&cutopia::transactions().bridge().request_refund(*nonce), &key)
				.await?;
			out(cli, json!({ "nonce": nonce, "block": inc.block }), || {
				format!(
					"withdrawal {nonce}: refund asked; relayers sign it, then submit it to the vault's refund"
				)
			});
			Ok(())
		},
		Wallet::BridgeStatus { deposit } => {
			let chain = connect(cli).await?;
			bridge_status(cli, &chain, *deposit).await
		},
	}
}

/// A fresh mnemonic, shown or sealed; nothing touches the chain.
fn new_key(cli: &Cli, path: Option<&Path>) -> Result<()> {
	let phrase = keys::new_mnemonic()?;
	let pair = keys::from_uri(&phrase)?;
	let address = pair.public_key().to_account_id().to_string();
	match path {
		Some(p) => {
			let pw = std::env::var("CUTOPIA_PASSWORD")
				.map_err(|_| anyhow!("set CUTOPIA_PASSWORD to seal the keystore"))?;
			keys::write_private(p, &keys::seal(&phrase, &pw)?)?;
			out(cli, json!({ "address": address, "keystore": p }), || {
				format!("address {address}\nkeystore {} (mode 0600)", p.display())
			});
		},
		None => {
			out(cli, json!({ "address": address, "mnemonic": phrase }), || {
				format!("address  {address}\nmnemonic {phrase}\nKeep the mnemonic secret: it is the key.")
			})
		},
	}
	Ok(())
}

/// Reads the bridge at the best block; `--deposit` adds what the relayers did with it.
async fn bridge_status(cli: &Cli, chain: &Chain, deposit: Option<u64>) -> Result<()> {
	let me = signer(cli).ok().map(|k| k.public_key().to_account_id());
	let (_, at) = chain.at_best().await?;
	let minted =
		at.storage().fetch(cutopia::storage().bridge().total_minted(), ()).await?.decode()?;
	let burned =
		at.storage().fetch(cutopia::storage().bridge().total_burned(), ()).await?.decode()?;
	let mut mine = Vec::new();
	let mut all = at.storage().iter(cutopia::storage().bridge().withdrawals(), ()).await?;
	while let Some(e) = all.next().await {
		let e = e?;
		let w = e.value().decode()?;
		if Some(&w.who) == me.as_ref() {
			let (nonce,) = e.key()?.decode()?;
			let refund =
				matches!(w.payout, cutopia::runtime_types::pallet_bridge::types::Payout::Refund);
			mine.push(json!({
				"nonce": nonce, "to": format!("{:?}", w.to), "amount": w.amount.to_string(),
				"signatures": w.signatures.0.len(), "refund": refund,
			}));
		}
	}
	let deposit_state = match deposit {
		Some(n) => {
			// Deposits are known by (vault, nonce): the current vault's.
			let vault = at
				.storage()
				.try_fetch(cutopia::storage().bridge().vault(), ())
				.await?
				.ok_or_else(|| anyhow!("the bridge has no vault configured"))?
				.decode()?;
			let minted = at
				.storage()
				.try_fetch(cutopia::storage().bridge().processed(), ((vault.clone(), n),))
				.await?
				.is_some();
			let mut votes = 0;
			let mut all =
				at.storage().iter(cutopia::storage().bridge().votes(), ((vault, n),)).await?;
			while let Some(v) = all.next().await {
				v?;
				votes += 1;
			}
			Some(json!({ "nonce": n, "minted": minted, "votes": votes }))
		},
		None => None,
	};
	let v = json!({ "totalMinted": minted.to_string(), "totalBurned": burned.to_string(), "withdrawals": mine, "deposit": deposit_state });
	out(cli, v.clone(), || {
		let mut s = format!("minted {} CU, burned {} CU", format_cu(minted), format_cu(burned));
		if let Some(d) = &deposit_state {
			s += &format!(
				"\ndeposit {}: {}",
				d["nonce"],
				if d["minted"] == true {
					"minted".to_string()
				} else {
					format!("not minted yet ({} relayer votes)", d["votes"])
				}
			);
		}
		for w in &mine {
			s += &format!(
				"\nwithdrawal {} → {}: {} base units, {} signatures{}",
				w["nonce"],
				w["to"],
				w["amount"],
				w["signatures"],
				if w["refund"] == true { " (refund asked)" } else { "" }
			);
		}
		s
	});
	Ok(())
}
