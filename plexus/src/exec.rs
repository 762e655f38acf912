//! Running a task. [`Executor`] is what a miner needs from any way of running work; the
//! one built here is [`WasmExecutor`]: a WASI (preview 1) command module under wasmtime.
//!
//! The sandbox is deliberately smaller than WASI allows:
//! - **no filesystem and no network**: no directory is pre-opened and no socket call is
//!   offered; imports outside the subset below link as traps, so a module that calls them
//!   stops with a named error instead of reaching the host;
//! - **deterministic**: the clocks advance 1 ms per read from a fixed epoch and `random_get`
//!   is a SHA-256 stream of the task's seed, so replicas of a batch task on different miners
//!   produce the same bytes, and their result hashes can agree;
//! - **bounded**: fuel (wasmtime's instruction budget), linear memory, wall-clock time (epoch
//!   interruption) and output size are limited per task.
//!
//! Offered imports (`wasi_snapshot_preview1`): `args_get`, `args_sizes_get`, `environ_get`,
//! `environ_sizes_get` (empty), `fd_write` (1, 2), `fd_read` (0), `fd_close`, `fd_fdstat_get`,
//! `fd_prestat_get` (none), `fd_seek` (not seekable), `clock_time_get`, `clock_res_get`,
//! `random_get`, `sched_yield`, `proc_exit`.

use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use wasmtime::{
	Caller, Config, Engine, Extern, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap,
};

/// How much a task may use.
#[derive(Clone, Debug)]
pub struct Limits {
	/// Wasm instruction budget (wasmtime fuel).
	pub fuel: u64,
	/// Largest linear memory, bytes.
	pub memory_bytes: usize,
	/// Wall-clock limit.
	pub time: Duration,
	/// Largest stdout (and, separately, stderr), bytes.
	pub max_output: usize,
}

impl Default for Limits {
	fn default() -> Self {
		Self {
			fuel: 10_000_000_000,
			memory_bytes: 256 << 20,
			time: Duration::from_secs(60),
			max_output: 16 << 20,
		}
	}
}

/// What a task gets.
#[derive(Clone, Debug, Default)]
pub struct Job {
	/// `argv` (the first is the program name).
	pub args: Vec<String>,
	/// Bytes on stdin.
	pub stdin: Vec<u8>,
	/// Seed of `random_get` (the indenture's identity: the same for every replica).
	pub seed: [u8; 32],
}

/// What a finished task produced. Its result is `sha256(stdout)`.
#[derive(Clone, Debug)]
pub struct Output {
	pub exit_code: i32,
	pub stdout: Vec<u8>,
	pub stderr: Vec<u8>,
	pub fuel_used: u64,
	pub elapsed: Duration,
}

impl Output {
	/// The hash a miner reports: SHA-256 of stdout.
	pub fn result_hash(&self) -> [u8; 32] {
		Sha256::digest(&self.stdout).into()
	}
}

/// Why a task did not finish.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecError {
	/// Not a valid module for this executor.
	Invalid(String),
	/// It used up its fuel.
	OutOfFuel,
	/// It ran past its time limit.
	Timeout,
	/// It asked for more memory than allowed.
	OutOfMemory,
	/// It wrote more than `max_output`.
	OutputTooLarge,
	/// It trapped (including calling an import the sandbox does not offer).
	Trap(String),
	/// The miner could not set up the sandbox: a fault of the miner's host, not the task's
	/// result.
	Sandbox(String),
}

impl std::fmt::Display for ExecError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Invalid(e) => write!(f, "invalid module: {e}"),
			Self::OutOfFuel => write!(f, "ran out of fuel"),
			Self::Timeout => write!(f, "ran past its time limit"),
			Self::OutOfMemory => write!(f, "asked for more memory than allowed"),
			Self::OutputTooLarge => write!(f, "wrote more output than allowed"),
			Self::Trap(e) => write!(f, "trapped: {e}"),
			Self::Sandbox(e) => write!(f, "the sandbox could not be set up: {e}"),
		}
	}
}

impl std::error::Error for ExecError {}

/// A way of running tasks. A VM or container executor implements the same trait.
pub trait Executor: Send + Sync {
	/// Short name, e.g. `wasm`.
	fn kind(&self) -> &'static str;
	/// Runs `code` with `job` under `limits`.
	fn run(&self, code: &[u8], job: &Job, limits: &Limits) -> Result<Output, ExecError>;
}

