//! Genesis presets: the only source of chain specs (`--dev`, `--chain local`,
//! `--chain production`).

use crate::{
	configs::FeeCollector, AccountId, Balance, BalancesConfig, BridgeConfig, IndentureConfig,
	RuntimeGenesisConfig, SudoConfig, CU, EXISTENTIAL_DEPOSIT,
};
use alloc::{string::String, vec, vec::Vec};
use frame_support::build_struct_json_patch;
use hex_literal::hex;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// What each endowed development account starts with.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * CU;

/// The market rate the chain starts with: 10^-5 CU per compute unit (one core for one
/// block), so a core-hour (1,200 blocks) is indicated at 0.012 CU.
pub const GENESIS_MARKET_RATE: Balance = CU / 100_000;

/// Chain id of a local anvil (the development Ethereum).
pub const ANVIL_CHAIN_ID: u64 = 31337;

/// Where `CuBridgeVault` lands when anvil's account 0 deploys CuToken then the vault as its
/// first two transactions (`CREATE` addresses of nonces 0 and 1); root can point elsewhere
/// with `Bridge::set_vault`.
pub const DEV_VAULT: [u8; 20] = hex!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");

/// Alice, Bob and Charlie relay; they sign withdrawals with anvil's well-known accounts 1, 2
/// and 3 (mnemonic "test test … junk"), which are funded on anvil to submit releases.
pub fn dev_relayers() -> Vec<(AccountId, sp_core::H160)> {
	[
		(Sr25519Keyring::Alice, hex!("70997970c51812dc3a010c7d01b50e0d17dc79c8")),
		(Sr25519Keyring::Bob, hex!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc")),
		(Sr25519Keyring::Charlie, hex!("90f79bf6eb2c4f870365e785982e1f101e93b906")),
	]
	.into_iter()
	.map(|(k, eth)| (k.to_account_id(), eth.into()))
	.collect()
}

/// The well-known development accounts that start endowed on `development` and `local_testnet`.
pub fn dev_accounts() -> Vec<AccountId> {
	[
		Sr25519Keyring::Alice,
		Sr25519Keyring::Bob,
		Sr25519Keyring::Charlie,
		Sr25519Keyring::Dave,
		Sr25519Keyring::Eve,
		Sr25519Keyring::Ferdie,
		Sr25519Keyring::AliceStash,
		Sr25519Keyring::BobStash,
	]
	.into_iter()
	.map(|k| k.to_account_id())
	.collect()
}

/// The Aura and GRANDPA keys of a well-known development validator.
fn authority_keys(who: Sr25519Keyring) -> (AuraId, GrandpaId) {
	let grandpa = match who {
		Sr25519Keyring::Alice => Ed25519Keyring::Alice,
		Sr25519Keyring::Bob => Ed25519Keyring::Bob,
		Sr25519Keyring::Charlie => Ed25519Keyring::Charlie,
		Sr25519Keyring::Dave => Ed25519Keyring::Dave,
		Sr25519Keyring::Eve => Ed25519Keyring::Eve,
		_ => Ed25519Keyring::Ferdie,
	};
	(who.public().into(), grandpa.public().into())
}

fn testnet_genesis(
	initial_authorities: Vec<(AuraId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	let mut balances: Vec<(AccountId, Balance)> =
		endowed_accounts.into_iter().map(|k| (k, DEV_ENDOWMENT)).collect();
	// The fee collector must exist before the first fee arrives, or a fee below the
	// existential deposit could not be credited to it.
	balances.push((FeeCollector::account(), EXISTENTIAL_DEPOSIT));
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig { balances },
		aura: pallet_aura::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		indenture: IndentureConfig { market_rate: GENESIS_MARKET_RATE },
		bridge: BridgeConfig {
			relayers: dev_relayers(),
			threshold: 2,
			vault: Some((ANVIL_CHAIN_ID, DEV_VAULT.into())),
		},
	})
}

/// `development`: Alice is the only validator and the sudo key; the dev accounts are endowed.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority_keys(Sr25519Keyring::Alice)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `local_testnet`: four validators (Alice, Bob, Charlie, Dave), so finality survives one
/// of them stopping; Alice is sudo.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority_keys(Sr25519Keyring::Alice),
			authority_keys(Sr25519Keyring::Bob),
			authority_keys(Sr25519Keyring::Charlie),
			authority_keys(Sr25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The name of the live-chain template preset.
pub const PRODUCTION_RUNTIME_PRESET: &str = "production";

/// `production`: the template of a live chain. Nothing is endowed: every CU comes through the
/// bridge, backed by tokens in the vault (the development presets endow accounts, and that CU
/// has no tokens behind it; `withdraw` keeps it from leaving, but it should not exist on a
/// live chain). Only the fee collector holds the existential deposit, so that the first fees
/// can be credited. Authorities, the sudo key, the relayer set and the vault are the
/// operator's to fill in: `cutopia-node build-spec --chain production > spec.json`, edit,
/// then `--chain spec.json`.
pub fn production_config_genesis() -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig { balances: vec![(FeeCollector::account(), EXISTENTIAL_DEPOSIT)] },
		indenture: IndentureConfig { market_rate: GENESIS_MARKET_RATE },
	})
}

/// The JSON genesis patch of the preset `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		PRODUCTION_RUNTIME_PRESET => production_config_genesis(),
		_ => return None,
	};
	serde_json::to_string(&patch).ok().map(String::into_bytes)
}

/// The presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
		PresetId::from(PRODUCTION_RUNTIME_PRESET),
	]
}
