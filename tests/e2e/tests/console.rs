//! End-to-end: the CuTopia Console (`console/`) in a real browser. A `cutopia-node --dev`, the
//! exchange agent (Bob), a miner agent (Dave) and Charlie as escrow operator, all real
//! processes on loopback; Node.js drives Debian's Chromium through playwright-core on the
//! console's built files. A buyer submits from the form, sees the work awarded and leased,
//! checks the result against the chain, accepts and rates; bad forms are refused before
//! signing and a chain error after signing is shown in words; the RepChain page verifies
//! Dave's record chain and flags a record a proxy altered.

use cutopia_e2e::{console_test, free_port, workspace_bin, Node, Proc, TempDir, HELLO};
use std::{process::Command, time::Duration};
use subxt_signer::sr25519::dev;

#[test]
fn console_buys_checks_results_refuses_bad_forms_and_verifies_repchain() {
	let tmp = TempDir::new("console");
	let node = Node::start("console", tmp.path(), &["--dev", "--tmp"]);
	node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
	let url = node.ws_url();
	let agent = |name: &str, key: &str, args: &[&str]| {
		let mut cmd = Command::new(workspace_bin("cutopia"));
		cmd.args(["--url", &url, "--key", key]).args(args);
		cmd.arg("--data-dir").arg(tmp.path().join(name));
		Proc::spawn(&mut cmd, tmp.path().join(format!("{name}.log")))
	};
	let escrow = Command::new(workspace_bin("cutopia"))
		.args(["--url", &url, "--key", "//Charlie", "escrow", "register", "--fee-percent", "1"])
		.output()
		.expect("cutopia escrow register");
	assert!(escrow.status.success(), "{}", String::from_utf8_lossy(&escrow.stderr));
	let exchange = agent("bob", "//Bob", &["exchange", "run", "--fee-percent", "5"]);
	exchange.wait_output("registered", Duration::from_secs(60));
	let endpoint = format!("127.0.0.1:{}", free_port());
	let miner = agent("dave", "//Dave", &["miner", "run", "--endpoint", &endpoint]);
	miner.wait_output("registered", Duration::from_secs(60));

	let module = tmp.path().join("hello.wasm");
	std::fs::write(&module, wat::parse_str(HELLO).expect("valid WAT")).expect("write module");
	let module = module.to_string_lossy().into_owned();
	console_test("buyer.mjs", &url, &[("MODULE", module.clone())]);
	console_test("forms.mjs", &url, &[("MODULE", module)]);
	// Dave now has records: the work he was paid for and Alice's rating of it.
	let dave = dev::dave().public_key().to_account_id().to_string();
	console_test("repchain.mjs", &url, &[("MINER", dave)]);
	assert!(!miner.output().contains("panicked"), "{}", miner.output());
}
