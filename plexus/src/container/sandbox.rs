//! The inside of a container run, in the `cutopia __sandbox` helper process.
//!
//! The miner starts the helper without supplementary groups; the helper enters new user,
//! mount, UTS, IPC and network namespaces (a service's with its loopback up) and says so on
//! the status descriptor;
//! the miner writes its uid/gid maps and then sends one byte on stdin. The helper forks the task's init — pid 1 of a new pid
//! namespace, so that when it ends every process of the task ends — which, in order:
//! 1. binds the image on itself and, as the namespace's root, mounts a size-capped tmpfs at
//!    `/scratch` (also seen at `/tmp`), a `/dev` holding only null, zero, full, random and
//!    urandom, and a `/proc` of its own pid namespace;
//! 2. remounts the image read-only, no set-id, no devices, and `pivot_root`s into it, so the
//!    host's filesystem is no longer reachable by any path;
//! 3. sets rlimits (processes per user, file size, open files, core dumps, and address space
//!    when no memory cgroup bounds it), becomes the unprivileged uid 1000 — which maps to a
//!    host uid of its own — and so drops every capability;
//! 4. confines itself with Landlock (read/execute everywhere, write only in `/scratch` and
//!    the null devices; no TCP for batch tasks; no signals or abstract sockets outside) and a
//!    seccomp allow-list (no mount, namespace, ptrace, BPF, keyring, module or clock calls; no
//!    sockets but Unix ones for batch tasks; `clone` without namespace flags);
//! 5. and `execve`s the task's command.

use anyhow::{bail, Context, Result};
use nix::{
	errno::Errno,
	mount::{mount, umount2, MntFlags, MsFlags},
	sched::CloneFlags,
	sys::{
		prctl,
		resource::{setrlimit, Resource},
		signal::Signal,
		statvfs::{statvfs, FsFlags},
		wait::{waitpid, WaitStatus},
	},
	unistd::{
		chdir, execve, fork, pivot_root, sethostname, setresgid, setresuid, ForkResult, Gid, Uid,
	},
};
use serde::{Deserialize, Serialize};
use std::{
	collections::BTreeMap, convert::Infallible, ffi::CString, os::fd::FromRawFd, path::PathBuf,
};

/// The `cutopia` argument that makes the binary this helper.
pub const SANDBOX_ARG: &str = "__sandbox";
/// The task's uid and gid inside its user namespace.
pub(crate) const TASK_ID: u32 = 1000;
/// The helper's status descriptor: "ready", then why set-up or exec failed. The task never
/// holds it (close-on-exec), so nothing the task prints can pass for the sandbox failing —
/// which would make an honest miner withhold its result.
pub(crate) const STATUS_FD: i32 = 3;
/// The byte the helper writes on the status descriptor once its namespaces exist.
pub(crate) const READY: u8 = b'R';
/// How a failure starts on the status descriptor: set-up (the miner's) or exec (the task's).
pub(crate) const SETUP: &str = "setup: ";
pub(crate) const EXEC: &str = "exec: ";
/// Exit status of a helper that failed (what happened is on the status descriptor).
const FAILED: i32 = 125;
/// Devices bound from the host into the task's `/dev`: none reaches hardware or the kernel.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// What the miner tells the helper, as JSON in its second argument.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub(crate) struct SandboxSpec {
	/// The unpacked image (host path).
	pub rootfs: PathBuf,
	pub task: TaskSpec,
}

/// What the miner tells the enter helper (`cutopia __sandbox-enter`), as JSON in its second
/// argument: what to run. The namespaces to join are inherited, open, at the descriptors
/// after [`STATUS_FD`], in the order of [`JOINS`] — held by the miner since the service
/// started, so no pid that may since have been reused is ever looked up.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub(crate) struct EnterSpec {
	pub task: TaskSpec,
}

/// The namespaces a command entered into a service joins, in order: the user namespace
/// first (joining it gives the capabilities the others ask for in it), the mount namespace
/// last.
pub(crate) const JOINS: [(&str, CloneFlags); 6] = [
	("user", CloneFlags::CLONE_NEWUSER),
	("ipc", CloneFlags::CLONE_NEWIPC),
	("uts", CloneFlags::CLONE_NEWUTS),
	("net", CloneFlags::CLONE_NEWNET),
	("pid_for_children", CloneFlags::CLONE_NEWPID),
	("mnt", CloneFlags::CLONE_NEWNS),
];

