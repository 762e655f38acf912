//! Running a task. [`Executor`] is what a miner needs from any way of running work; the
//! one built here is [`WasmExecutor`]: a WASI (preview 1) command module under wasmtime.
//!
//! The sandbox is deliberately smaller than WASI allows:
//! - **no host filesystem and no network**: the only directory is a size-capped, in-memory
//!   scratch tree preopened as `/scratch` (fd 3, [`scratch`]), gone when the task ends; no
//!   socket call is offered; imports outside the subset below link as traps, so a module
//!   that calls them stops with a named error instead of reaching the host;
//! - **deterministic**: the clocks advance 1 ms per read from a fixed epoch and `random_get`
//!   is a SHA-256 stream of the task's seed; scratch files carry fixed timestamps, inode
//!   numbers in creation order and list in name order; so replicas of a batch task on
//!   different miners produce the same bytes, and their result hashes can agree;
//! - **bounded**: fuel (wasmtime's instruction budget), linear memory, wall-clock time (epoch
//!   interruption) and output size are limited per task.
//!
//! Offered imports (`wasi_snapshot_preview1`): `args_get`, `args_sizes_get`, `environ_get`,
//! `environ_sizes_get` (empty), `fd_write` (1, 2, files), `fd_read` (0, files), `fd_pread`,
//! `fd_pwrite`, `fd_close`, `fd_fdstat_get`, `fd_fdstat_set_flags`, `fd_prestat_get` and
//! `fd_prestat_dir_name` (fd 3), `fd_seek`, `fd_tell`, `fd_filestat_get`,
//! `fd_filestat_set_size`, `fd_filestat_set_times` and `path_filestat_set_times` (accepted,
//! times stay fixed), `fd_sync`, `fd_datasync`, `fd_advise`, `fd_readdir`, `path_open`,
//! `path_filestat_get`, `path_create_directory`, `path_remove_directory`, `path_unlink_file`,
//! `path_rename`, `clock_time_get`, `clock_res_get`, `random_get`, `sched_yield`,
//! `poll_oneoff` (`ENOSYS`), `proc_exit`.

mod scratch;

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
	/// Size of the in-memory `/scratch` directory, bytes; 0 for none.
	pub scratch_bytes: u64,
}

