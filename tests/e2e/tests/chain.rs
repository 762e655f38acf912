//! End-to-end tests of the chain foundation: real `cutopia-node` processes on loopback.
//!
//! Each test prints what it measured (`E2E-METRIC ...` lines) so `scripts/test.sh` output
//! doubles as the record of block and finality times on the machine that ran it.

use cutopia_e2e::{free_port, node_bin, Node, TempDir};
use scale_decode::DecodeAsType;
use serde_json::json;
use std::{
	path::Path,
	process::Command,
	time::{Duration, Instant},
};
use subxt::{dynamic, OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::dev;

const CU: u128 = 1_000_000_000_000_000_000;

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountData {
	free: u128,
}

/// The account transaction fees are paid to (`PalletId(*b"cu/fees ")`), as SS58 bytes.
fn fee_collector() -> [u8; 32] {
	// `PalletId::into_account_truncating`: b"modl" ++ id ++ zero padding.
	let mut acc = [0u8; 32];
	acc[..4].copy_from_slice(b"modl");
	acc[4..12].copy_from_slice(b"cu/fees ");
	acc
}

async fn free_balance(api: &OnlineClient<PolkadotConfig>, who: [u8; 32]) -> u128 {
	let addr = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let at = api.at_current_block().await.expect("finalized block");
	at.storage()
		.fetch(addr, (who,))
		.await
		.expect("fetch System.Account")
		.decode()
		.expect("decode AccountInfo")
		.data
		.free
}

/// A dynamic `Balances::transfer_keep_alive` of `amount` to `dest`.
fn transfer(dest: &subxt_signer::sr25519::Keypair, amount: u128) -> impl subxt::tx::Payload {
	dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(dest.public_key().to_address::<()>(), amount),
	)
}

/// Signs `tx` with `signer`, submits it and waits until it is finalized and succeeded.
async fn submit_finalized(
	api: &OnlineClient<PolkadotConfig>,
	tx: &impl subxt::tx::Payload,
	signer: &subxt_signer::sr25519::Keypair,
) {
	api.transactions()
		.await
		.expect("transactions client")
		.sign_and_submit_then_watch_default(tx, signer)
		.await
		.expect("submit")
		.wait_for_finalized_success()
		.await
		.expect("finalized and successful");
}

fn metric(name: &str, value: impl std::fmt::Display) {
	println!("E2E-METRIC {name} {value}");
}

fn runtime() -> tokio::runtime::Runtime {
	tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

/// `--dev` authors with Aura and finalizes with GRANDPA; a signed `transfer_keep_alive` from
/// subxt moves exactly the amount, the fee goes to the fee collector, nothing is created or
/// lost; after a restart on the same base path height and balances are kept.
#[test]
fn dev_chain_finalizes_transfers_and_survives_restart() {
	let tmp = TempDir::new("dev");
	let base = tmp.path().join("base");
	let base_str = base.to_str().expect("utf-8 path");
	let started = Instant::now();
	let mut node = Node::start("dev", tmp.path(), &["--dev", "--base-path", base_str]);
	metric("dev_rpc_up_s", format!("{:.1}", started.elapsed().as_secs_f64()));

	node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
	metric("dev_first_block_s", format!("{:.1}", started.elapsed().as_secs_f64()));
	node.wait_until("finalized #1", Duration::from_secs(120), |n| n.finalized_number() >= 1);
	metric("dev_first_finalized_s", format!("{:.1}", started.elapsed().as_secs_f64()));

	// Block time over five block intervals, timed from a block's arrival (polled every 0.1 s).
	let poll_until = |target: u64| {
		while node.best_number() < target {
			std::thread::sleep(Duration::from_millis(100));
		}
	};
	let b0 = node.best_number();
	poll_until(b0 + 1);
	let t0 = Instant::now();
	poll_until(b0 + 6);
	metric("dev_block_time_s", format!("{:.2}", t0.elapsed().as_secs_f64() / 5.0));
	let lag = node.best_number().saturating_sub(node.finalized_number());
	metric("dev_finality_lag_blocks", lag);
	assert!(lag <= 3, "finality lags {lag} blocks behind the best block");

	let amount = 3 * CU / 2 + 7;
	let bob: [u8; 32] = dev::bob().public_key().0;
	let alice: [u8; 32] = dev::alice().public_key().0;
	let (bob_after, alice_after) = runtime().block_on(async {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url())
			.await
			.expect("subxt connects");
		let bob_before = free_balance(&api, bob).await;
		let alice_before = free_balance(&api, alice).await;
		let fees_before = free_balance(&api, fee_collector()).await;

		let submitted = Instant::now();
		submit_finalized(&api, &transfer(&dev::bob(), amount), &dev::alice()).await;
		metric(
			"dev_transfer_submit_to_finalized_s",
			format!("{:.1}", submitted.elapsed().as_secs_f64()),
		);

		let bob_after = free_balance(&api, bob).await;
		let alice_after = free_balance(&api, alice).await;
		let fees_after = free_balance(&api, fee_collector()).await;
		assert_eq!(bob_after - bob_before, amount, "Bob receives exactly the amount");
		let fee = alice_before - alice_after - amount;
		assert!(fee > 0 && fee < CU / 100, "fee {fee} should be positive and below 0.01 CU");
		assert_eq!(fees_after - fees_before, fee, "the whole fee reaches the fee collector");
		metric("transfer_keep_alive_fee_base_units", fee);
		(bob_after, alice_after)
	});

	// Restart on the same base path: the chain continues from where it stopped.
	let height_before = node.finalized_number();
	let status = node.stop().expect("node was running");
	assert!(status.success() || status.code().is_none(), "node exited badly: {status:?}");
	let restarted = Instant::now();
	let node = Node::start("dev-restart", tmp.path(), &["--dev", "--base-path", base_str]);
	assert!(node.finalized_number() >= height_before, "finalized height went back after restart");
	node.wait_until("a new block after restart", Duration::from_secs(120), |n| {
		n.best_number() > height_before
	});
	metric("dev_restart_to_new_block_s", format!("{:.1}", restarted.elapsed().as_secs_f64()));
	runtime().block_on(async {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url())
			.await
			.expect("subxt reconnects");
		assert_eq!(free_balance(&api, bob).await, bob_after, "Bob's balance kept");
		assert_eq!(free_balance(&api, alice).await, alice_after, "Alice's balance kept");
	});
}

