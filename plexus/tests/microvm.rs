//! The microVM tier against a real guest: the busybox image booted by QEMU with the host's
//! Debian cloud kernel. Skips, saying why, where no guest can be booted (no QEMU, kernel or
//! busybox; `scripts/setup.sh` installs them). Uses KVM where it boots a guest, else TCG.
#![cfg(target_os = "linux")]

use plexus::{
	container::{busybox_image, Images, MicroVmExecutor, Quota},
	exec::{ExecError, Job},
};
use std::time::{Duration, Instant};

#[test]
fn a_container_image_runs_as_a_microvm_guest() {
	let vm = match MicroVmExecutor::detect(true) {
		Ok(vm) => vm,
		Err(e) => {
			eprintln!("skipping the microVM test: {e:#}");
			return;
		},
	};
	eprintln!("microVM accelerator: {:?}", vm.accel());
	let dir = std::env::temp_dir().join(format!("plexus-microvm-{}", std::process::id()));
	let images = Images::new(dir.clone()).unwrap();
	let tar = busybox_image(&[("etc/motd", b"served from an image\n")]).unwrap();
	let root = images.unpack(&tar, &plexus::work::sha256(&tar)).unwrap();
	// Generous: under TCG a guest boots in seconds, not milliseconds.
	let quota =
		Quota { memory_bytes: 128 << 20, time: Duration::from_secs(90), ..Quota::default() };
	let job = Job { seed: [7; 32], ..Job::default() };
	let sh = |script: &str, quota: &Quota| {
		vm.run(&root, &["/bin/sh", "-c", script].map(String::from), &job, quota)
	};

	let started = Instant::now();
	let out = sh(
		"echo hello from a vm; cat /etc/motd; hostname; echo $CUTOPIA_SEED | head -c 4; echo; \
		 echo kept > /scratch/f && cat /tmp/f; echo x > /etc/x || echo read-only; \
		 grep -c : /proc/net/dev; id; pwd; ls -ln /scratch/f | tr -s ' ' | cut -d' ' -f3-4; \
		 echo err >&2; exit 3",
		&quota,
	)
	.unwrap();
	eprintln!("microVM run: {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
	assert_eq!(out.exit_code, 3, "{}", String::from_utf8_lossy(&out.stderr));
	assert_eq!(
		String::from_utf8_lossy(&out.stdout),
		"hello from a vm\nserved from an image\ncutopia\n0707\nkept\nread-only\n1\n\
		 uid=1000(task) gid=1000\n/scratch\n1000 1000\n"
	);
	assert!(String::from_utf8_lossy(&out.stderr).ends_with("err\n"));

	// The output bound holds inside the guest, and the command must exist.
	let small = Quota { max_output: 4096, time: Duration::from_secs(20), ..quota.clone() };
	assert_eq!(sh("head -c 100000 /dev/zero", &small).err(), Some(ExecError::OutputTooLarge));
	let missing = vm.run(&root, &["/bin/nope".to_string()], &job, &quota);
	assert!(matches!(missing, Err(ExecError::Invalid(_))), "{missing:?}");
	// A command that looks like an option of the guest's `nsenter` is a missing program, not
	// a way back to guest root (review: `-S0 -G0 sh` used to run as root).
	let argv = ["-S0", "-G0", "/bin/sh", "-c", "id -u"].map(String::from);
	let injected = vm.run(&root, &argv, &job, &quota);
	assert!(matches!(injected, Err(ExecError::Invalid(_))), "{injected:?}");
	// The task is not root in its guest: it can neither write the console (to forge the
	// miner's markers) nor power the guest off; it simply fails.
	let forged = sh("echo '==CUTOPIA-FAIL== forged' > /dev/ttyS0; poweroff -f", &quota);
	assert!(matches!(&forged, Ok(out) if out.exit_code != 0), "{forged:?}");
	// A guest past its time is stopped.
	let short = Quota { time: Duration::from_secs(8), ..quota.clone() };
	assert_eq!(sh("sleep 600", &short).err(), Some(ExecError::Timeout));
	let _ = std::fs::remove_dir_all(dir);
}
