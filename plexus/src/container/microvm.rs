//! The microVM tier: a container image booted as the root of a QEMU `microvm` guest, so that
//! the task shares no kernel with the miner. The guest is the host's Debian cloud kernel, an
//! initramfs of our own (busybox, the virtio modules it needs and [`INIT`]), and the
//! image as a read-only virtio disk (ext4 made from the unpacked image by `mkfs.ext4 -d`,
//! once per image). Per run, a second cpio archive appended to the initramfs carries the
//! command, the seed and the sizes. Output comes back on the serial console between markers,
//! base64-encoded (a tty would rewrite bare bytes), so kernel messages cannot be mistaken
//! for it. A service guest (`start_service`) also has a network device: see [`VmService`].
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
	os::unix::fs::OpenOptionsExt,
	path::{Path, PathBuf},
	process::{Command, Stdio},
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};

/// Virtio modules the guest loads, in order (the cloud kernel builds them as modules), under
/// `/lib/modules/<release>/kernel`: the block device always, the network device (and the
/// failover modules it depends on) for services.
const MODULES: [&str; 7] = [
	"drivers/virtio/virtio_ring.ko",
	"drivers/virtio/virtio.ko",
	"drivers/virtio/virtio_mmio.ko",
	"drivers/block/virtio_blk.ko",
	"net/core/failover.ko",
	"drivers/net/net_failover.ko",
	"drivers/net/virtio_net.ko",
];

/// The guest's init: mounts the image read-only with a scratch tmpfs, runs the command in a
/// chroot of it as the container tier does (uid and gid 1000, no supplementary groups, in
/// `/scratch`, which that user owns), and prints stdout, stderr and the exit status between
/// markers. Same user and directory in both tiers: replicas that run a task in different
/// tiers still agree when it prints `id`, `pwd` or file owners.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt /out /tmp
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
if [ -e /cutopia/service ]; then
	for m in failover net_failover virtio_net; do insmod /mod/$m.ko 2>/dev/null; done
	ip link set lo up
	i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
	ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || fail "no network device"
	# Port 22 is below 1024: the task's user cannot take it over. Started again should it
	# ever exit (a failed fork), or entering would be gone for the rest of the lease.
	(while :; do nc -ll -p 22 -e /cutopia/exec.sh; sleep 1; done) </dev/null >/dev/null 2>&1 &
	sh /cutopia/run.sh </dev/null >/dev/null 2>&1 &
	task=$!
	echo "==CUTOPIA-UP=="
	wait $task
	echo "==CUTOPIA-EXITED== $?"
	poweroff -f
fi
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

