//! Where results live. A miner keeps each task's stdout in `<dir>/<indenture>/<sha256>` and
//! serves that directory read-only over HTTP on its registered endpoint:
//! `GET http://<endpoint>/results/<indenture>/<sha256 hex>`. The chain holds only the hash; the
//! buyer fetches the bytes from any miner of the indenture and checks them against it
//! (`cutopia client result`), so a miner cannot serve something else.

use anyhow::{anyhow, bail, Context, Result};
use std::{
	path::{Path, PathBuf},
	sync::{Arc, OnceLock},
	time::Duration,
};
use tokio::{
	io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
	net::{TcpListener, TcpStream},
};
use tokio_rustls::rustls::{self, pki_types::ServerName, ClientConfig};

pub fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A miner's results directory.
#[derive(Clone)]
pub struct ResultStore {
	pub dir: PathBuf,
}

impl ResultStore {
	pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
		let dir = dir.into();
		std::fs::create_dir_all(&dir)
			.with_context(|| format!("cannot create {}", dir.display()))?;
		Ok(Self { dir })
	}

	fn path(&self, indenture: u64, hash: &[u8; 32]) -> PathBuf {
		self.dir.join(indenture.to_string()).join(hex(hash))
	}

	/// Stores `output` under its hash (write to a temporary name, then rename).
	pub fn put(&self, indenture: u64, output: &[u8]) -> Result<[u8; 32]> {
		let hash = crate::work::sha256(output);
		let path = self.path(indenture, &hash);
		std::fs::create_dir_all(path.parent().expect("has a parent"))?;
		let tmp = path.with_extension("tmp");
		std::fs::write(&tmp, output)?;
		std::fs::rename(&tmp, &path)?;
		Ok(hash)
	}

	/// The result of `indenture` this miner already has, if any (after a restart).
	pub fn find(&self, indenture: u64) -> Option<[u8; 32]> {
		let entries = std::fs::read_dir(self.dir.join(indenture.to_string())).ok()?;
		entries.filter_map(|e| e.ok()).find_map(|e| {
			let name = e.file_name().into_string().ok()?;
			let bytes: Vec<u8> = (0..name.len())
				.step_by(2)
				.map(|i| u8::from_str_radix(name.get(i..i + 2)?, 16).ok())
				.collect::<Option<_>>()?;
			bytes.try_into().ok()
		})
	}

	/// Serves the directory on `listener` until the task is dropped.
	pub async fn serve(self, listener: TcpListener) {
		loop {
			let Ok((stream, _)) = listener.accept().await else { continue };
			let store = self.clone();
			tokio::spawn(async move {
				let _ = store.answer(stream).await;
			});
		}
	}

	async fn answer(&self, mut stream: TcpStream) -> Result<()> {
		let mut buf = vec![0u8; 2048];
		let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
			.await??;
		let request = String::from_utf8_lossy(&buf[..n]);
		let path = request
			.lines()
			.next()
			.and_then(|l| l.strip_prefix("GET "))
			.and_then(|l| l.split(' ').next())
			.unwrap_or("");
		// Only `/results/<digits>/<64 hex>`: nothing else on the disk can be named.
		let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
		let body = match parts.as_slice() {
			["results", id, hash]
				if !id.is_empty()
					&& id.chars().all(|c| c.is_ascii_digit())
					&& hash.len() == 64
					&& hash.chars().all(|c| c.is_ascii_hexdigit()) =>
			{
				std::fs::read(self.dir.join(id).join(hash.to_ascii_lowercase())).ok()
			},
			_ => None,
		};
		let response = match body {
			Some(b) => {
				// Any origin may read it (and see a 404 as one): results are public to whoever
				// reaches the miner and knows the hash the chain publishes, and the console
				// checks them in the buyer's browser.
				let mut r = format!(
					"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
					b.len()
				)
				.into_bytes();
				r.extend(b);
				r
			},
			None => {
				b"HTTP/1.1 404 Not Found\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
			},
		};
		stream.write_all(&response).await?;
		Ok(())
	}
}

/// `GET http://<host:port><path>`; the body, or an error with the status.
pub async fn http_get(endpoint: &str, path: &str) -> Result<Vec<u8>> {
	http_get_limited(endpoint, path, MAX_RESULT).await
}

