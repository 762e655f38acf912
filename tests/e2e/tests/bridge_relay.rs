//! End-to-end: the whole bridge with real processes on loopback: anvil (1 s blocks), the
//! contracts deployed by `bridge/scripts/dev.mjs`, `cutopia-node --dev`, and three
//! `cutopia-bridge` relayers (Alice, Bob, Charlie with anvil keys 1–3, threshold 2).
//! A deposit is minted exactly once; a withdrawal is signed by the relayers on the chain and
//! released once by the vault; a relayer restarted from an old checkpoint mints nothing twice;
//! 1,000 deposits all mint once. The console's bridge page shows the deposit minted and the
//! withdrawal signed.

use cutopia_e2e::{
	chain::{account, free, metric, runtime, send, storage_as, total, tx, uint, Api},
	console_test, free_port, node_bin, rpc_call, wait_for, Node, Proc, TempDir,
};
use serde_json::{json, Value as Json};
use std::{
	path::{Path, PathBuf},
	process::Command,
	time::{Duration, Instant},
};
use subxt::dynamic::Value;
use subxt_signer::sr25519::dev;

/// A withdrawal as pallet-bridge stores it (newtypes decode into their contents).
#[derive(scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct WithdrawalView {
	signatures: Vec<([u8; 20], [u8; 65])>,
}

const CU: u128 = 1_000_000_000_000_000_000;
const VAULT: &str = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
const ANVIL_KEYS: [&str; 3] = [
	"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

fn bridge_dir() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bridge")
}