/// A command entered into a service guest (see [`VmService::enter`]), run by the guest's
/// `nc` for each connection to its port 22, as guest root outside the task's chroot: a line
/// with the service's token (which only the miner and guest root can read), a line of words
/// `x<base64>` (the argv; the `x` keeps an empty argument a word), then the command's stdin
/// — the two lines within 2 s each, or the connection is closed. It answers with lines `O <base64>` (stdout),
/// `E <base64>` (stderr) and last `X <status>`, funnelled through one pipe so that lines of
/// up to a pipe's atomic write are never interleaved.
const EXEC: &str = r#"#!/bin/busybox sh
exec 2>/dev/null
read -t 2 -r token && [ "$token" = "$(cat /cutopia/token)" ] || exit 1
read -t 2 -r words || exit 1
set --
for w in $words; do a=$(echo "${w#x}" | base64 -d; echo .); set -- "$@" "${a%.}"; done
[ $# -gt 0 ] || exit 1
d=$(mktemp -d) || exit 1
mkfifo $d/err
frame() { while b=$(dd bs=3000 count=1 2>/dev/null | base64 -w 0) && [ -n "$b" ]; do echo "$1 $b"; done; }
{
	frame E <$d/err &
	{ sh /cutopia/enter.sh "$@" 2>$d/err; echo $? >$d/code; } | frame O
	wait
	echo "X $(cat $d/code)"
} | cat
rm -rf $d
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
	/// Whether a service's QEMU gets a network namespace of its own (this process may make
	/// one: root with CAP_SYS_ADMIN, not e.g. root in a container without it).
	isolate: bool,
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
		let modules = PathBuf::from("/lib/modules").join(&release).join("kernel");
		let busybox = super::image::busybox()?;
		let mut cpio = Cpio::default();
		cpio.dir("bin");
		cpio.file("bin/busybox", &std::fs::read(&busybox)?, 0o755);
		cpio.file("init", INIT.as_bytes(), 0o755);
		cpio.dir("cutopia");
		cpio.file("cutopia/exec.sh", EXEC.as_bytes(), 0o700);
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
			// Tried on a thread of its own, which takes the namespace with it when it ends.
			isolate: std::thread::spawn(|| {
				nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_ok()
			})
			.join()
			.unwrap_or(false),
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

	/// Whether services' forwarded ports are kept off the host's loopback (see
	/// [`VmService::isolated`]).
	pub fn isolates_services(&self) -> bool {
		self.isolate
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
		let extra = task_files(argv, job, quota, None);
		let memory_mib = (quota.memory_bytes + quota.scratch_bytes + 2 * quota.max_output as u64)
			.div_ceil(1 << 20)
			+ 96;
		let cpus = quota.cpu_millicores.div_ceil(1000).max(1);
		// base64 grows output by 4/3, plus line breaks and the boot's own messages.
		let max_serial = 3 * quota.max_output + (1 << 20);
		let boot = self
			.boot(&extra, Some(&disk), memory_mib, cpus, quota.time, max_serial)
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

	/// QEMU for a guest with `extra` appended to the initramfs (written to the returned file,
	/// which the caller removes once QEMU is done with it), the image `disk`, and for a service
	/// a network device whose guest ports 8080 and 22 are forwarded from `net`'s loopback
	/// ports — QEMU's own network namespace's where it may make one (the returned flag), else
	/// the host's — and nothing else: the guest can reach neither the host nor beyond.
	fn command(
		&self,
		extra: &[u8],
		disk: Option<&Path>,
		memory_mib: u64,
		cpus: u32,
		net: Option<(u16, u16)>,
	) -> Result<(Command, PathBuf, bool)> {
		let run = RUNS.fetch_add(1, Ordering::Relaxed);
		let initrd = self.scratch_dir.join(format!("cutopia-vm-{run}-{}.cpio", super::unique()));
		// Concatenated cpio archives are one initramfs to the kernel.
		let mut bytes = self.initrd.clone();
		bytes.extend_from_slice(extra);
		// A new file only, readable by the miner alone (it holds a service's token): never
		// through a link someone left at that name.
		std::io::Write::write_all(
			&mut std::fs::OpenOptions::new()
				.write(true)
				.create_new(true)
				.mode(0o600)
				.open(&initrd)?,
			&bytes,
		)?;
		let accel = match self.accel {
			Accel::Kvm => "kvm",
			Accel::Tcg => "tcg",
		};
		let mut qemu = Command::new(&self.qemu);
		// A service's QEMU gets a network namespace of its own (where the miner may make one),
		// so the loopback ports it forwards into the guest are not the host's: no
		// other local user reaches the guest's command port, or its service port but through
		// the miner's forwarder.
		let isolate = net.is_some() && self.isolate;
		// SAFETY: prctl(2), unshare(2) and loopback_up's socket(2)/ioctl(2)/close(2) only,
		// between fork and exec. QEMU dies with the thread that started it (which waits for
		// it), so no guest outlives a killed miner.
		unsafe {
			std::os::unix::process::CommandExt::pre_exec(&mut qemu, move || {
				nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
				if isolate {
					nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
					loopback_up()?;
				}
				Ok(())
			});
		}
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
		if let Some((service, exec)) = net {
			// `restrict=on`: no packet of the guest's is routed to the host or beyond; the two
			// forwarding rules are the only way in.
			qemu.arg("-netdev")
				.arg(format!(
					"user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:{service}-:{},\
					 hostfwd=tcp:127.0.0.1:{exec}-:22",
					super::SERVICE_PORT
				))
				.args(["-device", "virtio-net-device,netdev=net"]);
		}
		Ok((qemu, initrd, isolate))
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
		let (mut qemu, initrd, _) = self.command(extra, disk, memory_mib, cpus, None)?;
		let mut child = qemu
			.stdin(Stdio::null())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.inspect_err(|_| drop(std::fs::remove_file(&initrd)))
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

/// The per-run part of the initramfs: `run.sh` runs `argv` in a chroot of the image as the
/// task user in `/scratch` (busybox `nsenter` opens the directory before the chroot) with the
/// container tier's environment in its order; `enter.sh` does the same for a command entered
/// into a service; the scratch and output sizes; for a service, its token and the flag that
/// makes the init serve instead of run. `--` ends nsenter's options, so a command such as
/// `-S0` is a (missing) program, not a way back to root.
fn task_files(argv: &[String], job: &Job, quota: &Quota, token: Option<&str>) -> Vec<u8> {
	let quoted: Vec<String> =
		argv.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))).collect();
	let mut env = format!(
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/scratch TMPDIR=/scratch CUTOPIA_SEED={}",
		crate::results::hex(&job.seed)
	);
	if token.is_some() {
		env.push_str(&format!(" PORT={}", super::SERVICE_PORT));
	}
	let enter = format!(
		"exec env -i {env} nsenter -r/mnt -w/mnt/scratch -S {id} -G {id} -F --",
		id = super::sandbox::TASK_ID
	);
	let mut extra = Cpio::default();
	extra.dir("cutopia");
	extra.file("cutopia/run.sh", format!("{enter} {}\n", quoted.join(" ")).as_bytes(), 0o644);
	extra.file("cutopia/scratch", quota.scratch_bytes.to_string().as_bytes(), 0o644);
	// One page over the bound: a task that fills it wrote too much.
	extra.file("cutopia/output", (quota.max_output + 4096).to_string().as_bytes(), 0o644);
	if let Some(token) = token {
		extra.file("cutopia/enter.sh", format!("{enter} \"$@\"\n").as_bytes(), 0o600);
		extra.file("cutopia/token", token.as_bytes(), 0o600);
		extra.file("cutopia/service", b"", 0o644);
	}
	extra.finish()
}

