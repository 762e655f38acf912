//! `cutopia-node`: the CuTopia chain node.
#![warn(missing_docs)]
// `sc_cli::Error` and `sc_service::Error` are large by design; every Substrate node returns them.
#![allow(clippy::result_large_err)]

mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
