//! End-to-end: one Computation Indenture from submit to settlement on `cutopia-node --dev`
//! (Aura, 3 s blocks), driven by signed extrinsics from subxt, with every balance checked to
//! the unit; then the same main path through polkadot.js (`tests/js/indenture.mjs`).

use cutopia_e2e::{
	chain::{account, free, metric, runtime, send, storage, tx, uint, variant, Api, Included},
	Node, TempDir,
};
use cutopia_primitives::hashes::{
	hash_target_seed, heartbeat_seed, leading_zero_bits, result_seal, work_hash,
};
use serde_json::json;
use std::{
	collections::BTreeMap,
	path::Path,
	process::Command,
	time::{Duration, Instant},
};
use subxt::dynamic::{At, Value};
use subxt_signer::sr25519::{dev, Keypair};

const CU: u128 = 1_000_000_000_000_000_000;

/// Smallest `nonce` whose work hash has `bits` leading zero bits.
fn work(seed: &[u8; 32], miner: &[u8; 32], bits: u32) -> u64 {
	(0u64..).find(|n| leading_zero_bits(&work_hash(seed, miner, *n)) >= bits).expect("a nonce")
}

/// Registers Bob as an exchange (5 %), Charlie as escrow operator (1 %) and Dave as a miner.
async fn register_participants(api: &Api, port: u16) {
	let bond = 100 * CU;
	let service = |role: &str, fee: u32, name: &str| {
		tx(
			"RepChain",
			"register_service",
			vec![
				variant(role),
				Value::u128(fee.into()),
				Value::from_bytes(name),
				Value::from_bytes(format!("{name}.example:443")),
				Value::u128(bond),
			],
		)
	};
	let miner = tx(
		"RepChain",
		"register_miner",
		vec![
			Value::named_composite([
				("cpu_millicores", Value::u128(8_000)),
				("memory_mib", Value::u128(16_384)),
				("storage_gib", Value::u128(100)),
				("gpus", Value::u128(0)),
			]),
			Value::unnamed_composite([variant("Wasm")]),
			Value::u128(1_000),
			Value::from_bytes("dave.example:2222"),
			Value::u128(0),
			Value::u128(bond),
		],
	);
	let (bob, charlie, dave) = (dev::bob(), dev::charlie(), dev::dave());
	let ex = service("Exchange", 50_000, "bob-exchange");
	let op = service("EscrowOperator", 10_000, "charlie-escrow");
	tokio::join!(
		send(api, port, &ex, &bob),
		send(api, port, &op, &charlie),
		send(api, port, &miner, &dave)
	);
}

/// A batch WASM task on one node for 10 blocks (one heartbeat round), one replica.
fn spec(incentive: u128) -> Value {
	Value::named_composite([
		(
			"task",
			Value::named_variant(
				"Wasm",
				[
					("hash", Value::from_bytes([7u8; 32])),
					("uri", Value::from_bytes("https://tasks.example/hello.wasm")),
				],
			),
		),
		("task_type", variant("Batch")),
		("executor", variant("Wasm")),
		(
			"resources",
			Value::named_composite([
				("cpu_millicores", Value::u128(2_000)),
				("memory_mib", Value::u128(4_096)),
				("storage_gib", Value::u128(10)),
				("gpus", Value::u128(0)),
			]),
		),
		("nodes", Value::u128(1)),
		("public_ip", variant("None")),
		("duration", Value::u128(10)),
		("incentive", Value::u128(incentive)),
		("priority", Value::u128(3)),
		("min_reputation", Value::u128(0)),
		("exchange", Value::from_bytes(account(&dev::bob()))),
		("escrow_operator", Value::from_bytes(account(&dev::charlie()))),
		("challenge", variant("HashTarget")),
		("replicas", Value::u128(1)),
		("ssh_key", Value::unnamed_variant("Some", [Value::from_bytes("ssh-ed25519 AAAA buyer")])),
	])
}

