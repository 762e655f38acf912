//! End-to-end: the marketplace run by its programs, as users run them. A `cutopia-node --dev`,
//! an exchange agent (Bob, `cutopia exchange run`), miner agents (Dave, Eve:
//! `cutopia miner run`) and the buyer's CLI (Alice: `cutopia client …`), all real processes on
//! loopback. A WASM task goes from submit to settlement with every balance exact to the unit
//! (transaction fees read from each block's `TransactionFeePaid` events); two replicas agree
//! and are both paid while one of them is killed and restarted mid-lease; a miner killed for
//! good fails its lease and the buyer gets back what it did not earn; bad input is refused
//! with a message and nothing reaches the chain.

use cutopia_e2e::{
	chain::{account, fees_between, metric, runtime, total, Api},
	free_port, wait_for, workspace_bin, Node, Proc, TempDir, HELLO,
};
use serde_json::{json, Value as Json};
use std::{
	collections::BTreeMap,
	process::{Command, Output},
	time::{Duration, Instant},
};
use subxt_signer::sr25519::{dev, Keypair};

const CU: u128 = 1_000_000_000_000_000_000;

fn cutopia(url: &str, args: &[&str]) -> Output {
	Command::new(workspace_bin("cutopia"))
		.args(["--url", url, "--json"])
		.args(args)
		.output()
		.expect("run cutopia")
}

/// The JSON a successful `cutopia --json` command printed.
fn ok(out: Output) -> Json {
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"cutopia failed:\n{stdout}\n{}",
		String::from_utf8_lossy(&out.stderr)
	);
	serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON line")
}

struct Market {
	node: Node,
	tmp: TempDir,
	url: String,
}

impl Market {
	/// A dev node, Charlie registered as escrow operator (1 %), Bob's exchange agent (5 %).
	fn start(name: &str) -> (Market, Proc) {
		let tmp = TempDir::new(name);
		let node = Node::start(name, tmp.path(), &["--dev", "--tmp"]);
		node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
		let url = node.ws_url();
		ok(cutopia(&url, &["--key", "//Charlie", "escrow", "register", "--fee-percent", "1"]));
		let m = Market { node, tmp, url };
		let exchange = m.agent("exchange", "//Bob", &["exchange", "run", "--fee-percent", "5"]);
		exchange.wait_output("registered", Duration::from_secs(60));
		(m, exchange)
	}

	/// An agent logging to `<name>.log`, keeping its state in `<data>/`.
	fn agent_in(&self, name: &str, data: &str, key: &str, args: &[&str]) -> Proc {
		self.agent_env(name, data, key, args, &[])
	}

	/// An agent with extra environment variables.
	fn agent_env(
		&self,
		name: &str,
		data: &str,
		key: &str,
		args: &[&str],
		env: &[(&str, &std::path::Path)],
	) -> Proc {
		let data = self.tmp.path().join(data);
		let mut cmd = Command::new(workspace_bin("cutopia"));
		cmd.args(["--url", &self.url, "--key", key]).args(args).arg("--data-dir").arg(&data);
		cmd.envs(env.iter().copied());
		Proc::spawn(&mut cmd, self.tmp.path().join(format!("{name}.log")))
	}

	fn agent(&self, name: &str, key: &str, args: &[&str]) -> Proc {
		self.agent_in(name, name, key, args)
	}

	/// A miner agent serving results on a fresh loopback port.
	fn miner(&self, name: &str, key: &str, endpoint: &str) -> Proc {
		self.miner_in(name, name, key, endpoint)
	}

	fn miner_in(&self, name: &str, data: &str, key: &str, endpoint: &str) -> Proc {
		self.miner_with(name, data, key, &["miner", "run", "--endpoint", endpoint])
	}

	/// Dave's miner, taking service work too, on a free port.
	fn service_miner_dave(&self) -> Proc {
		let endpoint = format!("127.0.0.1:{}", free_port());
		self.miner_with(
			"dave",
			"dave",
			"//Dave",
			&["miner", "run", "--endpoint", &endpoint, "--service"],
		)
	}

	fn miner_with(&self, name: &str, data: &str, key: &str, args: &[&str]) -> Proc {
		let p = self.agent_in(name, data, key, args);
		p.wait_output("registered", Duration::from_secs(60));
		p
	}

	fn task(&self, name: &str, fields: &str) -> String {
		std::fs::write(self.tmp.path().join("hello.wat"), HELLO).expect("write module");
		let file = self.tmp.path().join(format!("{name}.toml"));
		let text = format!(
			"module = \"hello.wat\"\nincentive = \"2\"\nexchange = \"{}\"\nescrow_operator = \"{}\"\n{fields}",
			dev::bob().public_key().to_account_id(),
			dev::charlie().public_key().to_account_id(),
		);
		std::fs::write(&file, text).expect("write task");
		file.to_string_lossy().into_owned()
	}

	fn submit(&self, file: &str) -> u64 {
		let v = ok(cutopia(&self.url, &["--key", "//Alice", "client", "submit", file]));
		v["id"].as_u64().expect("an id")
	}

	fn info(&self, id: u64) -> Json {
		self.node.rpc("indenture_get", json!([id])).expect("indenture_get")
	}

	fn wait_status(
		&self,
		id: u64,
		what: &str,
		timeout: Duration,
		f: impl Fn(&Json) -> bool,
	) -> Json {
		let start = Instant::now();
		loop {
			let v = self.info(id);
			if f(&v) {
				return v;
			}
			assert!(
				start.elapsed() < timeout,
				"timed out waiting for {what}: {v}\n{}",
				self.node.log_tail()
			);
			std::thread::sleep(Duration::from_millis(500));
		}
	}