fn hex(b: &[u8]) -> String {
	format!("0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

/// Compiles the contracts with the pinned solc once per test process: `contracts/out` is a build
/// output (not checked in), and a clean clone has none.
fn compile_contracts() {
	static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
	DONE.get_or_init(|| {
		let out = Command::new("node")
			.arg(bridge_dir().join("scripts/compile.mjs"))
			.output()
			.expect("node (install Node.js; scripts/setup.sh does)");
		assert!(
			out.status.success(),
			"compiling the contracts failed (run `npm ci` in bridge/): {}",
			String::from_utf8_lossy(&out.stderr)
		);
	});
}

/// Runs `node bridge/scripts/dev.mjs args…` and returns its JSON line, or its error message.
fn dev_js(args: &[&str]) -> Result<Json, String> {
	compile_contracts();
	let out = Command::new("node")
		.arg(bridge_dir().join("scripts/dev.mjs"))
		.args(args)
		.output()
		.map_err(|e| e.to_string())?;
	if !out.status.success() {
		return Err(String::from_utf8_lossy(&out.stderr).into_owned());
	}
	let stdout = String::from_utf8_lossy(&out.stdout);
	serde_json::from_str(stdout.lines().last().unwrap_or("")).map_err(|e| e.to_string())
}

/// `count` deposits of `amount` to `who`, sent back to back (`dev.mjs deposit-many`).
fn deposit_many(
	eth: &str,
	who: &subxt_signer::sr25519::Keypair,
	amount: u128,
	count: u128,
) -> Json {
	let args =
		["deposit-many", eth, VAULT, &hex(&account(who)), &amount.to_string(), &count.to_string()];
	dev_js(&args).expect("deposits")
}

fn relayer_bin() -> PathBuf {
	node_bin().with_file_name("cutopia-bridge")
}

/// The dev genesis relayers' chain keys.
const DEV_RELAYERS: [&str; 3] = ["//Alice", "//Bob", "//Charlie"];

/// Relayer `i` (chain key `DEV_RELAYERS[i]`) following `latest − confirmations`, or anvil's
/// `finalized` block when `None`.
fn start_relayer(i: usize, dir: &Path, eth: &str, ws: &str, confirmations: Option<u32>) -> Proc {
	start_relayer_as(i, DEV_RELAYERS[i], dir, eth, ws, confirmations)
}

/// Relayer `i` with chain key `key` and anvil key `i + 1`.
fn start_relayer_as(
	i: usize,
	key: &str,
	dir: &Path,
	eth: &str,
	ws: &str,
	confirmations: Option<u32>,
) -> Proc {
	let mut cmd = Command::new(relayer_bin());
	cmd.args(["--eth-rpc", eth, "--chain-rpc", ws, "--vault", VAULT])
		.args(
			confirmations
				.map(|c| ["--confirmations".to_string(), c.to_string()])
				.into_iter()
				.flatten(),
		)
		.args(["--poll", "1", "--prometheus-port", "0"])
		.arg("--checkpoint")
		.arg(dir.join(format!("relayer{i}.checkpoint")))
		.env("CUTOPIA_BRIDGE_CHAIN_KEY", key)
		.env("CUTOPIA_BRIDGE_ETH_KEY", ANVIL_KEYS[i]);
	Proc::spawn(&mut cmd, dir.join(format!("relayer{i}.log")))
}

/// anvil on `port` with 1 s blocks, once it answers; its state is saved in `dir` when it is
/// interrupted and loaded from there when it starts again.
fn start_anvil(dir: &Path, port: u16) -> Proc {
	let anvil_bin = bridge_dir().join("node_modules/.bin/anvil");
	let anvil = Proc::spawn(
		Command::new(&anvil_bin)
			.args(["--port", &port.to_string(), "--block-time", "1", "--silent"])
			// `finalized` is then latest − 2: finality mode can be tested in seconds.
			.args(["--slots-in-an-epoch", "1"])
			.arg("--state")
			.arg(dir.join("anvil.state")),
		dir.join("anvil.log"),
	);
	wait_for("anvil", Duration::from_secs(30), || {
		rpc_call(port, "eth_blockNumber", json!([])).ok()
	});
	anvil
}

/// anvil's latest block number.
fn eth_head(eth_port: u16) -> u64 {
	let head = rpc_call(eth_port, "eth_blockNumber", json!([])).expect("eth_blockNumber");
	u64::from_str_radix(head.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).expect("hex")
}

/// The chain's `Bridge::TotalMinted` at the best block.
async fn total_minted(api: &Api, port: u16) -> u128 {
	cutopia_e2e::chain::storage_plain(api, port, "Bridge", "TotalMinted")
		.await
		.as_u128()
		.expect("TotalMinted is a number")
}

/// anvil with the contracts, a dev node and three relayers following `latest − confirmations`.
struct Setup {
	tmp: TempDir,
	anvil: Proc,
	node: Node,
	relayers: Vec<Proc>,
	dir: PathBuf,
	eth: String,
	eth_port: u16,
	ws: String,
	port: u16,
}

impl Setup {
	fn start(name: &str, confirmations: Option<u32>) -> Setup {
		Self::start_with(name, confirmations, true)
	}

	/// As `start`, with the dev relayers started or not.
	fn start_with(name: &str, confirmations: Option<u32>, dev_relayers: bool) -> Setup {
		let anvil_bin = bridge_dir().join("node_modules/.bin/anvil");
		assert!(anvil_bin.exists(), "run `npm ci` in bridge/ (scripts/test.sh does)");
		assert!(
			relayer_bin().exists(),
			"cutopia-bridge is not built: run `cargo build --workspace`"
		);
		let tmp = TempDir::new(name);
		let dir = tmp.path().to_path_buf();
		let eth_port = free_port();
		let anvil = start_anvil(&dir, eth_port);
		let eth = format!("http://127.0.0.1:{eth_port}");
		let deployed = dev_js(&["deploy", &eth]).expect("deploy");
		assert_eq!(deployed["vault"].as_str().map(str::to_lowercase).as_deref(), Some(VAULT));
		let node = Node::start(name, &dir, &["--dev", "--tmp"]);
		node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
		let (port, ws) = (node.rpc_port, node.ws_url());
		let relayers = if dev_relayers {
			(0..3).map(|i| start_relayer(i, &dir, &eth, &ws, confirmations)).collect()
		} else {
			Vec::new()
		};
		Setup { tmp, anvil, node, relayers, dir, eth, eth_port, ws, port }
	}
}

#[test]
fn relayers_mint_deposits_once_and_release_withdrawals_once() {
	let Setup { tmp: _tmp, anvil: _anvil, mut node, mut relayers, dir, eth, eth_port, ws, port } =
		Setup::start("bridge-relay", Some(2));

	let dave = dev::dave();
	let amount = 5 * CU + 7;
	let withdrawal = runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let before = free(&api, port, account(&dave)).await;

		// Deposit → minted once.
		let started = Instant::now();
		let dep = dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &amount.to_string()])
			.expect("deposit");
		assert_eq!(dep["nonce"], 0);
		loop {
			let now = free(&api, port, account(&dave)).await;
			if now == before + amount {
				break;
			}
			assert_eq!(now, before, "Dave's balance moved by something else");
			assert!(started.elapsed() < Duration::from_secs(180), "deposit not minted after 180 s");
			tokio::time::sleep(Duration::from_millis(250)).await;
		}
		let latency = started.elapsed().as_secs_f64();
		metric("bridge_deposit_to_mint_s", format!("{latency:.1}"));
		metric(
			"bridge_deposit_to_mint_eth_blocks",
			eth_head(eth_port) - dep["block"].as_u64().expect("block"),
		);

		// Dave withdraws 2 CU to a fresh Ethereum address; the relayers sign on the chain.
		let to = [0x5au8; 20];
		let back = 2 * CU;
		let w = send(
			&api,
			port,
			&tx("Bridge", "withdraw", vec![Value::from_bytes(to), Value::u128(back)]),
			&dave,
		)
		.await;
		let nonce = uint(w.one("Bridge", "WithdrawalRequested"), "nonce") as u64;
		let signed_at = Instant::now();
		// Sorted by signer address, as the vault wants them.
		let sigs = signatures(&api, port, nonce, 2).await;
		metric(
			"bridge_withdrawal_to_signed_s",
			format!("{:.1}", signed_at.elapsed().as_secs_f64()),
		);
		let sig_args: Vec<String> = sigs.iter().map(|s| hex(s)).collect();
		let mut args = vec!["release", &eth, VAULT];
		let (n, dest, amt) = (nonce.to_string(), hex(&to), back.to_string());
		args.extend([n.as_str(), dest.as_str(), amt.as_str()]);
		args.extend(sig_args.iter().map(String::as_str));
		dev_js(&args).expect("release");
		let bal = dev_js(&["balance", &eth, VAULT, &hex(&to)]).expect("balance");
		assert_eq!(bal["balance"], back.to_string());
		let replay = dev_js(&args);
		assert!(replay.is_err(), "a replayed release went through");
		let bal = dev_js(&["balance", &eth, VAULT, &hex(&to)]).expect("balance");
		assert_eq!(bal["balance"], back.to_string());
		nonce
	});
	// The console's bridge page, in a browser: the deposit minted, the withdrawal signed by
	// the threshold, and the vault's balance read from anvil against the bridged supply.
	console_test(
		"bridge.mjs",
		&ws,
		&[("ETH", eth.clone()), ("DEPOSIT", "0".into()), ("WITHDRAWAL", withdrawal.to_string())],
	);

	// Alice's relayer restarts from an old checkpoint: it re-reads deposit 0 and must not mint.
	drop(relayers.remove(0));
	std::fs::write(dir.join("relayer0.checkpoint"), "0\n").expect("old checkpoint");
	let head = eth_head(eth_port);
	relayers.insert(0, start_relayer(0, &dir, &eth, &ws, Some(2)));
	wait_for("the restarted relayer to catch up", Duration::from_secs(120), || {
		let c: u64 =
			std::fs::read_to_string(dir.join("relayer0.checkpoint")).ok()?.trim().parse().ok()?;
		(c >= head).then_some(())
	});
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		assert_eq!(total_minted(&api, port).await, amount, "minted twice after a restart");
	});
	for r in &mut relayers {
		if !r.is_running() {
			let out = r.output();
			let tail: Vec<&str> = out.lines().rev().take(40).collect();
			let tail: Vec<&str> = tail.into_iter().rev().collect();
			panic!("a relayer exited; the end of its log:\n{}", tail.join("\n"));
		}
	}
	drop(relayers);
	node.stop();
}

