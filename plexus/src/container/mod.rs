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
pub mod gateway;
mod image;
mod microvm;
mod places;
mod sandbox;

pub use image::{busybox_image, Held, Images};
pub use microvm::{Accel, MicroVmExecutor, VmService};
pub use sandbox::{enter_main, sandbox_main, ENTER_ARG, SANDBOX_ARG};

use crate::exec::{ExecError, Job, Output};
use cgroup::{Cgroup, CgroupLimits};
use nix::sys::signal::Signal;
use sandbox::{SandboxSpec, TaskSpec, EXEC, READY, SETUP, STATUS_FD, TASK_ID};
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

	/// Starts a sandbox helper for `argv` in the image at `rootfs`: its host uids leased, its
	/// cgroup made, its users mapped; the task starts once the go byte is written on its
	/// stdin. `output`: whether stdout and stderr are piped (a batch task's result) or
	/// discarded (a service, reached over its port).
	fn launch(
		&self,
		rootfs: &Path,
		argv: &[String],
		job: &Job,
		quota: &Quota,
		output: bool,
	) -> Result<Launched, ExecError> {
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
		let task = task_spec(argv, job, quota, cgroup.is_none());
		let spec = SandboxSpec { rootfs: rootfs.to_path_buf(), task: task.clone() };
		let spec = serde_json::to_string(&spec).map_err(|e| ExecError::Sandbox(e.to_string()))?;
		let mut command = Command::new(&self.helper);
		command.arg(SANDBOX_ARG).arg(spec);
		let io = if output { Stdio::piped } else { Stdio::null };
		command.stdout(io()).stderr(io());
		let (mut child, status_pipe) = spawn_helper(command, Vec::new())?;
		let mut status_pipe = std::fs::File::from(status_pipe);
		let pid = child.id();
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
		Ok(Launched { child, status: status_pipe, cgroup, lease, pid, task })
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
		let Launched { mut child, status: status_pipe, cgroup, lease: _lease, .. } =
			self.launch(rootfs, argv, job, quota, true)?;
		let stdout = child.stdout.take().expect("piped");
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

impl ContainerExecutor {
	/// Starts `argv` in the image at `rootfs` as a service: it keeps running (its quota's time
	/// does not apply) until [`Service::stop`] or its drop, in its own network namespace with
	/// only a loopback, which [`Service::connect`] reaches. Its output is discarded.
	pub fn start_service(
		&self,
		rootfs: &Path,
		argv: &[String],
		job: &Job,
		quota: &Quota,
	) -> Result<Service, ExecError> {
		let quota = Quota { network: true, ..quota.clone() };
		let (started_tx, started_rx) = std::sync::mpsc::channel();
		let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
		let ended = Arc::new(std::sync::Mutex::new(None));
		let (this, rootfs, argv, job) =
			(self.clone(), rootfs.to_path_buf(), argv.to_vec(), job.clone());
		let ended_by_keeper = ended.clone();
		// The helper is started by, and dies with (its parent-death signal), this thread: one
		// that lives exactly as long as the service, unlike the runtime's pooled threads.
		let keeper = std::thread::spawn(move || {
			let launched = match this.launch(&rootfs, &argv, &job, &quota, false) {
				Ok(launched) => launched,
				Err(e) => return drop(started_tx.send(Err(e))),
			};
			let Launched { mut child, status, cgroup, lease: _lease, pid, task } = launched;
			let cgroup = cgroup.map(Arc::new);
			// A step after the helper started failed: it is killed before the caller hears why.
			let abandon = |child: &mut std::process::Child, why: String| {
				let _ = child.kill();
				let _ = child.wait();
				drop(started_tx.send(Err(ExecError::Sandbox(why))));
			};
			// Held from before the task starts: a later `/proc/<pid>` could be another process.
			let namespaces = match Namespaces::of(pid) {
				Ok(ns) => ns,
				Err(e) => return abandon(&mut child, format!("the service's namespaces: {e}")),
			};
			let said = collect(status, 64 << 10, &Arc::new(AtomicBool::new(false)));
			let go = child.stdin.take().expect("piped").write_all(&[1]);
			// Its pid namespace can be named only once its pid 1 exists (forked after go).
			let namespaces = match go.and_then(|()| namespaces.with_pid_of(pid)) {
				Ok(ns) => ns,
				Err(e) => return abandon(&mut child, format!("starting the service: {e}")),
			};
			let _ = started_tx.send(Ok((namespaces, task, cgroup.clone())));
			let why = loop {
				match child.try_wait() {
					Ok(Some(status)) => break format!("it exited ({status})"),
					Ok(None) => {},
					Err(e) => break format!("waiting for it failed: {e}"),
				}
				match stop_rx.recv_timeout(Duration::from_millis(100)) {
					Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {},
					_ => {
						let _ = child.kill();
						let _ = child.wait();
						break "it was stopped".to_string();
					},
				}
			};
			// What it left behind (commands entered into it too) dies with it.
			if let Some(cgroup) = &cgroup {
				cgroup.kill_all();
			}
			let said = String::from_utf8_lossy(&said.join().unwrap_or_default()).into_owned();
			let said = said.trim_start_matches(READY as char).trim().to_string();
			let why = if said.is_empty() { why } else { format!("{why}: {said}") };
			*ended_by_keeper.lock().expect("not poisoned") = Some(why);
		});
		let (namespaces, task, cgroup) = started_rx
			.recv()
			.map_err(|_| ExecError::Sandbox("the service's keeper thread died".into()))??;
		Ok(Service::Container(ContainerService {
			helper: self.helper.clone(),
			namespaces: std::sync::Mutex::new(Some(Arc::new(namespaces))),
			entered: Default::default(),
			task,
			cgroup,
			ended,
			stop: std::sync::Mutex::new(stop_tx),
			keeper: std::sync::Mutex::new(Some(keeper)),
		}))
	}
}

/// The port a service listens on in its own network namespace (it is told in `PORT`): the
/// miner forwards the lease's published port there.
pub const SERVICE_PORT: u16 = 8080;

/// Most connections forwarded to one service at once, and from one source (an IPv4 address
/// or an IPv6 /64): a new connection takes the place of an old one ([`places`]), so a flood
/// costs the miner a bounded number of descriptors and one stranger cannot hold the
/// service's every place (before: 256 connections, the next closed on arrival).
const MAX_FORWARDED: usize = 256;
const MAX_FORWARDED_PER_SOURCE: usize = 32;

/// Forwards every connection accepted on `listener` to `service`'s [`SERVICE_PORT`], until
/// the task is dropped or aborted. A connection the service refuses is closed.
pub async fn forward(listener: tokio::net::TcpListener, service: Arc<Service>) {
	let places = places::Places::new(MAX_FORWARDED, MAX_FORWARDED_PER_SOURCE);
	loop {
		let Ok((mut inbound, from)) = listener.accept().await else {
			tokio::time::sleep(Duration::from_millis(100)).await;
			continue;
		};
		let place = places.admit(from.ip());
		let id = place.id();
		let service = service.clone();
		let task = tokio::spawn(async move {
			let _place = place;
			let Ok(mut outbound) = service.connect_async(SERVICE_PORT).await else { return };
			// Without the service: a connection forwarded to a stopped one is closed.
			drop(service);
			let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
		});
		places.started(id, task.abort_handle());
	}
}

/// A started sandbox helper: set up, waiting for its go byte.
struct Launched {
	child: std::process::Child,
	status: std::fs::File,
	cgroup: Option<Cgroup>,
	lease: UidLease,
	pid: u32,
	task: TaskSpec,
}

/// What a task runs as: its command, its environment (the same for every replica, so their
/// outputs can agree) and its limits.
fn task_spec(argv: &[String], job: &Job, quota: &Quota, no_cgroup: bool) -> TaskSpec {
	let mut task = TaskSpec {
		argv: argv.to_vec(),
		env: vec![
			("PATH".into(), "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into()),
			("HOME".into(), "/scratch".into()),
			("TMPDIR".into(), "/scratch".into()),
			("CUTOPIA_SEED".into(), crate::results::hex(&job.seed)),
		],
		scratch_bytes: quota.scratch_bytes,
		pids: quota.pids,
		address_space: no_cgroup.then_some(quota.memory_bytes),
		network: quota.network,
	};
	if quota.network {
		task.env.push(("PORT".into(), SERVICE_PORT.to_string()));
	}
	task
}

/// Spawns a helper (`command`: the `cutopia` binary and its arguments) with a clean
/// environment, no supplementary groups, a piped stdin, its status pipe at [`STATUS_FD`] and
/// `inherit[i]` at `STATUS_FD + 1 + i`. Returns it and the status pipe's reading end.
fn spawn_helper(
	mut command: Command,
	inherit: Vec<std::os::fd::RawFd>,
) -> Result<(std::process::Child, std::os::fd::OwnedFd), ExecError> {
	command.env_clear().stdin(Stdio::piped());
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
			// Every source out of the way of the numbers they go to, then each to its number
			// (dup2 clears close-on-exec).
			let mut high = [0; 8];
			for (i, &fd) in std::iter::once(&status_raw).chain(&inherit).enumerate().take(8) {
				high[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
				if high[i] < 0 {
					return Err(std::io::Error::last_os_error());
				}
			}
			for (i, &fd) in high.iter().enumerate().take(1 + inherit.len().min(7)) {
				if libc::dup2(fd, STATUS_FD + i as i32) < 0 {
					return Err(std::io::Error::last_os_error());
				}
			}
			Ok(())
		});
	}
	let child = command
		.spawn()
		.map_err(|e| ExecError::Sandbox(format!("cannot start the sandbox helper: {e}")))?;
	drop(status_write);
	Ok((child, status_read))
}