	/// Free + reserved balance of each key, and the block it was read at.
	fn balances(&self, who: &[&Keypair]) -> (u64, BTreeMap<[u8; 32], u128>) {
		let port = self.node.rpc_port;
		runtime().block_on(async {
			let api = Api::from_insecure_url(&self.url).await.expect("subxt connects");
			let block = self.node.best_number();
			let mut out = BTreeMap::new();
			for k in who {
				out.insert(account(k), total(&api, port, account(k)).await);
			}
			(block, out)
		})
	}

	fn fees(&self, from: u64, to: u64) -> BTreeMap<[u8; 32], u128> {
		let port = self.node.rpc_port;
		runtime().block_on(async {
			let api = Api::from_insecure_url(&self.url).await.expect("subxt connects");
			fees_between(&api, port, from, to).await
		})
	}
}

fn units(v: &Json) -> u128 {
	v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a balance: {v}"))
}

/// Alice buys a WASM task with a factorization challenge; Bob's exchange agent posts a
/// fresh semiprime, Dave's and Eve's miners race to factor it (commit–reveal), the winner
/// runs the task, answers its heartbeat, seals and reveals the result; Alice fetches the
/// result from the miner, checks it against the hash on chain, and accepts. Every balance
/// moves by exactly its share minus the transaction fees it paid; the exchange's audit of
/// its semiprime passes.
#[test]
fn agents_run_a_wasm_task_from_submit_to_settlement() {
	let (m, exchange) = Market::start("market-main");
	let dave = m.miner("dave", "//Dave", &format!("127.0.0.1:{}", free_port()));
	let eve = m.miner("eve", "//Eve", &format!("127.0.0.1:{}", free_port()));
	let keys = [dev::alice(), dev::bob(), dev::charlie(), dev::dave(), dev::eve()];
	let who: Vec<&Keypair> = keys.iter().collect();
	let (from, before) = m.balances(&who);
	// A subscriber to the queue's events, as a dashboard would run it.
	let follower = Proc::spawn(
		Command::new(workspace_bin("cutopia"))
			.args(["--url", &m.url, "--json", "client", "queue", "--follow"]),
		m.tmp.path().join("follow.log"),
	);

	let started = Instant::now();
	let file = m.task("main", "duration = 10\nchallenge = \"factorization\"\n");
	let id = m.submit(&file);
	let reported =
		m.wait_status(id, "the result", Duration::from_secs(240), |v| v["status"] == "Reported");
	metric("market_submit_to_result_s", format!("{:.1}", started.elapsed().as_secs_f64()));
	let winner = reported["slots"][0]["miner"].as_str().expect("a miner").to_string();

	// The buyer fetches the output from the winning miner and checks it against the chain.
	let out = m.tmp.path().join("result.txt");
	let got =
		ok(cutopia(&m.url, &["client", "result", &id.to_string(), "--out", out.to_str().unwrap()]));
	assert_eq!(got["verified"], true, "{got}");
	assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello from a cutopia miner\n");

	ok(cutopia(&m.url, &["--key", "//Alice", "client", "accept", &id.to_string()]));
	let ended =
		m.wait_status(id, "settlement", Duration::from_secs(30), |v| v.get("record").is_some());
	metric("market_submit_to_settled_s", format!("{:.1}", started.elapsed().as_secs_f64()));
	assert_eq!(ended["record"]["status"], "Settled", "{ended}");

	// The exchange reveals its factor for the audit once the challenge is decided.
	exchange.wait_output("revealed the factor", Duration::from_secs(60));
	let (to, after) = m.balances(&who);
	let fees = m.fees(from + 1, to);
	let i = 2 * CU as i128;
	let delta = |k: &Keypair| after[&account(k)] as i128 - before[&account(k)] as i128;
	let fee = |k: &Keypair| fees.get(&account(k)).copied().unwrap_or_default() as i128;
	assert_eq!(delta(&keys[0]), -(i + i / 20 + i / 100) - fee(&keys[0]), "buyer");
	assert_eq!(delta(&keys[1]), i / 20 - fee(&keys[1]), "exchange");
	assert_eq!(delta(&keys[2]), i / 100 - fee(&keys[2]), "escrow operator");
	let (win, lose) = if winner == dev::dave().public_key().to_account_id().to_string() {
		(&keys[3], &keys[4])
	} else {
		(&keys[4], &keys[3])
	};
	assert_eq!(delta(win), i - fee(win), "winning miner");
	assert_eq!(delta(lose), -fee(lose), "losing miner");
	for (name, p) in [("dave", &dave), ("eve", &eve)] {
		assert!(!p.output().contains("panicked"), "{name}:\n{}", p.output());
	}
	assert!(
		dave.output().contains("factored challenge") || eve.output().contains("factored challenge")
	);
	let events: Vec<String> = follower
		.output()
		.lines()
		.filter_map(|l| serde_json::from_str::<Json>(l).ok())
		.filter_map(|v| v["event"].as_str().map(String::from))
		.collect();
	for e in ["Submitted", "SlotAwarded", "Leased", "ResultsDue", "ResultRevealed", "CiRecorded"] {
		assert!(events.iter().any(|x| x == e), "the follower saw no {e}: {events:?}");
	}
}

