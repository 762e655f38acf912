//! Container tasks (Linux): a root filesystem image ([`Images`]) and a command, run in its own
//! namespaces as an unprivileged user with the indenture's resources enforced.
//!
//! Isolation, outermost first (the inside is described in [`sandbox`]):
//! - **user namespace**: the task's uid 1000 (and the namespace's root, used only to set up
//!   mounts) map to host uids of their own, never the host's root, so the kernel's ordinary
//!   permission checks and per-user limits apply to it as to a stranger;
//! - **pid, mount, UTS, IPC and network namespaces**: it sees only its own processes, the
//!   image and its scratch, its own host name, and — for batch tasks — no network device;
//! - **a control group** per run: memory (the kernel kills on excess and we report it), a
//!   process count (fork bombs stop there) and a CPU quota from `cpu_millicores`; rlimits
//!   back them up where no cgroup can be made;
//! - **time and output**: the miner kills the whole run at its deadline or when stdout or
//!   stderr passes its bound.
//!
//! The helper is this same binary run as `cutopia __sandbox`: namespace and mount set-up must
//! happen in a single-threaded process, which the miner's async runtime is not.

mod cgroup;
mod image;
mod microvm;
mod sandbox;

pub use image::{busybox_image, Images};
pub use microvm::{Accel, MicroVmExecutor};
pub use sandbox::{sandbox_main, SANDBOX_ARG};

use crate::exec::{ExecError, Job, Output};
use cgroup::{Cgroup, CgroupLimits};
use nix::sys::signal::Signal;
use sandbox::{SandboxSpec, EXEC, READY, SETUP, STATUS_FD, TASK_ID};
use std::{
	io::{Read, Write},
	os::unix::process::CommandExt,
	path::{Path, PathBuf},
	process::{Command, Stdio},
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc,
	},
	thread::JoinHandle,
	time::{Duration, Instant},
};

/// What one container run may use.
#[derive(Clone, Debug)]
pub struct Quota {
	/// Thousandths of a core (a CFS quota); 0 for none.
	pub cpu_millicores: u32,
	pub memory_bytes: u64,
	/// Size of `/scratch` (a tmpfs, so it counts as memory too).
	pub scratch_bytes: u64,
	/// Most processes and threads.
	pub pids: u64,
	/// Wall-clock limit, set-up included.
	pub time: Duration,
	/// Largest stdout (and, separately, stderr), bytes.
	pub max_output: usize,
	/// IP sockets allowed (services); batch tasks run without.
	pub network: bool,
}

impl Default for Quota {
	fn default() -> Self {
		Self {
			cpu_millicores: 1000,
			memory_bytes: 512 << 20,
			scratch_bytes: 256 << 20,
			pids: 64,
			time: Duration::from_secs(60),
			max_output: 16 << 20,
			network: false,
		}
	}
}

/// Runs commands of unpacked images in sandboxes made by `helper` (the `cutopia` binary).
#[derive(Clone, Debug)]
pub struct ContainerExecutor {
	helper: PathBuf,
}

/// Distinguishes concurrent runs (their cgroups and host uids).
static RUNS: AtomicU64 = AtomicU64::new(0);

impl ContainerExecutor {
	/// An executor whose sandbox helper is the `cutopia` binary at `helper`.
	pub fn new(helper: PathBuf) -> anyhow::Result<Self> {
		if !helper.is_file() {
			anyhow::bail!("no sandbox helper at {}", helper.display());
		}
		if !Path::new("/proc/self/ns/user").exists() {
			anyhow::bail!("this kernel has no user namespaces: container tasks cannot run here");
		}
		Ok(Self { helper })
	}