/// The helper's `main`: never returns.
pub fn sandbox_main() -> ! {
	let code = helper().unwrap_or_else(|e| {
		status(&format!("{SETUP}{e:#}"));
		FAILED
	});
	std::process::exit(code)
}

/// Writes on the status descriptor (best effort: the miner may be gone).
fn status(message: &str) {
	// SAFETY: the status descriptor is ours; the fd is not closed by this borrow.
	let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(STATUS_FD) };
	let _ = nix::unistd::write(fd, message.as_bytes());
}

fn helper() -> Result<i32> {
	let spec = std::env::args().nth(2).context("no sandbox spec")?;
	let spec: SandboxSpec = serde_json::from_str(&spec).context("bad sandbox spec")?;
	// Unshared here rather than before exec: execve as a uid the new namespace does not map
	// would drop the capabilities it gives us.
	// A network namespace of its own in every case: a batch task gets no device at all, a
	// service only its loopback, which the miner forwards its published port to. Neither
	// reaches the host's network (its loopback services, the node's RPC) by any address.
	let flags = CloneFlags::CLONE_NEWUSER
		| CloneFlags::CLONE_NEWNS
		| CloneFlags::CLONE_NEWUTS
		| CloneFlags::CLONE_NEWIPC
		| CloneFlags::CLONE_NEWPID
		| CloneFlags::CLONE_NEWNET;
	nix::sched::unshare(flags).context("unshare")?;
	// "Ready": the miner now writes our uid/gid maps, then sends the go byte; until then
	// we are nobody in here.
	// SAFETY: the miner gave us the status descriptor at this number.
	let status_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(STATUS_FD) };
	if nix::unistd::write(status_fd, &[READY]).context("writing the ready byte")? != 1 {
		bail!("the miner went away before the run started");
	}
	let mut go = [0u8; 1];
	if nix::unistd::read(std::io::stdin(), &mut go).context("reading the go byte")? != 1 {
		bail!("the miner went away before the run started");
	}
	fork_and_wait(|| init(&spec))
}

/// The `cutopia` argument that makes the binary the enter helper: a command run inside a
/// running service (the SSH gateway's sessions), under the same user, limits and filters.
pub const ENTER_ARG: &str = "__sandbox-enter";

/// The enter helper's `main`: never returns.
pub fn enter_main() -> ! {
	let code = enter_helper().unwrap_or_else(|e| {
		status(&format!("{SETUP}{e:#}"));
		FAILED
	});
	std::process::exit(code)
}

fn enter_helper() -> Result<i32> {
	let spec = std::env::args().nth(2).context("no enter spec")?;
	let spec: EnterSpec = serde_json::from_str(&spec).context("bad enter spec")?;
	// The miner puts us in the service's cgroup, then says go.
	let mut go = [0u8; 1];
	if nix::unistd::read(std::io::stdin(), &mut go).context("reading the go byte")? != 1 {
		bail!("the miner went away before the command started");
	}
	for (i, (name, flag)) in JOINS.iter().enumerate() {
		// SAFETY: the miner gave us the namespaces at these numbers; each is closed here.
		let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(STATUS_FD + 1 + i as i32) };
		nix::sched::setns(&fd, *flag).with_context(|| format!("joining the {name} namespace"))?;
	}
	fork_and_wait(|| entered(&spec.task))
}

/// A process in the service's namespaces (and its pid namespace, being forked after joining
/// it): becomes the namespace's root — so that leaving it for the task's user drops every
/// capability, as in the service's own pid 1 — and then the task's command.
fn entered(task: &TaskSpec) -> Result<Infallible> {
	prctl::set_pdeathsig(Signal::SIGKILL).context("pdeathsig")?;
	std::fs::write("/proc/self/oom_score_adj", "1000").context("oom_score_adj")?;
	setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)).context("setresgid 0")?;
	setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).context("setresuid 0")?;
	chdir("/scratch").context("chdir /scratch")?;
	become_task(task)
}