/// Two replicas on two miners: both run the task and report the same result, so both are
/// paid half. Eve's miner is killed mid-lease and restarted with the same data directory: it
/// reads its slot from the chain and keeps answering heartbeats.
#[test]
fn replicas_agree_and_a_restarted_miner_resumes() {
	let (m, _exchange) = Market::start("market-replicas");
	let _dave = m.miner("dave", "//Dave", &format!("127.0.0.1:{}", free_port()));
	let eve_endpoint = format!("127.0.0.1:{}", free_port());
	let mut eve = m.miner("eve", "//Eve", &eve_endpoint);
	let keys = [dev::alice(), dev::dave(), dev::eve()];
	let who: Vec<&Keypair> = keys.iter().collect();
	let (from, before) = m.balances(&who);

	let file = m.task("replicas", "duration = 20\nreplicas = 2\n");
	let id = m.submit(&file);
	m.wait_status(id, "both slots leased", Duration::from_secs(120), |v| v["status"] == "Leased");
	eve.wait_output("heartbeat: lease", Duration::from_secs(60));
	eve.kill();
	let restarted = Instant::now();
	// A new process with the old data directory.
	let eve2 = m.miner_in("eve-again", "eve", "//Eve", &eve_endpoint);
	eve2.wait_output("heartbeat: lease", Duration::from_secs(90));
	// The same flags are the same offer: nothing to update (it would cost a fee).
	assert!(!eve2.output().contains("offer on RepChain"), "{}", eve2.output());
	metric("market_restart_to_heartbeat_s", format!("{:.1}", restarted.elapsed().as_secs_f64()));

	let ended =
		m.wait_status(id, "settlement", Duration::from_secs(300), |v| v.get("record").is_some());
	assert_eq!(ended["record"]["status"], "Settled", "{ended}");
	assert_eq!(units(&ended["record"]["paidToMiners"]), 2 * CU, "{ended}");
	assert_eq!(units(&ended["record"]["refunded"]), 0, "{ended}");
	let (to, after) = m.balances(&who);
	let fees = m.fees(from + 1, to);
	let delta = |k: &Keypair| after[&account(k)] as i128 - before[&account(k)] as i128;
	let fee = |k: &Keypair| fees.get(&account(k)).copied().unwrap_or_default() as i128;
	let i = 2 * CU as i128;
	assert_eq!(delta(&keys[1]), i / 2 - fee(&keys[1]), "dave");
	assert_eq!(delta(&keys[2]), i / 2 - fee(&keys[2]), "eve");
	assert_eq!(delta(&keys[0]), -(i + i / 20 + i / 100) - fee(&keys[0]), "buyer");
}

/// A busybox image (plexus's, from Debian's busybox-static) with a message of the day,
/// written as a tar archive into `dir`.
fn busybox_image(dir: &std::path::Path) -> std::path::PathBuf {
	let tar = dir.join("busybox.tar");
	let image = plexus::container::busybox_image(&[("etc/motd", b"served from an image\n")])
		.expect("a busybox image (scripts/setup.sh installs busybox-static)");
	std::fs::write(&tar, image).unwrap();
	tar
}