/// Brings up the loopback device of the calling process's (new) network namespace.
///
/// # Safety
/// Only async-signal-safe system calls: callable between fork and exec.
unsafe fn loopback_up() -> std::io::Result<()> {
	// SAFETY: socket(2), ioctl(2) on a zeroed `ifreq` naming "lo", close(2).
	unsafe {
		let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
		if fd < 0 {
			return Err(std::io::Error::last_os_error());
		}
		let mut ifr: libc::ifreq = std::mem::zeroed();
		ifr.ifr_name[0] = b'l' as libc::c_char;
		ifr.ifr_name[1] = b'o' as libc::c_char;
		let mut ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) >= 0;
		if ok {
			ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
			ok = libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) >= 0;
		}
		let err = std::io::Error::last_os_error();
		libc::close(fd);
		if ok {
			Ok(())
		} else {
			Err(err)
		}
	}
}

/// A loopback port nobody listens on now (QEMU binds it a moment later; a start that loses
/// the race is retried).
fn free_port() -> std::io::Result<u16> {
	Ok(std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

impl MicroVmExecutor {
	/// Boots the image at `rootfs` as a service guest running `argv` (told its port in
	/// `PORT`: it listens there on any address) until [`VmService::stop`] or its drop. Its
	/// port and a command port of the guest's are forwarded from loopback ports — in QEMU's
	/// own network namespace where the miner may make one ([`Self::isolates_services`]), else
	/// the host's; the guest has no other network. Waits until the guest has started the command, at most
	/// `quota.time`.
	pub fn start_service(
		&self,
		rootfs: &Path,
		argv: &[String],
		job: &Job,
		quota: &Quota,
	) -> Result<VmService, ExecError> {
		let sandbox = |e: anyhow::Error| ExecError::Sandbox(format!("{e:#}"));
		if argv.is_empty() || argv.iter().any(|a| a.contains('\0')) {
			return Err(ExecError::Invalid("an empty command, or NUL in an argument".into()));
		}
		let disk = disk_image(rootfs).map_err(sandbox)?;
		let token = crate::results::hex(&crate::work::random32().map_err(sandbox)?);
		let extra = task_files(argv, job, quota, Some(&token));
		let memory_mib = (quota.memory_bytes + quota.scratch_bytes).div_ceil(1 << 20) + 128;
		let cpus = quota.cpu_millicores.div_ceil(1000).max(1);
		let mut last = None;
		// Another process may take a chosen port before QEMU binds it: new ports, a few times.
		for _ in 0..3 {
			let ports = (
				free_port().map_err(|e| sandbox(e.into()))?,
				free_port().map_err(|e| sandbox(e.into()))?,
			);
			match self.serve(&extra, &disk, memory_mib, cpus, ports, &token, quota.time) {
				Ok(service) => return Ok(service),
				Err(e) if e.to_string().contains("host forwarding") => last = Some(e),
				Err(e) => return Err(e),
			}
		}
		Err(last.expect("tried"))
	}

	#[allow(clippy::too_many_arguments)]
	fn serve(
		&self,
		extra: &[u8],
		disk: &Path,
		memory_mib: u64,
		cpus: u32,
		(service_port, exec_port): (u16, u16),
		token: &str,
		time: Duration,
	) -> Result<VmService, ExecError> {
		let sandbox = |e: anyhow::Error| ExecError::Sandbox(format!("{e:#}"));
		let (mut qemu, initrd, isolated) = self
			.command(extra, Some(disk), memory_mib, cpus, Some((service_port, exec_port)))
			.map_err(sandbox)?;
		let ended = Arc::new(Mutex::new(None));
		let guest = Arc::new(Mutex::new(None));
		let (started_tx, started_rx) =
			std::sync::mpsc::channel::<std::io::Result<Option<std::fs::File>>>();
		let initrd_of_keeper = initrd.clone();
		let (up_tx, up_rx) = std::sync::mpsc::channel::<()>();
		let (ended_by_keeper, guest_of_keeper) = (ended.clone(), guest.clone());
		// QEMU is started by, and dies with (its parent-death signal), this thread, which
		// lives exactly as long as the guest: a miner that is killed leaves no guest behind.
		// It reads the console for as long as the guest runs — that it is up, that its
		// command ended — keeping the last few KiB to say why it stopped.
		let keeper = std::thread::spawn(move || {
			let spawned =
				qemu.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
			let initrd = initrd_of_keeper;
			let mut child = match spawned {
				Ok(child) => child,
				Err(e) => {
					let _ = std::fs::remove_file(&initrd);
					return drop(started_tx.send(Err(e)));
				},
			};
			*guest_of_keeper.lock().expect("not poisoned") = Some(child.id());
			// Held from its start (our child, not reaped yet: the pid is QEMU's).
			let net = isolated
				.then(|| std::fs::File::open(format!("/proc/{}/ns/net", child.id())))
				.transpose();
			let failed = net.is_err();
			let _ = started_tx.send(net);
			if failed {
				let _ = child.kill();
			}
			let mut stdout = child.stdout.take().expect("piped");
			let mut stderr = child.stderr.take().expect("piped");
			let said = std::thread::spawn(move || {
				let mut text = Vec::new();
				let _ = (&mut stderr).take(64 << 10).read_to_end(&mut text);
				String::from_utf8_lossy(&text).trim().to_string()
			});
			let mut chunk = [0u8; 16 << 10];
			let mut recent = String::new();
			let mut up = Some(up_tx);
			let mut code = None;
			while let Ok(n) = stdout.read(&mut chunk) {
				if n == 0 {
					break;
				}
				recent.push_str(&String::from_utf8_lossy(&chunk[..n]).replace('\r', ""));
				if up.is_some() && recent.contains("==CUTOPIA-UP==") {
					let _ = up.take().map(|tx| tx.send(()));
				}
				if let Some(rest) = after(&recent, "==CUTOPIA-EXITED== ") {
					code = rest.split_whitespace().next().map(str::to_string);
				}
				if recent.len() > 8 << 10 {
					let cut = recent.len() - (4 << 10);
					let cut =
						(cut..recent.len()).find(|&i| recent.is_char_boundary(i)).unwrap_or(0);
					recent.drain(..cut);
				}
			}
			// Reaped under the lock: `stop` never signals a pid that is someone else's now.
			{
				let mut guest = guest_of_keeper.lock().expect("not poisoned");
				let _ = child.kill();
				let _ = child.wait();
				*guest = None;
			}
			let _ = std::fs::remove_file(&initrd);
			let said = said.join().unwrap_or_default();
			let why = match (code, after(&recent, "==CUTOPIA-FAIL== ")) {
				(Some(code), _) => format!("it exited (exit status: {code})"),
				(None, Some(why)) => format!("the guest: {}", why.lines().next().unwrap_or("")),
				(None, None) if up.is_some() && !said.is_empty() => format!("qemu: {said}"),
				(None, None) => format!("the guest stopped ({})", tail(&recent)),
			};
			*ended_by_keeper.lock().expect("not poisoned") = Some(why);
		});
		let started = started_rx.recv().unwrap_or_else(|_| Err(std::io::Error::other("died")));
		let net = started.map_err(|e| ExecError::Sandbox(format!("cannot start qemu: {e}")))?;
		let service = VmService {
			service_port,
			exec_port,
			net,
			token: token.to_string(),
			guest,
			keeper: Mutex::new(Some(keeper)),
			ended,
			entered: Default::default(),
		};
		match up_rx.recv_timeout(time) {
			Ok(()) => {
				// QEMU loaded it at start: the token need not lie on disk for the lease.
				let _ = std::fs::remove_file(&initrd);
				Ok(service)
			},
			Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
				service.stop();
				Err(ExecError::Sandbox(format!(
					"the service guest did not come up within {time:?}"
				)))
			},
			Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
				service.stop();
				Err(ExecError::Sandbox(service.ended().unwrap_or_default()))
			},
		}
	}
}

