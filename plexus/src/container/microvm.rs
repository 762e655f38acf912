//! The microVM tier: a container image booted as the root of a QEMU `microvm` guest, so that
//! the task shares no kernel with the miner. The guest is the host's Debian cloud kernel, an
//! initramfs of our own (busybox, the four virtio modules it needs and [`INIT`]), and the
//! image as a read-only virtio disk (ext4 made from the unpacked image by `mkfs.ext4 -d`,
//! once per image). Per run, a second cpio archive appended to the initramfs carries the
//! command, the seed and the sizes. Output comes back on the serial console between markers,
//! base64-encoded (a tty would rewrite bare bytes), so kernel messages cannot be mistaken
//! for it. The guest has no network device.
//!
//! [`MicroVmExecutor::detect`] boots a probe guest: with KVM when `/dev/kvm` runs one, else
//! (only when the operator allows it) with QEMU's TCG emulator — the same isolation, ~30×
//! slower execution. A miner offers microVMs only when detection succeeds.

use super::Quota;
use crate::exec::{ExecError, Job, Output};
use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use std::{
	io::Read,
	path::{Path, PathBuf},
	process::{Command, Stdio},
	sync::atomic::{AtomicU64, Ordering},
	time::{Duration, Instant},
};

/// Virtio modules the guest loads, in order (the cloud kernel builds them as modules).
const MODULES: [&str; 4] =
	["virtio/virtio_ring.ko", "virtio/virtio.ko", "virtio/virtio_mmio.ko", "block/virtio_blk.ko"];

/// The guest's init: mounts the image read-only with a scratch tmpfs, runs the command in a
/// chroot of it as the container tier does (uid and gid 1000, no supplementary groups, in
/// `/scratch`, which that user owns), and prints stdout, stderr and the exit status between
/// markers. Same user and directory in both tiers: replicas that run a task in different
/// tiers still agree when it prints `id`, `pwd` or file owners.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt /out
mount -t proc proc /proc
if [ -e /cutopia/probe ]; then echo "==CUTOPIA-PROBE=="; poweroff -f; fi
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "==CUTOPIA-FAIL== $1"; poweroff -f; }
for m in virtio_ring virtio virtio_mmio virtio_blk; do insmod /mod/$m.ko 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
mount -t ext4 -o ro,noload,nosuid,nodev /dev/vda /mnt || fail "cannot mount the image"
mount -t tmpfs -o size=$(cat /cutopia/scratch),mode=0755,uid=1000,gid=1000 tmpfs /mnt/scratch || fail "no scratch"
mount --bind /mnt/scratch /mnt/tmp || fail "no /tmp"
mount -t proc proc /mnt/proc || fail "no /proc"
mount -t devtmpfs dev /mnt/dev || fail "no /dev"
mount -t tmpfs -o size=$(cat /cutopia/output) tmpfs /out || fail "no output space"
hostname cutopia
echo "==CUTOPIA-START=="
sh /cutopia/run.sh </dev/null >/out/stdout 2>/out/stderr
code=$?
# What the task left running must not write its output while it is read.
kill -KILL -1 2>/dev/null
echo "==CUTOPIA-STDOUT=="
base64 /out/stdout
echo "==CUTOPIA-STDERR=="
base64 /out/stderr
echo "==CUTOPIA-CODE== $code"
poweroff -f
"#;

/// How QEMU runs the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
	/// Hardware virtualisation.
	Kvm,
	/// QEMU's emulator: same isolation, far slower; used only when the operator allows it.
	Tcg,
}

/// Boots images in QEMU `microvm` guests.
#[derive(Clone, Debug)]
pub struct MicroVmExecutor {
	qemu: PathBuf,
	kernel: PathBuf,
	/// The guest initramfs (cpio, newc) shared by every run.
	initrd: Vec<u8>,
	accel: Accel,
	scratch_dir: PathBuf,
}

static RUNS: AtomicU64 = AtomicU64::new(0);

