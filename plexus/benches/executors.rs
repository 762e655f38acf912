//! Start-up cost of each executor: from `run` to the task's exit, for a task that does
//! nothing but print a line. Prints a table (median, 90th percentile, best of N runs).
//! `cargo bench -p plexus --bench executors`; results in docs/BENCHMARKS.md.

use plexus::exec::{wasm_bytes, Executor, Job, Limits, WasmExecutor};
use std::time::{Duration, Instant};

const RUNS: usize = 30;

const HELLO: &str = r#"(module
	(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
	(memory (export "memory") 1)
	(data (i32.const 16) "hello\n")
	(func (export "_start")
		(i32.store (i32.const 0) (i32.const 16))
		(i32.store (i32.const 4) (i32.const 6))
		(drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn row(name: &str, runs: usize, mut f: impl FnMut() -> Duration) {
	f(); // warm caches (and, for images, the unpacked copy)
	let mut t: Vec<Duration> = (0..runs).map(|_| f()).collect();
	t.sort();
	let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
	println!("| {name} | {} | {} | {} |", ms(t[runs / 2]), ms(t[runs * 9 / 10]), ms(t[0]));
}

fn main() {
	println!("| executor | median ms | p90 ms | best ms |");
	println!("|---|---|---|---|");
	let wasm = WasmExecutor::new().unwrap();
	let code = wasm_bytes(HELLO.as_bytes()).unwrap();
	row("wasm (compile + instantiate + run)", RUNS, || {
		let t = Instant::now();
		let out = wasm.run(&code, &Job::default(), &Limits::default()).unwrap();
		assert_eq!(out.stdout, b"hello\n");
		t.elapsed()
	});
	#[cfg(target_os = "linux")]
	{
		use plexus::container::{busybox_image, ContainerExecutor, Images, Quota};
		let dir = std::env::temp_dir().join(format!("plexus-bench-{}", std::process::id()));
		let images = Images::new(dir.clone()).unwrap();
		let tar = busybox_image(&[]).unwrap();
		let hash = plexus::work::sha256(&tar);
		let t = Instant::now();
		let root = images.unpack(&tar, &hash).unwrap();
		println!(
			"| container image unpack (busybox, {} KiB, once per image) | {:.1} | | |",
			tar.len() / 1024,
			t.elapsed().as_secs_f64() * 1e3
		);
		let exec = ContainerExecutor::new(std::path::PathBuf::from(env!("CARGO_BIN_EXE_cutopia")))
			.unwrap();
		let argv = ["/bin/echo", "hello"].map(String::from);
		row("container (namespaces + cgroup + mounts + exec)", RUNS, || {
			let t = Instant::now();
			let out = exec.run(&root, &argv, &Job::default(), &Quota::default()).unwrap();
			assert_eq!(out.stdout, b"hello\n", "{}", String::from_utf8_lossy(&out.stderr));
			t.elapsed()
		});
		match plexus::container::MicroVmExecutor::detect(true) {
			Ok(vm) => {
				let name = format!("microVM, {:?} (boot + mount + exec + power off)", vm.accel());
				row(&name, 8, || {
					let t = Instant::now();
					let out = vm.run(&root, &argv, &Job::default(), &Quota::default()).unwrap();
					assert_eq!(out.stdout, b"hello\n");
					t.elapsed()
				});
			},
			Err(e) => println!("| microVM | not here: {e:#} | | |"),
		}
		let _ = std::fs::remove_dir_all(dir);
	}
}
