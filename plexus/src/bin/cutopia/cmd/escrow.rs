//! `cutopia escrow`: arbitrating disputes as an escrow operator.

use super::{connect, percent, signer};
use crate::{output::out, Cli};
use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use plexus::{
	chain::H256,
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			cutopia_primitives::types::Role,
			sp_arithmetic::per_things::{Perbill, Permill},
		},
	},
	parse_cu,
};
use serde_json::json;
use std::str::FromStr;

#[derive(Subcommand)]
pub enum Escrow {
	/// Register as an escrow operator on RepChain.
	Register {
		/// Fee on the incentive, percent.
		#[arg(long, default_value = "1")]
		fee_percent: f64,
		/// Name registered on RepChain.
		#[arg(long, default_value = "cutopia-escrow")]
		name: String,
		/// host:port registered on RepChain.
		#[arg(long, default_value = "127.0.0.1:7090")]
		endpoint: String,
		/// RepChain bond, CU.
		#[arg(long, default_value = "100")]
		bond: String,
	},
	/// Decide a dispute: the miners get MINER_SHARE percent, the buyer the rest.
	Resolve {
		/// Indenture id.
		id: u64,
		/// Percent to the miners, 0 to 100; the buyer gets the rest.
		#[arg(long)]
		miner_share: f64,
	},
	/// Decide an indenture whose replicas revealed different results: the miners that
	/// revealed RESULT are paid, the others fail; without RESULT every revealed one was wrong.
	Judge {
		/// Indenture id.
		id: u64,
		/// The right result hash (hex, as `cutopia client status` shows the revealed ones).
		#[arg(long)]
		result: Option<String>,
	},
}

pub async fn run(cli: &Cli, e: &Escrow) -> Result<()> {
	let chain = connect(cli).await?;
	match e {
		Escrow::Register { fee_percent, name, endpoint, bond } => {
			let key = signer(cli)?;
			let tx = cutopia::transactions().rep_chain().register_service(
				Role::EscrowOperator,
				Permill(percent(*fee_percent, "--fee-percent")?),
				BoundedVec(name.as_bytes().to_vec()),
				BoundedVec(endpoint.as_bytes().to_vec()),
				parse_cu(bond).context("--bond")?,
			);
			let inc = chain.submit(&tx, &key).await?;
			let who = key.public_key().to_account_id().to_string();
			out(cli, json!({ "address": who, "block": inc.block }), || {
				format!("{who} registered as escrow operator `{name}` ({fee_percent}% fee)")
			});
		},
		Escrow::Resolve { id, miner_share } => {
			let key = signer(cli)?;
			let share = Perbill(percent(*miner_share, "--miner-share")? * 1000);
			let inc =
				chain.submit(&cutopia::transactions().escrow().resolve(*id, share), &key).await?;
			out(cli, json!({ "id": id, "block": inc.block, "minerShare": miner_share }), || {
				format!("escrow {id} resolved: {miner_share}% to the miners")
			});
		},
		Escrow::Judge { id, result } => {
			let key = signer(cli)?;
			let right = result
				.as_deref()
				.map(|h| {
					H256::from_str(h)
						.map_err(|e| anyhow!("--result {h} is not a 32-byte hex hash: {e}"))
				})
				.transpose()?;
			let tx = cutopia::transactions().indenture().judge(*id, right);
			let inc = chain.submit(&tx, &key).await?;
			out(cli, json!({ "id": id, "block": inc.block, "result": result }), || match result {
				Some(r) => format!("indenture {id} judged: {r} is right"),
				None => format!("indenture {id} judged: every revealed result is wrong"),
			});
		},
	}
	Ok(())
}