/// The pid namespace a service's commands are forked into.
const PID_NS: &str = "pid_for_children";

/// The namespaces of a running service, held open from its start: what the miner connects
/// into and what commands entered into it join.
struct Namespaces {
	/// In the order the enter helper joins them ([`sandbox::JOINS`]).
	files: Vec<std::fs::File>,
}

impl Namespaces {
	/// Every namespace of the helper `pid` but the pid namespace of its children.
	fn of(pid: u32) -> std::io::Result<Self> {
		let files = sandbox::JOINS
			.iter()
			.filter(|(name, _)| *name != PID_NS)
			.map(|(name, _)| std::fs::File::open(format!("/proc/{pid}/ns/{name}")))
			.collect::<std::io::Result<_>>()?;
		Ok(Self { files })
	}

	/// Adds the pid namespace of helper `pid`'s children, waiting (up to 5 s) until it has
	/// forked the first of them (its pid 1).
	fn with_pid_of(mut self, pid: u32) -> std::io::Result<Self> {
		let started = Instant::now();
		let file = loop {
			match std::fs::File::open(format!("/proc/{pid}/ns/{PID_NS}")) {
				Ok(file) => break file,
				Err(e) if started.elapsed() > Duration::from_secs(5) => return Err(e),
				Err(_) => std::thread::sleep(Duration::from_millis(2)),
			}
		};
		let at = sandbox::JOINS.iter().position(|(name, _)| *name == PID_NS).expect("joined");
		self.files.insert(at, file);
		Ok(self)
	}