/// WASI preview-1 command modules under wasmtime.
pub struct WasmExecutor {
	engine: Engine,
}

impl WasmExecutor {
	pub fn new() -> anyhow::Result<Self> {
		let mut config = Config::new();
		config.consume_fuel(true);
		config.epoch_interruption(true);
		Ok(Self { engine: Engine::new(&config)? })
	}
}

/// wasmtime's limits, remembering whether a memory growth was refused: a trap from a refused
/// growth is then reported as [`ExecError::OutOfMemory`] by fact, not by its message.
struct Limiter {
	limits: StoreLimits,
	memory_refused: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
	fn memory_growing(
		&mut self,
		current: usize,
		desired: usize,
		maximum: Option<usize>,
	) -> anyhow::Result<bool> {
		let allowed = self.limits.memory_growing(current, desired, maximum);
		if !matches!(allowed, Ok(true)) {
			self.memory_refused = true;
		}
		allowed
	}

	fn memory_grow_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
		self.limits.memory_grow_failed(error)
	}

	fn table_growing(
		&mut self,
		current: usize,
		desired: usize,
		maximum: Option<usize>,
	) -> anyhow::Result<bool> {
		self.limits.table_growing(current, desired, maximum)
	}

	fn table_grow_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
		self.limits.table_grow_failed(error)
	}

	fn instances(&self) -> usize {
		self.limits.instances()
	}

	fn tables(&self) -> usize {
		self.limits.tables()
	}

	fn memories(&self) -> usize {
		self.limits.memories()
	}
}

struct Ctx {
	limits: Limiter,
	args: Vec<String>,
	stdin: Vec<u8>,
	stdin_pos: usize,
	stdout: Vec<u8>,
	stderr: Vec<u8>,
	max_output: usize,
	overflow: bool,
	clock_ns: u64,
	seed: [u8; 32],
	random_counter: u64,
}

/// `proc_exit`'s status, carried out of the module as a trap.
#[derive(Debug)]
struct Exit(i32);
impl std::fmt::Display for Exit {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "exit {}", self.0)
	}
}
impl std::error::Error for Exit {}

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const ESPIPE: i32 = 70;
const ENOSYS: i32 = 52;

fn memory(caller: &mut Caller<'_, Ctx>) -> Option<wasmtime::Memory> {
	match caller.get_export("memory") {
		Some(Extern::Memory(m)) => Some(m),
		_ => None,
	}
}

fn read_u32(mem: &[u8], at: u32) -> Option<u32> {
	let at = at as usize;
	Some(u32::from_le_bytes(mem.get(at..at + 4)?.try_into().ok()?))
}

/// Writes `bytes` at `at` in the caller's memory: `ESUCCESS`, or `EFAULT` out of bounds.
fn put(caller: &mut Caller<'_, Ctx>, at: u32, bytes: &[u8]) -> i32 {
	let Some(mem) = memory(caller) else { return EFAULT };
	if write_bytes(mem.data_mut(caller), at, bytes) {
		ESUCCESS
	} else {
		EFAULT
	}
}

/// The `i`-th WASI iovec `(buffer, length)` of the array at `iovs`.
fn iovec(mem: &[u8], iovs: u32, i: u32) -> Option<(u32, u32)> {
	let at = iovs.checked_add(i.checked_mul(8)?)?;
	Some((read_u32(mem, at)?, read_u32(mem, at.checked_add(4)?)?))
}

/// `ESUCCESS` when a write into the caller's memory went through, `EFAULT` when it was out
/// of bounds.
fn errno(written: bool) -> i32 {
	if written {
		ESUCCESS
	} else {
		EFAULT
	}
}

fn write_bytes(mem: &mut [u8], at: u32, bytes: &[u8]) -> bool {
	let at = at as usize;
	match mem.get_mut(at..at + bytes.len()) {
		Some(dst) => {
			dst.copy_from_slice(bytes);
			true
		},
		None => false,
	}
}