/// Defect 2: a burned withdrawal nobody released comes back. Root shortens the refund delay to
/// 3 blocks (sudo `set_delays`); Dave withdraws, the relayers sign the release, nobody takes
/// it to the vault; Dave asks for a refund, the relayers sign the refund instead, anyone takes
/// it to the vault, which voids the withdrawal and emits a deposit from itself; the relayers
/// attest it (the chain asked for it) and Dave has his CU back. The vault's token balance
/// never moves, and the release signatures are refused by the vault afterwards.
#[test]
fn an_unreleased_withdrawal_is_refunded_through_the_vault() {
	let Setup { tmp: _tmp, anvil: _anvil, mut node, relayers, dir: _, eth, eth_port: _, ws, port } =
		Setup::start("bridge-refund", Some(2));
	let (dave, alice) = (dev::dave(), dev::alice());
	let vault_call = |cmd: &str, nonce: u64, recipient: String, amount: u128, sigs: &[[u8; 65]]| {
		let mut args = vec![cmd.to_string(), eth.clone(), VAULT.into(), nonce.to_string()];
		args.extend([recipient, amount.to_string()]);
		args.extend(sigs.iter().map(|s| hex(s)));
		dev_js(&args.iter().map(String::as_str).collect::<Vec<_>>())
	};
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let delays = tx(
			"Sudo",
			"sudo",
			vec![Value::unnamed_variant(
				"Bridge",
				[Value::named_variant(
					"set_delays",
					[("large_deposit", Value::u128(600)), ("refund_after", Value::u128(3))],
				)],
			)],
		);
		send(&api, port, &delays, &alice).await;
		let before = free(&api, port, account(&dave)).await;
		let amount = 4 * CU;
		dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &amount.to_string()])
			.expect("deposit");
		wait_balance(&api, port, &dave, before + amount).await;

		let to = [0x5bu8; 20];
		let back = 3 * CU;
		let w = send(
			&api,
			port,
			&tx("Bridge", "withdraw", vec![Value::from_bytes(to), Value::u128(back)]),
			&dave,
		)
		.await;
		let nonce = uint(w.one("Bridge", "WithdrawalRequested"), "nonce") as u64;
		let withdrawn_at = node.best_number();
		let release_sigs = signatures(&api, port, nonce, 2).await;
		let vault_before = dev_js(&["balance", &eth, VAULT, VAULT]).expect("balance");
		while node.best_number() < withdrawn_at + 4 {
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
		// Dave asks through the CLI (`cutopia wallet refund`): a wrong nonce first.
		let wallet = |args: &[&str]| {
			Command::new(node_bin().with_file_name("cutopia"))
				.args(["--url", &ws, "--json", "--key", "//Dave", "wallet"])
				.args(args)
				.output()
				.expect("run cutopia")
		};
		let wrong = wallet(&["refund", "999"]);
		assert!(!wrong.status.success(), "a refund of no withdrawal went through");
		assert!(
			String::from_utf8_lossy(&wrong.stderr).contains("UnknownWithdrawal"),
			"{}",
			String::from_utf8_lossy(&wrong.stderr)
		);
		let asked = wallet(&["refund", &nonce.to_string()]);
		assert!(asked.status.success(), "{}", String::from_utf8_lossy(&asked.stderr));
		let asked: Json =
			serde_json::from_slice(&asked.stdout).expect("cutopia wallet refund prints JSON");
		assert_eq!(asked["nonce"], nonce);
		// What Dave holds now (the refund's fee paid): the refund comes on top of it.
		let paid = free(&api, port, account(&dave)).await;
		assert!(paid < before + amount - back - w.fee(), "the refund request paid no fee");
		let refund_sigs = signatures(&api, port, nonce, 2).await;
		let owner = hex(&account(&dave));
		let refunded =
			vault_call("refund", nonce, owner.clone(), back, &refund_sigs).expect("refund");
		assert_eq!(refunded["deposit"], 1, "the refund is the vault's next deposit");
		wait_balance(&api, port, &dave, paid + back).await;
		assert_eq!(
			dev_js(&["balance", &eth, VAULT, VAULT]).expect("balance"),
			vault_before,
			"the vault's tokens moved"
		);
		// The vault paid this nonce once: the release signatures and a replay are refused.
		assert!(vault_call("release", nonce, hex(&to), back, &release_sigs).is_err());
		assert!(vault_call("refund", nonce, owner, back, &refund_sigs).is_err());
		tokio::time::sleep(Duration::from_secs(5)).await;
		assert_eq!(free(&api, port, account(&dave)).await, paid + back, "minted twice");
		assert_eq!(total_minted(&api, port).await, amount + back);
	});
	drop(relayers);
	node.stop();
}

