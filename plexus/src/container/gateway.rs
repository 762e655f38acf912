//! The SSH gateway into a running service: the miner's own SSH server (russh) in front of one
//! service, which accepts exactly the buyer's key from the indenture and runs each session's
//! command — or a shell — inside the service with [`Service::enter`]: same namespaces, user,
//! limits and filters as the service itself. The image needs no SSH server, and the gateway
//! holds no capability the service does not have.
//!
//! Its host key is the miner's, published on chain with the lease's address, so a client
//! pins it (`cutopia client ssh` writes it as the only known host) instead of trusting
//! whoever answers at that address first. No PTY is offered: commands and `sh -i` run with
//! pipes, which is what scripted access needs and what `ssh -T` asks for.

use super::{
	places::{Place, Places},
	Entered, Service,
};
use anyhow::{Context, Result};
use russh::{
	keys::{
		ssh_key::{private::Ed25519Keypair, LineEnding},
		PrivateKey, PublicKey,
	},
	server::{
		Auth, ChannelOpenHandle, Config, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
	},
	Channel, ChannelId, ChannelMsg, MethodKind, MethodSet,
};
use std::{
	path::Path,
	sync::{Arc, Weak},
	time::Duration,
};
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::Semaphore};

/// Most connections one gateway holds before they authenticate, in all and per source. The
/// address is public (on chain), so strangers can fill these: a new connection takes the
/// place of an old one as [`super::places`] says — never refused on arrival (before: 16 idle
/// connections, renewed every 20 s, held the buyer out).
const MAX_PENDING: usize = 16;
const MAX_PENDING_PER_SOURCE: usize = 4;
/// Most authenticated connections at once: only the buyer's key gets here.
const MAX_SESSIONS: usize = 8;

/// The miner's SSH host key, kept in `path` (`0600`), made on first use.
pub fn host_key(path: &Path) -> Result<PrivateKey> {
	match std::fs::read_to_string(path) {
		Ok(text) => {
			return PrivateKey::from_openssh(text.as_bytes())
				.with_context(|| format!("{} is not an OpenSSH private key", path.display()))
		},
		// Made only where there is none: a key that cannot be read now is not replaced.
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => {},
		Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
	}
	let seed = crate::work::random32()?;
	let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
	let text = key.to_openssh(LineEnding::LF).context("encoding the host key")?;
	crate::work::write_private(path, text.as_bytes())?;
	Ok(key)
}

/// The public half of `key` as an OpenSSH line without a comment (`ssh-ed25519 AAAA…`): what
/// is published on chain and pinned by clients.
pub fn public_line(key: &PrivateKey) -> Result<String> {
	let mut public = key.public_key().clone();
	public.set_comment("");
	Ok(public.to_openssh()?.trim().to_string())
}

/// The buyer's key from an indenture (an OpenSSH public key line, comment optional).
pub fn authorized_key(line: &[u8]) -> Result<PublicKey> {
	let line = std::str::from_utf8(line).context("the SSH key is not UTF-8")?;
	PublicKey::from_openssh(line.trim()).context("the SSH key is not an OpenSSH public key")
}

/// Most session channels (commands or shells) one connection may open.
const MAX_CHANNELS: usize = 4;

/// How long a connection may take to authenticate: one that has not is closed, so strangers
/// cannot hold the gateway's places for its idle timeout.
const AUTH_DEADLINE: Duration = Duration::from_secs(20);