	fn net(&self) -> &std::fs::File {
		let at = sandbox::JOINS.iter().position(|(name, _)| *name == "net").expect("joined");
		&self.files[at]
	}
}

/// Runs `f` on a thread that joins the network namespace `net` (sockets it makes stay
/// there; the thread ends with the call).
fn in_netns<T: Send>(
	net: &std::fs::File,
	f: impl FnOnce() -> std::io::Result<T> + Send,
) -> std::io::Result<T> {
	std::thread::scope(|scope| {
		std::thread::Builder::new()
			.spawn_scoped(scope, || {
				nix::sched::setns(net, nix::sched::CloneFlags::CLONE_NEWNET)
					.map_err(std::io::Error::from)?;
				f()
			})?
			.join()
			.unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread panicked")))
	})
}

/// A non-blocking TCP socket made inside the network namespace `net` (no waiting on the
/// network in the thread that joins it).
fn socket_in(net: &std::fs::File) -> std::io::Result<std::os::fd::OwnedFd> {
	in_netns(net, || {
		// SAFETY: a plain socket(2); the descriptor is owned at once.
		let fd = unsafe {
			libc::socket(
				libc::AF_INET,
				libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
				0,
			)
		};
		if fd < 0 {
			return Err(std::io::Error::last_os_error());
		}
		// SAFETY: just made, owned by nobody else.
		Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
	})
}

/// A TCP connection to `port` on the loopback of the network namespace `net` (the host's
/// when `None`), waited for on the runtime, at most 5 s.
async fn connect_in(
	net: Option<&std::fs::File>,
	port: u16,
) -> std::io::Result<tokio::net::TcpStream> {
	let to = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
	let socket = match net {
		Some(net) => {
			tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(socket_in(net)?))
		},
		None => tokio::net::TcpSocket::new_v4()?,
	};
	tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
		.await
		.map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect"))?
}

/// Most commands entered into one service at once (its SSH sessions): each holds a thread
/// of the miner's and a helper process.
const MAX_ENTERED: usize = 32;

/// A running service, in a container ([`ContainerExecutor::start_service`]) or a microVM
/// guest ([`MicroVmExecutor::start_service`]). Dropping it stops it, and its scratch goes
/// with it.
pub enum Service {
	Container(ContainerService),
	MicroVm(VmService),
}