impl MicroVmExecutor {
	/// Finds QEMU, a kernel with its virtio modules and busybox, and boots a probe guest:
	/// with KVM when that works, else with TCG when `allow_tcg`. Fails, saying why, when no
	/// guest can be booted here.
	pub fn detect(allow_tcg: bool) -> Result<Self> {
		let qemu = which("qemu-system-x86_64")
			.ok_or_else(|| anyhow!("no qemu-system-x86_64 (Debian: qemu-system-x86)"))?;
		let kernel = std::env::var_os("CUTOPIA_VM_KERNEL")
			.map(PathBuf::from)
			.or_else(newest_kernel)
			.ok_or_else(|| anyhow!("no kernel in /boot (Debian: linux-image-cloud-amd64)"))?;
		let release = kernel
			.file_name()
			.and_then(|n| n.to_str())
			.and_then(|n| n.strip_prefix("vmlinuz-"))
			.ok_or_else(|| anyhow!("{}: not a vmlinuz-<release> kernel", kernel.display()))?
			.to_string();
		let modules = PathBuf::from("/lib/modules").join(&release).join("kernel/drivers");
		let busybox = super::image::busybox()?;
		let mut cpio = Cpio::default();
		cpio.dir("bin");
		cpio.file("bin/busybox", &std::fs::read(&busybox)?, 0o755);
		cpio.file("init", INIT.as_bytes(), 0o755);
		cpio.dir("mod");
		for m in MODULES {
			let path = modules.join(m);
			let bytes = std::fs::read(&path)
				.with_context(|| format!("the guest needs {}", path.display()))?;
			let name = Path::new(m).file_name().expect("a file").to_string_lossy();
			cpio.file(&format!("mod/{name}"), &bytes, 0o644);
		}
		let mut vm = Self {
			qemu,
			kernel,
			initrd: cpio.finish(),
			accel: Accel::Kvm,
			scratch_dir: std::env::temp_dir(),
		};
		let kvm = if Path::new("/dev/kvm").exists() {
			vm.probe(Duration::from_secs(8))
		} else {
			Err(anyhow!("no /dev/kvm"))
		};
		match kvm {
			Ok(()) => Ok(vm),
			Err(e) if allow_tcg => {
				vm.accel = Accel::Tcg;
				vm.probe(Duration::from_secs(60))
					.with_context(|| format!("KVM: {e:#}; TCG did not boot a guest either"))?;
				Ok(vm)
			},
			Err(e) => Err(e.context("KVM cannot boot a guest here (TCG not allowed)")),
		}
	}

	pub fn accel(&self) -> Accel {
		self.accel
	}

	/// The guest kernel's command line.
	fn cmdline(&self) -> String {
		let mut line = String::from("console=ttyS0 rdinit=/init panic=-1");
		// For operators finding out why a guest does not come up: the kernel's messages.
		if std::env::var_os("CUTOPIA_VM_CONSOLE").is_none() {
			line.push_str(" quiet loglevel=0");
		}
		// Emulated, the guest cannot calibrate its clocks against a timer that runs at the
		// host's whim, and hangs now and then when it tries (seen: 3 of 8 boots); a given
		// TSC rate and delay loop skip calibration. Guest time runs approximately.
		if self.accel == Accel::Tcg {
			line.push_str(" tsc_early_khz=1000000 lpj=2000000 no_timer_check");
		}
		line
	}

	/// Boots a guest that only says it is up.
	fn probe(&self, time: Duration) -> Result<()> {
		let mut extra = Cpio::default();
		extra.dir("cutopia");
		extra.file("cutopia/probe", b"", 0o644);
		let out = self.boot(&extra.finish(), None, 128, 1, time, 1 << 20)?;
		if !out.text.contains("==CUTOPIA-PROBE==") {
			bail!("the probe guest did not come up within {time:?} ({})", tail(&out.text));
		}
		Ok(())
	}