/// Most bytes of a result or task module fetched over HTTP.
pub const MAX_RESULT: u64 = 64 << 20;

/// `GET path` from `endpoint` (`host:port`, or `http://host[:port]`), refusing a body of more
/// than `max_body` bytes: whoever serves it may be an adversary that wants to fill the
/// fetcher's memory.
pub async fn http_get_limited(endpoint: &str, path: &str, max_body: u64) -> Result<Vec<u8>> {
	let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
	get_limited(host, path, max_body, None).await
}

/// TLS for `https://` fetches: the system's root certificates (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` name others, as they do for OpenSSL), read once per process.
pub fn tls_client() -> Result<Arc<ClientConfig>> {
	static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
	CONFIG
		.get_or_init(|| {
			let found = rustls_native_certs::load_native_certs();
			let mut roots = rustls::RootCertStore::empty();
			let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
			if added == 0 {
				let why = found.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
				return Err(format!("no trusted root certificate for https:// found{why}"));
			}
			tls_client_trusting(roots).map_err(|e| format!("{e:#}"))
		})
		.clone()
		.map_err(|e| anyhow!(e))
}

/// A TLS client that trusts exactly `roots` (ring, TLS 1.2 and 1.3).
pub fn tls_client_trusting(roots: rustls::RootCertStore) -> Result<Arc<ClientConfig>> {
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	Ok(Arc::new(
		ClientConfig::builder_with_provider(provider)
			.with_safe_default_protocol_versions()?
			.with_root_certificates(roots)
			.with_no_client_auth(),
	))
}

/// `host` and `port` of `host[:port]` (`[v6]:port` too), with `default_port` when none is
/// given: the connection needs the port, TLS the bare name.
fn host_and_port(authority: &str, default_port: u16) -> Result<(&str, u16)> {
	let bad = || anyhow!("{authority:?} is not host[:port]");
	if let Some(rest) = authority.strip_prefix('[') {
		let (host, after) = rest.split_once(']').ok_or_else(bad)?;
		return match after.strip_prefix(':') {
			Some(port) => Ok((host, port.parse().map_err(|_| bad())?)),
			None if after.is_empty() => Ok((host, default_port)),
			None => Err(bad()),
		};
	}
	match authority.rsplit_once(':') {
		Some((host, port)) if !host.contains(':') => Ok((host, port.parse().map_err(|_| bad())?)),
		Some(_) => Err(bad()),
		None if authority.is_empty() => Err(bad()),
		None => Ok((authority, default_port)),
	}
}

/// `GET path` from `authority` over plain TCP, or over TLS with `tls` (the server's
/// certificate checked for the authority's host name).
async fn get_limited(
	authority: &str,
	path: &str,
	max_body: u64,
	tls: Option<Arc<ClientConfig>>,
) -> Result<Vec<u8>> {
	let (host, port) = host_and_port(authority, if tls.is_some() { 443 } else { 80 })?;
	let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect((host, port)))
		.await
		.map_err(|_| anyhow!("{authority}: connection timed out"))?
		.with_context(|| format!("cannot connect to {authority}"))?;
	match tls {
		None => exchange(tcp, authority, path, max_body).await,
		Some(config) => {
			let name = ServerName::try_from(host.to_string())
				.map_err(|_| anyhow!("{host:?} is not a host name TLS can check"))?;
			let stream = tokio::time::timeout(
				Duration::from_secs(10),
				tokio_rustls::TlsConnector::from(config).connect(name, tcp),
			)
			.await
			.map_err(|_| anyhow!("{authority}: TLS handshake timed out"))?
			.with_context(|| format!("TLS with {authority}"))?;
			exchange(stream, authority, path, max_body).await
		},
	}
}

