//! Start-up cost of each executor: from `run` to the task's exit, for a task that does
//! nothing but print a line; and of each service tier, from its start to its first answer. Prints a table (median, 90th percentile, best of N runs).
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
		use plexus::container::{busybox_image, ContainerExecutor, Images, Quota, Service};
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
		// A service: from asking for it to its first HTTP answer through the port the miner
		// forwards (stopping it is not counted).
		let web = [
			"/bin/sh",
			"-c",
			"mkdir -p /scratch/w && echo hi > /scratch/w/i && exec httpd -f -p $PORT -h /scratch/w",
		]
		.map(String::from);
		let answered = |service: &Service| loop {
			if let Ok(mut s) = service.connect(plexus::container::SERVICE_PORT) {
				use std::io::{Read, Write};
				let mut reply = String::new();
				let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
				let _ = s.write_all(b"GET /i HTTP/1.0\r\n\r\n");
				let _ = s.read_to_string(&mut reply);
				if reply.ends_with("hi\n") {
					return;
				}
			}
			std::thread::sleep(Duration::from_millis(5));
		};
		let quota = Quota { pids: 256, memory_bytes: 128 << 20, ..Quota::default() };
		row("container service (start → first HTTP answer)", 10, || {
			let t = Instant::now();
			let service = exec.start_service(&root, &web, &Job::default(), &quota).unwrap();
			answered(&service);
			let took = t.elapsed();
			service.stop();
			took
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
				let name = format!("microVM service, {:?} (boot → first HTTP answer)", vm.accel());
				row(&name, 4, || {
					let t = Instant::now();
					let service = Service::MicroVm(
						vm.start_service(&root, &web, &Job::default(), &quota).unwrap(),
					);
					answered(&service);
					let took = t.elapsed();
					service.stop();
					took
				});
			},
			Err(e) => println!("| microVM | not here: {e:#} | | |"),
		}
		let _ = std::fs::remove_dir_all(dir);
	}
}