/// Defect 7: a provider that leaves deposits out (a lagging node answering `[]` to
/// `eth_getLogs`) made the relayer move its checkpoint past them for good. Every relayer
/// reads Ethereum through a proxy that answers the first three non-empty `eth_getLogs` with
/// `[]`: with the old relayer each of the three skipped the deposit and it never minted. Now
/// the vault's `depositNonce` at the range's end shows the hole, the range is scanned again
/// and the deposit mints.
#[test]
fn a_provider_that_leaves_deposits_out_is_noticed() {
	let Setup { tmp: _tmp, anvil: _anvil, mut node, relayers: _, dir, eth, eth_port, ws, port } =
		Setup::start_with("bridge-lying", Some(2), false);
	let proxy = LyingProxy::start(eth_port, Lie::Omit(3));
	let proxied = format!("http://127.0.0.1:{}", proxy.port);
	let relayers: Vec<_> = (0..3).map(|i| start_relayer(i, &dir, &proxied, &ws, Some(2))).collect();
	let dave = dev::dave();
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let before = free(&api, port, account(&dave)).await;
		let amount = 2 * CU;
		dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &amount.to_string()])
			.expect("deposit");
		wait_balance(&api, port, &dave, before + amount).await;
	});
	assert_eq!(proxy.lies(), 3, "the proxy did not lie: the test shows nothing");
	drop(relayers);
	node.stop();
}

/// Each relayer reads Ethereum through three providers, one of which inflates every deposit
/// to 1,000 CU in its logs and in its receipts alike (its `Transfer` too, so on its own it
/// passes every check): the quorum of two mints what was deposited, and the relayers name the
/// liar. The same relayers reading the liar alone mint its 1,000 CU: the lie works.
#[test]
fn a_lying_provider_is_outvoted_by_the_quorum() {
	let Setup { tmp: _tmp, anvil: _anvil, mut node, relayers: _, dir, eth, eth_port, ws, port } =
		Setup::start_with("bridge-quorum", Some(2), false);
	let liar = LyingProxy::start(eth_port, Lie::Inflate);
	let honest = LyingProxy::start(eth_port, Lie::Honest);
	let liar_url = format!("http://127.0.0.1:{}", liar.port);
	let providers = format!("{liar_url},http://127.0.0.1:{},{eth}", honest.port);
	let dave = dev::dave();
	let mut relayers: Vec<_> =
		(0..3).map(|i| start_relayer(i, &dir, &providers, &ws, Some(2))).collect();
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let before = free(&api, port, account(&dave)).await;
		let amount = 2 * CU;
		dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &amount.to_string()])
			.expect("deposit");
		wait_balance(&api, port, &dave, before + amount).await;
		for r in &relayers {
			r.wait_output(
				&format!("Ethereum provider {liar_url} disagrees with the quorum on the vault's deposits"),
				Duration::from_secs(10),
			);
		}
		tokio::time::sleep(Duration::from_secs(6)).await;
		assert_eq!(total_minted(&api, port).await, amount, "more minted than deposited");
		assert!(liar.lies() > 0, "the liar told no lie: the test shows nothing");

		// The control: through the liar alone, a deposit of 1 CU mints 1,000.
		relayers.clear();
		relayers = (0..3).map(|i| start_relayer(i, &dir, &liar_url, &ws, Some(2))).collect();
		dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &CU.to_string()]).expect("deposit");
		wait_balance(&api, port, &dave, before + amount + 1_000 * CU).await;
	});
	drop(relayers);
	node.stop();
}

/// How a [`LyingProxy`] lies.
#[derive(Clone, Copy)]
enum Lie {
	/// Answers `[]` instead of the first `n` non-empty `eth_getLogs` results.
	Omit(usize),
	/// Every vault deposit is of 1,000 CU: in `eth_getLogs` and in receipts (their `Transfer`
	/// logs too).
	Inflate,
	/// Passes everything on.
	Honest,
}

/// `keccak256("Deposited(uint64,address,bytes32,uint256)")` and ERC20's `Transfer` topic.
const DEPOSITED_TOPIC: &str = "0x2edcf8d2338a88f5f9226296949c5098b4c3d2d1e81bd2523f378f0ea7984100";
const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// Rewrites the amount word of every `Deposited` and `Transfer` log in `logs` to 1,000 CU;
/// returns whether it changed anything.
fn inflate(logs: &mut Json) -> bool {
	let forged = format!("{:064x}", 1_000 * CU);
	let mut changed = false;
	for log in logs.as_array_mut().into_iter().flatten() {
		let topic = log["topics"][0].as_str().unwrap_or_default().to_lowercase();
		let Some(data) = log["data"].as_str().map(str::to_string) else { continue };
		let data = data.trim_start_matches("0x");
		let new = match topic.as_str() {
			DEPOSITED_TOPIC if data.len() == 128 => format!("0x{}{forged}", &data[..64]),
			TRANSFER_TOPIC if data.len() == 64 => format!("0x{forged}"),
			_ => continue,
		};
		log["data"] = json!(new);
		changed = true;
	}
	changed
}