/// Writes the WASI string-list layout (pointers, then NUL-terminated bytes).
fn put_strings(caller: &mut Caller<'_, Ctx>, list: &[String], ptrs: u32, buf: u32) -> i32 {
	let Some(mem) = memory(caller) else { return EFAULT };
	let data = mem.data_mut(caller);
	let mut at = buf;
	for (i, s) in list.iter().enumerate() {
		if !write_bytes(data, ptrs + 4 * i as u32, &at.to_le_bytes()) {
			return EFAULT;
		}
		let mut b = s.as_bytes().to_vec();
		b.push(0);
		if !write_bytes(data, at, &b) {
			return EFAULT;
		}
		at += b.len() as u32;
	}
	ESUCCESS
}

fn sizes(caller: &mut Caller<'_, Ctx>, list: &[String], count: u32, size: u32) -> i32 {
	let Some(mem) = memory(caller) else { return EFAULT };
	let total: usize = list.iter().map(|s| s.len() + 1).sum();
	let data = mem.data_mut(caller);
	if write_bytes(data, count, &(list.len() as u32).to_le_bytes())
		&& write_bytes(data, size, &(total as u32).to_le_bytes())
	{
		ESUCCESS
	} else {
		EFAULT
	}
}

fn link(linker: &mut Linker<Ctx>) -> anyhow::Result<()> {
	const W: &str = "wasi_snapshot_preview1";
	linker.func_wrap(W, "args_sizes_get", |mut c: Caller<'_, Ctx>, count: u32, size: u32| {
		let args = c.data().args.clone();
		sizes(&mut c, &args, count, size)
	})?;
	linker.func_wrap(W, "args_get", |mut c: Caller<'_, Ctx>, ptrs: u32, buf: u32| {
		let args = c.data().args.clone();
		put_strings(&mut c, &args, ptrs, buf)
	})?;
	linker.func_wrap(W, "environ_sizes_get", |mut c: Caller<'_, Ctx>, count: u32, size: u32| {
		sizes(&mut c, &[], count, size)
	})?;
	linker.func_wrap(W, "environ_get", |_: Caller<'_, Ctx>, _: u32, _: u32| ESUCCESS)?;
	linker.func_wrap(
		W,
		"fd_write",
		|mut c: Caller<'_, Ctx>, fd: u32, iovs: u32, len: u32, nwritten: u32| -> i32 {
			if fd != 1 && fd != 2 {
				return EBADF;
			}
			let Some(mem) = memory(&mut c) else { return EFAULT };
			let (data, ctx) = mem.data_and_store_mut(&mut c);
			let mut written = 0u32;
			for i in 0..len {
				let Some((ptr, n)) = iovec(data, iovs, i) else { return EFAULT };
				let Some(bytes) = data.get(ptr as usize..ptr as usize + n as usize) else {
					return EFAULT;
				};
				let out = if fd == 1 { &mut ctx.stdout } else { &mut ctx.stderr };
				if out.len() + bytes.len() > ctx.max_output {
					ctx.overflow = true;
					return EFAULT;
				}
				out.extend_from_slice(bytes);
				written += n;
			}
			errno(write_bytes(data, nwritten, &written.to_le_bytes()))
		},
	)?;
	linker.func_wrap(
		W,
		"fd_read",
		|mut c: Caller<'_, Ctx>, fd: u32, iovs: u32, len: u32, nread: u32| -> i32 {
			if fd != 0 {
				return EBADF;
			}
			let Some(mem) = memory(&mut c) else { return EFAULT };
			let (data, ctx) = mem.data_and_store_mut(&mut c);
			let mut read = 0u32;
			for i in 0..len {
				let Some((ptr, n)) = iovec(data, iovs, i) else { return EFAULT };
				let left = &ctx.stdin[ctx.stdin_pos..];
				let take = left.len().min(n as usize);
				if !write_bytes(data, ptr, &left[..take]) {
					return EFAULT;
				}
				ctx.stdin_pos += take;
				read += take as u32;
			}
			errno(write_bytes(data, nread, &read.to_le_bytes()))
		},
	)?;
	linker.func_wrap(
		W,
		"fd_close",
		|_: Caller<'_, Ctx>, fd: u32| if fd <= 2 { ESUCCESS } else { EBADF },
	)?;
	linker.func_wrap(W, "fd_fdstat_get", |mut c: Caller<'_, Ctx>, fd: u32, at: u32| -> i32 {
		if fd > 2 {
			return EBADF;
		}
		// filetype 2 (character device), no flags, all rights.
		let mut stat = [0u8; 24];
		stat[0] = 2;
		stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
		stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
		put(&mut c, at, &stat)
	})?;
	linker.func_wrap(W, "fd_prestat_get", |_: Caller<'_, Ctx>, _: u32, _: u32| EBADF)?;
	linker
		.func_wrap(W, "fd_prestat_dir_name", |_: Caller<'_, Ctx>, _: u32, _: u32, _: u32| EBADF)?;
	linker.func_wrap(W, "fd_seek", |_: Caller<'_, Ctx>, _: u32, _: i64, _: u32, _: u32| ESPIPE)?;
	linker.func_wrap(W, "clock_res_get", |mut c: Caller<'_, Ctx>, _: u32, at: u32| -> i32 {
		put(&mut c, at, &1_000_000u64.to_le_bytes())
	})?;
	linker.func_wrap(
		W,
		"clock_time_get",
		|mut c: Caller<'_, Ctx>, _: u32, _: u64, at: u32| -> i32 {
			c.data_mut().clock_ns += 1_000_000;
			let now = c.data().clock_ns;
			put(&mut c, at, &now.to_le_bytes())
		},
	)?;
	linker.func_wrap(W, "random_get", |mut c: Caller<'_, Ctx>, at: u32, len: u32| -> i32 {
		let mut bytes = Vec::with_capacity(len as usize);
		while bytes.len() < len as usize {
			let ctx = c.data_mut();
			let mut h = Sha256::new();
			h.update(ctx.seed);
			h.update(ctx.random_counter.to_le_bytes());
			ctx.random_counter += 1;
			bytes.extend_from_slice(&h.finalize());
		}
		bytes.truncate(len as usize);
		put(&mut c, at, &bytes)
	})?;
	linker.func_wrap(W, "sched_yield", |_: Caller<'_, Ctx>| ESUCCESS)?;
	linker
		.func_wrap(W, "poll_oneoff", |_: Caller<'_, Ctx>, _: u32, _: u32, _: u32, _: u32| ENOSYS)?;
	linker.func_wrap(W, "proc_exit", |_: Caller<'_, Ctx>, code: u32| -> anyhow::Result<()> {
		Err(Exit(code as i32).into())
	})?;
	Ok(())
}

