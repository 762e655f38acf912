//! `cutopia`: the command line of the CuTopia marketplace — wallet, buyer (client), miner,
//! exchange and escrow operator. Every command takes `--json` for scripts.
//!
//! The agents (`miner run`, `exchange run`) log on stderr, one `[miner] …` or `[exchange] …`
//! line per event; `CUTOPIA_LOG` takes a `tracing` filter (default `cutopia=info`) to show
//! more, e.g. `CUTOPIA_LOG=cutopia=info,subxt=debug`. It is not `RUST_LOG`, so that a
//! variable meant for the node cannot silence an agent.

mod cmd;
mod output;

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
	name = "cutopia",
	version,
	about = "CuTopia marketplace: wallet, client, miner, exchange and escrow commands"
)]
struct Cli {
	/// The node's RPC endpoint.
	#[arg(long, global = true, env = "CUTOPIA_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// Signing key as a secret URI: `//Alice` (dev), a mnemonic, `0x<seed>`, with optional
	/// `//hard/soft` derivation.
	#[arg(long, global = true, env = "CUTOPIA_KEY", hide_env_values = true)]
	key: Option<String>,
	/// Signing key from a keystore file (`cutopia wallet new --keystore`, or a polkadot.js
	/// account export); the password comes from CUTOPIA_PASSWORD.
	#[arg(long, global = true, env = "CUTOPIA_KEYSTORE")]
	keystore: Option<PathBuf>,
	/// Print JSON instead of text.
	#[arg(long, global = true)]
	json: bool,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Keys, balances, transfers and the CuToken bridge.
	#[command(subcommand)]
	Wallet(cmd::wallet::Wallet),
	/// Buy compute: price, submit, follow, accept or dispute, rate, fetch results.
	#[command(subcommand)]
	Client(cmd::client::Client),
	/// Sell compute.
	#[command(subcommand)]
	Miner(cmd::miner::Miner),
	/// List indentures and issue their factorization challenges.
	#[command(subcommand)]
	Exchange(cmd::exchange::Exchange),
	/// Arbitrate disputes as an escrow operator.
	#[command(subcommand)]
	Escrow(cmd::escrow::Escrow),
}

fn main() {
	// The container sandbox's helper: before any runtime thread exists, because namespaces
	// and mounts are set up by a single-threaded process.
	#[cfg(target_os = "linux")]
	match std::env::args().nth(1).as_deref() {
		Some(plexus::container::SANDBOX_ARG) => plexus::container::sandbox_main(),
		Some(plexus::container::ENTER_ARG) => plexus::container::enter_main(),
		_ => {},
	}
	let cli = Cli::parse();
	// Offline work needs neither the async runtime nor the log subscriber, whose filter
	// parsing (regular expressions) cost more than a 96-bit factoring in a debug build.
	if let Command::Miner(cmd::miner::Miner::Factor { n }) = &cli.command {
		if let Err(e) = cmd::miner::factor(&cli, n) {
			fail(&cli, e);
		}
		return;
	}
	tokio::runtime::Builder::new_multi_thread()
		.enable_all()
		.build()
		.expect("a tokio runtime")
		.block_on(cli_main(cli));
}

async fn cli_main(cli: Cli) {
	init_logs();
	if let Err(e) = run(&cli).await {
		fail(&cli, e);
	}
}

/// The error on stdout as JSON (with `--json`) and on stderr, and exit status 1.
fn fail(cli: &Cli, e: anyhow::Error) -> ! {
	if cli.json {
		println!("{}", json!({ "error": format!("{e:#}") }));
	}
	eprintln!("error: {e:#}");
	std::process::exit(1);
}

async fn run(cli: &Cli) -> Result<()> {
	match &cli.command {
		Command::Wallet(c) => cmd::wallet::run(cli, c).await,
		Command::Client(c) => cmd::client::run(cli, c).await,
		Command::Miner(c) => cmd::miner::run(cli, c).await,
		Command::Exchange(c) => cmd::exchange::run(cli, c).await,
		Command::Escrow(c) => cmd::escrow::run(cli, c).await,
	}
}

/// Agent events on stderr as `[role] message`: no time, level or colour, so that the lines
/// read as they always have and scripts that wait for them keep working.
fn init_logs() {
	use tracing_subscriber::EnvFilter;
	let filter =
		EnvFilter::try_from_env("CUTOPIA_LOG").unwrap_or_else(|_| EnvFilter::new("cutopia=info"));
	tracing_subscriber::fmt()
		.with_env_filter(filter)
		.with_writer(std::io::stderr)
		.event_format(RoleLine)
		.init();
}

/// Formats an event as `[role] message`, the role being its target after `cutopia::`.
struct RoleLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for RoleLine
where
	S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
	N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
	fn format_event(
		&self,
		ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
		mut writer: tracing_subscriber::fmt::format::Writer<'_>,
		event: &tracing::Event<'_>,
	) -> std::fmt::Result {
		let target = event.metadata().target();
		write!(writer, "[{}] ", target.strip_prefix("cutopia::").unwrap_or(target))?;
		ctx.field_format().format_fields(writer.by_ref(), event)?;
		writeln!(writer)
	}
}