/// Longest line the guest's command port sends (a 3000-byte chunk in base64 and its tag).
const MAX_FRAME: usize = 8 << 10;

/// A service running as a guest (see [`MicroVmExecutor::start_service`]). Dropping it stops
/// it: QEMU is killed, and the guest's scratch, in its memory, goes with it.
pub struct VmService {
	/// Loopback ports forwarded to the guest's service port and its command port: in `net`,
	/// QEMU's own network namespace, or the host's where none could be made.
	service_port: u16,
	exec_port: u16,
	net: Option<std::fs::File>,
	/// What a connection to the command port must say first.
	token: String,
	/// QEMU's pid until its keeper thread has reaped it.
	guest: Arc<Mutex<Option<u32>>>,
	keeper: Mutex<Option<std::thread::JoinHandle<()>>>,
	/// Why it ended, once it has.
	ended: Arc<Mutex<Option<String>>>,
	/// Commands entered and still running.
	entered: Arc<AtomicU64>,
}

impl VmService {
	/// `None` while it runs; why it ended, once it has.
	pub fn ended(&self) -> Option<String> {
		self.ended.lock().expect("not poisoned").clone()
	}

	/// A connection to the guest's service port, waited for on the runtime, at most 5 s.
	pub async fn connect_service(&self) -> std::io::Result<tokio::net::TcpStream> {
		if self.ended().is_some() {
			return Err(std::io::Error::other("the service has stopped"));
		}
		super::connect_in(self.net.as_ref(), self.service_port).await
	}