impl Service {
	/// `None` while it runs; why it ended, once it has.
	pub fn ended(&self) -> Option<String> {
		match self {
			Self::Container(s) => s.ended(),
			Self::MicroVm(s) => s.ended(),
		}
	}

	/// A TCP connection to `port` in the service ([`SERVICE_PORT`] is the one every tier
	/// reaches), waited for on the runtime, at most 5 s.
	pub async fn connect_async(&self, port: u16) -> std::io::Result<tokio::net::TcpStream> {
		match self {
			Self::Container(s) => s.connect_async(port).await,
			Self::MicroVm(s) => {
				if port != SERVICE_PORT {
					return Err(std::io::Error::other(format!(
						"only port {SERVICE_PORT} is forwarded"
					)));
				}
				s.connect_service().await
			},
		}
	}

	/// [`Service::connect_async`] for callers outside a runtime.
	pub fn connect(&self, port: u16) -> std::io::Result<std::net::TcpStream> {
		let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
		let stream = runtime.block_on(self.connect_async(port))?.into_std()?;
		stream.set_nonblocking(false)?;
		Ok(stream)
	}

	/// Runs `argv` inside the service as its user, in `/scratch`, with piped stdin, stdout
	/// and stderr (blocking: call it off the runtime's threads). At most [`MAX_ENTERED`] at
	/// once.
	pub fn enter(&self, argv: &[String]) -> Result<Entered, ExecError> {
		match self {
			Self::Container(s) => s.enter(argv),
			Self::MicroVm(s) => s.enter(argv),
		}
	}

	/// Stops the service and waits until its processes (or its guest) are gone.
	pub fn stop(&self) {
		match self {
			Self::Container(s) => s.stop(),
			Self::MicroVm(s) => s.stop(),
		}
	}
}

/// A place among a service's [`MAX_ENTERED`] commands, given back when dropped (whatever
/// happens before the command ends).
struct Slot(Arc<AtomicU64>);

impl Slot {
	fn take(count: &Arc<AtomicU64>) -> Result<Self, ExecError> {
		if count.fetch_add(1, Ordering::SeqCst) >= MAX_ENTERED as u64 {
			count.fetch_sub(1, Ordering::SeqCst);
			return Err(ExecError::Sandbox(format!(
				"{MAX_ENTERED} commands already run in this service"
			)));
		}
		Ok(Self(count.clone()))
	}
}

impl Drop for Slot {
	fn drop(&mut self) {
		self.0.fetch_sub(1, Ordering::SeqCst);
	}
}