	/// Runs `argv` in the image `hash` (unpacked at `rootfs`) booted as a guest.
	pub fn run(
		&self,
		rootfs: &Path,
		argv: &[String],
		job: &Job,
		quota: &Quota,
	) -> Result<Output, ExecError> {
		let started = Instant::now();
		if argv.is_empty() || argv.iter().any(|a| a.contains('\0')) {
			return Err(ExecError::Invalid("an empty command, or NUL in an argument".into()));
		}
		let disk = disk_image(rootfs).map_err(|e| ExecError::Sandbox(format!("{e:#}")))?;
		// The command as one shell line of single-quoted words, run in a chroot of the image as
		// the task user in /scratch (busybox `nsenter` opens the directory before the chroot),
		// with the container tier's environment in its order; `--` ends nsenter's options, so
		// a command such as `-S0` is a (missing) program, not a way back to root.
		let quoted: Vec<String> =
			argv.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))).collect();
		let env = format!(
			"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/scratch TMPDIR=/scratch CUTOPIA_SEED={}",
			crate::results::hex(&job.seed)
		);
		let mut extra = Cpio::default();
		extra.dir("cutopia");
		extra.file(
			"cutopia/run.sh",
			format!(
				"exec env -i {env} nsenter -r/mnt -w/mnt/scratch -S {id} -G {id} -F -- {}\n",
				quoted.join(" "),
				id = super::sandbox::TASK_ID
			)
			.as_bytes(),
			0o644,
		);
		extra.file("cutopia/scratch", quota.scratch_bytes.to_string().as_bytes(), 0o644);
		// One page over the bound: a task that fills it wrote too much.
		extra.file("cutopia/output", (quota.max_output + 4096).to_string().as_bytes(), 0o644);
		let memory_mib = (quota.memory_bytes + quota.scratch_bytes + 2 * quota.max_output as u64)
			.div_ceil(1 << 20)
			+ 96;
		let cpus = quota.cpu_millicores.div_ceil(1000).max(1);
		// base64 grows output by 4/3, plus line breaks and the boot's own messages.
		let max_serial = 3 * quota.max_output + (1 << 20);
		let boot = self
			.boot(&extra.finish(), Some(&disk), memory_mib, cpus, quota.time, max_serial)
			.map_err(|e| ExecError::Sandbox(format!("{e:#}")))?;
		if boot.timed_out {
			return Err(ExecError::Timeout);
		}
		if boot.overflow {
			return Err(ExecError::OutputTooLarge);
		}
		// Whatever the console says past this point, the task may have said it (it runs as an
		// unprivileged user, but a guest kernel bug would give it the serial port). So a
		// failure reported from inside is the task's result, never "the miner's sandbox
		// failed" (which would make an honest miner withhold its result and fail its lease).
		let text = boot.text;
		if let Some(why) = after(&text, "==CUTOPIA-FAIL== ") {
			return Err(ExecError::Trap(format!(
				"the guest: {}",
				why.lines().next().unwrap_or("")
			)));
		}
		let block = |from: &str, to: &str| -> Result<Vec<u8>, ExecError> {
			let body = between(&text, from, to)
				.ok_or_else(|| ExecError::Trap(format!("the guest ended without {from}")))?;
			let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
			base64::engine::general_purpose::STANDARD
				.decode(b64)
				.map_err(|e| ExecError::Trap(format!("garbled output from the guest: {e}")))
		};
		let stdout = block("==CUTOPIA-STDOUT==", "==CUTOPIA-STDERR==")?;
		let stderr = block("==CUTOPIA-STDERR==", "==CUTOPIA-CODE==")?;
		if stdout.len() > quota.max_output || stderr.len() > quota.max_output {
			return Err(ExecError::OutputTooLarge);
		}
		let code = after(&text, "==CUTOPIA-CODE== ")
			.and_then(|s| s.split_whitespace().next())
			.and_then(|c| c.parse::<i32>().ok())
			.ok_or_else(|| ExecError::Trap("the guest reported no exit status".into()))?;
		if code == 127 && stdout.is_empty() {
			return Err(ExecError::Invalid(format!(
				"cannot run {}: {}",
				argv[0],
				String::from_utf8_lossy(&stderr).trim()
			)));
		}
		tracing::debug!(
			target: "cutopia::miner",
			"microVM ({:?}) booted to its task in {:.0} ms",
			self.accel,
			boot.to_start.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN)
		);
		Ok(Output { exit_code: code, stdout, stderr, fuel_used: 0, elapsed: started.elapsed() })
	}

	/// Boots the guest with `extra` appended to the initramfs and returns its console.
	fn boot(
		&self,
		extra: &[u8],
		disk: Option<&Path>,
		memory_mib: u64,
		cpus: u32,
		time: Duration,
		max_serial: usize,
	) -> Result<Console> {
		let started = Instant::now();
		let run = RUNS.fetch_add(1, Ordering::Relaxed);
		let initrd = self.scratch_dir.join(format!("cutopia-vm-{run}-{}.cpio", super::unique()));
		// Concatenated cpio archives are one initramfs to the kernel.
		let mut bytes = self.initrd.clone();
		bytes.extend_from_slice(extra);
		// A new file only: never through a link someone left at that name.
		std::io::Write::write_all(
			&mut std::fs::OpenOptions::new().write(true).create_new(true).open(&initrd)?,
			&bytes,
		)?;
		let accel = match self.accel {
			Accel::Kvm => "kvm",
			Accel::Tcg => "tcg",
		};
		let mut qemu = Command::new(&self.qemu);
		qemu.args(["-M", &format!("microvm,accel={accel}")])
			.args(["-m", &memory_mib.to_string(), "-smp", &cpus.to_string()])
			// QEMU's own seccomp filter: a guest that breaks into QEMU still cannot spawn,
			// raise privileges or use obsolete system calls.
			.args([
				"-sandbox",
				"on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
			])
			.args([
				"-nodefaults",
				"-no-user-config",
				"-nographic",
				"-serial",
				"stdio",
				"-no-reboot",
			])
			.arg("-kernel")
			.arg(&self.kernel)
			.arg("-initrd")
			.arg(&initrd)
			.arg("-append")
			.arg(self.cmdline());
		if let Some(disk) = disk {
			qemu.arg("-drive")
				.arg(format!("id=image,file={},format=raw,if=none,readonly=on", disk.display()))
				.args(["-device", "virtio-blk-device,drive=image"]);
		}
		let mut child = qemu
			.stdin(Stdio::null())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.context("cannot start qemu")?;
		let mut stdout = child.stdout.take().expect("piped");
		let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
		let reader = std::thread::spawn(move || {
			let mut chunk = [0u8; 16 << 10];
			while let Ok(n) = stdout.read(&mut chunk) {
				if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
					break;
				}
			}
		});
		let mut console = Console::default();
		let mut raw = Vec::new();
		let deadline = started + time;
		loop {
			let left = deadline.saturating_duration_since(Instant::now());
			match rx.recv_timeout(left.min(Duration::from_millis(50))) {
				Ok(bytes) => {
					raw.extend_from_slice(&bytes);
					if console.to_start.is_none()
						&& String::from_utf8_lossy(&raw).contains("==CUTOPIA-START==")
					{
						console.to_start = Some(started.elapsed());
					}
					if raw.len() > max_serial {
						console.overflow = true;
						break;
					}
				},
				Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
				Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
					if Instant::now() >= deadline {
						console.timed_out = true;
						break;
					}
				},
			}
		}
		let _ = child.kill();
		let status = child.wait();
		let _ = reader.join();
		let _ = std::fs::remove_file(&initrd);
		if !console.timed_out && !console.overflow && status.as_ref().is_ok_and(|s| !s.success()) {
			let mut err = String::new();
			if let Some(mut e) = child.stderr.take() {
				let _ = e.read_to_string(&mut err);
			}
			if !err.trim().is_empty() && raw.is_empty() {
				bail!("qemu: {}", err.trim());
			}
		}
		console.text = String::from_utf8_lossy(&raw).replace('\r', "");
		// For operators finding out why a guest does not come up.
		if std::env::var_os("CUTOPIA_VM_CONSOLE").is_some() {
			eprintln!("--- microVM console ({:?}) ---\n{}\n---", self.accel, console.text);
		}
		Ok(console)
	}
}