/// Brings up the loopback of the task's new network namespace (down when made), as its
/// root: a service listens there and the miner forwards its published port to it.
fn loopback_up() -> Result<()> {
	use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
	// SAFETY: a plain socket, and two ioctls on a zeroed `ifreq` that names `lo`.
	unsafe {
		let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
		if fd < 0 {
			bail!("socket: {}", std::io::Error::last_os_error());
		}
		let fd = OwnedFd::from_raw_fd(fd);
		let mut req: libc::ifreq = std::mem::zeroed();
		for (to, from) in req.ifr_name.iter_mut().zip(b"lo") {
			*to = *from as libc::c_char;
		}
		if libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
			bail!("SIOCGIFFLAGS: {}", std::io::Error::last_os_error());
		}
		req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
		if libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
			bail!("SIOCSIFFLAGS: {}", std::io::Error::last_os_error());
		}
	}
	Ok(())
}

/// Forks `child` (which becomes the task, or says why not on the status descriptor) and
/// waits for it: its exit code, or 128 + the signal that ended it. The caller must be
/// single-threaded (both helpers never start a thread), so the child may do anything.
fn fork_and_wait(child: impl FnOnce() -> Result<Infallible>) -> Result<i32> {
	// SAFETY: single-threaded, as said above.
	match unsafe { fork() }.context("fork")? {
		ForkResult::Child => {
			let Err(e) = child();
			let kind = if e.downcast_ref::<ExecError>().is_some() { EXEC } else { SETUP };
			status(&format!("{kind}{e:#}"));
			// SAFETY: ends the child without running the parent's exit handlers twice.
			unsafe { libc::_exit(FAILED) }
		},
		ForkResult::Parent { child } => loop {
			match waitpid(child, None) {
				Ok(WaitStatus::Exited(_, code)) => return Ok(code),
				Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
				Ok(_) | Err(Errno::EINTR) => continue,
				Err(e) => bail!("waiting for the task: {e}"),
			}
		},
	}
}

/// The command could not be started: reported as the task's failure, not the sandbox's.
#[derive(Debug)]
struct ExecError(String);
impl std::fmt::Display for ExecError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&self.0)
	}
}
impl std::error::Error for ExecError {}

fn none() -> Option<&'static str> {
	None
}

