#![warn(missing_docs)]
//! Harness for end-to-end tests: runs real `cutopia-node` processes on free loopback ports
//! and talks JSON-RPC to them over plain HTTP, so a broken node cannot hide behind a client
//! library's retries. Nodes are stopped when dropped, also when a test fails.

pub mod chain;

use serde_json::{json, Value};
use std::{
	io::{Read, Write},
	net::{TcpListener, TcpStream},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// The `cutopia-node` binary: `$CUTOPIA_NODE`, or the one cargo built next to this test
/// (`scripts/test.sh` builds the workspace first).
pub fn node_bin() -> PathBuf {
	if let Some(p) = std::env::var_os("CUTOPIA_NODE") {
		return PathBuf::from(p);
	}
	// The test runs from <target>/<profile>/deps/; the node is in <target>/<profile>/.
	let exe = std::env::current_exe().expect("current exe");
	let bin = exe
		.parent()
		.and_then(Path::parent)
		.map(|d| d.join("cutopia-node"))
		.expect("target directory");
	assert!(
		bin.exists(),
		"{} not found: build it first (`cargo build --workspace`, done by scripts/test.sh) or set CUTOPIA_NODE",
		bin.display()
	);
	bin
}

/// Another binary of the workspace, built next to `cutopia-node` (`cutopia`, `cutopia-bridge`).
pub fn workspace_bin(name: &str) -> PathBuf {
	let bin = node_bin().with_file_name(name);
	assert!(bin.exists(), "{} not found: build the workspace first", bin.display());
	bin
}

/// A process a test started (an agent, a relayer): its stdout and stderr go to `log`; it is
/// killed when dropped.
pub struct Proc {
	child: Option<Child>,
	/// Where its output goes.
	pub log: PathBuf,
}

impl Proc {
	/// Starts `cmd` with its output appended to `log`.
	pub fn spawn(cmd: &mut Command, log: PathBuf) -> Proc {
		let out =
			std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
		let err = out.try_clone().expect("log file");
		let child =
			cmd.stdout(out).stderr(err).spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
		Proc { child: Some(child), log }
	}

	/// SIGKILL, as a crash or a pulled plug would.
	pub fn kill(&mut self) {
		if let Some(mut c) = self.child.take() {
			let _ = c.kill();
			let _ = c.wait();
		}
	}

	/// SIGINT, as an operator's Ctrl-C (a process that saves state on exit saves it), then
	/// waits up to `timeout` for it to exit; SIGKILL after that.
	pub fn interrupt(&mut self, timeout: Duration) {
		if let Some(c) = &self.child {
			let _ = Command::new("kill").arg("-INT").arg(c.id().to_string()).status();
		}
		let start = Instant::now();
		while self.is_running() && start.elapsed() < timeout {
			std::thread::sleep(Duration::from_millis(100));
		}
		self.kill();
	}

	/// Its exit status once it has exited.
	pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
		self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
	}

	/// Whether it is still running.
	pub fn is_running(&mut self) -> bool {
		self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
	}

	/// Its output so far.
	pub fn output(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// Waits until its output contains `needle`, panicking with the output after `timeout`.
	pub fn wait_output(&self, needle: &str, timeout: Duration) {
		let start = Instant::now();
		while !self.output().contains(needle) {
			assert!(
				start.elapsed() < timeout,
				"no `{needle}` in {} after {timeout:?}:\n{}",
				self.log.display(),
				self.output()
			);
			std::thread::sleep(Duration::from_millis(250));
		}
	}
}

impl Drop for Proc {
	fn drop(&mut self) {
		self.kill();
	}
}

/// Polls `f` four times a second until it gives a value, panicking after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
	let start = Instant::now();
	loop {
		if let Some(v) = f() {
			return v;
		}
		assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
		std::thread::sleep(Duration::from_millis(250));
	}
}

/// A port nobody listens on right now. The OS picks it, so parallel tests do not collide.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("the OS gives a free loopback port")
}

/// A scratch directory removed when dropped, unless `KEEP_E2E_TMP` is set for debugging.
pub struct TempDir(PathBuf);