/// A JSON-RPC proxy to anvil on a free loopback port that lies as told.
struct LyingProxy {
	port: u16,
	told: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl LyingProxy {
	fn start(upstream: u16, lie: Lie) -> Self {
		use std::sync::{atomic::AtomicUsize, Arc};
		let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
		let port = listener.local_addr().expect("proxy address").port();
		let told = Arc::new(AtomicUsize::new(0));
		let counter = told.clone();
		std::thread::spawn(move || {
			for conn in listener.incoming().flatten() {
				let counter = counter.clone();
				std::thread::spawn(move || Self::serve(conn, upstream, lie, &counter));
			}
		});
		Self { port, told }
	}

	fn lies(&self) -> usize {
		self.told.load(std::sync::atomic::Ordering::SeqCst)
	}

	/// Answers the requests of one keep-alive connection.
	fn serve(
		conn: std::net::TcpStream,
		upstream: u16,
		lie: Lie,
		told: &std::sync::atomic::AtomicUsize,
	) {
		use std::io::{BufRead, Read, Write};
		use std::sync::atomic::Ordering;
		let mut out = conn.try_clone().expect("clone the connection");
		let mut reader = std::io::BufReader::new(conn);
		loop {
			let mut line = String::new();
			if reader.read_line(&mut line).unwrap_or(0) == 0 {
				return;
			}
			let mut length = 0usize;
			loop {
				line.clear();
				if reader.read_line(&mut line).unwrap_or(0) == 0 {
					return;
				}
				let header = line.trim_end();
				if header.is_empty() {
					break;
				}
				if let Some((name, value)) = header.split_once(':') {
					if name.eq_ignore_ascii_case("content-length") {
						length = value.trim().parse().unwrap_or(0);
					}
				}
			}
			let mut body = vec![0; length];
			if reader.read_exact(&mut body).is_err() {
				return;
			}
			let answer = |request: &Json| -> Json {
				let method = request["method"].as_str().unwrap_or_default();
				let mut reply = json!({"jsonrpc": "2.0", "id": request["id"].clone()});
				match rpc_call(upstream, method, request["params"].clone()) {
					Ok(mut result) => {
						let lied = match lie {
							Lie::Omit(lies) => {
								let non_empty =
									result.as_array().is_some_and(|logs| !logs.is_empty());
								let omit = method == "eth_getLogs"
									&& non_empty && told
									.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
										(n < lies).then_some(n + 1)
									})
									.is_ok();
								if omit {
									result = json!([]);
								}
								false
							},
							Lie::Inflate if method == "eth_getLogs" => inflate(&mut result),
							Lie::Inflate
								if method == "eth_getTransactionReceipt" && result.is_object() =>
							{
								inflate(&mut result["logs"])
							},
							Lie::Inflate | Lie::Honest => false,
						};
						if lied {
							told.fetch_add(1, Ordering::SeqCst);
						}
						reply["result"] = result;
					},
					Err(cutopia_e2e::RpcError::Rpc(e)) => reply["error"] = e,
					Err(e) => reply["error"] = json!({"code": -32603, "message": format!("{e:?}")}),
				}
				reply
			};
			let request: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
			let reply = match &request {
				Json::Array(batch) => Json::Array(batch.iter().map(answer).collect()),
				single => answer(single),
			}
			.to_string();
			let head = format!(
				"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
				reply.len()
			);
			if out.write_all(head.as_bytes()).and_then(|_| out.write_all(reply.as_bytes())).is_err()
			{
				return;
			}
		}
	}
}