/// Pid 1 of the task: sets up its world, then becomes the task. Returns only on failure.
fn init(spec: &SandboxSpec) -> Result<Infallible> {
	// If the helper dies (killed by the miner on a timeout), so does the whole pid namespace.
	prctl::set_pdeathsig(Signal::SIGKILL).context("pdeathsig")?;
	// The task, not the helper, is what the OOM killer takes first (a task that got its
	// helper killed would make the sandbox look broken). Raising is always allowed (the
	// helper cannot be lowered where root lacks CAP_SYS_RESOURCE); done while we still own
	// our /proc entries.
	std::fs::write("/proc/self/oom_score_adj", "1000").context("oom_score_adj")?;
	mount(none(), "/", none(), MsFlags::MS_REC | MsFlags::MS_PRIVATE, none())
		.context("making mounts private")?;
	let root = &spec.rootfs;
	// Still the host's root uid (unmapped here), so the path to the image may be private.
	mount(Some(root), root, none(), MsFlags::MS_BIND | MsFlags::MS_REC, none())
		.with_context(|| format!("binding the image {}", root.display()))?;
	chdir(root).context("entering the image")?;
	// Flags of the image's mount that a remount inside a user namespace must keep.
	let kept = statvfs(".").context("statvfs")?.flags();
	// The namespace's root from here: files it creates belong to a uid the host can name.
	setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)).context("setresgid 0")?;
	setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).context("setresuid 0")?;

	let inodes = (spec.task.scratch_bytes / 4096).clamp(1024, 1 << 20);
	mount(
		Some("tmpfs"),
		"scratch",
		Some("tmpfs"),
		MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
		Some(
			format!(
				"size={},nr_inodes={inodes},mode=0755,uid={TASK_ID},gid={TASK_ID}",
				spec.task.scratch_bytes
			)
			.as_str(),
		),
	)
	.context("mounting /scratch")?;
	mount(Some("scratch"), "tmp", none(), MsFlags::MS_BIND, none()).context("binding /tmp")?;
	mount(
		Some("tmpfs"),
		"dev",
		Some("tmpfs"),
		MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
		Some("size=65536,nr_inodes=64,mode=0755"),
	)
	.context("mounting /dev")?;
	for d in DEVICES {
		let at = format!("dev/{d}");
		std::fs::File::create(&at).with_context(|| format!("creating /{at}"))?;
		mount(Some(format!("/dev/{d}").as_str()), at.as_str(), none(), MsFlags::MS_BIND, none())
			.with_context(|| format!("binding /dev/{d}"))?;
	}
	for (link, to) in [
		("fd", "/proc/self/fd"),
		("stdin", "/proc/self/fd/0"),
		("stdout", "/proc/self/fd/1"),
		("stderr", "/proc/self/fd/2"),
	] {
		std::os::unix::fs::symlink(to, format!("dev/{link}")).context("/dev links")?;
	}
	mount(
		Some("proc"),
		"proc",
		Some("proc"),
		MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
		none(),
	)
	.context("mounting /proc")?;

	let mut ro = MsFlags::MS_REMOUNT
		| MsFlags::MS_BIND
		| MsFlags::MS_RDONLY
		| MsFlags::MS_NOSUID
		| MsFlags::MS_NODEV;
	for (fs, ms) in [
		(FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
		(FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
		(FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
		(FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
	] {
		if kept.contains(fs) {
			ro |= ms;
		}
	}
	mount(none(), ".", none(), ro, none()).context("making the image read-only")?;
	pivot_root(".", ".").context("pivot_root")?;
	umount2(".", MntFlags::MNT_DETACH).context("detaching the host's root")?;
	chdir("/scratch").context("chdir /scratch")?;
	sethostname("cutopia").context("sethostname")?;
	if spec.task.network {
		loopback_up().context("bringing up the loopback")?;
	}
	become_task(&spec.task)
}

/// What the task's process becomes, whether it is pid 1 of a new run or a command entered
/// into a running service: limits, user, filters, program.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub(crate) struct TaskSpec {
	/// The command; the first is looked up in `PATH` when it has no `/`.
	pub argv: Vec<String>,
	pub env: Vec<(String, String)>,
	pub scratch_bytes: u64,
	/// Most processes of the task's user.
	pub pids: u64,
	/// Address-space rlimit, set only when no memory cgroup bounds the run.
	pub address_space: Option<u64>,
	/// Whether the task may open IP sockets (services, in their own network namespace);
	/// batch tasks may not.
	pub network: bool,
}

/// From the namespace's root, inside the task's world (`/scratch` its working directory):
/// sets rlimits, becomes uid 1000 (dropping every capability), confines itself with Landlock
/// and seccomp and executes the command. Returns only on failure.
fn become_task(spec: &TaskSpec) -> Result<Infallible> {
	let limit = |r, n: u64| setrlimit(r, n, n).with_context(|| format!("setrlimit {r:?}"));
	limit(Resource::RLIMIT_NPROC, spec.pids)?;
	limit(Resource::RLIMIT_FSIZE, spec.scratch_bytes)?;
	limit(Resource::RLIMIT_CORE, 0)?;
	limit(Resource::RLIMIT_NOFILE, 1024)?;
	if let Some(bytes) = spec.address_space {
		limit(Resource::RLIMIT_AS, bytes)?;
	}
	let (uid, gid) = (Uid::from_raw(TASK_ID), Gid::from_raw(TASK_ID));
	setresgid(gid, gid, gid).context("setresgid")?;
	// Leaving uid 0 clears every capability the namespace gave us.
	setresuid(uid, uid, uid).context("setresuid")?;

	// Everything execve needs, before the filters stop us from reading the filesystem freely.
	let program = resolve(&spec.argv, &spec.env)?;
	let argv: Vec<CString> = spec.argv.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
	let envp: Vec<CString> =
		spec.env.iter().map(|(k, v)| cstring(&format!("{k}={v}"))).collect::<Result<_>>()?;
	landlock(spec.network)?;
	prctl::set_no_new_privs().context("no_new_privs")?;
	let filters = seccomp(spec.network)?;
	// The task never holds the status descriptor.
	nix::fcntl::fcntl(
		// SAFETY: the status descriptor, inherited from the helper.
		unsafe { std::os::fd::BorrowedFd::borrow_raw(STATUS_FD) },
		nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
	)
	.context("status descriptor")?;
	// Set last: changing uids above cleared the one set at the start.
	prctl::set_pdeathsig(Signal::SIGKILL).context("pdeathsig")?;
	for filter in filters {
		seccompiler::apply_filter(&filter).context("seccomp")?;
	}
	let e = execve(&program, &argv, &envp).unwrap_err();
	Err(ExecError(format!("cannot run {}: {e}", spec.argv[0])).into())
}

fn cstring(s: &str) -> Result<CString> {
	CString::new(s).with_context(|| format!("{s:?} holds a NUL byte"))
}

/// The program to execute: `argv[0]` itself when it holds a `/`, else the first executable
/// of that name in the task's `PATH`.
fn resolve(argv: &[String], env: &[(String, String)]) -> Result<CString> {
	let Some(name) = argv.first() else { return Err(ExecError("empty command".into()).into()) };
	if name.contains('/') {
		return cstring(name);
	}
	let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()).unwrap_or("/bin");
	for dir in path.split(':') {
		let candidate = format!("{dir}/{name}");
		if nix::unistd::access(candidate.as_str(), nix::unistd::AccessFlags::X_OK).is_ok() {
			return cstring(&candidate);
		}
	}
	Err(ExecError(format!("cannot run {name}: not found in PATH {path}")).into())
}

fn landlock(network: bool) -> Result<()> {
	use landlock::{
		path_beneath_rules, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
		Scope, ABI,
	};
	let abi = ABI::V6;
	let mut rules = Ruleset::default().handle_access(AccessFs::from_all(abi))?;
	if !network {
		// Handled with no rule: no TCP bind or connect at all.
		rules = rules.handle_access(AccessNet::from_all(abi))?;
	}
	let status = rules
		.scope(Scope::from_all(abi))?
		.create()?
		.add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))?
		.add_rules(path_beneath_rules(["/scratch"], AccessFs::from_all(abi)))?
		.add_rules(path_beneath_rules(
			["/dev/null", "/dev/zero", "/dev/full"],
			AccessFs::from_all(abi),
		))?
		.restrict_self()
		.context("landlock")?;
	landlock_verdict(status.ruleset)
}