/// A service in a container (see [`ContainerExecutor::start_service`]). Dropping it stops it:
/// its processes are killed and its scratch, a tmpfs of its mount namespace, goes with them.
pub struct ContainerService {
	helper: PathBuf,
	/// Closed by [`ContainerService::stop`]: a leftover reference to a stopped service (an SSH
	/// session still open) keeps neither its mount namespace nor its scratch alive.
	namespaces: std::sync::Mutex<Option<Arc<Namespaces>>>,
	task: TaskSpec,
	/// Shared with its keeper thread; removed when both are done with it.
	cgroup: Option<Arc<Cgroup>>,
	/// Why it ended, once it has.
	ended: Arc<std::sync::Mutex<Option<String>>>,
	/// Commands entered and still running.
	entered: Arc<AtomicU64>,
	stop: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
	keeper: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl ContainerService {
	/// `None` while it runs; why it ended, once it has.
	pub fn ended(&self) -> Option<String> {
		self.ended.lock().expect("not poisoned").clone()
	}

	fn namespaces(&self) -> std::io::Result<Arc<Namespaces>> {
		let held = self.namespaces.lock().expect("not poisoned").clone();
		held.ok_or_else(|| std::io::Error::other("the service has stopped"))
	}

	/// A TCP connection to `port` on the service's loopback, waited for on the runtime (no
	/// thread held while the service takes its time to accept), at most 5 s.
	pub async fn connect_async(&self, port: u16) -> std::io::Result<tokio::net::TcpStream> {
		connect_in(Some(self.namespaces()?.net()), port).await
	}

	/// Runs `argv` inside the service — its namespaces, user, limits and filters, in
	/// `/scratch` — from a thread of its own, which waits for it: stdin, stdout and stderr are
	/// piped; `done` gives its exit status and what its helper said went wrong. At most
	/// [`MAX_ENTERED`] at once.
	pub fn enter(&self, argv: &[String]) -> Result<Entered, ExecError> {
		if let Some(why) = self.ended() {
			return Err(ExecError::Sandbox(format!("the service has ended: {why}")));
		}
		let namespaces = self.namespaces().map_err(|e| ExecError::Sandbox(e.to_string()))?;
		// Counted down when the waiting thread ends.
		let slot = Slot::take(&self.entered)?;
		let task = TaskSpec { argv: argv.to_vec(), ..self.task.clone() };
		let spec = sandbox::EnterSpec { task };
		let spec = serde_json::to_string(&spec).map_err(|e| ExecError::Sandbox(e.to_string()))?;
		let mut command = Command::new(&self.helper);
		command.arg(sandbox::ENTER_ARG).arg(spec).stdout(Stdio::piped()).stderr(Stdio::piped());
		let (started_tx, started_rx) = std::sync::mpsc::channel();
		let (kill, mut killed) = tokio::sync::oneshot::channel::<()>();
		let (done_tx, done) = tokio::sync::oneshot::channel();
		let cgroup = self.cgroup.clone();
		std::thread::spawn(move || {
			let inherit: Vec<_> =
				namespaces.files.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
			let spawned = spawn_helper(command, inherit);
			// The helper has its own copies now.
			drop(namespaces);
			let (mut child, status) = match spawned {
				Ok(spawned) => spawned,
				Err(e) => return drop(started_tx.send(Err(e))),
			};
			// Counted with the service's memory, processes and CPU, before it starts.
			if let Some(Err(e)) = cgroup.map(|cg| cg.attach(child.id())) {
				let _ = child.kill();
				let _ = child.wait();
				let e = ExecError::Sandbox(format!("cannot join the service's cgroup: {e}"));
				return drop(started_tx.send(Err(e)));
			}
			let io = (child.stdin.take(), child.stdout.take(), child.stderr.take());
			let said = collect(std::fs::File::from(status), 64 << 10, &Default::default());
			let _ = started_tx.send(Ok(io));
			// Until it ends, or it is killed (asked, or its `Entered` dropped): then its
			// helper, and with it (parent-death signal) the command.
			let code = loop {
				match child.try_wait() {
					Ok(Some(status)) => break status.code().unwrap_or(-1),
					Ok(None) => {},
					Err(_) => break -1,
				}
				std::thread::sleep(Duration::from_millis(20));
				if !matches!(
					killed.try_recv(),
					Err(tokio::sync::oneshot::error::TryRecvError::Empty)
				) {
					let _ = child.kill();
					let _ = child.wait();
					break -1;
				}
			};
			let said = String::from_utf8_lossy(&said.join().unwrap_or_default()).into_owned();
			// Its place is free before anyone waiting on `done` can ask for it again.
			drop(slot);
			let _ = done_tx.send((code, said));
		});
		let (stdin, stdout, stderr) = started_rx
			.recv()
			.map_err(|_| ExecError::Sandbox("the command's waiting thread died".into()))??;
		let (Some(mut stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
			return Err(ExecError::Sandbox("the command's pipes are missing".into()));
		};
		// The go byte: the command's own input follows it.
		stdin.write_all(&[1]).map_err(|e| ExecError::Sandbox(format!("starting: {e}")))?;
		let file = |fd: std::os::fd::OwnedFd| std::fs::File::from(fd);
		Ok(Entered {
			stdin: file(stdin.into()),
			stdout: file(stdout.into()),
			stderr: file(stderr.into()),
			done,
			kill,
		})
	}

	/// Stops the service and waits until its processes are gone (blocking: up to a tenth
	/// of a second, and the kill); its namespaces are let go.
	pub fn stop(&self) {
		let _ = self.stop.lock().expect("not poisoned").send(());
		let keeper = self.keeper.lock().expect("not poisoned").take();
		if let Some(keeper) = keeper {
			let _ = keeper.join();
		}
		self.namespaces.lock().expect("not poisoned").take();
	}
}

impl Drop for ContainerService {
	fn drop(&mut self) {
		self.stop();
	}
}

/// A command entered into a service: its pipes, and `done`, which gives `(exit code, what
/// the helper said went wrong)` once it has ended — the code is 125 with a message when it
/// could not be started, -1 when it was killed.
pub struct Entered {
	/// Pipes.
	pub stdin: std::fs::File,
	pub stdout: std::fs::File,
	pub stderr: std::fs::File,
	pub done: tokio::sync::oneshot::Receiver<(i32, String)>,
	/// Kills the command (or, in a guest, ends its session) when sent on or dropped.
	pub kill: tokio::sync::oneshot::Sender<()>,
}

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

/// `<pid>-<ns since the epoch>`: names no earlier process (a crashed miner, or this one
/// before a restart under the same pid) can have left behind.
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
