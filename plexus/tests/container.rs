//! The container executor against a real image (busybox-static and a shell), each escape a
//! task might try in its own test. Needs root (or unprivileged user namespaces) and Debian's
//! `busybox-static` (`scripts/setup.sh` installs it).
#![cfg(target_os = "linux")]

use plexus::{
	container::{busybox_image, ContainerExecutor, Images, Quota},
	exec::{ExecError, Job, Output},
};
use std::{
	path::PathBuf,
	sync::OnceLock,
	time::{Duration, Instant},
};

fn images() -> &'static (Images, PathBuf) {
	static IMAGES: OnceLock<(Images, PathBuf)> = OnceLock::new();
	IMAGES.get_or_init(|| {
		let dir = std::env::temp_dir().join(format!("plexus-container-{}", std::process::id()));
		let images = Images::new(dir).unwrap();
		let tar = busybox_image(&[]).unwrap();
		let root = images.unpack(&tar, &plexus::work::sha256(&tar)).unwrap();
		(images, root)
	})
}

fn executor() -> ContainerExecutor {
	ContainerExecutor::new(PathBuf::from(env!("CARGO_BIN_EXE_cutopia"))).unwrap()
}

fn sh(script: &str, quota: Quota) -> Result<Output, ExecError> {
	let argv = ["/bin/sh", "-c", script].map(String::from);
	executor().run(&images().1, &argv, &Job::default(), &quota)
}