/// An https server (`openssl s_server -WWW`) for the files in `dir`, on a free loopback port,
/// with a certificate for localhost signed by a CA made here: the server, its port and the
/// CA's PEM file (what a client must trust, e.g. through SSL_CERT_FILE).
fn https_server(dir: &std::path::Path) -> (Proc, u16, std::path::PathBuf) {
	let openssl = |args: &[&str]| {
		let out = Command::new("openssl")
			.args(args)
			.current_dir(dir)
			.output()
			.expect("openssl (scripts/setup.sh installs it)");
		assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
	};
	let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
	let ca = ["-subj", "/CN=cutopia test CA", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem"];
	openssl(&[&["req", "-x509"][..], &key, &ca].concat());
	std::fs::write(
		dir.join("leaf.ext"),
		"subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
	)
	.unwrap();
	openssl(
		&[&["req"][..], &key, &["-subj", "/CN=localhost", "-keyout", "tls.key", "-out", "tls.csr"]]
			.concat(),
	);
	openssl(&[
		"x509",
		"-req",
		"-in",
		"tls.csr",
		"-CA",
		"ca.pem",
		"-CAkey",
		"ca.key",
		"-CAcreateserial",
		"-days",
		"2",
		"-extfile",
		"leaf.ext",
		"-out",
		"tls.pem",
	]);
	let port = free_port();
	let accept = format!("127.0.0.1:{port}");
	let mut cmd = Command::new("openssl");
	cmd.args([
		"s_server", "-WWW", "-quiet", "-accept", &accept, "-cert", "tls.pem", "-key", "tls.key",
	])
	.current_dir(dir);
	let server = Proc::spawn(&mut cmd, dir.join("https.log"));
	wait_for("the https server", Duration::from_secs(10), || {
		std::net::TcpStream::connect(("127.0.0.1", port)).ok()
	});
	(server, port, dir.join("ca.pem"))
}

/// A container task: a busybox image by `https://` URI and SHA-256 (the miners trust the
/// test's CA through SSL_CERT_FILE), and a shell command. Dave offers the container executor
/// (`--containers`), Eve, where a guest can boot here, only microVMs (`--microvm`), which
/// serve work asking for a container too: both run it, report the same output and are paid.
/// The buyer fetches the result and checks it against the chain. Work asking for a microVM
/// goes to Eve alone: Dave's container tier does not serve it.
#[test]
fn agents_run_a_container_task_and_its_replicas_agree() {
	let (m, _exchange) = Market::start("market-container");
	let served = m.tmp.path().join("served");
	std::fs::create_dir_all(&served).unwrap();
	let (_https, port, ca) = https_server(&served);
	let miner = |name: &str, key: &str, flags: &[&str]| {
		let endpoint = format!("127.0.0.1:{}", free_port());
		let mut args = vec!["miner", "run", "--endpoint", &endpoint];
		args.extend_from_slice(flags);
		let p = m.agent_env(name, name, key, &args, &[("SSL_CERT_FILE", &ca)]);
		p.wait_output("registered", Duration::from_secs(60));
		p
	};
	let microvm = plexus::container::MicroVmExecutor::detect(true).is_ok();
	let eve_flags: &[&str] = if microvm {
		&["--microvm", "--microvm-tcg", "--service"]
	} else {
		eprintln!("no microVM here: both miners run containers");
		&["--containers"]
	};
	let dave = miner("dave", "//Dave", &["--containers"]);
	let eve = miner("eve", "//Eve", eve_flags);
	dave.wait_output("offering executors: wasm, container\n", Duration::from_secs(5));
	if microvm {
		eve.wait_output("offering executors: wasm, microvm\n", Duration::from_secs(5));
	}
	let tar = busybox_image(&served);
	let digest = <sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&tar).unwrap());
	let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
	let spec = |name: &str, command: &str, replicas: u32, more: &str| {
		let file = m.tmp.path().join(name);
		std::fs::write(
			&file,
			format!(
				"image = \"https://localhost:{port}/busybox.tar\"\nhash = \"{hash}\"\n\
				 command = [\"/bin/sh\", \"-c\", \"{command}\"]\n\
				 incentive = \"2\"\nduration = 20\nreplicas = {replicas}\nexchange = \"{}\"\n\
				 escrow_operator = \"{}\"\n{more}",
				dev::bob().public_key().to_account_id(),
				dev::charlie().public_key().to_account_id(),
			),
		)
		.unwrap();
		file.to_str().unwrap().to_string()
	};
	let file = spec(
		"container.toml",
		"echo hello from a container; cat /etc/motd; hostname; ls /scratch | wc -l; id; pwd",
		2,
		"",
	);
	let started = Instant::now();
	let id = m.submit(&file);
	// Agreeing replicas settle the indenture without the buyer.
	let ended =
		m.wait_status(id, "settlement", Duration::from_secs(240), |v| v.get("record").is_some());
	metric("container_submit_to_settled_s", format!("{:.1}", started.elapsed().as_secs_f64()));
	assert_eq!(ended["record"]["status"], "Settled", "{ended}");
	assert_eq!(units(&ended["record"]["paidToMiners"]), 2 * CU, "{ended}");
	assert_eq!(ended["record"]["sellers"].as_array().map(Vec::len), Some(2), "{ended}");
	dave.wait_output("task exited 0", Duration::from_secs(5));
	// Settled indentures are not served any more: read each miner's result store.
	let result = |miner: &str, id: u64| {
		let dir = m.tmp.path().join(miner).join("results").join(id.to_string());
		let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
		assert_eq!(files.len(), 1, "{files:?}");
		std::fs::read_to_string(&files[0]).unwrap()
	};
	for miner in ["dave", "eve"] {
		assert_eq!(
			result(miner, id),
			// The same user and directory in both tiers (Eve's run is a microVM's).
			"hello from a container\nserved from an image\ncutopia\n0\n\
			 uid=1000(task) gid=1000\n/scratch\n",
			"{miner}"
		);
	}
	if !microvm {
		return;
	}
	// A buyer who wants a kernel of its own asks for a microVM: only Eve may take it.
	let file = spec("microvm.toml", "echo in a guest", 1, "executor = \"microvm\"\n");
	let id = m.submit(&file);
	let reported =
		m.wait_status(id, "the result", Duration::from_secs(240), |v| v["status"] == "Reported");
	let eve_account = dev::eve().public_key().to_account_id().to_string();
	assert_eq!(reported["slots"][0]["miner"], json!(eve_account), "{reported}");
	assert_eq!(result("eve", id), "in a guest\n");
	assert!(!m.tmp.path().join("dave").join("results").join(id.to_string()).exists());

	// A service in a guest of its own: Eve boots it, publishes where it answers, and the
	// buyer's key gets a shell command run in it; at the lease's end the guest is gone.
	let (key, public) = buyer_key(m.tmp.path());
	let file = spec(
		"microvm-service.toml",
		"mkdir -p /scratch/www && echo served by a guest > /scratch/www/index.html && exec httpd -f -p $PORT -h /scratch/www",
		1,
		&format!("executor = \"microvm\"\ntype = \"service\"\nssh_key = \"{public}\"\n"),
	);
	let submitted = Instant::now();
	let id = m.submit(&file);
	let published = m.wait_status(id, "the service's address", Duration::from_secs(180), |v| {
		v["slots"][0]["access"]["service"]["service"].is_string()
	});
	let address =
		published["slots"][0]["access"]["service"]["service"].as_str().unwrap().to_string();
	// The guest may be up a moment before its command listens.
	let page = wait_for("the guest's service", Duration::from_secs(60), || {
		http_get(&address).ok().filter(|p| p.ends_with("served by a guest\n"))
	});
	metric(
		"microvm_service_submit_to_answer_s",
		format!("{:.1}", submitted.elapsed().as_secs_f64()),
	);
	assert!(page.starts_with("HTTP/1."), "{page}");
	assert_eq!(published["slots"][0]["miner"], json!(eve_account), "{published}");
	let ssh =
		ssh_into(&m.url, id, &key, "id; uname -r; echo changed > /scratch/www/index.html; exit 5");
	let stdout = String::from_utf8_lossy(&ssh.stdout);
	assert_eq!(ssh.status.code(), Some(5), "{stdout} {}", String::from_utf8_lossy(&ssh.stderr));
	assert!(stdout.starts_with("uid=1000(task) gid=1000\n"), "{stdout}");
	assert!(
		http_get(&address).unwrap().ends_with("changed\n"),
		"the session changed what is served"
	);
	m.wait_status(id, "the end of the lease", Duration::from_secs(240), |v| {
		v["status"] == "Reported"
	});
	eve.wait_output(&format!("service {id} stopped"), Duration::from_secs(30));
	wait_for("the guest's port to close", Duration::from_secs(10), || {
		http_get(&address).is_err().then_some(())
	});
}