	/// A blocking connection to the guest's command port, at most 5 s.
	fn connect_command(&self) -> std::io::Result<std::net::TcpStream> {
		let to = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, self.exec_port));
		let connect = || std::net::TcpStream::connect_timeout(&to, Duration::from_secs(5));
		match &self.net {
			Some(net) => super::in_netns(net, connect),
			None => connect(),
		}
	}

	/// Whether QEMU's forwarded ports are in a network namespace of its own (not on the
	/// host's loopback).
	pub fn isolated(&self) -> bool {
		self.net.is_some()
	}

	/// A connection to the guest's command port, for tests that knock on it without the
	/// token.
	#[doc(hidden)]
	pub fn knock(&self) -> std::io::Result<std::net::TcpStream> {
		self.connect_command()
	}

	/// QEMU's pid while it runs (for tests that check it dies with the miner).
	#[doc(hidden)]
	pub fn qemu_pid(&self) -> Option<u32> {
		*self.guest.lock().expect("not poisoned")
	}

	/// The loopback port forwarded to the guest's command port (in QEMU's namespace when
	/// [`VmService::isolated`]; for tests that look for it on the host's).
	#[doc(hidden)]
	pub fn command_port(&self) -> u16 {
		self.exec_port
	}

	/// Runs `argv` in the guest as the task user in `/scratch`, over a connection to its
	/// command port: two threads of the miner's carry it (stdin in, stdout, stderr and the
	/// exit status out). At most [`super::MAX_ENTERED`] at once. A command whose session is
	/// killed loses its connection; one that then neither reads nor writes runs on in the
	/// guest until it ends or the guest does.
	pub fn enter(&self, argv: &[String]) -> Result<super::Entered, ExecError> {
		use std::io::{BufRead, Write};
		let sandbox = |e: std::io::Error| ExecError::Sandbox(e.to_string());
		if let Some(why) = self.ended() {
			return Err(ExecError::Sandbox(format!("the service has ended: {why}")));
		}
		if argv.is_empty() || argv.iter().any(|a| a.contains('\0')) {
			return Err(ExecError::Invalid("an empty command, or NUL in an argument".into()));
		}
		let slot = super::Slot::take(&self.entered)?;
		let mut socket = self.connect_command().map_err(sandbox)?;
		let words: Vec<String> = argv
			.iter()
			.map(|a| format!("x{}", base64::engine::general_purpose::STANDARD.encode(a.as_bytes())))
			.collect();
		socket
			.write_all(format!("{}\n{}\n", self.token, words.join(" ")).as_bytes())
			.map_err(sandbox)?;
		let pipe =
			|| nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sandbox(e.into()));
		let ((stdin, stdin_w), (stdout, out_w), (stderr, err_w)) = (pipe()?, pipe()?, pipe()?);
		let (mut stdin, mut out_w, mut err_w) =
			(std::fs::File::from(stdin), std::fs::File::from(out_w), std::fs::File::from(err_w));
		let (kill, killed) = tokio::sync::oneshot::channel::<()>();
		let (done_tx, done) = tokio::sync::oneshot::channel();
		let mut input = socket.try_clone().map_err(sandbox)?;
		// The buyer's input to the command; its end is the command's end of input.
		std::thread::spawn(move || {
			let _ = std::io::copy(&mut stdin, &mut input);
			let _ = input.shutdown(std::net::Shutdown::Write);
		});
		socket.set_read_timeout(Some(Duration::from_millis(50))).map_err(sandbox)?;
		std::thread::spawn(move || {
			let mut killed = killed;
			let mut reader = std::io::BufReader::new(socket);
			let mut line = Vec::new();
			let lost = "the session with the guest ended without the command's exit status";
			let (code, said) = loop {
				match killed.try_recv() {
					Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {},
					_ => break (-1, ""),
				}
				// A frame is at most ~4 KiB: a command that writes to its socket itself
				// (its stdin is that socket) without line ends gets no more of the miner's
				// memory than that.
				if line.len() > MAX_FRAME {
					break (-1, "the guest sent a line longer than a frame");
				}
				match (&mut reader).take(MAX_FRAME as u64 + 1).read_until(b'\n', &mut line) {
					Ok(0) => break (-1, lost),
					Ok(_) if line.ends_with(b"\n") => {},
					// More of the line to come.
					Ok(_) => continue,
					Err(e)
						if matches!(
							e.kind(),
							std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
						) =>
					{
						continue
					},
					Err(_) => break (-1, lost),
				}
				let text = String::from_utf8_lossy(&line).trim_end().to_string();
				line.clear();
				let decode = |b: &str| base64::engine::general_purpose::STANDARD.decode(b).ok();
				// Anything but a frame (the command writing to its socket) ends the session:
				// the miner does not spend its time reading what it cannot use.
				let written = match text.split_once(' ') {
					Some(("O", body)) => decode(body).map(|b| out_w.write_all(&b)),
					Some(("E", body)) => decode(body).map(|b| err_w.write_all(&b)),
					Some(("X", code)) => match code.trim().parse() {
						Ok(code) => break (code, ""),
						Err(_) => None,
					},
					_ => None,
				};
				match written {
					Some(Ok(())) => {},
					Some(Err(_)) => break (-1, ""),
					None => break (-1, "the guest sent something other than the command's output"),
				}
			};
			let _ = reader.get_ref().shutdown(std::net::Shutdown::Both);
			drop((out_w, err_w));
			// Its place is free before anyone waiting on `done` can ask for it again.
			drop(slot);
			let _ = done_tx.send((code, said.to_string()));
		});
		Ok(super::Entered {
			stdin: std::fs::File::from(stdin_w),
			stdout: std::fs::File::from(stdout),
			stderr: std::fs::File::from(stderr),
			done,
			kill,
		})
	}

	/// Stops the guest and waits until QEMU is gone.
	pub fn stop(&self) {
		if let Some(pid) = *self.guest.lock().expect("not poisoned") {
			let pid = nix::unistd::Pid::from_raw(pid as i32);
			let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
		}
		if let Some(keeper) = self.keeper.lock().expect("not poisoned").take() {
			let _ = keeper.join();
		}
	}
}

impl Drop for VmService {
	fn drop(&mut self) {
		self.stop();
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
