//! `cutopia exchange`: listing indentures and issuing their factorization challenges.

use super::{connect, percent, signer};
use crate::Cli;
use anyhow::{Context, Result};
use clap::Subcommand;
use plexus::{agents, cutopia::runtime_types::sp_arithmetic::per_things::Permill, parse_cu};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Exchange {
	/// Register if needed, then issue factorization challenges and reveal them for audit.
	Run {
		/// Fee on the incentive, percent.
		#[arg(long, default_value = "5")]
		fee_percent: f64,
		/// Name registered on RepChain.
		#[arg(long, default_value = "cutopia-exchange")]
		name: String,
		/// host:port registered on RepChain.
		#[arg(long, default_value = "127.0.0.1:7080")]
		endpoint: String,
		/// RepChain bond when registering, CU.
		#[arg(long, default_value = "100")]
		bond: String,
		/// Where the secret factors of posted challenges are kept.
		#[arg(long, default_value = "cutopia-exchange")]
		data_dir: PathBuf,
	},
}

pub async fn run(cli: &Cli, e: &Exchange) -> Result<()> {
	match e {
		Exchange::Run { fee_percent, name, endpoint, bond, data_dir } => {
			let chain = connect(cli).await?;
			let key = signer(cli)?;
			let cfg = agents::ExchangeConfig {
				fee: Permill(percent(*fee_percent, "--fee-percent")?),
				name: name.clone(),
				endpoint: endpoint.clone(),
				bond: parse_cu(bond).context("--bond")?,
				data_dir: data_dir.clone(),
			};
			agents::run_exchange(chain, key, cfg).await
		},
	}
}