/// The path users take: `@polkadot/api` reads the token properties, sends a transfer and
/// waits for finality (`tests/js/transfer.mjs`, dependencies pinned by its lockfile).
#[test]
fn polkadot_js_reads_properties_and_transfers() {
	let js_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js");
	assert!(
		js_dir.join("node_modules/@polkadot/api").exists(),
		"@polkadot/api is not installed: run scripts/test.sh, or `npm ci` in tests/js"
	);
	let tmp = TempDir::new("pjs");
	let node = Node::start("pjs", tmp.path(), &["--dev", "--tmp"]);
	node.wait_until("finalized #1", Duration::from_secs(120), |n| n.finalized_number() >= 1);

	let out = Command::new("node")
		.arg(js_dir.join("transfer.mjs"))
		.arg(node.ws_url())
		.output()
		.expect("run node (Node.js)");
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"polkadot.js transfer failed:\n{stdout}\n{}\nnode log:\n{}",
		String::from_utf8_lossy(&out.stderr),
		node.log_tail()
	);
	let result: serde_json::Value =
		serde_json::from_str(stdout.trim().lines().last().unwrap_or("")).expect("JSON result line");
	assert_eq!(result["symbol"], "CU");
	assert_eq!(result["decimals"], 18);
	metric("pjs_submit_to_finalized_ms", &result["submitToFinalizedMs"]);
}