/// A fresh ed25519 key pair for the buyer, made by the system's `ssh-keygen`: the private
/// key's path and the public key's line.
fn buyer_key(dir: &std::path::Path) -> (std::path::PathBuf, String) {
	let key = dir.join("buyer_key");
	let made = Command::new("ssh-keygen")
		.args(["-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f"])
		.arg(&key)
		.status()
		.expect("ssh-keygen (scripts/setup.sh installs openssh-client)");
	assert!(made.success());
	let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
	(key, public.trim().to_string())
}

/// `GET /index.html` from a service's published address.
fn http_get(address: &str) -> std::io::Result<String> {
	use std::io::{Read, Write};
	let mut stream = std::net::TcpStream::connect(address)?;
	stream.set_read_timeout(Some(Duration::from_secs(10)))?;
	stream.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
	let mut response = String::new();
	stream.read_to_string(&mut response)?;
	Ok(response)
}

/// `cutopia client ssh ID -i KEY -- COMMAND` as the buyer.
fn ssh_into(url: &str, id: u64, key: &std::path::Path, command: &str) -> Output {
	Command::new(workspace_bin("cutopia"))
		.args(["--url", url, "client", "ssh", &id.to_string(), "-i"])
		.arg(key)
		.args(["--", command])
		.output()
		.unwrap()
}

/// A container service (`type = "service"`, busybox's httpd) with the buyer's SSH key: Dave's
/// miner, restarted with `--containers --service` after it registered without a container
/// tier (it updates its offer), runs it for its lease and publishes where it answers;
/// the buyer reaches its HTTP port there, and `cutopia client ssh` runs commands inside it
/// (the gateway's host key pinned from the chain). When the lease is over, the workload is
/// gone: its port refuses connections.
#[test]
fn a_container_service_is_reached_and_entered_during_its_lease_only() {
	let (m, _exchange) = Market::start("market-service");
	let served = m.tmp.path().join("served");
	std::fs::create_dir_all(&served).unwrap();
	let (_https, port, ca) = https_server(&served);
	let endpoint = format!("127.0.0.1:{}", free_port());
	// Dave first offers Wasm alone; restarted with a container tier, the miner updates its
	// offer on RepChain itself, or the chain would not let it take the container service.
	let first_args = ["miner", "run", "--endpoint", &endpoint, "--service"];
	let mut first = m.miner_with("dave", "dave", "//Dave", &first_args);
	first.wait_output("offering executors: wasm\n", Duration::from_secs(5));
	let offered = || {
		let miners = ok(cutopia(&m.url, &["client", "miners"]));
		let dave = dev::dave().public_key().to_account_id().to_string();
		let row = miners["miners"].as_array().unwrap().iter().find(|r| r["who"] == dave).cloned();
		row.unwrap_or_else(|| panic!("Dave is not listed: {miners}"))["executors"].clone()
	};
	assert_eq!(offered(), json!(["wasm"]));
	first.kill();
	// Restarted with a public address of its own to dedicate to a service (a loopback
	// address here: any address of this host is served the same way).
	let args = [
		"miner",
		"run",
		"--endpoint",
		&endpoint,
		"--containers",
		"--service",
		"--public-ip",
		DEDICATED_IP,
	];
	let dave = m.agent_env("dave-again", "dave", "//Dave", &args, &[("SSL_CERT_FILE", &ca)]);
	dave.wait_output("updated this miner's offer on RepChain", Duration::from_secs(60));
	dave.wait_output("offering executors: wasm, container\n", Duration::from_secs(5));
	assert_eq!(offered(), json!(["wasm", "container"]));
	let (key, public) = buyer_key(m.tmp.path());
	let tar = busybox_image(&served);
	let digest = <sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&tar).unwrap());
	let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
	let file = m.tmp.path().join("service.toml");
	std::fs::write(
		&file,
		format!(
			"type = \"service\"\nimage = \"https://localhost:{port}/busybox.tar\"\nhash = \"{hash}\"\n\
			 command = [\"/bin/sh\", \"-c\", \"mkdir -p /scratch/www && echo served by a lease > /scratch/www/index.html && exec httpd -f -p 127.0.0.1:$PORT -h /scratch/www\"]\n\
			 ssh_key = \"{}\"\npublic_ip = \"per-node\"\nincentive = \"2\"\nduration = 30\nexchange = \"{}\"\nescrow_operator = \"{}\"\n",
			public,
			dev::bob().public_key().to_account_id(),
			dev::charlie().public_key().to_account_id(),
		),
	)
	.unwrap();
	let submitted = Instant::now();
	let id = m.submit(file.to_str().unwrap());
	let published = m.wait_status(id, "the service's address", Duration::from_secs(120), |v| {
		v["slots"][0]["access"]["service"]["service"].is_string()
	});
	metric("service_submit_to_published_s", format!("{:.1}", submitted.elapsed().as_secs_f64()));
	let access = &published["slots"][0]["access"]["service"];
	let address = access["service"].as_str().unwrap().to_string();
	assert!(access["hostKey"].as_str().is_some_and(|k| k.starts_with("ssh-ed25519 ")), "{access}");
	// It asked for a public IP: served on port 80 of Dave's dedicated address, SSH on 22.
	assert_eq!(address, format!("{DEDICATED_IP}:80"), "{access}");
	assert_eq!(access["ssh"], format!("{DEDICATED_IP}:22"), "{access}");
	let get = http_get;
	let page = get(&address).expect("the service answers at its published address");
	assert!(page.starts_with("HTTP/1.") && page.ends_with("served by a lease\n"), "{page}");
	// A shell command inside the lease, through the gateway, as the buyer.
	let ssh = ssh_into(
		&m.url,
		id,
		&key,
		"id; cat /scratch/www/index.html; echo changed > /scratch/www/index.html",
	);
	let stdout = String::from_utf8_lossy(&ssh.stdout);
	assert!(ssh.status.success(), "{stdout} {}", String::from_utf8_lossy(&ssh.stderr));
	assert_eq!(stdout, "uid=1000(task) gid=1000\nserved by a lease\n", "{stdout}");
	assert!(get(&address).unwrap().ends_with("changed\n"), "the session changed what is served");
	// The lease runs out: the workload stops, its port with it.
	m.wait_status(id, "the end of the lease", Duration::from_secs(240), |v| {
		v["status"] == "Reported"
	});
	dave.wait_output(&format!("service {id} stopped"), Duration::from_secs(30));
	wait_for("the service's port to close", Duration::from_secs(10), || {
		get(&address).is_err().then_some(())
	});
	let late = ssh_into(&m.url, id, &key, "echo still here");
	assert!(!late.status.success(), "{}", String::from_utf8_lossy(&late.stdout));
}

