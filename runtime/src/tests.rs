//! Tests of how the runtime wires its pallets together.

use crate::*;
use frame_support::assert_ok;
use pallet_escrow::EscrowApi;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{BuildStorage, Perbill};

fn ext(accounts: &[AccountId]) -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Runtime>::default()
		.build_storage()
		.expect("system genesis builds");
	pallet_balances::GenesisConfig::<Runtime> {
		balances: accounts.iter().map(|a| (a.clone(), 1_000 * CU)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("balances genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// An escrow operator that leaves a dispute to the default outcome gets a failure record on
/// RepChain; one that resolves in time gets a success.
#[test]
fn dispute_handling_is_recorded_on_repchain() {
	let [buyer, exchange, operator, miner] =
		[Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie, Sr25519Keyring::Dave]
			.map(|k| k.to_account_id());
	ext(&[buyer.clone(), exchange.clone(), operator.clone(), miner.clone()]).execute_with(|| {
		for (id, resolve_in_time) in [(1u64, false), (2, true)] {
			assert_ok!(Escrow::open(id, &buyer, &exchange, &operator, 10 * CU, CU, CU));
			let until = System::block_number() + 10;
			assert_ok!(Escrow::await_acceptance(id, vec![(miner.clone(), 10 * CU)], until));
			assert_ok!(Escrow::dispute(RuntimeOrigin::signed(buyer.clone()), id));
			if resolve_in_time {
				assert_ok!(Escrow::resolve(
					RuntimeOrigin::signed(operator.clone()),
					id,
					Perbill::from_percent(80)
				));
			} else {
				System::set_block_number(System::block_number() + DAYS + 1);
				assert_ok!(Escrow::resolve_default(RuntimeOrigin::signed(miner.clone()), id));
			}
		}
		assert_eq!(RepChain::counts(&operator), (2, 1, 1));
		assert_eq!(Escrow::held(1) + Escrow::held(2), 0);
	});
}

/// Builds the genesis state of preset `name` (the default config with the preset's patch) in a
/// fresh externalities, then runs `check` in it.
fn with_preset_genesis(name: &str, check: impl FnOnce()) {
	let patch =
		crate::genesis_config_presets::get_preset(&sp_genesis_builder::PresetId::from(name))
			.expect("the preset exists");
	fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
		match (base, patch) {
			(serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
				for (k, v) in p {
					merge(b.entry(k).or_insert(serde_json::Value::Null), v);
				}
			},
			(b, p) => *b = p,
		}
	}
	let mut full = serde_json::to_value(RuntimeGenesisConfig::default()).expect("default json");
	merge(&mut full, serde_json::from_slice(&patch).expect("patch json"));
	sp_io::TestExternalities::default().execute_with(|| {
		frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(
			serde_json::to_vec(&full).expect("json"),
		)
		.expect("the genesis builds");
		check();
	});
}

/// Bridge defect 4: the live-chain template endows nothing — every CU there comes through the
/// bridge — but the fee collector's existential deposit; no relayer set, vault or sudo key
/// until the operator names them.
#[test]
fn the_production_preset_mints_nothing_that_is_not_bridged() {
	with_preset_genesis(crate::genesis_config_presets::PRODUCTION_RUNTIME_PRESET, || {
		assert_eq!(pallet_balances::TotalIssuance::<Runtime>::get(), crate::EXISTENTIAL_DEPOSIT);
		let holders: Vec<_> = frame_system::Account::<Runtime>::iter_keys().collect();
		assert_eq!(holders, vec![crate::configs::FeeCollector::account()]);
		assert!(pallet_bridge::Relayers::<Runtime>::get().is_none());
		assert!(pallet_bridge::Vault::<Runtime>::get().is_none());
		assert!(pallet_sudo::Key::<Runtime>::get().is_none());
	});
	assert!(crate::genesis_config_presets::preset_names()
		.contains(&crate::genesis_config_presets::PRODUCTION_RUNTIME_PRESET.into()));
}

/// The dev chain starts with Alice, Bob and Charlie relaying (threshold 2) for the vault anvil
/// deploys first, and with the Indenture market rate.
#[test]
fn dev_genesis_sets_up_the_bridge_and_the_market() {
	with_preset_genesis(sp_genesis_builder::DEV_RUNTIME_PRESET, || {
		let set = pallet_bridge::Relayers::<Runtime>::get().expect("relayers");
		assert_eq!(set.threshold, 2);
		assert_eq!(
			set.members.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
			[Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie]
				.map(|k| k.to_account_id())
		);
		let vault = pallet_bridge::Vault::<Runtime>::get().expect("vault");
		assert_eq!(vault.chain_id, 31337);
		assert_eq!(
			pallet_indenture::MarketRate::<Runtime>::get(),
			crate::genesis_config_presets::GENESIS_MARKET_RATE
		);
	});
}

/// The plexus SDK's typed client is generated from `plexus/metadata/cutopia.scale`. When the
/// runtime's metadata changes, this fails until the file is regenerated
/// (`scripts/update-metadata.sh`, which runs this test with `UPDATE_METADATA=1`).
#[test]
fn plexus_metadata_matches_the_runtime() {
	let path =
		std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plexus/metadata/cutopia.scale");
	let metadata: Vec<u8> =
		Runtime::metadata_at_version(16).expect("the runtime offers metadata V16").to_vec();
	if std::env::var_os("UPDATE_METADATA").is_some() {
		std::fs::write(&path, &metadata).expect("write plexus metadata");
	}
	let checked_in = std::fs::read(&path).unwrap_or_default();
	assert!(
		checked_in == metadata,
		"{} is out of date with the runtime ({} bytes there, {} now): run scripts/update-metadata.sh and rebuild plexus",
		path.display(),
		checked_in.len(),
		metadata.len()
	);
}
