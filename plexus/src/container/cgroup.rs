//! A control group per container run: memory, process count and CPU time enforced by the
//! kernel for every process of the task together (rlimits are per process, or per user).
//! Unified (v2) hierarchies and the v1 controllers of hybrid hosts are both used; where
//! neither is writable the run falls back to rlimits alone, and says so.

use std::{
	fs,
	path::{Path, PathBuf},
};

const ROOT: &str = "/sys/fs/cgroup";
/// The CFS period the CPU quota is a share of, µs.
const CPU_PERIOD_US: u64 = 100_000;

/// What a run's cgroup enforces.
#[derive(Clone, Copy, Debug)]
pub struct CgroupLimits {
	pub memory_bytes: u64,
	pub pids: u64,
	/// Thousandths of a core (at least 100 are given).
	pub cpu_millicores: u32,
}

impl CgroupLimits {
	/// The CFS quota per period, µs: what was bought, and never "unlimited" (an indenture
	/// with no CPU still gets a tenth of a core, not all of them).
	fn cpu_quota(&self) -> u64 {
		u64::from(self.cpu_millicores.max(100)) * CPU_PERIOD_US / 1000
	}
}

/// One run's control group(s): one directory under v2, one per controller under v1.
#[derive(Debug)]
pub struct Cgroup {
	dirs: Vec<PathBuf>,
	/// Where the memory controller's files are, when there is one.
	memory: Option<PathBuf>,
	v2: bool,
}

impl Cgroup {
	/// Creates the cgroup `name` with `limits`, or `None` when no memory controller can be
	/// used here (then memory is bounded by rlimits only).
	pub fn create(name: &str, limits: CgroupLimits) -> Option<Cgroup> {
		let root = Path::new(ROOT);
		if root.join("cgroup.controllers").exists() {
			Self::create_v2(root, name, limits)
		} else {
			Self::create_v1(root, name, limits)
		}
	}

	fn create_v2(root: &Path, name: &str, limits: CgroupLimits) -> Option<Cgroup> {
		let parent = root.join("cutopia");
		fs::create_dir_all(&parent).ok()?;
		// Controllers must be enabled on the way down; a failure leaves them as they were and
		// shows up below as a missing file.
		for controller in ["+memory", "+pids", "+cpu"] {
			// One at a time: a controller this host lacks must not stop the others.
			let _ = fs::write(root.join("cgroup.subtree_control"), controller);
			let _ = fs::write(parent.join("cgroup.subtree_control"), controller);
		}
		let dir = parent.join(name);
		fs::create_dir(&dir).ok()?;
		let cg = Cgroup { dirs: vec![dir.clone()], memory: Some(dir.clone()), v2: true };
		if fs::write(dir.join("memory.max"), limits.memory_bytes.to_string()).is_err() {
			return None;
		}
		let _ = fs::write(dir.join("memory.swap.max"), "0");
		let _ = fs::write(dir.join("pids.max"), limits.pids.to_string());
		let _ = fs::write(dir.join("cpu.max"), format!("{} {CPU_PERIOD_US}", limits.cpu_quota()));
		Some(cg)
	}

	fn create_v1(root: &Path, name: &str, limits: CgroupLimits) -> Option<Cgroup> {
		let make = |controller: &str| -> Option<PathBuf> {
			let dir = root.join(controller).join("cutopia").join(name);
			fs::create_dir_all(&dir).ok()?;
			Some(dir)
		};
		let mut cg = Cgroup { dirs: Vec::new(), memory: None, v2: false };
		let memory = make("memory")?;
		cg.dirs.push(memory.clone());
		fs::write(memory.join("memory.limit_in_bytes"), limits.memory_bytes.to_string()).ok()?;
		// Swap counts too where the kernel accounts it; without it the limit is RAM only.
		let _ =
			fs::write(memory.join("memory.memsw.limit_in_bytes"), limits.memory_bytes.to_string());
		cg.memory = Some(memory);
		if let Some(pids) = make("pids") {
			let _ = fs::write(pids.join("pids.max"), limits.pids.to_string());
			cg.dirs.push(pids);
		}
		if let Some(cpu) = make("cpu") {
			let _ = fs::write(cpu.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string());
			let _ = fs::write(cpu.join("cpu.cfs_quota_us"), limits.cpu_quota().to_string());
			cg.dirs.push(cpu);
		}
		Some(cg)
	}

	/// Moves process `pid` (and so everything it starts) into the cgroup.
	pub fn attach(&self, pid: u32) -> std::io::Result<()> {
		for dir in &self.dirs {
			fs::write(dir.join("cgroup.procs"), pid.to_string())?;
		}
		Ok(())
	}

	/// Whether the kernel killed a process of this cgroup for memory.
	pub fn oom_killed(&self) -> bool {
		let Some(dir) = &self.memory else { return false };
		let file = if self.v2 { "memory.events" } else { "memory.oom_control" };
		fs::read_to_string(dir.join(file))
			.map(|s| {
				s.lines().any(|l| {
					l.strip_prefix("oom_kill ")
						.and_then(|n| n.trim().parse::<u64>().ok())
						.is_some_and(|n| n > 0)
				})
			})
			.unwrap_or(false)
	}

	/// Kills every process left in the cgroup.
	pub fn kill_all(&self) {
		if self.v2 && fs::write(self.dirs[0].join("cgroup.kill"), "1").is_ok() {
			return;
		}
		for dir in &self.dirs {
			if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
				for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
					// SAFETY: a plain kill(2); the pids are those of this run's cgroup.
					unsafe { libc::kill(pid, libc::SIGKILL) };
				}
			}
		}
	}
}

impl Drop for Cgroup {
	fn drop(&mut self) {
		self.kill_all();
		for dir in &self.dirs {
			// A cgroup can be removed once its last process is reaped; that takes a moment
			// after SIGKILL.
			for _ in 0..100 {
				if fs::remove_dir(dir).is_ok() || !dir.exists() {
					break;
				}
				std::thread::sleep(std::time::Duration::from_millis(10));
			}
		}
	}
}
