//! Where results live. A miner keeps each task's stdout in `<dir>/<indenture>/<sha256>` and
//! serves that directory read-only over HTTP on its registered endpoint:
//! `GET http://<endpoint>/results/<indenture>/<sha256 hex>`. The chain holds only the hash; the
//! buyer fetches the bytes from any miner of the indenture and checks them against it
//! (`cutopia client result`), so a miner cannot serve something else.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpListener, TcpStream},
};

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

/// `GET path` from `endpoint`, refusing a body of more than `max_body` bytes: whoever serves
/// it may be an adversary that wants to fill the fetcher's memory.
pub async fn http_get_limited(endpoint: &str, path: &str, max_body: u64) -> Result<Vec<u8>> {
	let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
	let mut stream =
		tokio::time::timeout(std::time::Duration::from_secs(10), TcpStream::connect(host))
			.await
			.map_err(|_| anyhow!("{host}: connection timed out"))?
			.with_context(|| format!("cannot connect to {host}"))?;
	stream
		.write_all(
			format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
		)
		.await?;
	let mut response = Vec::new();
	// The head is small; 64 KiB over the body's bound leaves room for it.
	let cap = max_body.saturating_add(64 << 10);
	tokio::time::timeout(
		std::time::Duration::from_secs(120),
		(&mut stream).take(cap + 1).read_to_end(&mut response),
	)
	.await
	.map_err(|_| anyhow!("{host}: response timed out"))??;
	if response.len() as u64 > cap {
		bail!("{host}{path}: the response is larger than {max_body} bytes");
	}
	let head_end = response
		.windows(4)
		.position(|w| w == b"\r\n\r\n")
		.ok_or_else(|| anyhow!("{host}: not an HTTP response"))?;
	let head = String::from_utf8_lossy(&response[..head_end]);
	let status = head.lines().next().unwrap_or("");
	// `HTTP/1.1 200 OK`: the code is the second field of the status line.
	if status.split_ascii_whitespace().nth(1) != Some("200") {
		bail!("{host}{path}: {status}");
	}
	let body = &response[head_end + 4..];
	if body.len() as u64 > max_body {
		bail!("{host}{path}: the response is larger than {max_body} bytes");
	}
	Ok(body.to_vec())
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

/// A task module named by `uri` (`file://` or `http://`), checked against its SHA-256.
pub async fn fetch_module(uri: &str, hash: &[u8; 32]) -> Result<Vec<u8>> {
	fetch_checked(uri, hash, MAX_RESULT).await
}

/// The bytes at `uri` (`file://` or `http://`), at most `max_bytes` of them, checked against
/// their SHA-256.
pub async fn fetch_checked(uri: &str, hash: &[u8; 32], max_bytes: u64) -> Result<Vec<u8>> {
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
		http_get_limited(host, &format!("/{path}"), max_bytes).await?
	} else {
		bail!("cannot fetch {uri}: only file:// and http:// URIs are supported by this miner")
	};
	if crate::work::sha256(&bytes) != *hash {
		bail!("the bytes at {uri} do not have the indenture's SHA-256");
	}
	Ok(bytes)
}

#[cfg(test)]
mod fetch_tests {
	use super::*;

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
