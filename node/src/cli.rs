//! Command-line interface of `cutopia-node`.

use sc_cli::RunCmd;

/// How the node makes blocks.
#[derive(Debug, Copy, Clone, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Sealing {
	/// Aura slots with GRANDPA finality, as on a real network.
	#[default]
	Aura,
	/// A block as soon as a transaction enters the pool, finalized at once. For tests.
	Instant,
	/// A block only when `engine_createBlock` is called over RPC. For tests that need
	/// to control time block by block.
	Manual,
}

/// `cutopia-node` command line.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Block production: `aura` (default, with GRANDPA), `instant` or `manual`. The last two
	/// are for development chains only: they need no validator key and finalize by RPC or
	/// at once.
	#[arg(long, value_enum, default_value_t = Sealing::Aura)]
	pub sealing: Sealing,

	#[allow(missing_docs)]
	#[clap(flatten)]
	pub run: RunCmd,
}

/// Subcommands of `cutopia-node`.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (JSON) from a preset: `--chain dev` or `--chain local`.
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks to a file.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks from a file.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain database.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Benchmarks: pallets (needs `--features runtime-benchmarks`), storage, overhead,
	/// extrinsics and the machine.
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