impl Default for Limits {
	fn default() -> Self {
		Self {
			fuel: 10_000_000_000,
			memory_bytes: 256 << 20,
			time: Duration::from_secs(60),
			max_output: 16 << 20,
			scratch_bytes: 64 << 20,
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

/// How often the engine's epoch advances: the granularity of every task's time limit.
const EPOCH_TICK: Duration = Duration::from_millis(10);

impl WasmExecutor {
	pub fn new() -> anyhow::Result<Self> {
		let mut config = Config::new();
		config.consume_fuel(true);
		config.epoch_interruption(true);
		// The same bytes on every machine: NaNs canonical, relaxed SIMD one way, and trap
		// messages without host-dependent backtraces.
		config.cranelift_nan_canonicalization(true);
		config.relaxed_simd_deterministic(true);
		config.wasm_backtrace(false);
		let engine = Engine::new(&config)?;
		// One ticker for the engine; each store's deadline counts its own ticks, so that one
		// task reaching its limit interrupts nobody else (a shared "time is up" increment
		// would stop every task running beside it). It ends with the last engine handle.
		let weak = engine.weak();
		std::thread::Builder::new().name("wasm-epoch".into()).spawn(move || {
			while let Some(engine) = weak.upgrade() {
				engine.increment_epoch();
				drop(engine);
				std::thread::sleep(EPOCH_TICK);
			}
		})?;
		Ok(Self { engine })
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
	scratch: Option<scratch::Scratch>,
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

/// The bytes of `len` iovecs at `iovs`, concatenated, or `None` when one is out of bounds
/// or they add up to more than `max` (iovecs may overlap: their total is not bounded by the
/// memory, so it is checked before anything is copied).
fn gather(mem: &[u8], iovs: u32, len: u32, max: usize) -> Option<Vec<u8>> {
	if iovecs_len(mem, iovs, len)? > max {
		return None;
	}
	let mut bytes = Vec::new();
	for i in 0..len {
		let (ptr, n) = iovec(mem, iovs, i)?;
		bytes.extend_from_slice(mem.get(ptr as usize..ptr as usize + n as usize)?);
	}
	Some(bytes)
}

/// Total length of `len` iovecs at `iovs`.
fn iovecs_len(mem: &[u8], iovs: u32, len: u32) -> Option<usize> {
	(0..len).try_fold(0usize, |sum, i| sum.checked_add(iovec(mem, iovs, i)?.1 as usize))
}

/// Spreads `bytes` over the iovecs at `iovs`, in order; false when one is out of bounds.
fn scatter(mem: &mut [u8], iovs: u32, len: u32, mut bytes: &[u8]) -> bool {
	for i in 0..len {
		let Some((ptr, n)) = iovec(mem, iovs, i) else { return false };
		let take = bytes.len().min(n as usize);
		if !write_bytes(mem, ptr, &bytes[..take]) {
			return false;
		}
		bytes = &bytes[take..];
	}
	true
}

/// `fd_write` (`at` None: stdout, stderr or a file's position) and `fd_pwrite` (a file at
/// `at`).
fn write_at(
	c: &mut Caller<'_, Ctx>,
	fd: u32,
	iovs: u32,
	len: u32,
	at: Option<u64>,
	nwritten: u32,
) -> i32 {
	let Some(mem) = memory(c) else { return EFAULT };
	let (data, ctx) = mem.data_and_store_mut(c);
	let stdio = at.is_none() && (fd == 1 || fd == 2);
	let max = match (fd, &ctx.scratch) {
		(1, _) if stdio => ctx.max_output.saturating_sub(ctx.stdout.len()),
		(2, _) if stdio => ctx.max_output.saturating_sub(ctx.stderr.len()),
		(_, Some(s)) => s.capacity(),
		(_, None) => return EBADF,
	};
	let Some(bytes) = gather(data, iovs, len, max) else {
		if stdio {
			ctx.overflow = true;
		}
		return EFAULT;
	};
	let written = if stdio {
		let out = if fd == 1 { &mut ctx.stdout } else { &mut ctx.stderr };
		out.extend_from_slice(&bytes);
		bytes.len()
	} else {
		match ctx.scratch.as_mut().map(|s| s.write(fd, &bytes, at)) {
			Some(Ok(n)) => n,
			Some(Err(e)) => return e,
			None => return EBADF,
		}
	};
	errno(write_bytes(data, nwritten, &(written as u32).to_le_bytes()))
}

/// `fd_read` (`at` None: stdin or a file's position) and `fd_pread` (a file at `at`).
fn read_at(
	c: &mut Caller<'_, Ctx>,
	fd: u32,
	iovs: u32,
	len: u32,
	at: Option<u64>,
	nread: u32,
) -> i32 {
	let Some(mem) = memory(c) else { return EFAULT };
	let (data, ctx) = mem.data_and_store_mut(c);
	let Some(want) = iovecs_len(data, iovs, len) else { return EFAULT };
	let bytes = if at.is_none() && fd == 0 {
		let left = &ctx.stdin[ctx.stdin_pos..];
		let take = left.len().min(want);
		ctx.stdin_pos += take;
		left[..take].to_vec()
	} else {
		match ctx.scratch.as_mut().map(|s| s.read(fd, want, at)) {
			Some(Ok(b)) => b,
			Some(Err(e)) => return e,
			None => return EBADF,
		}
	};
	if !scatter(data, iovs, len, &bytes) {
		return EFAULT;
	}
	errno(write_bytes(data, nread, &(bytes.len() as u32).to_le_bytes()))
}

/// A path argument: `len` bytes at `at` in the caller's memory.
fn read_path(caller: &mut Caller<'_, Ctx>, at: u32, len: u32) -> Option<Vec<u8>> {
	let mem = memory(caller)?;
	mem.data(caller).get(at as usize..at as usize + len as usize).map(<[u8]>::to_vec)
}

/// Runs `f` on the scratch directory: its errno, or `EBADF` when the task has none.
fn scratch_call(
	caller: &mut Caller<'_, Ctx>,
	f: impl FnOnce(&mut scratch::Scratch) -> Result<(), i32>,
) -> i32 {
	match caller.data_mut().scratch.as_mut().map(f) {
		Some(Ok(())) => ESUCCESS,
		Some(Err(e)) => e,
		None => EBADF,
	}
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
		|mut c: Caller<'_, Ctx>, fd: u32, iovs: u32, len: u32, nwritten: u32| {
			write_at(&mut c, fd, iovs, len, None, nwritten)
		},
	)?;
	linker.func_wrap(
		W,
		"fd_pwrite",
		|mut c: Caller<'_, Ctx>, fd: u32, iovs: u32, len: u32, at: u64, nwritten: u32| {
			write_at(&mut c, fd, iovs, len, Some(at), nwritten)
		},
	)?;
	linker.func_wrap(
		W,
		"fd_read",
		|mut c: Caller<'_, Ctx>, fd: u32, iovs: u32, len: u32, nread: u32| {
			read_at(&mut c, fd, iovs, len, None, nread)
		},
	)?;
	linker.func_wrap(
		W,
		"fd_pread",
		|mut c: Caller<'_, Ctx>, fd: u32, iovs: u32, len: u32, at: u64, nread: u32| {
			read_at(&mut c, fd, iovs, len, Some(at), nread)
		},
	)?;
	linker.func_wrap(W, "fd_close", |mut c: Caller<'_, Ctx>, fd: u32| -> i32 {
		if fd <= 2 {
			return ESUCCESS;
		}
		match c.data_mut().scratch.as_mut().map(|s| s.close(fd)) {
			Some(Ok(())) => ESUCCESS,
			Some(Err(e)) => e,
			None => EBADF,
		}
	})?;
	linker.func_wrap(W, "fd_fdstat_get", |mut c: Caller<'_, Ctx>, fd: u32, at: u32| -> i32 {
		// filetype 2 (character device) for stdio, else the scratch's; all rights.
		let (kind, append) = match fd {
			0..=2 => (2, false),
			_ => match c.data().scratch.as_ref().map(|s| s.fd_kind(fd)) {
				Some(Ok(k)) => k,
				Some(Err(e)) => return e,
				None => return EBADF,
			},
		};
		let mut stat = [0u8; 24];
		stat[0] = kind;
		stat[2] = u8::from(append);
		stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
		stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
		put(&mut c, at, &stat)
	})?;
	linker.func_wrap(W, "fd_fdstat_set_flags", |c: Caller<'_, Ctx>, fd: u32, _: u32| -> i32 {
		match c.data().scratch.as_ref().map(|s| s.fd_kind(fd)) {
			Some(Ok(_)) => ESUCCESS,
			Some(Err(e)) => e,
			None => EBADF,
		}
	})?;
	linker.func_wrap(W, "fd_prestat_get", |mut c: Caller<'_, Ctx>, fd: u32, at: u32| -> i32 {
		if fd != scratch::PREOPEN_FD || c.data().scratch.is_none() {
			return EBADF;
		}
		// tag 0 (directory), then the name's length.
		let mut prestat = [0u8; 8];
		prestat[4..8].copy_from_slice(&(scratch::PREOPEN_NAME.len() as u32).to_le_bytes());
		put(&mut c, at, &prestat)
	})?;
	linker.func_wrap(
		W,
		"fd_prestat_dir_name",
		|mut c: Caller<'_, Ctx>, fd: u32, at: u32, len: u32| -> i32 {
			if fd != scratch::PREOPEN_FD || c.data().scratch.is_none() {
				return EBADF;
			}
			let name = scratch::PREOPEN_NAME.as_bytes();
			put(&mut c, at, &name[..name.len().min(len as usize)])
		},
	)?;
	linker.func_wrap(
		W,
		"fd_seek",
		|mut c: Caller<'_, Ctx>, fd: u32, offset: i64, whence: u32, at: u32| -> i32 {
			if fd <= 2 {
				return ESPIPE;
			}
			let pos = c.data_mut().scratch.as_mut().map(|s| s.seek(fd, offset, whence as u8));
			match pos {
				Some(Ok(p)) => put(&mut c, at, &p.to_le_bytes()),
				Some(Err(e)) => e,
				None => EBADF,
			}
		},
	)?;
	linker.func_wrap(W, "fd_tell", |mut c: Caller<'_, Ctx>, fd: u32, at: u32| -> i32 {
		if fd <= 2 {
			return ESPIPE;
		}
		match c.data_mut().scratch.as_mut().map(|s| s.seek(fd, 0, 1)) {
			Some(Ok(p)) => put(&mut c, at, &p.to_le_bytes()),
			Some(Err(e)) => e,
			None => EBADF,
		}
	})?;
	linker.func_wrap(W, "fd_filestat_get", |mut c: Caller<'_, Ctx>, fd: u32, at: u32| -> i32 {
		match c.data().scratch.as_ref().map(|s| s.fd_stat(fd)) {
			Some(Ok(stat)) => put(&mut c, at, &stat),
			Some(Err(e)) => e,
			None => EBADF,
		}
	})?;
	linker.func_wrap(W, "fd_filestat_set_size", |mut c: Caller<'_, Ctx>, fd: u32, size: u64| {
		scratch_call(&mut c, |s| s.set_size(fd, size))
	})?;
	// Times are fixed for determinism; setting them is accepted and changes nothing.
	linker.func_wrap(
		W,
		"fd_filestat_set_times",
		|mut c: Caller<'_, Ctx>, fd: u32, _: u64, _: u64, _: u32| {
			scratch_call(&mut c, |s| s.fd_stat(fd).map(|_| ()))
		},
	)?;
	for name in ["fd_sync", "fd_datasync"] {
		linker.func_wrap(W, name, |mut c: Caller<'_, Ctx>, fd: u32| {
			scratch_call(&mut c, |s| s.fd_stat(fd).map(|_| ()))
		})?;
	}
	linker.func_wrap(
		W,
		"fd_advise",
		|mut c: Caller<'_, Ctx>, fd: u32, _: u64, _: u64, _: u32| {
			scratch_call(&mut c, |s| s.fd_stat(fd).map(|_| ()))
		},
	)?;
	linker.func_wrap(
		W,
		"fd_readdir",
		|mut c: Caller<'_, Ctx>, fd: u32, buf: u32, len: u32, cookie: u64, used: u32| -> i32 {
			let entries =
				match c.data().scratch.as_ref().map(|s| s.readdir(fd, cookie, len as usize)) {
					Some(Ok(e)) => e,
					Some(Err(e)) => return e,
					None => return EBADF,
				};
			match put(&mut c, buf, &entries) {
				ESUCCESS => put(&mut c, used, &(entries.len() as u32).to_le_bytes()),
				e => e,
			}
		},
	)?;
	linker.func_wrap(
		W,
		"path_open",
		|mut c: Caller<'_, Ctx>,
		 fd: u32,
		 _dirflags: u32,
		 path: u32,
		 path_len: u32,
		 oflags: u32,
		 _rights: u64,
		 _inheriting: u64,
		 fdflags: u32,
		 opened: u32|
		 -> i32 {
			let Some(path) = read_path(&mut c, path, path_len) else { return EFAULT };
			let result = c
				.data_mut()
				.scratch
				.as_mut()
				.map(|s| s.open(fd, &path, oflags as u16, fdflags as u16));
			match result {
				Some(Ok(new)) => put(&mut c, opened, &new.to_le_bytes()),
				Some(Err(e)) => e,
				None => EBADF,
			}
		},
	)?;
	linker.func_wrap(
		W,
		"path_filestat_get",
		|mut c: Caller<'_, Ctx>, fd: u32, _flags: u32, path: u32, len: u32, at: u32| -> i32 {
			let Some(path) = read_path(&mut c, path, len) else { return EFAULT };
			match c.data().scratch.as_ref().map(|s| s.path_stat(fd, &path)) {
				Some(Ok(stat)) => put(&mut c, at, &stat),
				Some(Err(e)) => e,
				None => EBADF,
			}
		},
	)?;
	linker.func_wrap(
		W,
		"path_filestat_set_times",
		|mut c: Caller<'_, Ctx>, fd: u32, _: u32, path: u32, len: u32, _: u64, _: u64, _: u32| {
			let Some(path) = read_path(&mut c, path, len) else { return EFAULT };
			scratch_call(&mut c, |s| s.path_stat(fd, &path).map(|_| ()))
		},
	)?;
	linker.func_wrap(
		W,
		"path_create_directory",
		|mut c: Caller<'_, Ctx>, fd: u32, path: u32, len: u32| {
			let Some(path) = read_path(&mut c, path, len) else { return EFAULT };
			scratch_call(&mut c, |s| s.mkdir(fd, &path))
		},
	)?;
	for (name, dir) in [("path_unlink_file", false), ("path_remove_directory", true)] {
		linker.func_wrap(
			W,
			name,
			move |mut c: Caller<'_, Ctx>, fd: u32, path: u32, len: u32| {
				let Some(path) = read_path(&mut c, path, len) else { return EFAULT };
				scratch_call(&mut c, |s| s.remove(fd, &path, dir))
			},
		)?;
	}
	linker.func_wrap(
		W,
		"path_rename",
		|mut c: Caller<'_, Ctx>,
		 fd: u32,
		 from: u32,
		 from_len: u32,
		 to_fd: u32,
		 to: u32,
		 to_len: u32| {
			let Some(from) = read_path(&mut c, from, from_len) else { return EFAULT };
			let Some(to) = read_path(&mut c, to, to_len) else { return EFAULT };
			scratch_call(&mut c, |s| s.rename(fd, &from, to_fd, &to))
		},
	)?;
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
		// Bounds first: a length past the memory must not make the host allocate it.
		let Some(mem) = memory(&mut c) else { return EFAULT };
		if at as usize + len as usize > mem.data_size(&c) {
			return EFAULT;
		}
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
			scratch: (limits.scratch_bytes > 0)
				.then(|| scratch::Scratch::new(limits.scratch_bytes)),
		};
		let mut store = Store::new(&self.engine, ctx);
		store.limiter(|c| &mut c.limits);
		store.set_fuel(limits.fuel).map_err(|e| ExecError::Invalid(e.to_string()))?;
		store.set_epoch_deadline(
			(limits.time.as_millis() / EPOCH_TICK.as_millis())
				.max(1)
				.try_into()
				.unwrap_or(u64::MAX),
		);
		store.epoch_deadline_trap();
		let run = (|| -> anyhow::Result<()> {
			let instance = linker.instantiate(&mut store, &module)?;
			let start = instance
				.get_typed_func::<(), ()>(&mut store, "_start")
				.map_err(|_| anyhow::anyhow!("the module exports no `_start` (a WASI command)"))?;
			start.call(&mut store, ())
		})();
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
	fn one_tasks_time_limit_does_not_stop_another() {
		// Counts down from 2^31: about a second of work.
		let count = r#"(module (func (export "_start") (local i32)
			(local.set 0 (i32.const 0x7fffffff))
			(loop (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
				(br_if 0 (local.get 0)))))"#;
		let spin = r#"(module (func (export "_start") (loop (br 0))))"#;
		let exec = std::sync::Arc::new(WasmExecutor::new().unwrap());
		let long = {
			let exec = exec.clone();
			let code = wasm_bytes(count.as_bytes()).unwrap();
			std::thread::spawn(move || {
				let limits =
					Limits { fuel: u64::MAX, time: Duration::from_secs(60), ..Limits::default() };
				exec.run(&code, &Job::default(), &limits)
			})
		};
		let short =
			Limits { fuel: u64::MAX, time: Duration::from_millis(100), ..Limits::default() };
		let spun = exec.run(&wasm_bytes(spin.as_bytes()).unwrap(), &Job::default(), &short);
		assert_eq!(spun.err(), Some(ExecError::Timeout));
		assert!(long.join().unwrap().is_ok(), "the other task was stopped too");
	}

	#[test]
	fn the_filesystem_and_network_are_not_there() {
		let open = r#"(module
			(import "wasi_snapshot_preview1" "sock_accept" (func $a (param i32 i32 i32) (result i32)))
			(memory (export "memory") 1)
			(func (export "_start") (drop (call $a (i32.const 3) (i32.const 0) (i32.const 0)))))"#;
		let err = run(open, Limits::default()).err().unwrap().to_string();
		assert!(err.contains("sock_accept"), "{err}");
		assert!(
			matches!(run("(module)", Limits::default()).err(), Some(ExecError::Trap(m)) if m.contains("_start"))
		);
		assert!(wasm_bytes(b"not wasm").is_err());
	}
}