	/// Runs `argv` in the image unpacked at `rootfs`.
	pub fn run(
		&self,
		rootfs: &Path,
		argv: &[String],
		job: &Job,
		quota: &Quota,
	) -> Result<Output, ExecError> {
		let started = Instant::now();
		let run = RUNS.fetch_add(1, Ordering::Relaxed);
		// Host uids of their own (two per run), far above those of real users: the task's
		// process limit counts only its own processes, and no other run — of this miner or of
		// another miner process on the host — shares them while this one holds the lease.
		// Round-robin over a few thousand pairs: a pair is reused only thousands of runs later
		// (long after its processes are gone), and `/run` holds at most that many lock files.
		let lease = UidLease::dir()
			.and_then(|dir| UidLease::acquire(&dir, run % 4096))
			.map_err(|e| ExecError::Sandbox(format!("no host uids for the run: {e}")))?;
		let base = lease.base;
		let cgroup = Cgroup::create(
			// Unique across restarts too: a cgroup left by a crashed miner is never reused.
			&format!("run-{}-{run}", unique()),
			CgroupLimits {
				// The scratch tmpfs is charged to the run's memory, so it is part of the bound.
				memory_bytes: quota.memory_bytes + quota.scratch_bytes,
				pids: quota.pids,
				cpu_millicores: quota.cpu_millicores,
			},
		);
		let spec = SandboxSpec {
			rootfs: rootfs.to_path_buf(),
			argv: argv.to_vec(),
			env: vec![
				("PATH".into(), "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into()),
				("HOME".into(), "/scratch".into()),
				("TMPDIR".into(), "/scratch".into()),
				("CUTOPIA_SEED".into(), crate::results::hex(&job.seed)),
			],
			scratch_bytes: quota.scratch_bytes,
			pids: quota.pids,
			address_space: cgroup.is_none().then_some(quota.memory_bytes),
			network: quota.network,
		};
		let spec = serde_json::to_string(&spec).map_err(|e| ExecError::Sandbox(e.to_string()))?;
		let mut command = Command::new(&self.helper);
		command
			.arg(SANDBOX_ARG)
			.arg(spec)
			.env_clear()
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped());
		let (status_read, status_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
			.map_err(|e| ExecError::Sandbox(format!("status pipe: {e}")))?;
		let status_raw = std::os::fd::AsRawFd::as_raw_fd(&status_write);
		// SAFETY: between fork and exec only async-signal-safe system calls run here.
		unsafe {
			command.pre_exec(move || {
				// The helper dies with the thread that waits for it, not after.
				nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
				// Host root's supplementary groups must not follow the task in.
				nix::unistd::setgroups(&[])?;
				// The status pipe at its agreed number (dup2 clears close-on-exec).
				if libc::dup2(status_raw, STATUS_FD) < 0 {
					return Err(std::io::Error::last_os_error());
				}

				Ok(())
			});
		}
		let mut child = command
			.spawn()
			.map_err(|e| ExecError::Sandbox(format!("cannot start the sandbox helper: {e}")))?;
		drop(status_write);
		let mut status_pipe = std::fs::File::from(status_read);
		let pid = child.id();
		let stdout = child.stdout.take().expect("piped");
		let setup = (|| -> std::io::Result<()> {
			let mut ready = [0u8; 1];
			status_pipe.read_exact(&mut ready)?;
			if ready[0] != READY {
				return Err(std::io::Error::other("the helper did not say it was ready"));
			}
			if let Some(cg) = &cgroup {
				cg.attach(pid)?;
			}
			std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
			let map = format!("0 {base} 1\n{TASK_ID} {} 1\n", base + 1);
			std::fs::write(format!("/proc/{pid}/uid_map"), &map)?;
			std::fs::write(format!("/proc/{pid}/gid_map"), &map)?;
			Ok(())
		})();
		if let Err(e) = setup {
			let _ = child.kill();
			let _ = child.wait();
			let mut said = String::new();
			let _ = status_pipe.read_to_string(&mut said);
			return Err(ExecError::Sandbox(format!(
				"cannot map the sandbox's users: {e} {}",
				said.trim()
			)));
		}
		let mut stdin = child.stdin.take().expect("piped");
		let input = job.stdin.clone();
		// On its own thread: a task that never reads its stdin must not block us.
		std::thread::spawn(move || {
			let _ = stdin.write_all(&[1]);
			let _ = stdin.write_all(&input);
		});
		let overflow = Arc::new(AtomicBool::new(false));
		let stdout = collect(stdout, quota.max_output, &overflow);
		let stderr = collect(child.stderr.take().expect("piped"), quota.max_output, &overflow);
		// What the helper and pid 1 say went wrong, if anything (a few hundred bytes).
		let said = collect(status_pipe, 64 << 10, &Arc::new(AtomicBool::new(false)));
		let deadline = started + quota.time;
		let status = loop {
			match child.try_wait() {
				Ok(Some(status)) => break Some(status),
				Ok(None) => {},
				Err(e) => return Err(ExecError::Sandbox(format!("waiting for the sandbox: {e}"))),
			}
			if overflow.load(Ordering::Relaxed) || Instant::now() >= deadline {
				// The helper's death takes its pid namespace, and so the whole task, with it.
				let _ = child.kill();
				let _ = child.wait();
				break None;
			}
			std::thread::sleep(Duration::from_millis(5));
		};
		let oom = cgroup.as_ref().is_some_and(Cgroup::oom_killed);
		// Anything the task left behind dies with its cgroup, closing the output pipes.
		drop(cgroup);
		let (stdout, stderr) =
			(stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
		let said = String::from_utf8_lossy(&said.join().unwrap_or_default()).into_owned();
		let said = said.trim_start_matches(READY as char);
		if let Some(m) = said.strip_prefix(SETUP) {
			return Err(ExecError::Sandbox(m.to_string()));
		}
		if let Some(m) = said.strip_prefix(EXEC) {
			return Err(ExecError::Invalid(m.to_string()));
		}
		if overflow.load(Ordering::Relaxed) {
			return Err(ExecError::OutputTooLarge);
		}
		let Some(status) = status else { return Err(ExecError::Timeout) };
		if oom {
			return Err(ExecError::OutOfMemory);
		}
		let Some(code) = status.code() else {
			return Err(ExecError::Sandbox(format!("the sandbox helper ended by {status}")));
		};
		Ok(Output { exit_code: code, stdout, stderr, fuel_used: 0, elapsed: started.elapsed() })
	}
}

/// `<pid>-<ns since the epoch>`: names no earlier process (a crashed miner, or this one
/// before a restart under the same pid) can have left behind.
/// Host uid pairs a run may take (bases 1,000,000, 1,000,002, …).
const UID_SLOTS: u64 = 400_000;

/// A pair of host uids held for one run: an exclusive lock on `<dir>/<base>.lock`, which every
/// miner process on the host tries before it takes a pair, released when the lease is dropped
/// (or its process dies). Lock files are never removed: removing one while another process
/// has it open would let two runs lock two different files of the same name.
pub struct UidLease {
	/// The run's namespace root maps to `base`, its task user to `base + 1`.
	pub base: u64,
	_lock: std::fs::File,
}

impl UidLease {
	/// Where miners on this host keep their uid locks: `/run/cutopia/uids` (a tmpfs, so a
	/// reboot frees everything), which only root can create. There is no fallback: in a
	/// world-writable directory another user could hold, replace or redirect the locks.
	pub fn dir() -> std::io::Result<PathBuf> {
		Self::private_dir(Path::new("/run/cutopia/uids"))
	}

	/// `dir`, created `0700` if missing; refused unless it is a real directory of this user
	/// that nobody else can write (its mode is narrowed to `0700` if it is ours).
	pub fn private_dir(dir: &Path) -> std::io::Result<PathBuf> {
		use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
		std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
		let meta = std::fs::symlink_metadata(dir)?;
		// SAFETY: geteuid cannot fail and touches no memory.
		let me = unsafe { libc::geteuid() };
		if !meta.is_dir() || meta.uid() != me {
			return Err(std::io::Error::other(format!(
				"{} is not a directory of this user",
				dir.display()
			)));
		}
		if meta.mode() & 0o077 != 0 {
			std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
		}
		Ok(dir.to_path_buf())
	}

	/// The first free pair from slot `first` on (wrapping), in `dir` (see [`Self::dir`]).
	pub fn acquire(dir: &Path, first: u64) -> std::io::Result<Self> {
		use std::os::unix::fs::OpenOptionsExt;
		for i in 0..UID_SLOTS {
			let base = 1_000_000 + ((first.wrapping_add(i)) % UID_SLOTS) * 2;
			// Never follow a link or block on a FIFO, whatever was put in its place.
			let lock = std::fs::OpenOptions::new()
				.create(true)
				.truncate(false)
				.write(true)
				.mode(0o600)
				.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
				.open(dir.join(format!("{base}.lock")))?;
			if !lock.metadata()?.is_file() {
				return Err(std::io::Error::other(format!("{base}.lock is not a plain file")));
			}
			match lock.try_lock() {
				Ok(()) => return Ok(Self { base, _lock: lock }),
				Err(std::fs::TryLockError::WouldBlock) => continue,
				Err(std::fs::TryLockError::Error(e)) => return Err(e),
			}
		}
		Err(std::io::Error::other("every host uid pair is held by a running task"))
	}
}

pub(crate) fn unique() -> String {
	let nanos = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_nanos())
		.unwrap_or(0);
	format!("{}-{nanos}", std::process::id())
}

/// Reads `pipe` to its end on a thread, keeping at most `max` bytes; passing it raises
/// `overflow`, on which the run is stopped.
fn collect(
	mut pipe: impl Read + Send + 'static,
	max: usize,
	overflow: &Arc<AtomicBool>,
) -> JoinHandle<Vec<u8>> {
	let overflow = overflow.clone();
	std::thread::spawn(move || {
		let mut kept = Vec::new();
		let mut chunk = [0u8; 16 << 10];
		loop {
			match pipe.read(&mut chunk) {
				Ok(0) => break,
				Ok(n) if kept.len() + n > max => {
					overflow.store(true, Ordering::Relaxed);
					break;
				},
				Ok(n) => kept.extend_from_slice(&chunk[..n]),
				Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {},
				Err(_) => break,
			}
		}
		kept
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Two miner processes used to derive their runs' host uids from their pids alone, so two
	/// running tasks could share them (and signal or read each other). A lease is exclusive
	/// across open files, as across processes.
	#[test]
	fn two_runs_never_hold_the_same_host_uids() {
		let dir = std::env::temp_dir().join(format!("cutopia-uid-test-{}", unique()));
		let dir = UidLease::private_dir(&dir).expect("a private directory");
		use std::os::unix::fs::PermissionsExt;
		assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
		let a = UidLease::acquire(&dir, 7).expect("a lease");
		let b = UidLease::acquire(&dir, 7).expect("a second lease");
		assert_eq!(a.base, 1_000_014);
		assert_ne!(a.base, b.base, "the same pair twice");
		assert_eq!(b.base, a.base + 2, "the next free pair");
		// Slots wrap around.
		let c = UidLease::acquire(&dir, UID_SLOTS - 1).expect("the last slot");
		assert_eq!(c.base, 1_000_000 + (UID_SLOTS - 1) * 2);
		let d = UidLease::acquire(&dir, UID_SLOTS - 1).expect("wraps to the first");
		assert_eq!(d.base, 1_000_000);
		// A finished run gives its pair back.
		let freed = a.base;
		drop(a);
		assert_eq!(UidLease::acquire(&dir, 7).expect("again").base, freed);
		drop((b, c, d));
		// A link or a FIFO in a lock's place is refused, never followed or waited on.
		let target = dir.join("elsewhere");
		std::os::unix::fs::symlink(&target, dir.join("1000020.lock")).unwrap();
		assert!(UidLease::acquire(&dir, 10).is_err());
		assert!(!target.exists(), "the link was followed");
		nix::unistd::mkfifo(&dir.join("1000022.lock"), nix::sys::stat::Mode::S_IRWXU).unwrap();
		assert!(UidLease::acquire(&dir, 11).is_err());
		// A directory others can write is narrowed to this user's.
		std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
		UidLease::private_dir(&dir).expect("ours");
		assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
		std::fs::remove_dir_all(dir).expect("clean up");
	}
}