/// One HTTP/1.1 request and its response's body.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
	mut stream: S,
	host: &str,
	path: &str,
	max_body: u64,
) -> Result<Vec<u8>> {
	stream
		.write_all(
			// HTTP/1.0: the body comes whole, never chunked, and the server closes after it.
			format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
		)
		.await?;
	// The head is small; 64 KiB over the body's bound leaves room for it.
	let cap = max_body.saturating_add(64 << 10);
	let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
	let mut response: Vec<u8> = Vec::with_capacity(64 << 10);
	let mut chunk = vec![0u8; 64 << 10];
	// Once the head is in: where it ends, and where a body of its Content-Length ends.
	let mut head_end: Option<usize> = None;
	let mut end: Option<u64> = None;
	loop {
		// A server that sent the whole body but keeps the connection open is not waited on.
		if end.is_some_and(|end| response.len() as u64 >= end) {
			break;
		}
		let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
			.await
			.map_err(|_| anyhow!("{host}: response timed out"))?;
		let n = match read {
			Ok(0) => break,
			Ok(n) => n,
			// A TLS server that closes without close_notify: what arrived is kept (its length
			// is checked against the head below, and every fetched body against its SHA-256).
			Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
			Err(e) => return Err(e).with_context(|| format!("reading from {host}")),
		};
		let searched_to = response.len().saturating_sub(3);
		response.extend_from_slice(&chunk[..n]);
		if response.len() as u64 > cap {
			bail!("{host}{path}: the response is larger than {max_body} bytes");
		}
		if head_end.is_none() {
			head_end = response[searched_to..]
				.windows(4)
				.position(|w| w == b"\r\n\r\n")
				.map(|at| searched_to + at);
			if let Some(at) = head_end {
				let length =
					header(&response[..at], "content-length").and_then(|v| v.parse::<u64>().ok());
				if let Some(length) = length {
					// Refused before its bytes arrive rather than after.
					if length > max_body {
						bail!("{host}{path}: the response is larger than {max_body} bytes");
					}
					response.reserve(length as usize);
					end = Some(at as u64 + 4 + length);
				}
			}
		}
	}
	let head_end = head_end.ok_or_else(|| anyhow!("{host}: not an HTTP response"))?;
	let head = String::from_utf8_lossy(&response[..head_end]);
	let status = head.lines().next().unwrap_or("");
	// `HTTP/1.1 200 OK`: the code is the second field of the status line.
	if status.split_ascii_whitespace().nth(1) != Some("200") {
		bail!("{host}{path}: {status}");
	}
	if let Some(coding) = header(&response[..head_end], "transfer-encoding") {
		bail!("{host}{path}: the body is sent {coding}, which this fetcher does not decode");
	}
	// The Content-Length the head announced, as the read loop found it.
	let length = end.map(|end| end - head_end as u64 - 4);
	// The body stays in the buffer it was read into (no second copy of up to a GiB).
	response.drain(..head_end + 4);
	if response.len() as u64 > max_body {
		bail!("{host}{path}: the response is larger than {max_body} bytes");
	}
	if let Some(length) = length {
		if response.len() as u64 != length {
			bail!("{host}{path}: {} bytes of a {length}-byte body arrived", response.len());
		}
	}
	Ok(response)
}

/// The value of header `wanted` (any case) in an HTTP head, when the head has it.
fn header(head: &[u8], wanted: &str) -> Option<String> {
	String::from_utf8_lossy(head).lines().skip(1).find_map(|line| {
		let (name, value) = line.split_once(':')?;
		name.trim().eq_ignore_ascii_case(wanted).then(|| value.trim().to_string())
	})
}

/// Fetches the result of `indenture` with `hash` from a miner at `endpoint` and checks it.
pub async fn fetch(endpoint: &str, indenture: u64, hash: &[u8; 32]) -> Result<Vec<u8>> {
	let body = http_get(endpoint, &format!("/results/{indenture}/{}", hex(hash))).await?;
	if crate::work::sha256(&body) != *hash {
		bail!("{endpoint} served bytes whose SHA-256 is not the result on chain");
	}
	Ok(body)
}

/// A regular file of 1 to `max_bytes` bytes. Devices (a watchdog, a terminal), FIFOs and
/// the empty-looking pseudo-files of /proc and /sys are refused before they are opened:
/// opening or reading them could arm hardware or block forever.
fn read_plain_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
	use std::io::Read;
	let meta =
		std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
	if !meta.is_file() || meta.len() == 0 || meta.len() > max_bytes {
		bail!("{} is not a plain file of 1 to {max_bytes} bytes", path.display());
	}
	let mut bytes = Vec::new();
	std::fs::File::open(path)
		.with_context(|| format!("cannot read {}", path.display()))?
		.take(meta.len())
		.read_to_end(&mut bytes)?;
	Ok(bytes)
}