/// Whether a run may go on under Landlock's `status`. Rules the kernel does not know (an
/// older ABI: say, no TCP rules before 6.7, no scopes before 6.12) leave the other layers
/// (namespaces, seccomp) to hold; a kernel without Landlock at all used to run the task with
/// no filesystem rules and no word about it — the run is refused instead.
fn landlock_verdict(status: landlock::RulesetStatus) -> Result<()> {
	match status {
		landlock::RulesetStatus::FullyEnforced | landlock::RulesetStatus::PartiallyEnforced => {
			Ok(())
		},
		landlock::RulesetStatus::NotEnforced => Err(anyhow::anyhow!(
			"Landlock is not enforced by this kernel (not built in, or not in the `lsm=` boot list): refusing to run a container without its filesystem rules"
		)),
	}
}

/// Two filters: an allow-list (anything else fails with `EPERM`), and `clone3` answered
/// `ENOSYS` — its flags sit in memory a filter cannot read, and libc falls back to `clone`,
/// whose flags the allow-list checks — stacked so that the stricter answer wins.
fn seccomp(network: bool) -> Result<Vec<seccompiler::BpfProgram>> {
	use seccompiler::{
		SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
		SeccompRule, TargetArch,
	};
	let arch: TargetArch = std::env::consts::ARCH.try_into().context("seccomp arch")?;
	let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
		ALLOWED.iter().chain(ALLOWED_ARCH).map(|&n| (n, Vec::new())).collect();
	let arg0 = |op, value: u64| {
		SeccompCondition::new(0, SeccompCmpArgLen::Dword, op, value).map_err(anyhow::Error::from)
	};
	let mut families = vec![libc::AF_UNIX];
	if network {
		families.extend([libc::AF_INET, libc::AF_INET6]);
	}
	rules.insert(
		libc::SYS_socket,
		families
			.into_iter()
			.map(|f| Ok(SeccompRule::new(vec![arg0(SeccompCmpOp::Eq, f as u64)?])?))
			.collect::<Result<_>>()?,
	);
	let namespaces = (libc::CLONE_NEWNS
		| libc::CLONE_NEWUTS
		| libc::CLONE_NEWIPC
		| libc::CLONE_NEWUSER
		| libc::CLONE_NEWPID
		| libc::CLONE_NEWNET
		| libc::CLONE_NEWCGROUP) as u64;
	rules.insert(
		libc::SYS_clone,
		vec![SeccompRule::new(vec![SeccompCondition::new(
			0,
			SeccompCmpArgLen::Qword,
			SeccompCmpOp::MaskedEq(namespaces),
			0,
		)?])?],
	);
	let allow = SeccompFilter::new(
		rules,
		SeccompAction::Errno(libc::EPERM as u32),
		SeccompAction::Allow,
		arch,
	)?;
	let clone3 = SeccompFilter::new(
		[(libc::SYS_clone3, Vec::new())].into_iter().collect(),
		SeccompAction::Allow,
		SeccompAction::Errno(libc::ENOSYS as u32),
		arch,
	)?;
	// The allow-list last: it refuses `seccomp` itself.
	Ok(vec![clone3.try_into()?, allow.try_into()?])
}