/// The address Dave dedicates to the service of
/// `a_container_service_is_reached_and_entered_during_its_lease_only`: its own, so no other test
/// holds its ports 80 and 22.
const DEDICATED_IP: &str = "127.0.0.80";

/// One miner, killed for good after its first heartbeat: the rounds it misses fail its lease,
/// the buyer gets back everything the miner did not earn, and part of the miner's bond.
#[test]
fn a_killed_miner_fails_its_lease_and_the_buyer_is_refunded() {
	let (m, _exchange) = Market::start("market-killed");
	let mut dave = m.miner("dave", "//Dave", &format!("127.0.0.1:{}", free_port()));
	let keys = [dev::alice(), dev::dave()];
	let who: Vec<&Keypair> = keys.iter().collect();
	let (from, before) = m.balances(&who);

	let file = m.task("killed", "duration = 40\n");
	let id = m.submit(&file);
	dave.wait_output("heartbeat: lease", Duration::from_secs(120));
	dave.kill();
	let ended = m.wait_status(id, "the failed lease", Duration::from_secs(300), |v| {
		v.get("record").is_some()
	});
	let paid = units(&ended["record"]["paidToMiners"]);
	let refunded = units(&ended["record"]["refunded"]);
	let i = 2 * CU;
	// Half the incentive is paid over the 4 rounds; one was proven. The rest of the
	// incentive comes back, and so do the exchange's and escrow operator's fees for the 3
	// rounds not served (they are earned in proportion to the rounds proven).
	assert_eq!(paid, i / 2 / 4, "{ended}");
	assert_eq!(refunded, i - paid + (i / 20 + i / 100) * 3 / 4, "{ended}");
	let (to, after) = m.balances(&who);
	let fees = m.fees(from + 1, to);
	let delta = |k: &Keypair| after[&account(k)] as i128 - before[&account(k)] as i128;
	let fee = |k: &Keypair| fees.get(&account(k)).copied().unwrap_or_default() as i128;
	// The failure slashes 10 % (MinerSlash) of the miner's 100 CU bond to the buyer, but never
	// more than the unserved part of its slot: the incentive less the round it was paid.
	let slash = (10 * CU).min(i - paid) as i128;
	assert_eq!(delta(&keys[1]), paid as i128 - fee(&keys[1]) - slash, "miner");
	let i = i as i128;
	assert_eq!(
		delta(&keys[0]),
		-(i + i / 20 + i / 100) + refunded as i128 + slash - fee(&keys[0]),
		"buyer"
	);
}