impl TempDir {
	/// A new directory named after the test.
	pub fn new(name: &str) -> Self {
		let base =
			std::env::var_os("E2E_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
		let dir = base.join(format!(
			"cutopia-e2e-{name}-{}-{}",
			std::process::id(),
			Instant::now().elapsed().as_nanos() ^ (free_port() as u128)
		));
		std::fs::create_dir_all(&dir).expect("create temp dir");
		Self(dir)
	}
	/// Its path.
	pub fn path(&self) -> &Path {
		&self.0
	}
}

impl Drop for TempDir {
	fn drop(&mut self) {
		if std::env::var_os("KEEP_E2E_TMP").is_none() {
			let _ = std::fs::remove_dir_all(&self.0);
		}
	}
}

/// A running node. Dropping it stops it (SIGTERM, then SIGKILL after a grace period).
pub struct Node {
	/// Name used in logs and messages.
	pub name: String,
	/// JSON-RPC port (HTTP and WebSocket).
	pub rpc_port: u16,
	/// libp2p port.
	pub p2p_port: u16,
	/// Where its stderr goes.
	pub log: PathBuf,
	child: std::sync::Mutex<Option<Child>>,
}

impl Node {
	/// Starts `cutopia-node` with `args`, RPC and p2p on fresh loopback ports, logging to
	/// `<dir>/<name>.log`, and waits until its RPC answers.
	pub fn start(name: &str, dir: &Path, args: &[&str]) -> Node {
		Self::start_on(name, dir, args, free_port(), free_port())
	}

	/// Like [`Node::start`] with the ports given.
	pub fn start_on(name: &str, dir: &Path, args: &[&str], rpc_port: u16, p2p_port: u16) -> Node {
		let log = dir.join(format!("{name}.log"));
		let out = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&log)
			.expect("open node log");
		let child = Command::new(node_bin())
			.args(args)
			.args([
				"--rpc-port",
				&rpc_port.to_string(),
				"--port",
				&p2p_port.to_string(),
				"--prometheus-port",
				&free_port().to_string(),
				"--no-telemetry",
				"--no-mdns",
				// Copy-on-write instantiation seals a memfd; on this VM's kernel that sealing
				// fails now and then with EBUSY and the node cannot start (docs/OPERATIONS.md).
				"--wasmtime-instantiation-strategy",
				"pooling",
			])
			.stdout(Stdio::null())
			.stderr(out)
			.spawn()
			.expect("spawn cutopia-node");
		let node = Node {
			name: name.into(),
			rpc_port,
			p2p_port,
			log,
			child: std::sync::Mutex::new(Some(child)),
		};
		node.wait_for_rpc(Duration::from_secs(180));
		node
	}

	/// `ws://127.0.0.1:<rpc port>`.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far, for assertion messages.
	pub fn log_tail(&self) -> String {
		let text = std::fs::read_to_string(&self.log).unwrap_or_default();
		let lines: Vec<&str> = text.lines().collect();
		lines[lines.len().saturating_sub(40)..].join("\n")
	}

	fn wait_for_rpc(&self, timeout: Duration) {
		let deadline = Instant::now() + timeout;
		while Instant::now() < deadline {
			if rpc_call(self.rpc_port, "system_health", json!([])).is_ok() {
				return;
			}
			assert!(
				self.is_running(),
				"{} exited before its RPC came up:\n{}",
				self.name,
				self.log_tail()
			);
			std::thread::sleep(Duration::from_millis(250));
		}
		panic!("{}: RPC did not come up in {timeout:?}:\n{}", self.name, self.log_tail());
	}

	/// Whether the process is still alive.
	pub fn is_running(&self) -> bool {
		let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
		guard.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
	}

	/// One JSON-RPC call to this node.
	pub fn rpc(&self, method: &str, params: Value) -> Result<Value, RpcError> {
		rpc_call(self.rpc_port, method, params)
	}

	/// Number of the best block.
	pub fn best_number(&self) -> u64 {
		let header = self.rpc("chain_getHeader", json!([])).expect("chain_getHeader");
		hex_number(&header["number"])
	}

	/// Number of the last finalized block.
	pub fn finalized_number(&self) -> u64 {
		let hash = self.rpc("chain_getFinalizedHead", json!([])).expect("chain_getFinalizedHead");
		let header = self.rpc("chain_getHeader", json!([hash])).expect("chain_getHeader");
		hex_number(&header["number"])
	}

