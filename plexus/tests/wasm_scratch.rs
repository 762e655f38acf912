//! The Wasm scratch directory as a real program uses it: `tests/wasm/scratch.rs`, compiled
//! for `wasm32-wasip1` here (`scripts/setup.sh` adds the target), writes, seeks, lists,
//! renames and fills `/scratch`; two runs ("replicas") give the same bytes.

use plexus::exec::{Executor, Job, Limits, WasmExecutor};
use std::process::Command;

fn module() -> Vec<u8> {
	let dir = std::env::temp_dir().join(format!("plexus-wasm-scratch-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let out = dir.join("scratch.wasm");
	let rustc = Command::new("rustc")
		.args(["--edition", "2021", "--target", "wasm32-wasip1", "-O", "-o"])
		.arg(&out)
		.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wasm/scratch.rs"))
		.output()
		.expect("run rustc");
	assert!(
		rustc.status.success(),
		"cannot build the WASI test program (rustup target add wasm32-wasip1; scripts/setup.sh \
		 does): {}",
		String::from_utf8_lossy(&rustc.stderr)
	);
	let bytes = std::fs::read(&out).unwrap();
	let _ = std::fs::remove_dir_all(dir);
	bytes
}

#[test]
fn a_task_writes_and_reads_back_its_scratch_and_replicas_agree() {
	let code = module();
	let exec = WasmExecutor::new().unwrap();
	let limits = Limits { scratch_bytes: 4 << 20, ..Limits::default() };
	let run = || exec.run(&code, &Job::default(), &limits).unwrap();
	let (one, two) = (run(), run());
	let stdout = String::from_utf8_lossy(&one.stdout).into_owned();
	assert_eq!(one.exit_code, 0, "{stdout}\n{}", String::from_utf8_lossy(&one.stderr));
	let expected = "hello SCRATCH\n\
		[\"a.txt\", \"dir\", \"z.txt\"]\n\
		14 SystemTime { tv_sec: 1700000000, tv_nsec: 0 } true\n\
		\"bee\"\n\
		Err(NotFound)\n\
		Err(Some(76))\n\
		Err(NotFound)\n";
	assert!(stdout.starts_with(expected), "{stdout}");
	// 4 MiB less what the files and entries hold.
	let full = stdout.lines().last().unwrap();
	assert!(full.starts_with("full after 3") && full.ends_with("StorageFull"), "{full}");
	assert_eq!(one.stdout, two.stdout, "replicas disagree");
	assert_eq!(one.result_hash(), two.result_hash());

	// Without a scratch directory, the same program finds nothing to write to.
	// (Rust's std panics, which a WASI program turns into a trap.)
	let none = exec.run(&code, &Job::default(), &Limits { scratch_bytes: 0, ..limits });
	assert!(!matches!(none, Ok(ref o) if o.exit_code == 0), "{none:?}");
}