/// Waits (up to 120 s) until `who`'s free balance is `expected`.
async fn wait_balance(api: &Api, port: u16, who: &subxt_signer::sr25519::Keypair, expected: u128) {
	let started = Instant::now();
	while free(api, port, account(who)).await != expected {
		assert!(started.elapsed() < Duration::from_secs(120), "balance never reached {expected}");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}

/// The first `n` signatures of withdrawal `nonce` once it has them, sorted by signer address
/// as the vault wants them.
async fn signatures(api: &Api, port: u16, nonce: u64, n: usize) -> Vec<[u8; 65]> {
	let started = Instant::now();
	loop {
		let w: WithdrawalView = storage_as(api, port, "Bridge", "Withdrawals", nonce).await;
		if w.signatures.len() >= n {
			let mut sigs = w.signatures;
			sigs.sort_by_key(|(a, _)| *a);
			return sigs.into_iter().take(n).map(|(_, s)| s).collect();
		}
		assert!(started.elapsed() < Duration::from_secs(120), "withdrawal {nonce} not signed");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// A deposit reorged out before the confirmation depth is never attested, although every
/// relayer saw it (logged it above its followed head) before the reorg; while inbound is
/// paused on the chain nothing is minted, and after unpausing the backlog is minted once.
#[test]
fn reorged_deposits_never_mint_and_a_paused_backlog_mints_once() {
	const CONFIRMATIONS: u64 = 12;
	let Setup { tmp: _tmp, anvil: _anvil, mut node, relayers, dir: _, eth, eth_port, ws, port } =
		Setup::start("bridge-reorg", Some(CONFIRMATIONS as u32));
	let (dave, alice) = (dev::dave(), dev::alice());
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		// Deposit, let every relayer see it, then undo it on Ethereum before it is confirmed.
		let snap = rpc_call(eth_port, "evm_snapshot", json!([])).expect("snapshot");
		let dep = dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &(7 * CU).to_string()])
			.expect("deposit");
		let block = dep["block"].as_u64().expect("the deposit's block");
		for r in &relayers {
			r.wait_output(
				"deposit 0 of 7000000000000000000 in Ethereum block",
				Duration::from_secs(8),
			);
		}
		let depth = eth_head(eth_port) + 1 - block;
		assert!(
			depth < CONFIRMATIONS,
			"the deposit had {depth} confirmations before the reorg: the test would show nothing"
		);
		rpc_call(eth_port, "evm_revert", json!([snap])).expect("revert");
		for r in &relayers {
			r.wait_output(
				"left the Ethereum chain before it was confirmed",
				Duration::from_secs(10),
			);
		}
		// An attacker's clone contract emits the vault's event for nonce 0: ignored.
		dev_js(&["clone-deposit", &eth, "0", &hex(&account(&dave)), &(1_000 * CU).to_string()])
			.expect("clone deposit");
		// Well past the depth: the relayers followed the new chain and saw no deposit.
		tokio::time::sleep(Duration::from_secs(CONFIRMATIONS + 6)).await;
		assert_eq!(
			total_minted(&api, port).await,
			0,
			"a reorged-out or a clone's deposit was minted"
		);

		// Inbound paused on the chain (sudo), a deposit arrives: nothing is minted.
		let pause = |inbound: bool| {
			tx(
				"Sudo",
				"sudo",
				vec![Value::unnamed_variant(
					"Bridge",
					[Value::named_variant(
						"set_paused",
						[("inbound", Value::bool(inbound)), ("outbound", Value::bool(false))],
					)],
				)],
			)
		};
		send(&api, port, &pause(true), &alice).await;
		let amount = 3 * CU + 11;
		let dep = dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &amount.to_string()])
			.expect("deposit");
		assert_eq!(dep["nonce"], 0, "the reverted deposit's nonce is reused on the new chain");
		tokio::time::sleep(Duration::from_secs(20)).await;
		assert_eq!(total_minted(&api, port).await, 0, "minted while paused");
		// Unpaused: the backlog is minted exactly once.
		send(&api, port, &pause(false), &alice).await;
		let started = Instant::now();
		while total_minted(&api, port).await != amount {
			assert!(
				started.elapsed() < Duration::from_secs(120),
				"backlog not minted after unpause"
			);
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
		tokio::time::sleep(Duration::from_secs(8)).await;
		assert_eq!(total_minted(&api, port).await, amount, "the backlog was minted more than once");
	});
	drop(relayers);
	node.stop();
}

/// 1,000 deposits sent back to back (many per Ethereum block): every one is minted, none twice.
#[test]
fn a_thousand_deposits_all_mint_once() {
	const COUNT: u128 = 1_000;
	let Setup { tmp: _tmp, anvil: _anvil, mut node, relayers, dir: _, eth, eth_port: _, ws, port } =
		Setup::start("bridge-load", Some(2));
	let dave = dev::dave();
	let amount = CU + 3;
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let before = free(&api, port, account(&dave)).await;
		let started = Instant::now();
		let sent = deposit_many(&eth, &dave, amount, COUNT);
		let sent_in = started.elapsed().as_secs_f64();
		let first_block = node.best_number();
		loop {
			let minted = total_minted(&api, port).await;
			if minted >= COUNT * amount {
				break;
			}
			assert!(
				started.elapsed() < Duration::from_secs(600),
				"{} of {COUNT} deposits minted after 600 s",
				minted / amount
			);
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
		let synced = started.elapsed().as_secs_f64();
		let blocks = node.best_number() - first_block;
		// Some more cycles of all three relayers: nothing more may mint.
		tokio::time::sleep(Duration::from_secs(10)).await;
		assert_eq!(total_minted(&api, port).await, COUNT * amount, "a deposit was minted twice");
		assert_eq!(free(&api, port, account(&dave)).await, before + COUNT * amount);
		// Every vault nonce is processed, and no other.
		let at = api.at_block(cutopia_e2e::chain::best(port)).await.expect("best block");
		// Keyed by (vault, nonce): the vault is part of a deposit's identity.
		let addr = subxt::dynamic::storage::<(Value,), Value<()>>("Bridge", "Processed");
		let mut entries = at.storage().iter(addr, ()).await.expect("iterate Processed");
		let mut nonces = Vec::new();
		while let Some(kv) = entries.next().await {
			use scale_value::At as _;
			let kv = kv.expect("a Processed entry");
			let key = kv.key().expect("key");
			let key: Value =
				key.part(0).expect("part").decode_as().expect("key").expect("concat hasher");
			let vault = key.at(0).and_then(|v| v.at("vault")).expect("the key's vault");
			let vault: String = cutopia_e2e::chain::bytes(vault)
				.iter()
				.fold("0x".into(), |s, b| format!("{s}{b:02x}"));
			assert_eq!(vault, VAULT, "a deposit of another vault");
			nonces.push(key.at(1).and_then(|n| n.as_u128()).expect("the key's nonce") as u64);
		}
		nonces.sort_unstable();
		assert_eq!(nonces, (0..COUNT as u64).collect::<Vec<_>>());
		metric(
			"bridge_1000_deposits_eth_blocks",
			sent["last_block"].as_u64().unwrap_or(0) - sent["first_block"].as_u64().unwrap_or(0)
				+ 1,
		);
		metric("bridge_1000_deposits_sent_s", format!("{sent_in:.1}"));
		metric("bridge_1000_deposits_synced_s", format!("{synced:.1}"));
		metric("bridge_1000_deposits_chain_blocks", blocks);
	});
	drop(relayers);
	node.stop();
}