#[derive(Default)]
struct Console {
	text: String,
	to_start: Option<Duration>,
	timed_out: bool,
	overflow: bool,
}

fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
	text.find(marker).map(|i| &text[i + marker.len()..])
}

fn between<'a>(text: &'a str, from: &str, to: &str) -> Option<&'a str> {
	let rest = after(text, from)?;
	Some(&rest[..rest.find(to)?])
}

fn tail(text: &str) -> String {
	let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
	lines[lines.len().saturating_sub(3)..].join(" | ")
}

fn which(program: &str) -> Option<PathBuf> {
	std::env::var_os("PATH")?
		.to_str()?
		.split(':')
		.map(|d| Path::new(d).join(program))
		.find(|p| p.is_file())
}

/// The newest `/boot/vmlinuz-*` by name.
fn newest_kernel() -> Option<PathBuf> {
	let mut kernels: Vec<PathBuf> = std::fs::read_dir("/boot")
		.ok()?
		.filter_map(|e| e.ok().map(|e| e.path()))
		.filter(|p| {
			p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("vmlinuz-"))
		})
		.collect();
	kernels.sort();
	kernels.pop()
}

/// The image's disk: an ext4 filesystem of the unpacked image, made once beside it.
fn disk_image(rootfs: &Path) -> Result<PathBuf> {
	let disk = rootfs.with_file_name("disk.ext4");
	if disk.is_file() {
		return Ok(disk);
	}
	let bytes = super::image::tree_size(rootfs)?;
	// Room for metadata and inodes on top of the files.
	let size_mib = (bytes + bytes / 4).div_ceil(1 << 20) + 16;
	// Two runs of one image may build its disk at once: each in its own file, and the
	// rename makes one of them the disk.
	let staging = rootfs.with_file_name(format!(
		"disk.ext4.{}-{}",
		std::process::id(),
		RUNS.fetch_add(1, Ordering::Relaxed)
	));
	let out = Command::new("mkfs.ext4")
		.args(["-q", "-F", "-E", "root_owner=0:0", "-d"])
		.arg(rootfs)
		.arg(&staging)
		.arg(format!("{size_mib}M"))
		.output()
		.context("cannot run mkfs.ext4 (Debian: e2fsprogs)")?;
	if !out.status.success() {
		let _ = std::fs::remove_file(&staging);
		bail!("mkfs.ext4: {}", String::from_utf8_lossy(&out.stderr).trim());
	}
	std::fs::rename(&staging, &disk)?;
	Ok(disk)
}

/// A cpio archive in the kernel's `newc` format.
#[derive(Default)]
struct Cpio {
	out: Vec<u8>,
	ino: u32,
}

impl Cpio {
	fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
		self.ino += 1;
		let fields =
			[self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
		self.out.extend_from_slice(b"070701");
		for f in fields {
			self.out.extend_from_slice(format!("{f:08x}").as_bytes());
		}
		self.out.extend_from_slice(name.as_bytes());
		self.out.push(0);
		self.pad();
		self.out.extend_from_slice(data);
		self.pad();
	}

	fn pad(&mut self) {
		while !self.out.len().is_multiple_of(4) {
			self.out.push(0);
		}
	}

	fn dir(&mut self, name: &str) {
		self.entry(name, 0o040755, b"");
	}

	fn file(&mut self, name: &str, data: &[u8], mode: u32) {
		self.entry(name, 0o100000 | mode, data);
	}

	fn finish(mut self) -> Vec<u8> {
		self.entry("TRAILER!!!", 0, b"");
		self.out
	}
}