/// Serves SSH on `listener` until the task is dropped or aborted — which disconnects every
/// session it started: sessions authenticated by `authorized` (and nothing else) run their
/// commands in `service`.
pub async fn serve(
	listener: TcpListener,
	host_key: PrivateKey,
	authorized: PublicKey,
	service: Arc<Service>,
) {
	let config = Arc::new(Config {
		methods: MethodSet::from(&[MethodKind::PublicKey][..]),
		keys: vec![host_key],
		auth_rejection_time: Duration::from_millis(300),
		auth_rejection_time_initial: Some(Duration::ZERO),
		max_auth_attempts: 3,
		inactivity_timeout: Some(Duration::from_secs(600)),
		keepalive_interval: Some(Duration::from_secs(30)),
		..Default::default()
	});
	// Sessions, and this loop, hold the service weakly: a stopped service is kept alive by
	// none of them.
	let service = {
		let weak = Arc::downgrade(&service);
		drop(service);
		weak
	};
	let sessions_left = Arc::new(Semaphore::new(MAX_SESSIONS));
	let pending = Places::new(MAX_PENDING, MAX_PENDING_PER_SOURCE);
	// Dropped with this task: aborts every session's task, whose guards disconnect it.
	let mut sessions = tokio::task::JoinSet::new();
	loop {
		while sessions.try_join_next().is_some() {}
		let Ok((stream, from)) = listener.accept().await else {
			tokio::time::sleep(Duration::from_millis(100)).await;
			continue;
		};
		// A duplicate of the socket, shut down when this connection's task ends however it
		// ends: russh's own task, which holds the stream, ends with it even in a state where
		// it reads no disconnect request (a key exchange left hanging).
		let Ok(hangup) = std::os::fd::AsFd::as_fd(&stream).try_clone_to_owned().map(Hangup) else {
			continue;
		};
		// Admitted (evicting another) before its task exists.
		let place = pending.admit(from.ip());
		let id = place.id();
		let (authed_tx, mut authed) = tokio::sync::watch::channel(false);
		let handler = Gateway {
			authorized: authorized.clone(),
			service: service.clone(),
			authed: authed_tx,
			place,
			channels: 0,
		};
		let (config, sessions_left) = (config.clone(), sessions_left.clone());
		let task = sessions.spawn(async move {
			// Shut down at once if the handshake never finishes; after it, by the guard.
			let hangup = hangup;
			// One deadline for the handshake and the authentication together.
			let deadline = tokio::time::Instant::now() + AUTH_DEADLINE;
			let started = russh::server::run_stream(config, stream, handler);
			let Ok(Ok(session)) = tokio::time::timeout_at(deadline, started).await else {
				return;
			};
			let mut live = Live { session: Some(Box::pin(session)), hangup: Some(hangup) };
			tokio::select! {
				_ = live.ended() => return,
				_ = tokio::time::sleep_until(deadline) => return,
				ok = authed.wait_for(|authed| *authed) => if ok.is_err() { return },
			}
			let Ok(_permit) = sessions_left.try_acquire_owned() else { return };
			live.ended().await;
		});
		pending.started(id, task);
	}
}

/// Shuts its socket down when dropped.
struct Hangup(std::os::fd::OwnedFd);

impl Drop for Hangup {
	fn drop(&mut self) {
		// SAFETY: shutdown(2) on a descriptor this owns.
		unsafe {
			libc::shutdown(std::os::fd::AsRawFd::as_raw_fd(&self.0), libc::SHUT_RDWR);
		}
	}
}

/// A connection past its handshake. Dropped before its session ended (the lease over, the
/// connection evicted or refused a place), it tells the client why, waits up to a second for
/// russh's own task (which would outlive ours) to end the session, then shuts the socket
/// down: a russh task that reads no disconnect request (a key exchange left hanging) ends
/// all the same.
struct Live {
	session: Option<std::pin::Pin<Box<russh::server::RunningSession<Gateway>>>>,
	hangup: Option<Hangup>,
}

impl Live {
	/// Until the session ends.
	async fn ended(&mut self) {
		if let Some(session) = self.session.as_mut() {
			let _ = session.await;
		}
		self.session = None;
	}
}

impl Drop for Live {
	fn drop(&mut self) {
		let (session, hangup) = (self.session.take(), self.hangup.take());
		let (Some(session), Ok(runtime)) = (session, tokio::runtime::Handle::try_current()) else {
			return;
		};
		let handle = session.handle();
		// A runtime shutting down drops this future, and the socket with it.
		runtime.spawn(async move {
			let reason = russh::Disconnect::ByApplication;
			let _ = handle.disconnect(reason, "lease over".into(), "en".into()).await;
			let _ = tokio::time::timeout(Duration::from_secs(1), session).await;
			drop(hangup);
		});
	}
}

/// One connection.
struct Gateway {
	authorized: PublicKey,
	service: Weak<Service>,
	/// Set once the buyer's key has authenticated.
	authed: tokio::sync::watch::Sender<bool>,
	/// Its place among the connections waiting to authenticate.
	place: Place,
	/// Session channels opened so far.
	channels: usize,
}

impl Gateway {
	fn is_authorized(&self, key: &PublicKey) -> bool {
		key.key_data() == self.authorized.key_data()
	}
}

impl Handler for Gateway {
	type Error = russh::Error;

	async fn auth_publickey_offered(
		&mut self,
		_user: &str,
		offer: PublicKeyOffer<'_>,
	) -> Result<Auth, Self::Error> {
		Ok(if self.is_authorized(offer.public_key) { Auth::Accept } else { Auth::reject() })
	}

	async fn auth_publickey(
		&mut self,
		_user: &str,
		key: VerifiedPublicKey<'_>,
	) -> Result<Auth, Self::Error> {
		if !self.is_authorized(key.public_key) {
			return Ok(Auth::reject());
		}
		self.place.leave();
		self.authed.send_replace(true);
		Ok(Auth::Accept)
	}