impl Executor for WasmExecutor {
	fn kind(&self) -> &'static str {
		"wasm"
	}

	fn run(&self, code: &[u8], job: &Job, limits: &Limits) -> Result<Output, ExecError> {
		let started = Instant::now();
		let module =
			Module::new(&self.engine, code).map_err(|e| ExecError::Invalid(e.to_string()))?;
		let mut linker = Linker::new(&self.engine);
		link(&mut linker).map_err(|e| ExecError::Invalid(e.to_string()))?;
		linker
			.define_unknown_imports_as_traps(&module)
			.map_err(|e| ExecError::Invalid(e.to_string()))?;
		let ctx = Ctx {
			limits: Limiter {
				limits: StoreLimitsBuilder::new()
					.memory_size(limits.memory_bytes)
					.instances(1)
					.trap_on_grow_failure(true)
					.build(),
				memory_refused: false,
			},
			args: job.args.clone(),
			stdin: job.stdin.clone(),
			stdin_pos: 0,
			stdout: Vec::new(),
			stderr: Vec::new(),
			max_output: limits.max_output,
			overflow: false,
			clock_ns: 1_700_000_000_000_000_000,
			seed: job.seed,
			random_counter: 0,
		};
		let mut store = Store::new(&self.engine, ctx);
		store.limiter(|c| &mut c.limits);
		store.set_fuel(limits.fuel).map_err(|e| ExecError::Invalid(e.to_string()))?;
		store.set_epoch_deadline(1);
		store.epoch_deadline_trap();
		// A watchdog ends the epoch when the time is up; dropping `done` stops it early.
		let (done, wait) = std::sync::mpsc::channel::<()>();
		let engine = self.engine.clone();
		let time = limits.time;
		let watchdog = std::thread::spawn(move || {
			if wait.recv_timeout(time).is_err() {
				engine.increment_epoch();
			}
		});
		let run = (|| -> anyhow::Result<()> {
			let instance = linker.instantiate(&mut store, &module)?;
			let start = instance
				.get_typed_func::<(), ()>(&mut store, "_start")
				.map_err(|_| anyhow::anyhow!("the module exports no `_start` (a WASI command)"))?;
			start.call(&mut store, ())
		})();
		drop(done);
		let _ = watchdog.join();
		let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0);
		let exit_code = match run {
			Ok(()) => 0,
			Err(e) => {
				if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
					*code
				} else if store.data().overflow {
					return Err(ExecError::OutputTooLarge);
				} else {
					return Err(match e.downcast_ref::<Trap>() {
						Some(Trap::OutOfFuel) => ExecError::OutOfFuel,
						Some(Trap::Interrupt) => ExecError::Timeout,
						_ if store.data().limits.memory_refused => ExecError::OutOfMemory,
						_ => ExecError::Trap(format!("{e:#}")),
					});
				}
			},
		};
		let ctx = store.into_data();
		if ctx.overflow {
			return Err(ExecError::OutputTooLarge);
		}
		Ok(Output {
			exit_code,
			stdout: ctx.stdout,
			stderr: ctx.stderr,
			fuel_used,
			elapsed: started.elapsed(),
		})
	}
}