/// System calls a task may make freely, on every architecture. Not here, so refused: mount
/// and namespace calls, `ptrace` and process memory access, BPF, perf, keyrings, modules,
/// `kexec`, reboot, swap, `sync`, clocks, quotas, `io_uring`, `userfaultfd`, handles,
/// `mknod`, personality and set-id calls.
const ALLOWED: &[i64] = {
	use libc::*;
	&[
		SYS_read,
		SYS_write,
		SYS_close,
		SYS_fstat,
		SYS_lseek,
		SYS_mmap,
		SYS_mprotect,
		SYS_munmap,
		SYS_brk,
		SYS_rt_sigaction,
		SYS_rt_sigprocmask,
		SYS_rt_sigreturn,
		SYS_ioctl,
		SYS_pread64,
		SYS_pwrite64,
		SYS_readv,
		SYS_writev,
		SYS_sched_yield,
		SYS_mremap,
		SYS_msync,
		SYS_mincore,
		SYS_madvise,
		SYS_dup,
		SYS_nanosleep,
		SYS_getitimer,
		SYS_setitimer,
		SYS_getpid,
		SYS_sendfile,
		SYS_connect,
		SYS_accept,
		SYS_sendto,
		SYS_recvfrom,
		SYS_sendmsg,
		SYS_recvmsg,
		SYS_shutdown,
		SYS_bind,
		SYS_listen,
		SYS_getsockname,
		SYS_getpeername,
		SYS_socketpair,
		SYS_setsockopt,
		SYS_getsockopt,
		SYS_execve,
		SYS_exit,
		SYS_wait4,
		SYS_kill,
		SYS_uname,
		SYS_fcntl,
		SYS_flock,
		SYS_fsync,
		SYS_fdatasync,
		SYS_truncate,
		SYS_ftruncate,
		SYS_getcwd,
		SYS_chdir,
		SYS_fchdir,
		SYS_fchmod,
		SYS_fchown,
		SYS_umask,
		SYS_gettimeofday,
		SYS_getrlimit,
		SYS_getrusage,
		SYS_sysinfo,
		SYS_times,
		SYS_getuid,
		SYS_getgid,
		SYS_geteuid,
		SYS_getegid,
		SYS_setpgid,
		SYS_getppid,
		SYS_setsid,
		SYS_getgroups,
		SYS_getresuid,
		SYS_getresgid,
		SYS_getpgid,
		SYS_getsid,
		SYS_rt_sigpending,
		SYS_rt_sigtimedwait,
		SYS_rt_sigqueueinfo,
		SYS_rt_sigsuspend,
		SYS_sigaltstack,
		SYS_statfs,
		SYS_fstatfs,
		SYS_getpriority,
		SYS_setpriority,
		SYS_sched_getparam,
		SYS_sched_getscheduler,
		SYS_sched_get_priority_max,
		SYS_sched_get_priority_min,
		SYS_prctl,
		SYS_gettid,
		SYS_readahead,
		SYS_futex,
		SYS_sched_setaffinity,
		SYS_sched_getaffinity,
		SYS_set_tid_address,
		SYS_fadvise64,
		SYS_timer_create,
		SYS_timer_settime,
		SYS_timer_gettime,
		SYS_timer_getoverrun,
		SYS_timer_delete,
		SYS_clock_gettime,
		SYS_clock_getres,
		SYS_clock_nanosleep,
		SYS_exit_group,
		SYS_epoll_ctl,
		SYS_tgkill,
		SYS_waitid,
		SYS_inotify_add_watch,
		SYS_inotify_rm_watch,
		SYS_openat,
		SYS_mkdirat,
		SYS_fchownat,
		SYS_newfstatat,
		SYS_unlinkat,
		SYS_renameat,
		SYS_linkat,
		SYS_symlinkat,
		SYS_readlinkat,
		SYS_fchmodat,
		SYS_faccessat,
		SYS_pselect6,
		SYS_ppoll,
		SYS_set_robust_list,
		SYS_get_robust_list,
		SYS_splice,
		SYS_tee,
		SYS_sync_file_range,
		SYS_vmsplice,
		SYS_utimensat,
		SYS_epoll_pwait,
		SYS_timerfd_create,
		SYS_fallocate,
		SYS_timerfd_settime,
		SYS_timerfd_gettime,
		SYS_accept4,
		SYS_signalfd4,
		SYS_eventfd2,
		SYS_epoll_create1,
		SYS_dup3,
		SYS_pipe2,
		SYS_inotify_init1,
		SYS_preadv,
		SYS_pwritev,
		SYS_rt_tgsigqueueinfo,
		SYS_recvmmsg,
		SYS_prlimit64,
		SYS_sendmmsg,
		SYS_getcpu,
		SYS_getrandom,
		SYS_memfd_create,
		SYS_execveat,
		SYS_copy_file_range,
		SYS_preadv2,
		SYS_pwritev2,
		SYS_statx,
		SYS_rseq,
		SYS_clone3,
		SYS_faccessat2,
		SYS_close_range,
		SYS_epoll_pwait2,
		SYS_getdents64,
		SYS_restart_syscall,
		SYS_renameat2,
		SYS_membarrier,
		SYS_sched_getattr,
		SYS_fchmodat2,
	]
};

