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

fn http_get(mut stream: std::net::TcpStream, name: &str) -> String {
	use std::io::{Read, Write};
	stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let _ = write!(stream, "GET /{name} HTTP/1.0\r\n\r\n");
	let mut response = String::new();
	let _ = stream.read_to_string(&mut response);
	response
}

/// A service in a guest: reached at its forwarded port, entered as its user (stdin in;
/// stdout, stderr and the exit status out) only by the miner, which holds its token; its end
/// is seen; stopped, it is gone.
#[test]
fn a_service_runs_in_a_guest_reached_at_its_port_and_entered_as_its_user() {
	let vm = match MicroVmExecutor::detect(true) {
		Ok(vm) => vm,
		Err(e) => {
			eprintln!("skipping the microVM service test: {e:#}");
			return;
		},
	};
	let dir = std::env::temp_dir().join(format!("plexus-vm-service-{}", std::process::id()));
	let images = Images::new(dir.clone()).unwrap();
	let tar = busybox_image(&[]).unwrap();
	let root = images.unpack(&tar, &plexus::work::sha256(&tar)).unwrap();
	let quota =
		Quota { memory_bytes: 128 << 20, time: Duration::from_secs(90), ..Quota::default() };
	let job = Job { seed: [7; 32], ..Job::default() };
	let argv = [
		"/bin/sh",
		"-c",
		"mkdir -p /scratch/www && echo served > /scratch/www/index && \
		 exec httpd -f -p $PORT -h /scratch/www",
	]
	.map(String::from);
	let started = Instant::now();
	let service = vm.start_service(&root, &argv, &job, &quota).unwrap();
	let up = started.elapsed();
	let service = plexus::container::Service::MicroVm(service);
	// The guest is up before its command listens: asked until it answers.
	let response = loop {
		let response = service.connect(8080).map(|s| http_get(s, "index")).unwrap_or_default();
		if response.ends_with("served\n") || started.elapsed() > Duration::from_secs(60) {
			break response;
		}
		std::thread::sleep(Duration::from_millis(100));
	};
	assert!(response.starts_with("HTTP/1."), "{response}");
	eprintln!(
		"microVM service ({:?}): guest up after {:.0} ms, first answer after {:.0} ms",
		vm.accel(),
		up.as_secs_f64() * 1e3,
		started.elapsed().as_secs_f64() * 1e3
	);

	let script = "id; pwd; cat /scratch/www/index; read line; echo got $line; \
	              nc -w 1 10.0.2.2 22 </dev/null && echo host-reached || echo no-host; \
	              echo oops >&2; exit 3";
	let entered = service.enter(&["/bin/sh".into(), "-c".into(), script.into()]).unwrap();
	{
		use std::io::Write;
		let mut stdin = entered.stdin;
		stdin.write_all(b"hello\n").unwrap();
	}
	let mut out = String::new();
	std::io::Read::read_to_string(&mut { entered.stdout }, &mut out).unwrap();
	let mut err = String::new();
	std::io::Read::read_to_string(&mut { entered.stderr }, &mut err).unwrap();
	let (code, _) = entered.done.blocking_recv().unwrap();
	assert_eq!(code, 3, "{out} {err}");
	let lines: Vec<&str> = out.lines().collect();
	assert!(lines[0].starts_with("uid=1000(task) gid=1000"), "{out}");
	assert_eq!(&lines[1..], ["/scratch", "served", "got hello", "no-host"], "{out}");
	assert!(err.ends_with("oops\n"), "{err}");
	// Bytes that are not text, and more than one frame of them, come back as they were.
	let entered = service
		.enter(&[
			"/bin/sh".into(),
			"-c".into(),
			"head -c 20000 /dev/urandom | tee /scratch/r; sha256sum /scratch/r >&2".into(),
		])
		.unwrap();
	drop(entered.stdin);
	let mut bytes = Vec::new();
	std::io::Read::read_to_end(&mut { entered.stdout }, &mut bytes).unwrap();
	let mut sum = String::new();
	std::io::Read::read_to_string(&mut { entered.stderr }, &mut sum).unwrap();
	assert_eq!(entered.done.blocking_recv().unwrap().0, 0);
	assert_eq!(bytes.len(), 20000);
	assert!(sum.starts_with(&plexus::results::hex(&plexus::work::sha256(&bytes))), "{sum}");
	// A command writing to its own socket (its stdin) past any frame's length is cut off: the
	// miner holds no more of it than a frame.
	let flood = "exec 3<&0; head -c 100000 /dev/zero | tr '\\0' a >&3; sleep 30";
	let entered = service.enter(&["/bin/sh".into(), "-c".into(), flood.into()]).unwrap();
	let cut = Instant::now();
	assert_eq!(entered.done.blocking_recv().unwrap().0, -1);
	assert!(cut.elapsed() < Duration::from_secs(20), "{:?}", cut.elapsed());
	// Knocking on the guest's command port without the token gets nothing run; and where it may,
	// the miner keeps QEMU's ports off the host's loopback altogether.
	if let plexus::container::Service::MicroVm(vm_service) = &service {
		use std::io::{Read, Write};
		let mut knock = vm_service.knock().unwrap();
		knock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
		let _ = knock.write_all(b"guess\nxL2Jpbi9zaA== xLWM= xZWNobyBpbg==\n");
		let mut reply = Vec::new();
		let _ = knock.read_to_end(&mut reply);
		assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
		// Saying nothing is not a way to hold a guest process: closed after 2 s.
		let mut silent = vm_service.knock().unwrap();
		silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
		let waited = Instant::now();
		let _ = silent.read_to_end(&mut reply);
		assert!(waited.elapsed() < Duration::from_secs(10), "{:?}", waited.elapsed());
		eprintln!("ports in a network namespace of QEMU's own: {}", vm.isolates_services());
		if vm.isolates_services() {
			assert!(vm_service.isolated());
			let host = ("127.0.0.1", vm_service.command_port());
			assert!(std::net::TcpStream::connect(host).is_err(), "the command port is on the host");
		}
	}
	// An empty argument stays one; NUL cannot be carried.
	let entered = service
		.enter(&["/bin/sh".into(), "-c".into(), "echo [$1] $#".into(), "zero".into(), "".into()])
		.unwrap();
	let mut out = String::new();
	std::io::Read::read_to_string(&mut { entered.stdout }, &mut out).unwrap();
	assert_eq!(out, "[] 1\n");
	assert!(service.enter(&["/bin/echo".into(), "a\0b".into()]).is_err());
	// Stopped: gone, and nothing more can be entered.
	let stopping = Instant::now();
	service.stop();
	assert!(stopping.elapsed() < Duration::from_secs(10), "{:?}", stopping.elapsed());
	assert!(service.ended().is_some());
	assert!(service.connect(8080).is_err());
	assert!(service.enter(&["/bin/true".into()]).is_err());

	// A command that exits ends the service, and the miner hears how.
	let exits = ["/bin/sh", "-c", "sleep 1; exit 7"].map(String::from);
	let service = vm.start_service(&root, &exits, &job, &quota).unwrap();
	let waiting = Instant::now();
	while service.ended().is_none() && waiting.elapsed() < Duration::from_secs(60) {
		std::thread::sleep(Duration::from_millis(100));
	}
	assert_eq!(service.ended().as_deref(), Some("it exited (exit status: 7)"));
	drop(service);
	let _ = std::fs::remove_dir_all(dir);
}