/// Wasm bytes from a `.wasm` binary or `.wat` text.
pub fn wasm_bytes(source: &[u8]) -> anyhow::Result<Vec<u8>> {
	if source.starts_with(b"\0asm") {
		Ok(source.to_vec())
	} else {
		Ok(wat::parse_bytes(source)
			.map_err(|e| anyhow::anyhow!("not Wasm or WAT: {e}"))?
			.into_owned())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Prints a greeting, then exits 3.
	pub const HELLO: &str = r#"(module
		(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
		(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
		(memory (export "memory") 1)
		(data (i32.const 16) "hello, cutopia\n")
		(func (export "_start")
			(i32.store (i32.const 0) (i32.const 16))
			(i32.store (i32.const 4) (i32.const 15))
			(drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
			(call $exit (i32.const 3))))"#;

	fn run(wat: &str, limits: Limits) -> Result<Output, ExecError> {
		WasmExecutor::new().unwrap().run(
			&wasm_bytes(wat.as_bytes()).unwrap(),
			&Job::default(),
			&limits,
		)
	}

	#[test]
	fn a_command_writes_stdout_and_exits() {
		let out = run(HELLO, Limits::default()).unwrap();
		assert_eq!(out.stdout, b"hello, cutopia\n");
		assert_eq!(out.exit_code, 3);
		assert_eq!(out.result_hash(), crate::work::sha256(b"hello, cutopia\n"));
	}

	#[test]
	fn limits_stop_runaway_modules() {
		let spin = r#"(module (func (export "_start") (loop (br 0))))"#;
		assert_eq!(
			run(spin, Limits { fuel: 1_000_000, ..Limits::default() }).err(),
			Some(ExecError::OutOfFuel)
		);
		let slow = Limits { fuel: u64::MAX, time: Duration::from_millis(200), ..Limits::default() };
		assert_eq!(run(spin, slow).err(), Some(ExecError::Timeout));
		let grow =
			r#"(module (memory 1) (func (export "_start") (drop (memory.grow (i32.const 100)))))"#;
		let small = Limits { memory_bytes: 1 << 20, ..Limits::default() };
		assert!(matches!(
			run(grow, small).err(),
			Some(ExecError::OutOfMemory) | Some(ExecError::Trap(_))
		));
		let chatty = Limits { max_output: 4, ..Limits::default() };
		assert_eq!(run(HELLO, chatty).err(), Some(ExecError::OutputTooLarge));
	}

	#[test]
	fn the_filesystem_and_network_are_not_there() {
		let open = r#"(module
			(import "wasi_snapshot_preview1" "path_open" (func $o (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
			(memory (export "memory") 1)
			(func (export "_start") (drop (call $o (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0)))))"#;
		let err = run(open, Limits::default()).err().unwrap().to_string();
		assert!(err.contains("path_open"), "{err}");
		assert!(
			matches!(run("(module)", Limits::default()).err(), Some(ExecError::Trap(m)) if m.contains("_start"))
		);
		assert!(wasm_bytes(b"not wasm").is_err());
	}
}