/// A task module named by `uri` (`file://`, `http://` or `https://`), checked against its
/// SHA-256.
pub async fn fetch_module(uri: &str, hash: &[u8; 32]) -> Result<Vec<u8>> {
	fetch_checked(uri, hash, MAX_RESULT).await
}

/// The bytes at `uri` (`file://`, `http://` or `https://`), at most `max_bytes` of them,
/// checked against their SHA-256.
pub async fn fetch_checked(uri: &str, hash: &[u8; 32], max_bytes: u64) -> Result<Vec<u8>> {
	let tls = if uri.starts_with("https://") { Some(tls_client()?) } else { None };
	fetch_checked_with(uri, hash, max_bytes, tls).await
}

/// [`fetch_checked`] with the TLS client to use for `https://`.
async fn fetch_checked_with(
	uri: &str,
	hash: &[u8; 32],
	max_bytes: u64,
	tls: Option<Arc<ClientConfig>>,
) -> Result<Vec<u8>> {
	// A buyer names this URI and the miner runs as root: no control characters (a CR/LF
	// would smuggle a second HTTP request), and files only where they are plain files.
	if uri.bytes().any(|b| b.is_ascii_control() || b == b' ') {
		bail!("{uri:?}: control characters or spaces in a URI");
	}
	let bytes = if let Some(path) = uri.strip_prefix("file://") {
		let path = PathBuf::from(path);
		tokio::task::spawn_blocking(move || read_plain_file(&path, max_bytes)).await??
	} else if let Some(rest) = uri.strip_prefix("http://") {
		let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
		get_limited(host, &format!("/{path}"), max_bytes, None).await?
	} else if let Some(rest) = uri.strip_prefix("https://") {
		let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
		let tls = tls.ok_or_else(|| anyhow!("no TLS client for {uri}"))?;
		get_limited(host, &format!("/{path}"), max_bytes, Some(tls)).await?
	} else {
		bail!("cannot fetch {uri}: only file://, http:// and https:// URIs are supported")
	};
	if crate::work::sha256(&bytes) != *hash {
		bail!("the bytes at {uri} do not have the indenture's SHA-256");
	}
	Ok(bytes)
}

#[cfg(test)]
mod fetch_tests {
	use super::*;