/// Alice buys, Bob lists, Charlie arbitrates, Dave mines: submit → challenge solved → lease →
/// heartbeat → result sealed and revealed → accepted → settled, balances exact to the unit.
#[test]
fn an_indenture_runs_from_submit_to_settlement() {
	let tmp = TempDir::new("indenture");
	let mut node = Node::start("indenture", tmp.path(), &["--dev", "--tmp"]);
	node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
	let (alice, bob, charlie, dave) = (dev::alice(), dev::bob(), dev::charlie(), dev::dave());

	// The RPC methods agents use, before any work exists.
	let price = node
		.rpc(
			"indenture_indicativePrice",
			json!([{ "cpuMillicores": 2000, "memoryMib": 4096, "storageGib": 10 }, 10]),
		)
		.expect("indicativePrice");
	// (2000·1 + 4·250 + 10·10) milli-CU = 3.1 CU per block, 31 CU for 10 blocks, at 10^13 each.
	assert_eq!(price["computeUnits"], 31);
	assert_eq!(price["price"], (31 * CU / 100_000).to_string());
	assert_eq!(price["minimumIncentive"], (CU / 100).to_string());
	assert_eq!(node.rpc("indenture_queue", json!([])).expect("queue"), json!([]));
	assert_eq!(node.rpc("indenture_get", json!([0])).expect("get"), json!(null));
	let bad = node.rpc("indenture_queue", json!([{ "challenge": "lottery" }]));
	assert!(format!("{bad:?}").contains("lottery"), "bad filter accepted: {bad:?}");

	let started = Instant::now();
	let incentive = 2 * CU;
	let port = node.rpc_port;
	let (fees, before, after, record, blocks) = runtime().block_on(async {
		let api = Api::from_insecure_url(node.ws_url()).await.expect("subxt connects");
		register_participants(&api, port).await;
		let who = [account(&alice), account(&bob), account(&charlie), account(&dave)];
		let mut before = BTreeMap::new();
		for w in who {
			before.insert(w, free(&api, port, w).await);
		}
		let mut fees: BTreeMap<[u8; 32], u128> = BTreeMap::new();
		let mut pay = |w: [u8; 32], inc: &Included| *fees.entry(w).or_default() += inc.fee();

		let submitted =
			send(&api, port, &tx("Indenture", "submit", vec![spec(incentive)]), &alice).await;
		pay(account(&alice), &submitted);
		let ev = submitted.one("Indenture", "Submitted");
		let id = uint(ev, "id") as u64;
		// 5 % exchange fee and 1 % escrow fee on top of the incentive.
		assert_eq!(uint(ev, "held"), incentive + incentive / 20 + incentive / 100);
		let challenge = uint(submitted.one("Challenge", "ChallengeOpened"), "id") as u64;
		let submit_block = node.best_number();

		// Dave solves the hash-target challenge of slot 0. Its seed hashes the block the
		// challenge opened in (the submit's block), known only once that block was sealed.
		let c = storage(&api, port, "Challenge", "Challenges", challenge).await;
		let puzzle = c.at("puzzle").expect("puzzle");
		let seed = hash_target_seed(id, challenge, &submitted.block).0;
		let nonce = work(&seed, &account(&dave), uint(puzzle, "difficulty") as u32);
		let solved = send(
			&api,
			port,
			&tx(
				"Challenge",
				"solve",
				vec![Value::u128(challenge.into()), Value::u128(nonce.into())],
			),
			&dave,
		)
		.await;
		pay(account(&dave), &solved);
		let awarded = solved.one("Indenture", "SlotAwarded");
		let lease = uint(awarded, "lease") as u64;
		assert!(!solved.find("Indenture", "Leased").is_empty(), "{:?}", solved.names());

		// The buyer sees the lease's access metadata through the RPC.
		let info = node.rpc("indenture_get", json!([id])).expect("get");
		assert_eq!(info["status"], "Leased", "{info}");
		assert_eq!(info["slots"][0]["access"]["endpoint"], "dave.example:2222", "{info}");
		assert_eq!(info["spec"]["sshKey"], "ssh-ed25519 AAAA buyer", "{info}");

		// Round 0 opens the block after the award; its seed hashes the award block.
		let hb_seed = heartbeat_seed(lease, 0, &solved.block).0;
		let lease_info = storage(&api, port, "Challenge", "Leases", lease).await;
		let hb_nonce = work(&hb_seed, &account(&dave), uint(&lease_info, "difficulty") as u32);
		let beat = send(
			&api,
			port,
			&tx(
				"Challenge",
				"heartbeat",
				vec![Value::u128(lease.into()), Value::u128(0), Value::u128(hb_nonce.into())],
			),
			&dave,
		)
		.await;
		pay(account(&dave), &beat);
		// The round's pay is withheld for `DisputeLag` rounds, longer than this one-round
		// lease: it is paid with the result.
		assert!(beat.find("Indenture", "RoundPaid").is_empty(), "{:?}", beat.names());
		// A taken heartbeat is free: it is the miner's duty, and a round's pay must not go to
		// fees. The last round's answer completes the lease; the chain's agenda ends it when
		// its window closes, and results are due.
		assert_eq!(beat.fee(), 0, "a taken heartbeat pays no fee");
		assert!(beat.find("Indenture", "ResultsDue").is_empty(), "{:?}", beat.names());
		node.wait_until("results due", Duration::from_secs(120), |n| {
			n.rpc("indenture_get", json!([id])).is_ok_and(|v| v["status"] == "Reporting")
		});

		// Dave seals, then reveals, the hash of his output.
		let (result, salt) = ([0x42u8; 32], [0x17u8; 32]);
		let seal = result_seal(id, 0, &account(&dave), &result.into(), &salt.into()).0;
		let commit = send(
			&api,
			port,
			&tx(
				"Indenture",
				"commit_result",
				vec![Value::u128(id.into()), Value::from_bytes(seal)],
			),
			&dave,
		)
		.await;
		pay(account(&dave), &commit);
		let reveal = send(
			&api,
			port,
			&tx(
				"Indenture",
				"reveal_result",
				vec![Value::u128(id.into()), Value::from_bytes(result), Value::from_bytes(salt)],
			),
			&dave,
		)
		.await;
		pay(account(&dave), &reveal);
		let concluded = reveal.one("Indenture", "ResultsConcluded");
		assert_eq!(uint(concluded, "votes"), 1);

		// Alice accepts in the acceptance window: the escrow settles.
		let accept =
			send(&api, port, &tx("Escrow", "accept", vec![Value::u128(id.into())]), &alice).await;
		pay(account(&alice), &accept);
		let record = accept.one("Indenture", "CiRecorded").at("record").expect("record").clone();
		let blocks = node.best_number() - submit_block;

		let mut after = BTreeMap::new();
		for w in who {
			after.insert(w, free(&api, port, w).await);
		}
		(fees, before, after, record, blocks)
	});
	metric("indenture_submit_to_settled_s", format!("{:.1}", started.elapsed().as_secs_f64()));
	metric("indenture_submit_to_settled_blocks", blocks);

	let delta = |k: &Keypair| -> i128 {
		let w = account(k);
		after[&w] as i128 - before[&w] as i128
	};
	let fee = |k: &Keypair| fees.get(&account(k)).copied().unwrap_or_default() as i128;
	let i = incentive as i128;
	// Buyer: the incentive and both service fees, plus its own transaction fees. Nothing is
	// left on hold.
	assert_eq!(delta(&alice), -(i + i / 20 + i / 100) - fee(&alice));
	// Miner: half per proven round, half for the accepted result, minus its transaction fees.
	assert_eq!(delta(&dave), i - fee(&dave));
	// Exchange and escrow operator: their fees, exactly.
	assert_eq!(delta(&bob), i / 20);
	assert_eq!(delta(&charlie), i / 100);
	assert_eq!(uint(&record, "incentive") as i128, i);
	assert_eq!(uint(&record, "paid_to_miners") as i128, i);
	assert_eq!(uint(&record, "refunded"), 0);
	assert!(
		matches!(&record.at("status").expect("status").value,
			scale_value::ValueDef::Variant(v) if v.name == "Settled"),
		"{record}"
	);

	// The ended indenture is served from the recent records.
	let ended = node.rpc("indenture_get", json!([0])).expect("get");
	assert_eq!(ended["record"]["status"], "Settled", "{ended}");
	assert_eq!(ended["record"]["paidToMiners"], incentive.to_string(), "{ended}");
	node.stop();
}

/// The same main path through polkadot.js, as users write it.
#[test]
fn polkadot_js_runs_an_indenture_to_settlement() {
	let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js");
	assert!(
		js.join("node_modules/@polkadot/api").exists(),
		"run `npm ci` in tests/js (scripts/test.sh does)"
	);
	let tmp = TempDir::new("indenture-js");
	let mut node = Node::start("indenture-js", tmp.path(), &["--dev", "--tmp"]);
	node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
	let started = Instant::now();
	let out = Command::new("node")
		.arg(js.join("indenture.mjs"))
		.arg(node.ws_url())
		.output()
		.expect("run node");
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"indenture.mjs failed:\n{stdout}\n{}\nnode log:\n{}",
		String::from_utf8_lossy(&out.stderr),
		node.log_tail()
	);
	let line: serde_json::Value =
		serde_json::from_str(stdout.lines().last().unwrap_or("{}")).expect("JSON line");
	assert_eq!(line["status"], "Settled", "{line}");
	metric("indenture_js_submit_to_settled_s", format!("{:.1}", started.elapsed().as_secs_f64()));
	node.stop();
}