	/// Waits until `f(self)` holds, polling twice a second.
	pub fn wait_until(&self, what: &str, timeout: Duration, f: impl Fn(&Node) -> bool) -> Duration {
		let start = Instant::now();
		while start.elapsed() < timeout {
			if f(self) {
				return start.elapsed();
			}
			assert!(
				self.is_running(),
				"{} died while waiting for {what}:\n{}",
				self.name,
				self.log_tail()
			);
			std::thread::sleep(Duration::from_millis(500));
		}
		panic!(
			"{}: timed out after {timeout:?} waiting for {what}:\n{}",
			self.name,
			self.log_tail()
		);
	}

	/// Stops the node gracefully and waits for it to exit, returning its exit status.
	pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
		let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take()?;
		// SIGTERM lets the node flush its database, as an operator's Ctrl-C would.
		let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
		let deadline = Instant::now() + Duration::from_secs(60);
		while Instant::now() < deadline {
			if let Ok(Some(status)) = child.try_wait() {
				return Some(status);
			}
			std::thread::sleep(Duration::from_millis(100));
		}
		let _ = child.kill();
		child.wait().ok()
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.stop();
	}
}

/// A JSON-RPC error or a transport failure.
#[derive(Debug)]
pub enum RpcError {
	/// Could not talk to the node.
	Transport(String),
	/// The node answered with this JSON-RPC error object.
	Rpc(Value),
}

/// One JSON-RPC call over HTTP/1.1 to 127.0.0.1:`port`.
pub fn rpc_call(port: u16, method: &str, params: Value) -> Result<Value, RpcError> {
	let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
	let mut stream =
		TcpStream::connect(("127.0.0.1", port)).map_err(|e| RpcError::Transport(e.to_string()))?;
	stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
	let request = format!(
		"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
		body.len()
	);
	stream.write_all(request.as_bytes()).map_err(|e| RpcError::Transport(e.to_string()))?;
	let mut response = String::new();
	stream.read_to_string(&mut response).map_err(|e| RpcError::Transport(e.to_string()))?;
	let json_start = response
		.find("\r\n\r\n")
		.map(|i| i + 4)
		.ok_or_else(|| RpcError::Transport(format!("malformed HTTP response: {response}")))?;
	let value: Value = serde_json::from_str(&response[json_start..])
		.map_err(|e| RpcError::Transport(format!("{e}: {}", &response[json_start..])))?;
	match value.get("error") {
		Some(err) => Err(RpcError::Rpc(err.clone())),
		None => Ok(value["result"].clone()),
	}
}

/// Block numbers come as `"0x1a"` in headers.
pub fn hex_number(v: &Value) -> u64 {
	let s = v.as_str().expect("hex number");
	u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("valid hex")
}

/// The repository's root (tests run with the crate's directory as their working directory).
pub fn repo_root() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one of the console's browser tests (`console/tests/<script>`, Node.js driving Debian's
/// Chromium through playwright-core) against the node at `rpc`, with `env` added; panics with
/// its output unless it passes. Its `METRIC name value` lines become E2E metrics and its
/// screenshots go to `console/test-output/`.
pub fn console_test(script: &str, rpc: &str, env: &[(&str, String)]) -> String {
	let console = repo_root().join("console");
	assert!(
		console.join("dist/index.html").exists()
			&& console.join("node_modules/playwright-core").exists(),
		"the console is not built: scripts/test.sh runs `npm ci` and `npm run build` in console/"
	);
	let out = Command::new("node")
		.arg(console.join("tests").join(script))
		.current_dir(&console)
		.env("RPC", rpc)
		.env("SHOTS", console.join("test-output"))
		.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
		.output()
		.expect("run node (scripts/setup.sh installs Node.js)");
	let text =
		format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	println!("{script}:\n{text}");
	assert!(out.status.success(), "console/tests/{script} failed:\n{text}");
	for line in text.lines() {
		if let Some([name, value]) = line
			.strip_prefix("METRIC ")
			.map(|m| m.split_whitespace().collect::<Vec<_>>())
			.and_then(|v| <[&str; 2]>::try_from(v).ok())
		{
			chain::metric(name, value);
		}
	}
	text
}

/// A WASI command (text format) that prints one line: the task the market and console tests
/// submit.
pub const HELLO: &str = r#"(module
	(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
	(memory (export "memory") 1)
	(data (i32.const 64) "hello from a cutopia miner\n")
	(func (export "_start")
		(i32.store (i32.const 0) (i32.const 64))
		(i32.store (i32.const 4) (i32.const 27))
		(drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