/// Four validators (Alice, Bob, Charlie, Dave) on loopback finalize; with Dave stopped the
/// other three (over 2/3) keep finalizing.
#[test]
fn local_testnet_keeps_finalizing_with_one_validator_down() {
	let tmp = TempDir::new("local");
	// A fixed node key for Alice gives a known peer id to bootstrap the others from.
	let key_file = tmp.path().join("alice.key");
	std::fs::write(&key_file, "0000000000000000000000000000000000000000000000000000000000000001")
		.expect("write node key");
	let peer = Command::new(node_bin())
		.args(["key", "inspect-node-key", "--file"])
		.arg(&key_file)
		.output()
		.expect("inspect node key");
	let peer_id = String::from_utf8_lossy(&peer.stdout).trim().to_string();
	assert!(peer.status.success() && !peer_id.is_empty(), "inspect-node-key failed: {peer:?}");

	let alice_p2p = free_port();
	let bootnode = format!("/ip4/127.0.0.1/tcp/{alice_p2p}/p2p/{peer_id}");
	let start = |who: &str| -> Node {
		let base = tmp.path().join(who);
		let mut args = vec![
			"--chain".to_string(),
			"local".into(),
			format!("--{who}"),
			"--base-path".into(),
			base.to_str().expect("utf-8").into(),
			"--validator".into(),
		];
		if who == "alice" {
			args.push("--node-key-file".into());
			args.push(key_file.to_str().expect("utf-8").into());
		} else {
			args.push("--bootnodes".into());
			args.push(bootnode.clone());
			// A validator on a non-dev chain refuses to invent a network key unless told.
			args.push("--unsafe-force-node-key-generation".into());
		}
		let refs: Vec<&str> = args.iter().map(String::as_str).collect();
		if who == "alice" {
			Node::start_on(who, tmp.path(), &refs, free_port(), alice_p2p)
		} else {
			Node::start(who, tmp.path(), &refs)
		}
	};
	let started = Instant::now();
	let alice = start("alice");
	let bob = start("bob");
	let charlie = start("charlie");
	let mut dave = start("dave");

	alice.wait_until("3 peers", Duration::from_secs(120), |n| {
		n.rpc("system_health", json!([])).map(|h| h["peers"].as_u64() == Some(3)).unwrap_or(false)
	});
	alice.wait_until("finalized #3 with four validators", Duration::from_secs(240), |n| {
		n.finalized_number() >= 3
	});
	metric("local4_first_finalized_3_s", format!("{:.1}", started.elapsed().as_secs_f64()));

	dave.stop();
	let f0 = alice.finalized_number();
	let t0 = Instant::now();
	alice.wait_until("3 more finalized blocks with Dave down", Duration::from_secs(240), |n| {
		n.finalized_number() >= f0 + 3
	});
	metric("local3of4_three_finalized_s", format!("{:.1}", t0.elapsed().as_secs_f64()));
	// Everyone still running agrees on what is final.
	let f = alice.finalized_number();
	for n in [&bob, &charlie] {
		n.wait_until("catch up with Alice's finality", Duration::from_secs(60), |n| {
			n.finalized_number() >= f
		});
	}
}

/// `--sealing instant` makes and finalizes a block per transaction; `--sealing manual`
/// only on `engine_createBlock`, with strictly increasing Aura slots.
#[test]
fn instant_and_manual_sealing() {
	let tmp = TempDir::new("seal");
	let node = Node::start("instant", tmp.path(), &["--dev", "--tmp", "--sealing", "instant"]);
	std::thread::sleep(Duration::from_secs(3));
	assert_eq!(node.best_number(), 0, "instant seal makes no block without a transaction");
	runtime().block_on(async {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url())
			.await
			.expect("subxt connects");
		let t = Instant::now();
		submit_finalized(&api, &transfer(&dev::charlie(), CU), &dev::bob()).await;
		metric("instant_seal_submit_to_finalized_ms", t.elapsed().as_millis());
	});
	assert_eq!(node.finalized_number(), 1);
	drop(node);

	let node = Node::start("manual", tmp.path(), &["--dev", "--tmp", "--sealing", "manual"]);
	std::thread::sleep(Duration::from_secs(2));
	assert_eq!(node.best_number(), 0, "manual seal makes no block on its own");
	for i in 1..=4u64 {
		let created =
			node.rpc("engine_createBlock", json!([true, true, null])).expect("engine_createBlock");
		assert!(created["hash"].is_string(), "unexpected answer {created}");
		assert_eq!(node.best_number(), i);
		assert_eq!(node.finalized_number(), i);
	}
}