	async fn channel_open_session(
		&mut self,
		channel: Channel<Msg>,
		reply: ChannelOpenHandle,
		_session: &mut Session,
	) -> Result<(), Self::Error> {
		if self.channels >= MAX_CHANNELS {
			reply.reject(russh::ChannelOpenFailure::ResourceShortage).await;
			return Ok(());
		}
		self.channels += 1;
		reply.accept().await;
		tokio::spawn(drive(channel, self.service.clone()));
		Ok(())
	}

	async fn exec_request(
		&mut self,
		channel: ChannelId,
		_command: &[u8],
		session: &mut Session,
	) -> Result<(), Self::Error> {
		session.channel_success(channel)
	}

	async fn shell_request(
		&mut self,
		channel: ChannelId,
		session: &mut Session,
	) -> Result<(), Self::Error> {
		session.channel_success(channel)
	}

	/// No terminal: refused, so the client goes on with pipes (and says so).
	async fn pty_request(
		&mut self,
		channel: ChannelId,
		_term: &str,
		_col_width: u32,
		_row_height: u32,
		_pix_width: u32,
		_pix_height: u32,
		_modes: &[(russh::Pty, u32)],
		session: &mut Session,
	) -> Result<(), Self::Error> {
		session.channel_failure(channel)
	}
}

/// One session channel: waits for its command (or shell), runs it in the service, and pipes
/// the channel to its stdin and its stdout and stderr back, then sends its exit status.
async fn drive(channel: Channel<Msg>, service: Weak<Service>) {
	let (mut read, write) = channel.split();
	let argv: Vec<String> = loop {
		match read.wait().await {
			Some(ChannelMsg::Exec { command, .. }) => {
				break vec!["/bin/sh".into(), "-c".into(), String::from_utf8_lossy(&command).into()]
			},
			Some(ChannelMsg::RequestShell { .. }) => break vec!["/bin/sh".into(), "-i".into()],
			Some(_) => continue,
			None => return,
		}
	};
	// Starting it waits for a helper process to be spawned: not on the runtime's threads.
	let entered = tokio::task::spawn_blocking(move || match service.upgrade() {
		Some(service) => service.enter(&argv),
		None => Err(super::ExecError::Sandbox("the service has stopped".into())),
	})
	.await;
	let Ok(Ok(Entered { stdin, stdout, stderr, done, kill })) = entered else {
		let why = match entered {
			Ok(Err(e)) => format!("cutopia: cannot run the command: {e}\n"),
			_ => "cutopia: cannot run the command\n".to_string(),
		};
		let _ = write.extended_data_bytes(1, why.into_bytes()).await;
		let _ = write.exit_status(125).await;
		let _ = write.eof().await;
		let _ = write.close().await;
		return;
	};
	use tokio::net::unix::pipe;
	let pipes = (
		pipe::Sender::from_file(stdin),
		pipe::Receiver::from_file(stdout),
		pipe::Receiver::from_file(stderr),
	);
	let (Ok(stdin), Ok(mut stdout), Ok(mut stderr)) = pipes else {
		let _ = kill.send(());
		let _ = write.exit_status(125).await;
		let _ = write.close().await;
		return;
	};
	let mut out_writer = write.make_writer();
	let mut err_writer = write.make_writer_ext(Some(1));
	let out = tokio::spawn(async move {
		let _ = tokio::io::copy(&mut stdout, &mut out_writer).await;
		let _ = out_writer.flush().await;
	});
	let err = tokio::spawn(async move {
		let _ = tokio::io::copy(&mut stderr, &mut err_writer).await;
		let _ = err_writer.flush().await;
	});
	let mut finished = done;
	let mut stdin = Some(stdin);
	let result = loop {
		tokio::select! {
			done = &mut finished => break done.ok(),
			msg = read.wait() => match msg {
				Some(ChannelMsg::Data { data }) => {
					if let Some(pipe) = stdin.as_mut() {
						if pipe.write_all(&data).await.is_err() {
							stdin = None;
						}
					}
				},
				Some(ChannelMsg::Eof) => stdin = None,
				Some(ChannelMsg::Close) | None => {
					// The client left: its command goes too.
					let _ = kill.send(());
					return;
				},
				Some(_) => {},
			},
		}
	};
	let _ = tokio::join!(out, err);
	let (code, said) = result.unwrap_or((-1, String::new()));
	// Why it could not start (a program not found, the service gone), from its helper.
	let said = said.trim();
	if !said.is_empty() {
		let _ = write.extended_data_bytes(1, format!("cutopia: {said}\n").into_bytes()).await;
	}
	let _ = write.exit_status(u32::try_from(code).unwrap_or(255)).await;
	let _ = write.eof().await;
	let _ = write.close().await;
}