/// anvil is stopped in the middle of a 300-deposit sync and started again with its saved
/// state 10 s later on the same port: the relayers back off and retry meanwhile, then every
/// deposit mints exactly once, those before the stop and one made after it.
#[test]
fn relayers_ride_out_an_ethereum_node_restart() {
	const COUNT: u128 = 300;
	let Setup { tmp: _tmp, mut anvil, mut node, mut relayers, dir, eth, eth_port, ws, port } =
		Setup::start("bridge-eth-restart", Some(2));
	let dave = dev::dave();
	let amount = CU + 7;
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		deposit_many(&eth, &dave, amount, COUNT);
		let started = Instant::now();
		while total_minted(&api, port).await == 0 {
			assert!(started.elapsed() < Duration::from_secs(120), "the sync never started");
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		anvil.interrupt(Duration::from_secs(20));
		let at_stop = total_minted(&api, port).await;
		assert!(at_stop < COUNT * amount, "the sync ended before anvil stopped: not mid-sync");
		assert!(dir.join("anvil.state").exists(), "anvil saved no state");
		tokio::time::sleep(Duration::from_secs(10)).await;
		for r in &relayers {
			assert!(
				r.output().contains("retrying in"),
				"a relayer did not notice the Ethereum node was gone"
			);
		}
		anvil = start_anvil(&dir, eth_port);
		let after = 3 * CU;
		dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &after.to_string()])
			.expect("a deposit after the restart");
		let total = COUNT * amount + after;
		let started = Instant::now();
		while total_minted(&api, port).await < total {
			assert!(
				started.elapsed() < Duration::from_secs(180),
				"{} minted of {total} after the restart",
				total_minted(&api, port).await
			);
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
		tokio::time::sleep(Duration::from_secs(8)).await;
		assert_eq!(total_minted(&api, port).await, total, "a deposit was minted twice");
		metric("bridge_eth_restart_minted_before_stop", at_stop / amount);
	});
	for r in &mut relayers {
		assert!(r.is_running(), "a relayer exited over an Ethereum node restart");
	}
	drop(relayers);
	drop(anvil);
	node.stop();
}

/// Relayers following Ethereum's `finalized` block stop with a clear error when it goes
/// backwards (here: anvil rolled back past it), instead of relaying from a rewritten history.
#[test]
fn relayers_stop_when_the_finalized_head_goes_backwards() {
	let Setup { tmp: _tmp, anvil: _anvil, mut node, mut relayers, dir, eth, eth_port, ws, port } =
		Setup::start("bridge-finality", None);
	let dave = dev::dave();
	let amount = 2 * CU;
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let before = free(&api, port, account(&dave)).await;
		// Finality mode relays too: a deposit is minted once it is below anvil's finalized block.
		dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &amount.to_string()])
			.expect("deposit");
		let started = Instant::now();
		while free(&api, port, account(&dave)).await != before + amount {
			assert!(started.elapsed() < Duration::from_secs(120), "deposit not minted");
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	});
	let head = eth_head(eth_port);
	rpc_call(eth_port, "anvil_rollback", json!([8])).expect("rollback");
	assert!(head > 8, "anvil made too few blocks");
	for (i, r) in relayers.iter_mut().enumerate() {
		let status = wait_for("the relayer to stop", Duration::from_secs(60), || r.try_wait());
		assert!(!status.success(), "relayer {i} exited with success");
		let log = std::fs::read_to_string(dir.join(format!("relayer{i}.log"))).expect("log");
		assert!(log.contains("went backwards"), "relayer {i} did not say why: {log}");
	}
	drop(relayers);
	node.stop();
}