/// Run as a child process by the test below: starts a service guest, says QEMU's pid, and
/// waits to be killed.
#[test]
fn service_guest_of_a_process_to_be_killed() {
	if std::env::var_os("CUTOPIA_TEST_CHILD").is_none() {
		return;
	}
	let vm = MicroVmExecutor::detect(true).unwrap();
	let dir = std::env::temp_dir().join(format!("plexus-vm-orphan-{}", std::process::id()));
	let images = Images::new(dir).unwrap();
	let tar = busybox_image(&[]).unwrap();
	let root = images.unpack(&tar, &plexus::work::sha256(&tar)).unwrap();
	let quota = Quota { memory_bytes: 64 << 20, time: Duration::from_secs(90), ..Quota::default() };
	let argv = ["/bin/sleep", "600"].map(String::from);
	let service = vm.start_service(&root, &argv, &Job::default(), &quota).unwrap();
	// From another thread than the one that started it: the guest must live as long as the
	// service, not as long as whichever thread asked for it.
	let pid = std::thread::spawn(move || {
		let pid = service.qemu_pid().unwrap();
		std::mem::forget(service);
		pid
	})
	.join()
	.unwrap();
	std::thread::sleep(Duration::from_secs(2));
	println!("QEMU-PID {pid}");
	std::thread::sleep(Duration::from_secs(600));
}

/// A miner killed while it serves leaves no guest running: QEMU dies with it.
#[test]
fn a_killed_miner_leaves_no_guest_behind() {
	if std::env::var_os("CUTOPIA_TEST_CHILD").is_some() {
		return;
	}
	if let Err(e) = MicroVmExecutor::detect(true) {
		eprintln!("skipping: {e:#}");
		return;
	}
	let mut child = std::process::Command::new(std::env::current_exe().unwrap())
		.args(["--exact", "service_guest_of_a_process_to_be_killed", "--nocapture"])
		.env("CUTOPIA_TEST_CHILD", "1")
		.stdout(std::process::Stdio::piped())
		.spawn()
		.unwrap();
	let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
	let pid = loop {
		let mut line = String::new();
		assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "no pid said");
		if let Some(pid) = line.trim().strip_prefix("QEMU-PID ") {
			break pid.to_string();
		}
	};
	// Alive after the thread that asked for it ended…
	assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
	child.kill().unwrap();
	child.wait().unwrap();
	// …and gone with the process.
	let killed = Instant::now();
	while std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.contains("qemu"))
	{
		assert!(killed.elapsed() < Duration::from_secs(10), "QEMU {pid} outlived its miner");
		std::thread::sleep(Duration::from_millis(100));
	}
}
