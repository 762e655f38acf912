//! Chain specifications, all built from the runtime's genesis presets.

use cutopia_runtime::{TOKEN_DECIMALS, TOKEN_SYMBOL, WASM_BINARY};
use sc_service::{ChainType, Properties};

/// The chain specification type of CuTopia.
pub type ChainSpec = sc_service::GenericChainSpec;

/// What wallets (polkadot.js Apps, `@polkadot/api`) read to show balances in CU.
fn properties() -> Properties {
	let mut p = Properties::new();
	p.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	p.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime Wasm was not built (was SKIP_WASM_BUILD set?): rebuild without it".into()
	})
}

/// `--dev`: one validator (Alice), sudo Alice, dev accounts endowed.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	chain_spec(
		"CuTopia Development",
		"cutopia_dev",
		ChainType::Development,
		sp_genesis_builder::DEV_RUNTIME_PRESET,
	)
}

/// `--chain local`: four validators Alice, Bob, Charlie and Dave.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	chain_spec(
		"CuTopia Local Testnet",
		"cutopia_local_testnet",
		ChainType::Local,
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
	)
}

/// `--chain production`: the live-chain template (nothing endowed, no authorities, sudo,
/// relayers or vault yet): a starting point for `build-spec`, not a chain to run as it is.
pub fn production_chain_spec() -> Result<ChainSpec, String> {
	chain_spec(
		"CuTopia",
		"cutopia",
		ChainType::Live,
		cutopia_runtime::genesis_config_presets::PRODUCTION_RUNTIME_PRESET,
	)
}

/// A chain spec of the runtime's genesis `preset`: specs are never hand-written JSON.
fn chain_spec(name: &str, id: &str, kind: ChainType, preset: &str) -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(kind)
		.with_genesis_config_preset_name(preset)
		.with_properties(properties())
		.build())
}