/// Bridge defects 1, 6 and 12: relayers whose accounts hold 0 CU relay the first deposit; while
/// they are down 1,000 minimum withdrawals pile up (what an attacker buys for a few fees, or a
/// long outage causes); once they are back a new deposit mints within 60 s, not behind the
/// withdrawals, and every withdrawal reaches its threshold of signatures, all for free.
#[test]
fn relayers_holding_no_cu_mint_a_deposit_behind_a_thousand_withdrawals() {
	const WITHDRAWALS: usize = 1_000;
	const KEYS: [&str; 3] = ["//Relayer1", "//Relayer2", "//Relayer3"];
	// anvil's accounts 1–3, the vault's relayers.
	const ETH: [&str; 3] = [
		"70997970c51812dc3a010c7d01b50e0d17dc79c8",
		"3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
		"90f79bf6eb2c4f870365e785982e1f101e93b906",
	];
	let Setup { tmp: _tmp, anvil: _anvil, mut node, relayers: _, dir, eth, eth_port: _, ws, port } =
		Setup::start_with("bridge-flood", Some(2), false);
	let keys: Vec<_> = KEYS
		.iter()
		.map(|k| subxt_signer::sr25519::Keypair::from_uri(&k.parse().expect("uri")).expect("key"))
		.collect();
	let (alice, dave, ferdie) = (dev::alice(), dev::dave(), dev::ferdie());
	let start = |dir: &Path| -> Vec<Proc> {
		(0..3).map(|i| start_relayer_as(i, KEYS[i], dir, &eth, &ws, Some(2))).collect()
	};
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let members = keys
			.iter()
			.zip(ETH)
			.map(|(k, e)| {
				let e: Vec<u8> = (0..40)
					.step_by(2)
					.map(|i| u8::from_str_radix(&e[i..i + 2], 16).unwrap())
					.collect();
				Value::unnamed_composite([Value::from_bytes(account(k)), Value::from_bytes(e)])
			})
			.collect::<Vec<_>>();
		let set_relayers = tx(
			"Sudo",
			"sudo",
			vec![Value::unnamed_variant(
				"Bridge",
				[Value::named_variant(
					"set_relayers",
					[("members", Value::unnamed_composite(members)), ("threshold", Value::u128(2))],
				)],
			)],
		);
		send(&api, port, &set_relayers, &alice).await;
		for k in &keys {
			assert_eq!(total(&api, port, account(k)).await, 0, "a relayer holds CU");
		}
	});

	// The first deposit, relayed by accounts with no CU at all.
	let mut relayers = start(&dir);
	let funds = 2 * CU;
	dev_js(&["deposit", &eth, VAULT, &hex(&account(&dave)), &funds.to_string()]).expect("deposit");
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let started = Instant::now();
		while total_minted(&api, port).await != funds {
			assert!(started.elapsed() < Duration::from_secs(120), "first deposit not minted");
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	});
	drop(relayers.drain(..));

	// 1,000 minimum withdrawals while the relayers are down.
	let minimum: u128 = 1_000_000_000_000; // MinTransfer: the existential deposit
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		let withdraw = Value::unnamed_variant(
			"Bridge",
			[Value::named_variant(
				"withdraw",
				[("to", Value::from_bytes([0x77u8; 20])), ("amount", Value::u128(minimum))],
			)],
		);
		for _ in 0..WITHDRAWALS / 250 {
			let calls = vec![withdraw.clone(); 250];
			send(
				&api,
				port,
				&tx("Utility", "batch_all", vec![Value::unnamed_composite(calls)]),
				&dave,
			)
			.await;
		}
	});

	relayers = start(&dir);
	let amount = 3 * CU + 5;
	let before = runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		free(&api, port, account(&ferdie)).await
	});
	let started = Instant::now();
	dev_js(&["deposit", &eth, VAULT, &hex(&account(&ferdie)), &amount.to_string()])
		.expect("deposit");
	runtime().block_on(async {
		let api = Api::from_insecure_url(&ws).await.expect("subxt connects");
		while free(&api, port, account(&ferdie)).await != before + amount {
			assert!(
				started.elapsed() < Duration::from_secs(60),
				"a deposit behind {WITHDRAWALS} withdrawals was not minted within 60 s"
			);
			tokio::time::sleep(Duration::from_millis(250)).await;
		}
		metric(
			"bridge_deposit_behind_1000_withdrawals_to_mint_s",
			format!("{:.1}", started.elapsed().as_secs_f64()),
		);

		let signed = loop {
			let at = api.at_block(cutopia_e2e::chain::best(port)).await.expect("best block");
			let addr = subxt::dynamic::storage::<(u64,), WithdrawalView>("Bridge", "Withdrawals");
			let mut entries = at.storage().iter(addr, ()).await.expect("iterate Withdrawals");
			let (mut stored, mut signed) = (0, 0);
			while let Some(kv) = entries.next().await {
				let w = kv.expect("an entry").value().decode().expect("a withdrawal");
				stored += 1;
				signed += usize::from(w.signatures.len() >= 2);
			}
			assert_eq!(stored, WITHDRAWALS);
			if signed == WITHDRAWALS {
				break started.elapsed();
			}
			assert!(
				started.elapsed() < Duration::from_secs(180),
				"{signed} of {WITHDRAWALS} withdrawals signed after 180 s"
			);
			tokio::time::sleep(Duration::from_secs(1)).await;
		};
		metric("bridge_1000_withdrawals_signed_s", format!("{:.1}", signed.as_secs_f64()));
		for k in &keys {
			assert_eq!(total(&api, port, account(k)).await, 0, "a relayer paid a fee");
		}
	});
	// Once final, each relayer's withdrawal cursor records all of them as signed, and a
	// restarted relayer reads on from there instead of from the oldest.
	let cursor = |i: usize| std::fs::read_to_string(dir.join(format!("relayer{i}.withdrawals")));
	let set = wait_for("the withdrawal cursors", Duration::from_secs(60), || {
		let cursors: Vec<String> = (0..3).filter_map(|i| cursor(i).ok()).collect();
		let ends: Vec<(&str, &str)> =
			cursors.iter().filter_map(|c| c.trim().split_once(' ')).collect();
		(ends.len() == 3 && ends.iter().all(|(set, n)| *n == "1000" && *set == ends[0].0))
			.then(|| ends[0].0.to_string())
	});
	relayers.remove(0);
	relayers.insert(0, start_relayer_as(0, KEYS[0], &dir, &eth, &ws, Some(2)));
	relayers[0].wait_output(
		&format!(
			"signing withdrawals under relayer set {set} from nonce 1000 (the withdrawal cursor)"
		),
		Duration::from_secs(60),
	);
	for r in &mut relayers {
		if !r.is_running() {
			let out = r.output();
			let tail: Vec<&str> = out.lines().rev().take(40).collect();
			let tail: Vec<&str> = tail.into_iter().rev().collect();
			panic!("a relayer exited; the end of its log:\n{}", tail.join("\n"));
		}
	}
	drop(relayers);
	node.stop();
}