fn text(b: &[u8]) -> String {
	String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_command_runs_in_its_image_as_an_unprivileged_user_with_a_private_scratch() {
	let out = sh(
		"id -u; hostname; echo kept > /scratch/f; cat /tmp/f; cat /proc/self/status | grep CapEff; \
		 ls /proc | grep -c '^[0-9]'; echo $CUTOPIA_SEED | head -c 8; echo; exit 7",
		Quota::default(),
	)
	.unwrap();
	let stdout = text(&out.stdout);
	assert_eq!(out.exit_code, 7, "{stdout} {}", text(&out.stderr));
	let lines: Vec<&str> = stdout.lines().collect();
	assert_eq!(lines[0], "1000");
	assert_eq!(lines[1], "cutopia");
	assert_eq!(lines[2], "kept");
	assert_eq!(lines[3].split_whitespace().nth(1), Some("0000000000000000"), "{stdout}");
	// Its own pid namespace: the shell, grep and ls, nothing of the host's.
	assert!(lines[4].parse::<u32>().unwrap() <= 4, "{stdout}");
	assert_eq!(lines[5], "00000000");
	// Nothing is left: the next run starts from an empty scratch.
	let again = sh("ls -A /scratch | wc -l", Quota::default()).unwrap();
	assert_eq!(text(&again.stdout).trim(), "0");
}

#[test]
fn the_hosts_files_are_out_of_reach() {
	let host_shadow = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
	let out = sh(
		"cat /etc/shadow; cat /proc/1/root/etc/shadow; cat ../../../../etc/shadow; \
		 ls /proc/1/root/; cat /proc/1/mountinfo | wc -l; echo done",
		Quota::default(),
	)
	.unwrap();
	let stdout = text(&out.stdout);
	assert!(stdout.ends_with("done\n"), "{stdout}");
	for line in host_shadow.lines().filter(|l| !l.is_empty()) {
		assert!(!stdout.contains(line), "the host's shadow leaked: {line}");
	}
	// The host's root directory is not among what the task can list.
	assert!(!stdout.contains("vmlinuz") && !stdout.contains("lost+found"), "{stdout}");
}

#[test]
fn writes_outside_scratch_are_refused() {
	let out = sh(
		"echo x > /bin/x || echo refused-bin; echo x > /etc/passwd || echo refused-etc; \
		 mkdir /new || echo refused-mkdir; echo x > /proc/sys/kernel/hostname || echo refused-proc; \
		 echo x > /dev/null && echo null-ok",
		Quota::default(),
	)
	.unwrap();
	let stdout = text(&out.stdout);
	for expected in ["refused-bin", "refused-etc", "refused-mkdir", "refused-proc", "null-ok"] {
		assert!(stdout.contains(expected), "{expected} missing: {stdout}");
	}
	let passwd = std::fs::read_to_string(images().1.join("etc/passwd")).unwrap();
	assert!(passwd.starts_with("root:"), "the image was changed: {passwd}");
}

#[test]
fn a_batch_task_cannot_open_a_network_socket() {
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let port = listener.local_addr().unwrap().port();
	listener.set_nonblocking(true).unwrap();
	let out = sh(
		&format!("wget -q -T 2 -O- http://127.0.0.1:{port}/ || echo no-network; nc -w 1 127.0.0.1 {port} </dev/null || echo no-nc"),
		Quota::default(),
	)
	.unwrap();
	assert!(text(&out.stdout).contains("no-network"), "{}", text(&out.stdout));
	assert!(listener.accept().is_err(), "the task reached the host's port");
}

#[test]
fn a_fork_bomb_stops_at_the_process_limit() {
	let quota = Quota { pids: 32, time: Duration::from_secs(20), ..Quota::default() };
	let out = sh(
		// The inner shell dies when a fork fails; the outer one counts with builtins only,
		// since at the limit nothing more can be forked.
		"sh -c 'i=0; while [ $i -lt 100 ]; do sleep 60 & i=$((i+1)); done' 2>/dev/null; \
		 set -- /proc/[0-9]*; echo $#",
		quota.clone(),
	)
	.unwrap();
	let running: u32 = text(&out.stdout)
		.trim()
		.parse()
		.unwrap_or_else(|_| panic!("{out:?} {}", text(&out.stderr)));
	assert!(running <= 32, "{running} processes ran under a limit of 32");
	assert!(running >= 8, "the limit is not that low: {running}");
	// The classic bomb ends with its run, and the next run is not short of processes.
	let started = Instant::now();
	let bomb = sh("b() { b | b & }; b; sleep 2", Quota { time: Duration::from_secs(5), ..quota });
	assert!(started.elapsed() < Duration::from_secs(15), "{bomb:?}");
	let after = sh("echo alive", Quota::default()).unwrap();
	assert_eq!(text(&after.stdout), "alive\n");
}

#[test]
fn a_memory_bomb_is_stopped() {
	let quota = Quota { memory_bytes: 64 << 20, ..Quota::default() };
	let started = Instant::now();
	let out = sh("x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo ${#x}", quota);
	assert!(started.elapsed() < Duration::from_secs(30));
	let memory_cgroup = std::path::Path::new("/sys/fs/cgroup/memory").is_dir()
		|| std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
			.is_ok_and(|c| c.contains("memory"));
	match out {
		Err(ExecError::OutOfMemory) => {},
		// Without a memory cgroup the address-space limit makes the shell fail instead.
		Ok(o) if !memory_cgroup => {
			assert!(!text(&o.stdout).contains("400000000"), "{}", text(&o.stdout))
		},
		other => panic!("{other:?}"),
	}
}

#[test]
fn filling_the_scratch_stops_at_its_cap() {
	let quota = Quota { scratch_bytes: 8 << 20, ..Quota::default() };
	let out =
		sh("head -c 100000000 /dev/zero > /scratch/big; echo $?; wc -c < /scratch/big", quota)
			.unwrap();
	let stdout = text(&out.stdout);
	let mut lines = stdout.lines();
	assert_ne!(lines.next(), Some("0"), "the write succeeded: {stdout}");
	let size: u64 = lines.next().unwrap().trim().parse().unwrap();
	assert!(size <= 8 << 20, "{size} bytes written under an 8 MiB cap");
}

#[test]
fn a_run_past_its_time_is_killed_with_everything_it_started() {
	let started = Instant::now();
	let out = sh("sleep 60 & sleep 60", Quota { time: Duration::from_secs(1), ..Quota::default() });
	assert_eq!(out.err(), Some(ExecError::Timeout));
	assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn output_past_its_bound_stops_the_run() {
	let out = sh("yes", Quota { max_output: 1 << 20, ..Quota::default() });
	assert_eq!(out.err(), Some(ExecError::OutputTooLarge));
}

#[test]
fn namespaces_mounts_and_missing_commands_are_refused() {
	let out = sh(
		"unshare -r true || echo no-unshare; mount -t tmpfs none /scratch || echo no-mount; \
		 chroot / true || echo no-chroot",
		Quota::default(),
	)
	.unwrap();
	let stdout = text(&out.stdout);
	for expected in ["no-unshare", "no-mount", "no-chroot"] {
		assert!(stdout.contains(expected), "{expected} missing: {stdout}");
	}
	let missing = executor().run(
		&images().1,
		&["/bin/no-such-program".to_string()],
		&Job::default(),
		&Quota::default(),
	);
	assert!(
		matches!(missing, Err(ExecError::Invalid(ref m)) if m.contains("no-such-program")),
		"{missing:?}"
	);
}

#[test]
fn a_task_cannot_pass_its_failure_off_as_the_sandboxs() {
	// What the helper once printed on stderr with status 125 when set-up failed: a task
	// doing the same made an honest miner withhold its result (and fail its lease).
	let out = sh("echo 'cutopia-sandbox: setup: forged' >&2; exit 125", Quota::default()).unwrap();
	assert_eq!(out.exit_code, 125);
	// Nor by getting its helper OOM-killed: the task is the OOM killer's first choice.
	let quota = Quota { memory_bytes: 48 << 20, ..Quota::default() };
	let bomb = sh("x=$(head -c 300000000 /dev/zero | tr '\\0' a) & wait; echo survived", quota);
	assert!(!matches!(bomb, Err(ExecError::Sandbox(_))), "{bomb:?}");
}

/// Reads an HTTP response to `GET /name` from `stream` (HTTP/1.0: the server closes).
fn http_get(mut stream: std::net::TcpStream, name: &str) -> String {
	use std::io::{Read, Write};
	stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	write!(stream, "GET /{name} HTTP/1.0\r\n\r\n").unwrap();
	let mut response = String::new();
	let _ = stream.read_to_string(&mut response);
	response
}

/// A service keeps running in its own network namespace: the miner reaches its port there
/// (nothing on the host's loopback does), commands entered into it run as its user with its
/// files, and stopping it ends every process and its scratch.
#[test]
fn a_service_is_reached_in_its_own_network_and_entered_as_its_user() {
	let service = web_service();
	let stream = service.connect(8080).unwrap();
	let response = http_get(stream, "index");
	assert!(response.starts_with("HTTP/1.") && response.ends_with("served\n"), "{response}");
	// Its port is in its own namespace, not on the host's loopback (whatever else may listen
	// there, it is not this service).
	if let Ok(stream) = std::net::TcpStream::connect("127.0.0.1:8080") {
		assert!(!http_get(stream, "index").contains("served"), "the service is on the host");
	}
	// A command entered into it sees its files, as its user, in its pid namespace, and
	// cannot reach the host's network either.
	let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let port = host.local_addr().unwrap().port();
	let script = format!(
		"id; pwd; cat /scratch/www/index; ps -o comm | grep -c httpd; \
		 nc -w 1 127.0.0.1 {port} </dev/null && echo host-reached || echo no-host; \
		 cat /proc/self/status | grep CapEff; read line; echo got $line; exit 3"
	);
	let entered = service.enter(&["/bin/sh".into(), "-c".into(), script]).unwrap();
	{
		use std::io::Write;
		let mut stdin = entered.stdin;
		stdin.write_all(b"hello\n").unwrap();
	}
	let mut out = String::new();
	std::io::Read::read_to_string(&mut { entered.stdout }, &mut out).unwrap();
	let (code, said) = entered.done.blocking_recv().unwrap();
	assert_eq!(code, 3, "{out} {said}");
	let lines: Vec<&str> = out.lines().collect();
	assert!(lines[0].starts_with("uid=1000(task) gid=1000"), "{out}");
	assert_eq!(&lines[1..4], ["/scratch", "served", "1"], "{out}");
	assert_eq!(lines[4], "no-host", "{out}");
	assert_eq!(lines[5].split_whitespace().nth(1), Some("0000000000000000"), "{out}");
	assert_eq!(lines[6], "got hello", "{out}");
	// A program that does not exist is the command's failure, said as such.
	let missing = service.enter(&["no-such-program".into()]).unwrap();
	let (code, said) = missing.done.blocking_recv().unwrap();
	assert_eq!(code, 125);
	assert!(said.contains("not found"), "{said}");
	// Stopped: a connection held open to it is closed at once, not at its idle timeout.
	let mut idle = service.connect(8080).unwrap();
	idle.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
	let stopping = Instant::now();
	service.stop();
	let mut byte = [0u8; 1];
	let read = std::io::Read::read(&mut idle, &mut byte);
	assert!(read.is_err() || read.is_ok_and(|n| n == 0), "still served");
	assert!(stopping.elapsed() < Duration::from_secs(10), "{:?}", stopping.elapsed());
	// A reference left over (an SSH session still open) reaches nothing of it any more:
	// its namespaces, and with them its scratch, are gone.
	assert!(service.connect(8080).is_err());
	assert!(service.enter(&["/bin/true".into()]).is_err());
}

/// Commands entered into one service are bounded (each holds a thread and a process of the
/// miner's): the 33rd waits for one of the 32 to end; one that ends frees its place.
#[test]
fn commands_entered_into_a_service_are_bounded() {
	let service = web_service();
	let sleep = ["/bin/sleep".to_string(), "30".to_string()];
	let mut running: Vec<_> = (0..32).map(|_| service.enter(&sleep).unwrap()).collect();
	// All of them run (none has ended for want of a process).
	std::thread::sleep(Duration::from_millis(300));
	for entered in &mut running {
		assert!(entered.done.try_recv().is_err(), "a command ended early");
	}
	let refused = service.enter(&sleep).err().expect("a 33rd command refused");
	assert!(refused.to_string().contains("already run"), "{refused}");
	let first = running.remove(0);
	first.kill.send(()).unwrap();
	let (code, _) = first.done.blocking_recv().unwrap();
	assert_eq!(code, -1, "killed");
	service.enter(&["/bin/true".into()]).expect("a place again");
	drop(running);
	service.stop();
}

/// Connections to a service's published port are bounded, but a stranger holding open more
/// than all of them does not keep others out: a new connection takes the place of the
/// oldest from its own source.
#[test]
fn a_stranger_cannot_hold_every_forwarded_place() {
	let service = std::sync::Arc::new(web_service());
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
	let port = listener.local_addr().unwrap().port();
	runtime.spawn(plexus::container::forward(listener, service.clone()));
	let idle: Vec<_> =
		(0..300).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
	std::thread::sleep(Duration::from_millis(300));
	let response = http_get(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap(), "index");
	assert!(response.ends_with("served\n"), "{response}");
	drop(idle);
	drop(runtime);
	service.stop();
}

/// A service whose index page says `served`, started and listening.
fn web_service() -> plexus::container::Service {
	let argv = [
		"/bin/sh",
		"-c",
		"mkdir -p /scratch/www && echo served > /scratch/www/index && \
		 exec httpd -f -p 127.0.0.1:8080 -h /scratch/www",
	]
	.map(String::from);
	// As many processes as the miner gives a service.
	let quota = Quota { pids: 256, ..Quota::default() };
	let service = executor().start_service(&images().1, &argv, &Job::default(), &quota).unwrap();
	let started = Instant::now();
	while service.connect(8080).is_err() {
		assert!(started.elapsed() < Duration::from_secs(10), "the service never listened");
		std::thread::sleep(Duration::from_millis(50));
	}
	service
}

/// A fresh ed25519 key pair made by the system's `ssh-keygen`: (private key file, public line).
fn client_key(dir: &std::path::Path, name: &str) -> (PathBuf, String) {
	let path = dir.join(name);
	let made = std::process::Command::new("ssh-keygen")
		.args(["-q", "-t", "ed25519", "-N", "", "-C", "buyer", "-f"])
		.arg(&path)
		.status()
		.unwrap();
	assert!(made.success());
	let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
	(path, public.trim().to_string())
}

/// Runs the system's `ssh` against `port` with `key`, trusting only `known` as the host key.
fn ssh(port: u16, key: &std::path::Path, known: &str, command: &str) -> std::process::Output {
	let dir = key.parent().unwrap();
	let known_hosts = dir.join(format!("known-{port}"));
	std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {known}\n")).unwrap();
	std::process::Command::new("ssh")
		.args(["-T", "-p", &port.to_string(), "-i"])
		.arg(key)
		.arg("-o")
		.arg(format!("UserKnownHostsFile={}", known_hosts.display()))
		.args([
			"-o",
			"StrictHostKeyChecking=yes",
			"-o",
			"BatchMode=yes",
			"-o",
			"IdentitiesOnly=yes",
			"-o",
			"ConnectTimeout=10",
			"-F",
			"/dev/null",
			"task@127.0.0.1",
			command,
		])
		.stdin(std::process::Stdio::null())
		.output()
		.unwrap()
}

/// The buyer's key, and only it, gets a command run inside the service through the gateway,
/// with the command's output, errors and exit status; the client pins the published host
/// key, so a gateway with another key is refused by the client.
#[test]
fn the_buyers_key_runs_commands_in_the_service_through_the_gateway() {
	use plexus::container::gateway;
	let service = std::sync::Arc::new(web_service());
	let dir = std::env::temp_dir().join(format!("plexus-gateway-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let host_key = gateway::host_key(&dir.join("host_key")).unwrap();
	// Made once, then the same key on every start.
	let again = gateway::host_key(&dir.join("host_key")).unwrap();
	assert_eq!(gateway::public_line(&host_key).unwrap(), gateway::public_line(&again).unwrap());
	let published = gateway::public_line(&host_key).unwrap();
	assert!(published.starts_with("ssh-ed25519 "), "{published}");
	let (buyer, buyer_public) = client_key(&dir, "buyer");
	let (stranger, _) = client_key(&dir, "stranger");
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
	let port = listener.local_addr().unwrap().port();
	let authorized = gateway::authorized_key(buyer_public.as_bytes()).unwrap();
	let gateway = runtime.spawn(gateway::serve(listener, host_key, authorized, service.clone()));

	let out =
		ssh(port, &buyer, &published, "id; pwd; cat /scratch/www/index; echo oops >&2; exit 4");
	let stdout = text(&out.stdout);
	assert_eq!(out.status.code(), Some(4), "{stdout} {}", text(&out.stderr));
	assert!(stdout.starts_with("uid=1000(task) gid=1000"), "{stdout}");
	assert!(stdout.ends_with("/scratch\nserved\n"), "{stdout}");
	assert!(text(&out.stderr).contains("oops"), "{}", text(&out.stderr));
	// Strangers holding connections open that never authenticate (more than the gateway
	// keeps pending) do not keep the buyer out: the newest takes the oldest one's place.
	let idle: Vec<_> =
		(0..40).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
	std::thread::sleep(Duration::from_millis(300));
	let out = ssh(port, &buyer, &published, "echo still in");
	assert_eq!(text(&out.stdout), "still in\n", "{}", text(&out.stderr));
	drop(idle);
	// What the session writes, the service sees.
	let out = ssh(port, &buyer, &published, "echo changed > /scratch/www/index");
	assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
	assert!(http_get(service.connect(8080).unwrap(), "index").ends_with("changed\n"));
	// Another key is refused; so is a host key other than the published one (by the client).
	let out = ssh(port, &stranger, &published, "echo in");
	assert_eq!(out.status.code(), Some(255), "{}", text(&out.stdout));
	assert!(text(&out.stderr).contains("Permission denied"), "{}", text(&out.stderr));
	let (_, other_host) = client_key(&dir, "other-host");
	let out = ssh(port, &buyer, &other_host, "echo in");
	assert_eq!(out.status.code(), Some(255), "{}", text(&out.stdout));
	assert!(text(&out.stderr).contains("HOST IDENTIFICATION"), "{}", text(&out.stderr));
	// A missing program is the command's failure, said on stderr.
	let out = ssh(port, &buyer, &published, "exec no-such-program");
	assert_ne!(out.status.code(), Some(0));
	// The gateway stopped (the lease is over): an open session is told so and ended.
	let known_hosts = dir.join("known-open");
	std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {published}\n")).unwrap();
	let mut open = std::process::Command::new("ssh")
		.args(["-T", "-p", &port.to_string(), "-i"])
		.arg(&buyer)
		.arg("-o")
		.arg(format!("UserKnownHostsFile={}", known_hosts.display()))
		.args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null"])
		.args(["task@127.0.0.1", "echo open; sleep 60"])
		.stdin(std::process::Stdio::null())
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.unwrap();
	let mut stdout = std::io::BufReader::new(open.stdout.take().unwrap());
	let mut line = String::new();
	std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
	assert_eq!(line, "open\n");
	let stopped = Instant::now();
	gateway.abort();
	let mut said = String::new();
	std::io::Read::read_to_string(&mut open.stderr.take().unwrap(), &mut said).unwrap();
	assert!(said.contains("lease over"), "{said}");
	assert!(!open.wait().unwrap().success());
	assert!(stopped.elapsed() < Duration::from_secs(10), "{:?}", stopped.elapsed());
	drop(runtime);
	service.stop();
	std::fs::remove_dir_all(dir).unwrap();
}