/// Alice leases a service for 8 rounds and ends it with `cutopia client terminate` once Dave's
/// miner has proven some: the lease stops, Dave keeps exactly the rounds he proved, and Alice
/// gets the unserved rounds back with the fees on them (issue 12, item 6).
#[test]
fn a_buyer_terminates_a_service_early_and_is_refunded_the_unserved_part() {
	let (m, _exchange) = Market::start("market-terminate");
	let dave = m.service_miner_dave();
	let keys = [dev::alice(), dev::dave()];
	let who: Vec<&Keypair> = keys.iter().collect();
	let (from, before) = m.balances(&who);

	let file = m.task("terminate", "type = \"service\"\nduration = 80\n");
	let id = m.submit(&file);
	m.wait_status(id, "the lease", Duration::from_secs(120), |v| v["status"] == "Leased");
	dave.wait_output("heartbeat: lease", Duration::from_secs(120));
	let out = ok(cutopia(&m.url, &["--key", "//Alice", "client", "terminate", &id.to_string()]));
	let ended = m.info(id);
	assert_eq!(ended["record"]["status"], "Terminated", "{ended}");
	let paid = units(&ended["record"]["paidToMiners"]);
	let refunded = units(&ended["record"]["refunded"]);
	assert_eq!(units(&out["refunded"]), refunded, "{out}");
	// A service streams its whole incentive over its 8 rounds; the fees are earned in
	// proportion to the rounds proven.
	let i = 2 * CU;
	let per_round = i / 8;
	let proven = paid / per_round;
	assert!((1..8).contains(&proven), "proven {proven} of 8: {ended}");
	assert_eq!(paid, proven * per_round, "{ended}");
	let fees = i / 20 + i / 100;
	let fee_share = |total: u128| total * u128::from(8 - proven as u32) / 8;
	let unearned_fees = fee_share(i / 20) + fee_share(i / 100);
	assert_eq!(refunded, i - paid + unearned_fees, "{ended}");
	let (to, after) = m.balances(&who);
	let tx_fees = m.fees(from + 1, to);
	let delta = |k: &Keypair| after[&account(k)] as i128 - before[&account(k)] as i128;
	let fee = |k: &Keypair| tx_fees.get(&account(k)).copied().unwrap_or_default() as i128;
	assert_eq!(delta(&keys[1]), paid as i128 - fee(&keys[1]), "miner");
	assert_eq!(delta(&keys[0]), -((i + fees) as i128) + refunded as i128 - fee(&keys[0]), "buyer");
}

/// Mistakes come back as messages and a non-zero exit, and nothing is submitted.
#[test]
fn bad_input_is_refused_with_a_message() {
	let tmp = TempDir::new("market-bad");
	let node = Node::start("market-bad", tmp.path(), &["--dev", "--tmp"]);
	node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
	let url = node.ws_url();
	let dir = tmp.path();
	let fails = |args: &[&str], needle: &str| {
		let out = cutopia(&url, args);
		let err = format!(
			"{}{}",
			String::from_utf8_lossy(&out.stdout),
			String::from_utf8_lossy(&out.stderr)
		);
		assert!(!out.status.success(), "{args:?} succeeded: {err}");
		assert!(err.contains(needle), "{args:?}: no `{needle}` in {err}");
		err
	};
	std::fs::write(dir.join("broken.toml"), "duration = \"soon\"\n").unwrap();
	std::fs::write(dir.join("hello.wat"), HELLO).unwrap();
	let toml = dir.join("broken.toml");
	fails(&["--key", "//Alice", "client", "submit", toml.to_str().unwrap()], "duration");
	std::fs::write(dir.join("nomodule.toml"), "module = \"missing.wat\"\nduration = 10\n").unwrap();
	fails(
		&["--key", "//Alice", "client", "submit", dir.join("nomodule.toml").to_str().unwrap()],
		"missing.wat",
	);
	fails(&["client", "submit", "--frobnicate"], "--frobnicate");
	fails(&["--key", "not a key", "client", "cancel", "0"], "secret URI");
	fails(&["client", "cancel", "0"], "--key");
	fails(&["--key", "//Alice", "client", "cancel", "0"], "UnknownIndenture");
	fails(&["--key", "//Alice", "wallet", "transfer", "5Gnot-an-address", "1"], "not an address");
	fails(
		&[
			"--key",
			"//Alice",
			"wallet",
			"transfer",
			&dev::bob().public_key().to_account_id().to_string(),
			"1.5.2",
		],
		"amount",
	);
	fails(
		&[
			"client",
			"rate",
			"0",
			&dev::bob().public_key().to_account_id().to_string(),
			"9",
			"--key",
			"//Alice",
		],
		"1 to 5",
	);
	let unreachable = format!("ws://127.0.0.1:{}", free_port());
	let out = Command::new(workspace_bin("cutopia"))
		.args(["--url", &unreachable, "client", "status", "0"])
		.output()
		.unwrap();
	assert!(!out.status.success());
	assert!(
		String::from_utf8_lossy(&out.stderr).contains("cannot reach"),
		"{}",
		String::from_utf8_lossy(&out.stderr)
	);
	// An executor that does not run the task is named before anything is signed.
	let module = dir.join("hello.wat");
	let module_path = module.to_str().unwrap();
	fails(
		&[
			"--key",
			"//Alice",
			"client",
			"submit",
			"--module",
			module_path,
			"--duration",
			"10",
			"--executor",
			"microvm",
		],
		"runs images",
	);
	// An incentive below the minimum is refused by the chain, by name; before signing, the
	// buyer is told that no miner (none is registered here) could take the work.
	let said = fails(
		&[
			"--key",
			"//Alice",
			"client",
			"submit",
			"--module",
			module.to_str().unwrap(),
			"--duration",
			"10",
			"--incentive",
			"0.000001",
			"--exchange",
			&dev::bob().public_key().to_account_id().to_string(),
			"--escrow-operator",
			&dev::charlie().public_key().to_account_id().to_string(),
		],
		"Indenture",
	);
	assert!(said.contains("no registered miner offers wasm work"), "{said}");
	// Nothing reached the chain.
	assert_eq!(node.rpc("indenture_get", json!([0])).unwrap(), Json::Null);
	assert_eq!(node.rpc("indenture_queue", json!([])).unwrap(), json!([]));
}