/// Bad command lines and chain specs fail fast with a message; malformed and badly signed
/// extrinsics are refused over RPC and the node keeps making blocks.
#[test]
fn bad_input_is_rejected_clearly() {
	let tmp = TempDir::new("bad");
	let run = |args: &[&str]| {
		let out = Command::new(node_bin()).args(args).output().expect("run node");
		(out.status, String::from_utf8_lossy(&out.stderr).into_owned())
	};

	let (status, err) = run(&["--dev", "--frobnicate"]);
	assert!(!status.success());
	assert!(err.contains("--frobnicate"), "unknown flag not named: {err}");

	let (status, err) = run(&["--dev", "--sealing", "sometimes"]);
	assert!(!status.success());
	assert!(err.contains("sometimes") && err.contains("instant"), "bad sealing: {err}");

	let missing = tmp.path().join("missing.json");
	let (status, err) = run(&["--chain", missing.to_str().expect("utf-8"), "--tmp"]);
	assert!(!status.success());
	assert!(err.contains("missing.json"), "missing spec not named: {err}");

	let garbage = tmp.path().join("garbage.json");
	std::fs::write(&garbage, "{ this is not a chain spec").expect("write");
	let (status, err) = run(&["--chain", garbage.to_str().expect("utf-8"), "--tmp"]);
	assert!(!status.success());
	assert!(err.contains("garbage.json"), "bad spec not named: {err}");

	let node = Node::start("bad-input", tmp.path(), &["--dev", "--tmp", "--sealing", "instant"]);
	let err = node.rpc("author_submitExtrinsic", json!(["0x1234"])).expect_err("garbage refused");
	println!("malformed extrinsic: {err:?}");
	assert!(
		format!("{err:?}").to_lowercase().contains("decode")
			|| format!("{err:?}").contains("Invalid")
	);

	let signed = runtime().block_on(async {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url())
			.await
			.expect("subxt connects");
		let tx = transfer(&dev::dave(), CU);
		let mut client = api.transactions().await.expect("transactions client");
		let signed =
			client.create_signed(&tx, &dev::alice(), Default::default()).await.expect("sign");
		signed.encoded().to_vec()
	});
	// Flip one bit inside the sr25519 signature (after the 1-byte version and the 33-byte
	// address that follow the compact length prefix).
	let mut bad = signed.clone();
	let sig_byte = 2 + 1 + 33 + 1 + 10;
	bad[sig_byte] ^= 0x01;
	let hex = |b: &[u8]| format!("0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
	let err =
		node.rpc("author_submitExtrinsic", json!([hex(&bad)])).expect_err("bad signature refused");
	println!("badly signed extrinsic: {err:?}");
	assert!(format!("{err:?}").contains("bad signature") || format!("{err:?}").contains("Invalid"));
	assert_eq!(node.best_number(), 0, "nothing was included");

	// The node is still healthy and accepts the correctly signed one.
	node.rpc("author_submitExtrinsic", json!([hex(&signed)])).expect("good extrinsic accepted");
	node.wait_until("the good transfer's block", Duration::from_secs(60), |n| n.best_number() >= 1);
}

/// The chain-data subcommands an operator uses: `build-spec` (with the token properties),
/// `export-blocks` / `import-blocks` into a fresh database, and `purge-chain`.
#[test]
fn build_spec_export_import_and_purge() {
	let tmp = TempDir::new("data");
	let run = |args: &[&str]| {
		let out = Command::new(node_bin()).args(args).output().expect("run node");
		assert!(out.status.success(), "{args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
		out
	};

	let spec = run(&["build-spec", "--chain", "dev", "--raw"]);
	let spec: serde_json::Value = serde_json::from_slice(&spec.stdout).expect("spec is JSON");
	assert_eq!(spec["properties"]["tokenSymbol"], "CU");
	assert_eq!(spec["properties"]["tokenDecimals"], 18);
	assert!(spec["genesis"]["raw"]["top"].is_object(), "raw spec has genesis storage");

	let a = tmp.path().join("a");
	let a = a.to_str().expect("utf-8");
	let mut node = Node::start("data", tmp.path(), &["--dev", "--base-path", a]);
	node.wait_until("block #3", Duration::from_secs(120), |n| n.best_number() >= 3);
	node.stop();

	let file = tmp.path().join("blocks.bin");
	let file = file.to_str().expect("utf-8");
	run(&[
		"export-blocks",
		"--dev",
		"--base-path",
		a,
		"--from",
		"1",
		"--to",
		"3",
		"--binary",
		file,
	]);
	let b = tmp.path().join("b");
	let b = b.to_str().expect("utf-8");
	let imported = run(&[
		"import-blocks",
		"--dev",
		"--base-path",
		b,
		"--binary",
		"--wasmtime-instantiation-strategy",
		"pooling",
		file,
	]);
	let log = String::from_utf8_lossy(&imported.stderr);
	assert!(log.contains("Imported 3 blocks"), "import-blocks said:\n{log}");

	// The imported chain starts where the exported one was.
	let node =
		Node::start("imported", tmp.path(), &["--dev", "--base-path", b, "--sealing", "manual"]);
	assert!(node.best_number() >= 3, "imported chain is at #{}", node.best_number());
	drop(node);

	run(&["purge-chain", "--dev", "--base-path", a, "-y"]);
	let db = std::path::Path::new(a).join("chains/cutopia_dev/paritydb");
	assert!(!db.exists(), "purge-chain left {}", db.display());
}