	/// A CA and a certificate it signed for "localhost" (DER), and the leaf's key (PKCS#8
	/// DER), made by the `openssl` command (scripts/setup.sh installs it): a certificate
	/// crate as a dev-dependency changed the features of crates the node shares, and the
	/// workspace's tests then compiled part of the tree twice.
	fn certificates() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
		static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
		let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		let dir = std::env::temp_dir().join(format!("plexus-tls-{}-{n}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let openssl = |args: &[&str]| {
			let out = std::process::Command::new("openssl")
				.args(args)
				.current_dir(&dir)
				.output()
				.expect("openssl (scripts/setup.sh installs it)");
			assert!(
				out.status.success(),
				"openssl {args:?}: {}",
				String::from_utf8_lossy(&out.stderr)
			);
		};
		let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
		let ca =
			["-subj", "/CN=plexus test CA", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem"];
		openssl(&[&["req", "-x509"][..], &key, &ca].concat());
		std::fs::write(
			dir.join("leaf.ext"),
			"subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
		)
		.unwrap();
		let leaf = ["-subj", "/CN=localhost", "-keyout", "leaf.key", "-out", "leaf.csr"];
		openssl(&[&["req"][..], &key, &leaf].concat());
		openssl(&[
			"x509",
			"-req",
			"-in",
			"leaf.csr",
			"-CA",
			"ca.pem",
			"-CAkey",
			"ca.key",
			"-CAcreateserial",
			"-days",
			"2",
			"-extfile",
			"leaf.ext",
			"-outform",
			"DER",
			"-out",
			"leaf.der",
		]);
		openssl(&["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
		openssl(&[
			"pkcs8", "-topk8", "-nocrypt", "-in", "leaf.key", "-outform", "DER", "-out", "key.der",
		]);
		let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
		let made = (read("ca.der"), read("leaf.der"), read("key.der"));
		let _ = std::fs::remove_dir_all(&dir);
		made
	}

	/// A TLS server on loopback answering every request with `head` and `body`; its port and
	/// the roots that trust it.
	/// How the test server ends a response.
	#[derive(Clone, Copy, PartialEq)]
	enum End {
		CloseNotify,
		/// Only the TCP connection closes, as many servers do.
		Tcp,
		/// The connection stays open after the body.
		Hold,
	}

	async fn tls_server(head: String, body: Vec<u8>, end: End) -> (u16, rustls::RootCertStore) {
		use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
		let (ca, leaf, key) = certificates();
		let mut roots = rustls::RootCertStore::empty();
		roots.add(CertificateDer::from(ca)).unwrap();
		let provider = Arc::new(rustls::crypto::ring::default_provider());
		let config = rustls::ServerConfig::builder_with_provider(provider)
			.with_safe_default_protocol_versions()
			.unwrap()
			.with_no_client_auth()
			.with_single_cert(
				vec![CertificateDer::from(leaf)],
				PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
			)
			.unwrap();
		let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let port = listener.local_addr().unwrap().port();
		let response: Arc<Vec<u8>> = Arc::new([head.into_bytes(), body].concat());
		tokio::spawn(async move {
			while let Ok((tcp, _)) = listener.accept().await {
				let (acceptor, response) = (acceptor.clone(), response.clone());
				tokio::spawn(async move {
					let Ok(mut tls) = acceptor.accept(tcp).await else { return };
					let mut request = [0u8; 1024];
					let _ = tls.read(&mut request).await;
					let _ = tls.write_all(&response).await;
					match end {
						End::CloseNotify => {
							let _ = tls.shutdown().await;
						},
						End::Tcp => {
							let _ = tls.flush().await;
							let _ = tls.into_inner().0.shutdown().await;
						},
						End::Hold => {
							let _ = tls.flush().await;
							tokio::time::sleep(Duration::from_secs(600)).await;
						},
					}
				});
			}
		});
		(port, roots)
	}

	#[test]
	fn https_fetches_are_checked_for_the_servers_name_its_issuer_size_and_hash() {
		let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
		rt.block_on(async {
			let body = b"\0asm a module".to_vec();
			let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
			let (port, roots) = tls_server(head, body.clone(), End::CloseNotify).await;
			let tls = Some(tls_client_trusting(roots).unwrap());
			let hash = crate::work::sha256(&body);
			let uri = format!("https://localhost:{port}/task.wasm");
			let got = fetch_checked_with(&uri, &hash, 1 << 20, tls.clone()).await.unwrap();
			assert_eq!(got, body);
			let e = fetch_checked_with(&uri, &[7; 32], 1 << 20, tls.clone()).await.unwrap_err();
			assert!(e.to_string().contains("SHA-256"), "{e:#}");
			let e = fetch_checked_with(&uri, &hash, 4, tls.clone()).await.unwrap_err();
			assert!(e.to_string().contains("larger than 4 bytes"), "{e:#}");
			// The certificate names localhost, not the address.
			let by_address = format!("https://127.0.0.1:{port}/task.wasm");
			let e = fetch_checked_with(&by_address, &hash, 1 << 20, tls).await.unwrap_err();
			assert!(format!("{e:#}").contains("certificate"), "{e:#}");
			// A server whose issuer the client does not trust.
			let (ca, ..) = certificates();
			let mut other = rustls::RootCertStore::empty();
			other.add(rustls::pki_types::CertificateDer::from(ca)).unwrap();
			let stranger = Some(tls_client_trusting(other).unwrap());
			let e = fetch_checked_with(&uri, &hash, 1 << 20, stranger).await.unwrap_err();
			assert!(format!("{e:#}").contains("certificate"), "{e:#}");
			// A body cut short of its Content-Length.
			let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_string();
			let (port, roots) = tls_server(head, body.clone(), End::CloseNotify).await;
			let uri = format!("https://localhost:{port}/task.wasm");
			let cut = Some(tls_client_trusting(roots).unwrap());
			let e = fetch_checked_with(&uri, &hash, 1 << 20, cut).await.unwrap_err();
			assert!(e.to_string().contains("of a 100-byte body"), "{e:#}");
			// No length and no close_notify: the body is what arrived before the close.
			let head = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n".to_string();
			let (port, roots) = tls_server(head, body.clone(), End::Tcp).await;
			let uri = format!("https://localhost:{port}/task.wasm");
			let abrupt = Some(tls_client_trusting(roots.clone()).unwrap());
			assert_eq!(fetch_checked_with(&uri, &hash, 1 << 20, abrupt).await.unwrap(), body);
			// A chunked body is refused by name, not as a wrong hash.
			let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string();
			let (port, roots) = tls_server(head, b"e\r\n".to_vec(), End::CloseNotify).await;
			let uri = format!("https://localhost:{port}/task.wasm");
			let chunked = Some(tls_client_trusting(roots).unwrap());
			let e = fetch_checked_with(&uri, &hash, 1 << 20, chunked).await.unwrap_err();
			assert!(e.to_string().contains("chunked"), "{e:#}");
			// The whole body, then the connection held open: the fetch ends at its length.
			let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
			let (port, roots) = tls_server(head, body.clone(), End::Hold).await;
			let uri = format!("https://localhost:{port}/task.wasm");
			let held = Some(tls_client_trusting(roots).unwrap());
			let started = std::time::Instant::now();
			let got = tokio::time::timeout(
				Duration::from_secs(10),
				fetch_checked_with(&uri, &hash, 1 << 20, held),
			)
			.await
			.expect("not waiting on the open connection");
			assert_eq!(got.unwrap(), body, "after {:?}", started.elapsed());
			// A head that claims more than the bound is refused before any body is read.
			let head = "HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n".to_string();
			let (port, roots) = tls_server(head, Vec::new(), End::Hold).await;
			let uri = format!("https://localhost:{port}/task.wasm");
			let claims = Some(tls_client_trusting(roots).unwrap());
			let e = tokio::time::timeout(
				Duration::from_secs(10),
				fetch_checked_with(&uri, &hash, 1 << 20, claims),
			)
			.await
			.expect("refused at once")
			.unwrap_err();
			assert!(e.to_string().contains("larger than"), "{e:#}");
		});
	}

	#[test]
	fn authorities_split_into_host_and_port() {
		assert_eq!(host_and_port("example.org", 443).unwrap(), ("example.org", 443));
		assert_eq!(host_and_port("example.org:8443", 443).unwrap(), ("example.org", 8443));
		assert_eq!(host_and_port("127.0.0.1:80", 443).unwrap(), ("127.0.0.1", 80));
		assert_eq!(host_and_port("[::1]:8080", 80).unwrap(), ("::1", 8080));
		assert_eq!(host_and_port("[::1]", 80).unwrap(), ("::1", 80));
		for bad in ["", "host:", "host:port", "::1", "[::1", "[::1]x", "h:99999"] {
			assert!(host_and_port(bad, 80).is_err(), "{bad:?}");
		}
	}

	#[test]
	fn only_plain_files_and_clean_uris_are_fetched() {
		let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
		let fetch = |uri: &str| rt.block_on(fetch_checked(uri, &[0; 32], 1 << 20)).unwrap_err();
		// A device, a pseudo-file that reads forever or blocks, a directory.
		for uri in ["file:///dev/zero", "file:///proc/self/status", "file:///tmp"] {
			assert!(fetch(uri).to_string().contains("not a plain file"), "{uri}");
		}
		let e = fetch("http://127.0.0.1:1/x HTTP/1.1\r\nHost: a\r\n\r\nPOST /");
		assert!(e.to_string().contains("control characters"), "{e}");
		let file = std::env::temp_dir().join(format!("plexus-fetch-{}", std::process::id()));
		std::fs::write(&file, b"module").unwrap();
		let uri = format!("file://{}", file.display());
		let hash = crate::work::sha256(b"module");
		assert_eq!(rt.block_on(fetch_checked(&uri, &hash, 6)).unwrap(), b"module");
		assert!(rt.block_on(fetch_checked(&uri, &hash, 5)).is_err());
		let _ = std::fs::remove_file(file);
	}
}