/// The older calls x86_64 keeps beside their `*at` and `p*` successors (aarch64 never had
/// them).
#[cfg(target_arch = "x86_64")]
const ALLOWED_ARCH: &[i64] = {
	use libc::*;
	&[
		SYS_open,
		SYS_stat,
		SYS_lstat,
		SYS_poll,
		SYS_access,
		SYS_pipe,
		SYS_select,
		SYS_dup2,
		SYS_pause,
		SYS_alarm,
		SYS_fork,
		SYS_vfork,
		SYS_getdents,
		SYS_rename,
		SYS_mkdir,
		SYS_rmdir,
		SYS_creat,
		SYS_link,
		SYS_unlink,
		SYS_symlink,
		SYS_readlink,
		SYS_chmod,
		SYS_chown,
		SYS_lchown,
		SYS_getpgrp,
		SYS_utime,
		SYS_arch_prctl,
		SYS_time,
		SYS_epoll_wait,
		SYS_utimes,
		SYS_inotify_init,
		SYS_futimesat,
		SYS_signalfd,
		SYS_eventfd,
		SYS_epoll_create,
	]
};
#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_ARCH: &[i64] = &[];

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_kernel_without_landlock_gets_no_container_run() {
		use landlock::RulesetStatus;
		assert!(landlock_verdict(RulesetStatus::FullyEnforced).is_ok());
		assert!(landlock_verdict(RulesetStatus::PartiallyEnforced).is_ok());
		let refused = landlock_verdict(RulesetStatus::NotEnforced).unwrap_err();
		assert!(refused.to_string().contains("Landlock is not enforced"), "{refused}");
	}
}