/// The buyer disputes a result; the escrow operator decides 70 % to the miner with
/// `cutopia escrow resolve`: the miner keeps its round pay and gets 70 % of the result part,
/// the buyer gets the other 30 % back, and both fees are paid.
#[test]
fn a_disputed_result_is_resolved_by_the_escrow_operator() {
	let (m, _exchange) = Market::start("market-dispute");
	let _dave = m.miner("dave", "//Dave", &format!("127.0.0.1:{}", free_port()));
	let keys = [dev::alice(), dev::charlie(), dev::dave()];
	let who: Vec<&Keypair> = keys.iter().collect();
	let (from, before) = m.balances(&who);
	let id = m.submit(&m.task("dispute", "duration = 10\n"));
	m.wait_status(id, "the result", Duration::from_secs(180), |v| v["status"] == "Reported");
	ok(cutopia(&m.url, &["--key", "//Alice", "client", "dispute", &id.to_string()]));
	// Only the escrow operator may decide.
	let out = cutopia(
		&m.url,
		&["--key", "//Dave", "escrow", "resolve", &id.to_string(), "--miner-share", "100"],
	);
	assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("NotOperator"));
	ok(cutopia(
		&m.url,
		&["--key", "//Charlie", "escrow", "resolve", &id.to_string(), "--miner-share", "70"],
	));
	let ended =
		m.wait_status(id, "the record", Duration::from_secs(30), |v| v.get("record").is_some());
	// Outstanding: the result's half and the round's half, withheld (`DisputeLag` is longer
	// than this one-round lease); the operator gives the miner 70 % of both.
	let i = 2 * CU;
	assert_eq!(units(&ended["record"]["paidToMiners"]), i * 7 / 10, "{ended}");
	assert_eq!(units(&ended["record"]["refunded"]), i * 3 / 10, "{ended}");
	let (to, after) = m.balances(&who);
	let fees = m.fees(from + 1, to);
	let delta = |k: &Keypair| after[&account(k)] as i128 - before[&account(k)] as i128;
	let fee = |k: &Keypair| fees.get(&account(k)).copied().unwrap_or_default() as i128;
	let i = i as i128;
	assert_eq!(delta(&keys[2]), i * 7 / 10 - fee(&keys[2]), "miner");
	assert_eq!(delta(&keys[1]), i / 100 - fee(&keys[1]), "escrow operator");
	assert_eq!(delta(&keys[0]), -(i + i / 20 + i / 100) + i * 3 / 10 - fee(&keys[0]), "buyer");
}

/// Alice leases a service for 8 rounds and disputes it with `cutopia client dispute` once
/// Dave's miner has proven some: the lease stops and the pay of the rounds proven — all still
/// withheld, the runtime's `DisputeLag` being 10 rounds — goes to Charlie, who gives Dave none
/// of it. Alice pays only the fees on the proven share (issue 12, item 6).
#[test]
fn a_buyer_disputes_a_running_service_and_the_operator_decides() {
	let (m, _exchange) = Market::start("market-dispute-lease");
	let dave = m.service_miner_dave();
	let keys = [dev::alice(), dev::charlie(), dev::dave()];
	let who: Vec<&Keypair> = keys.iter().collect();
	let (from, before) = m.balances(&who);

	let id = m.submit(&m.task("dispute-lease", "type = \"service\"\nduration = 80\n"));
	m.wait_status(id, "the lease", Duration::from_secs(120), |v| v["status"] == "Leased");
	dave.wait_output("heartbeat: lease", Duration::from_secs(120));
	let out = ok(cutopia(&m.url, &["--key", "//Alice", "client", "dispute", &id.to_string()]));
	let i = 2 * CU;
	let per_round = i / 8;
	let withheld = units(&out["withheld"]);
	let proven = withheld / per_round;
	assert!((1..8).contains(&proven) && withheld == proven * per_round, "{out}");
	assert_eq!(m.info(id)["status"], "Contested");
	ok(cutopia(
		&m.url,
		&["--key", "//Charlie", "escrow", "resolve", &id.to_string(), "--miner-share", "0"],
	));
	let ended =
		m.wait_status(id, "the record", Duration::from_secs(30), |v| v.get("record").is_some());
	assert_eq!(units(&ended["record"]["paidToMiners"]), 0, "{ended}");
	assert_eq!(units(&ended["record"]["refunded"]), i, "{ended}");
	// Both fees cut to the proven share (eighths are exact in `Perbill`).
	let (exchange_fee, escrow_fee) = (i / 20 * proven / 8, i / 100 * proven / 8);
	let (to, after) = m.balances(&who);
	let fees = m.fees(from + 1, to);
	let delta = |k: &Keypair| after[&account(k)] as i128 - before[&account(k)] as i128;
	let fee = |k: &Keypair| fees.get(&account(k)).copied().unwrap_or_default() as i128;
	assert_eq!(delta(&keys[2]), -fee(&keys[2]), "miner");
	assert_eq!(delta(&keys[1]), escrow_fee as i128 - fee(&keys[1]), "escrow operator");
	let paid = (exchange_fee + escrow_fee) as i128;
	assert_eq!(delta(&keys[0]), -paid - fee(&keys[0]), "buyer");
}
