//! Container images: root filesystem archives (`tar`, or `tar` compressed with zstd) named by
//! URI and SHA-256, fetched once and kept unpacked by hash.
//!
//! An image is untrusted input unpacked by the miner on its own disk, so unpacking keeps to
//! plain files, directories and symbolic links inside the image's directory: device nodes,
//! FIFOs and hard links that climb out are dropped or refused, ownership and set-id bits are
//! not kept, and the unpacked size is bounded (a small archive must not become a full disk).

use anyhow::{anyhow, bail, Context, Result};
use std::{
	collections::HashMap,
	io::Read,
	path::{Component, Path, PathBuf},
	sync::{Arc, Mutex},
};

/// Most files, directories and links in an image.
const MAX_ENTRIES: usize = 1 << 20;
/// The zstd frame's magic number, little endian.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Directories the sandbox mounts over; made in the image when it is unpacked because the
/// image is mounted read-only afterwards.
pub(crate) const MOUNT_POINTS: [&str; 4] = ["scratch", "dev", "proc", "tmp"];

/// The unpacked images a miner keeps, one directory per SHA-256.
#[derive(Clone, Debug)]
pub struct Images {
	dir: PathBuf,
	/// Largest archive fetched, bytes.
	pub max_archive: u64,
	/// Largest image once unpacked, bytes.
	pub max_unpacked: u64,
	/// Most bytes the cache keeps (images and their microVM disks): past it, the least
	/// recently used images no run holds are removed. Buyers choose images, and each new one
	/// would otherwise stay on the miner's disk for good.
	pub max_cached: u64,
	/// Images runs are using now, with how many runs.
	held: Arc<Mutex<HashMap<[u8; 32], usize>>>,
}

/// An image a run is using: not removed from the cache while this lives.
pub struct Held {
	held: Arc<Mutex<HashMap<[u8; 32], usize>>>,
	hash: [u8; 32],
}

impl Drop for Held {
	fn drop(&mut self) {
		let mut held = self.held.lock().expect("not poisoned");
		if let Some(n) = held.get_mut(&self.hash) {
			*n -= 1;
			if *n == 0 {
				held.remove(&self.hash);
			}
		}
	}
}

impl Images {
	pub fn new(dir: PathBuf) -> Result<Self> {
		std::fs::create_dir_all(&dir)
			.with_context(|| format!("cannot create {}", dir.display()))?;
		Ok(Self {
			dir,
			max_archive: 1 << 30,
			max_unpacked: 4 << 30,
			max_cached: 32 << 30,
			held: Default::default(),
		})
	}

	/// Keeps the image `hash` in the cache until the returned guard is dropped; take it
	/// before [`Images::get`], so that no prune can remove what a run is about to use.
	pub fn hold(&self, hash: &[u8; 32]) -> Held {
		*self.held.lock().expect("not poisoned").entry(*hash).or_default() += 1;
		Held { held: self.held.clone(), hash: *hash }
	}

	/// Removes the least recently used images no run holds until the cache holds at most
	/// `max_cached` bytes (or nothing removable is left); returns the bytes freed.
	pub fn prune(&self) -> Result<u64> {
		let held = self.held.lock().expect("not poisoned").clone();
		let mut images = Vec::new();
		let mut total = 0;
		for entry in std::fs::read_dir(&self.dir)? {
			let entry = entry?;
			let name = entry.file_name().to_string_lossy().into_owned();
			let Some(hash) = parse_hash(&name) else { continue };
			let size = tree_size(&entry.path())?;
			total += size;
			if !held.contains_key(&hash) {
				let used = entry.metadata()?.modified()?;
				images.push((used, size, entry.path()));
			}
		}
		images.sort();
		let mut freed = 0;
		for (_, size, path) in images {
			if total - freed <= self.max_cached {
				break;
			}
			std::fs::remove_dir_all(&path)?;
			freed += size;
		}
		Ok(freed)
	}

	/// Marks the image `hash` as used now (the cache removes the least recently used).
	fn touch(&self, hash: &[u8; 32]) {
		let dir = self.dir.join(crate::results::hex(hash));
		if let Ok(f) = std::fs::File::open(dir) {
			let _ = f.set_modified(std::time::SystemTime::now());
		}
	}

	/// Where the image with `hash` is (or will be) unpacked.
	pub fn rootfs(&self, hash: &[u8; 32]) -> PathBuf {
		self.dir.join(crate::results::hex(hash)).join("rootfs")
	}

	/// The unpacked image of `hash`, fetching it from `uri` when it is not here yet.
	pub async fn get(&self, uri: &str, hash: &[u8; 32]) -> Result<PathBuf> {
		let rootfs = self.rootfs(hash);
		if rootfs.is_dir() {
			self.touch(hash);
			return Ok(rootfs);
		}
		let archive = crate::results::fetch_checked(uri, hash, self.max_archive)
			.await
			.with_context(|| format!("image {uri}"))?;
		let this = self.clone();
		let hash = *hash;
		tokio::task::spawn_blocking(move || {
			let rootfs = this.unpack(&archive, &hash)?;
			// Room for the new image comes from the least recently used ones.
			let _held = this.hold(&hash);
			this.prune()?;
			Ok(rootfs)
		})
		.await?
	}

	/// Unpacks `archive`, whose SHA-256 must be `hash`, and returns its root directory. Safe
	/// to call concurrently: each unpacks beside the cache and the first rename wins.
	pub fn unpack(&self, archive: &[u8], hash: &[u8; 32]) -> Result<PathBuf> {
		if crate::work::sha256(archive) != *hash {
			bail!("the image's SHA-256 is not the one the indenture names");
		}
		let rootfs = self.rootfs(hash);
		if rootfs.is_dir() {
			return Ok(rootfs);
		}
		let staging = self.dir.join(format!(".{}-{}", crate::results::hex(hash), super::unique()));
		let unpacked = staging.join("rootfs");
		std::fs::create_dir_all(&unpacked)?;
		let result = unpack_into(archive, &unpacked, self.max_unpacked).and_then(|()| {
			for dir in MOUNT_POINTS {
				let at = unpacked.join(dir);
				// A symbolic link here would turn a mount point into a path of the image's
				// choosing; the sandbox mounts over real directories only.
				if at.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
					std::fs::remove_file(&at)?;
				}
				std::fs::create_dir_all(&at)?;
			}
			Ok(())
		});
		if let Err(e) = result {
			let _ = std::fs::remove_dir_all(&staging);
			return Err(e);
		}
		let target = rootfs.parent().expect("rootfs has a parent");
		match std::fs::rename(&staging, target) {
			Ok(()) => {},
			// Someone else unpacked the same image meanwhile: theirs is as good as ours.
			Err(_) if rootfs.is_dir() => {
				let _ = std::fs::remove_dir_all(&staging);
			},
			Err(e) => {
				let _ = std::fs::remove_dir_all(&staging);
				return Err(e).context("cannot move the unpacked image into the cache");
			},
		}
		Ok(rootfs)
	}
}

/// The host's statically linked busybox (Debian's `busybox-static`).
pub(crate) fn busybox() -> Result<PathBuf> {
	["/usr/bin/busybox", "/bin/busybox"]
		.into_iter()
		.map(PathBuf::from)
		.find(|p| p.exists())
		.ok_or_else(|| anyhow!("no busybox: install Debian's busybox-static (scripts/setup.sh)"))
}

/// A tar archive of a minimal image made from the host's statically linked busybox (Debian's
/// `busybox-static`): `/bin/busybox` with every applet linked beside it, an `/etc/passwd`
/// naming the task's user, and `extra` files (path, bytes; mode 0755). For trying the
/// container executor, its tests and benchmarks.
pub fn busybox_image(extra: &[(&str, &[u8])]) -> Result<Vec<u8>> {
	let busybox = busybox()?;
	let bytes = std::fs::read(&busybox)?;
	let list = std::process::Command::new(&busybox).arg("--list").output()?;
	let mut b = tar::Builder::new(Vec::new());
	let mut file = |path: &str, data: &[u8], mode: u32| -> Result<()> {
		let mut h = tar::Header::new_gnu();
		h.set_size(data.len() as u64);
		h.set_mode(mode);
		h.set_cksum();
		Ok(b.append_data(&mut h, path, data)?)
	};
	file("bin/busybox", &bytes, 0o755)?;
	file("etc/passwd", b"root:x:0:0::/root:/bin/sh\ntask:x:1000:1000::/scratch:/bin/sh\n", 0o644)?;
	for (path, data) in extra {
		file(path, data, 0o755)?;
	}
	for applet in String::from_utf8_lossy(&list.stdout).lines().filter(|a| *a != "busybox") {
		let mut h = tar::Header::new_gnu();
		h.set_entry_type(tar::EntryType::Symlink);
		h.set_size(0);
		h.set_mode(0o777);
		b.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
	}
	Ok(b.into_inner()?)
}

/// The archive's tar stream (decompressed when it is zstd), at most `max_unpacked` bytes of
/// files: headers and padding come on top, and a stream longer than this is a bomb whatever
/// its entries claim.
fn tar_stream(archive: &[u8], max_unpacked: u64) -> Result<impl Read + '_> {
	let reader: Box<dyn Read> = if archive.starts_with(&ZSTD_MAGIC) {
		Box::new(
			ruzstd::decoding::StreamingDecoder::new(archive)
				.map_err(|e| anyhow!("not a zstd stream: {e}"))?,
		)
	} else {
		Box::new(archive)
	};
	Ok(reader.take(max_unpacked.saturating_mul(2).saturating_add(1 << 20)))
}

/// Most bytes of a long-name or PAX extension entry: the tar crate reads those whole into
/// memory before anything else sees them.
const MAX_EXTENSION: u64 = 64 << 10;

/// A cache directory's name back to its hash.
fn parse_hash(name: &str) -> Option<[u8; 32]> {
	if name.len() != 64 {
		return None;
	}
	let mut hash = [0u8; 32];
	for (i, b) in hash.iter_mut().enumerate() {
		*b = u8::from_str_radix(name.get(2 * i..2 * i + 2)?, 16).ok()?;
	}
	Some(hash)
}

/// Bytes a directory tree takes, roughly: file sizes plus a block per directory and a bit
/// per entry.
pub(crate) fn tree_size(dir: &Path) -> Result<u64> {
	let mut total = 0;
	for entry in std::fs::read_dir(dir)? {
		let entry = entry?;
		let meta = entry.path().symlink_metadata()?;
		total += if meta.is_dir() { 4096 + tree_size(&entry.path())? } else { meta.len() + 512 };
	}
	Ok(total)
}

/// Reads the archive (plain or zstd) and unpacks its safe entries into `dst`.
fn unpack_into(archive: &[u8], dst: &Path, max_unpacked: u64) -> Result<()> {
	// First pass, raw: extension entries are only looked at, never buffered.
	for entry in tar::Archive::new(tar_stream(archive, max_unpacked)?)
		.entries()
		.context("not a tar archive")?
		.raw(true)
	{
		let entry = entry.context("a damaged tar entry")?;
		let kind = entry.header().entry_type();
		let extension = kind.is_gnu_longname()
			|| kind.is_gnu_longlink()
			|| kind.is_pax_local_extensions()
			|| kind.is_pax_global_extensions();
		if extension && entry.size() > MAX_EXTENSION {
			bail!("a tar extension entry of {} bytes (at most {MAX_EXTENSION})", entry.size());
		}
	}
	let mut tar = tar::Archive::new(tar_stream(archive, max_unpacked)?);
	// No file of the image is writable by anyone but the miner on the host.
	tar.set_mask(0o022);
	tar.set_preserve_permissions(false);
	tar.set_preserve_ownerships(false);
	tar.set_unpack_xattrs(false);
	let mut total = 0u64;
	for (n, entry) in tar.entries().context("not a tar archive")?.enumerate() {
		if n >= MAX_ENTRIES {
			bail!("the image has more than {MAX_ENTRIES} entries");
		}
		let mut entry = entry.context("a damaged tar entry")?;
		total += entry.size();
		if total > max_unpacked {
			bail!("the image unpacks to more than {max_unpacked} bytes");
		}
		let kind = entry.header().entry_type();
		if kind.is_hard_link() {
			let target = entry
				.link_name()?
				.ok_or_else(|| anyhow!("a hard link without a target"))?
				.into_owned();
			if !stays_inside(&target) {
				bail!("a hard link to {} leaves the image", target.display());
			}
		} else if !(kind.is_file() || kind.is_dir() || kind.is_symlink()) {
			// Devices, FIFOs and the like: the sandbox gives its own /dev.
			continue;
		}
		entry.unpack_in(dst).with_context(|| {
			format!(
				"cannot unpack {}",
				entry.path().map(|p| p.display().to_string()).unwrap_or_default()
			)
		})?;
	}
	Ok(())
}

/// Whether a path inside an archive names something inside it: relative, without `..`.
fn stays_inside(path: &Path) -> bool {
	path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
		let mut b = tar::Builder::new(Vec::new());
		for (path, data) in entries {
			let mut h = tar::Header::new_gnu();
			h.set_size(data.len() as u64);
			h.set_mode(0o755);
			h.set_cksum();
			b.append_data(&mut h, path, *data).unwrap();
		}
		b.into_inner().unwrap()
	}

	fn images(name: &str) -> Images {
		let dir = std::env::temp_dir().join(format!("plexus-images-{name}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		Images::new(dir).unwrap()
	}

	#[test]
	fn an_image_unpacks_once_by_hash_with_its_mount_points() {
		let images = images("ok");
		let tar = archive(&[("bin/task", b"#!/bin/sh\necho hi\n"), ("etc/motd", b"hello")]);
		let hash = crate::work::sha256(&tar);
		let root = images.unpack(&tar, &hash).unwrap();
		assert_eq!(std::fs::read(root.join("etc/motd")).unwrap(), b"hello");
		for d in MOUNT_POINTS {
			assert!(root.join(d).is_dir(), "{d}");
		}
		assert_eq!(images.unpack(&tar, &hash).unwrap(), root);
		let zst = ruzstd::encoding::compress_to_vec(
			&tar[..],
			ruzstd::encoding::CompressionLevel::Fastest,
		);
		assert!(zst.starts_with(&ZSTD_MAGIC));
		let root = images.unpack(&zst, &crate::work::sha256(&zst)).unwrap();
		assert_eq!(std::fs::read(root.join("bin/task")).unwrap(), b"#!/bin/sh\necho hi\n");
		let e = images.unpack(&tar, &[0; 32]).unwrap_err().to_string();
		assert!(e.contains("SHA-256"), "{e}");
	}

	#[test]
	fn the_cache_keeps_to_its_bound_and_never_removes_a_held_image() {
		let mut images = images("prune");
		let tars: Vec<Vec<u8>> =
			(0..3u8).map(|i| archive(&[("data", &vec![i; 100_000][..])])).collect();
		let hashes: Vec<[u8; 32]> = tars.iter().map(|t| crate::work::sha256(t)).collect();
		for (tar, hash) in tars.iter().zip(&hashes) {
			images.unpack(tar, hash).unwrap();
			// Distinct use times, oldest first.
			std::thread::sleep(std::time::Duration::from_millis(20));
			images.touch(hash);
		}
		// Room for about two: the oldest goes, unless a run holds it.
		images.max_cached = 250_000;
		let held = images.hold(&hashes[0]);
		assert!(images.prune().unwrap() > 0);
		assert!(images.rootfs(&hashes[0]).is_dir(), "a held image was removed");
		assert!(!images.rootfs(&hashes[1]).exists(), "the least recently used free image stays");
		assert!(images.rootfs(&hashes[2]).is_dir());
		drop(held);
		images.max_cached = 150_000;
		images.prune().unwrap();
		assert!(!images.rootfs(&hashes[0]).exists());
		assert!(images.rootfs(&hashes[2]).is_dir(), "the newest is kept while it fits");
	}

	#[test]
	fn hostile_archives_are_refused() {
		let images = images("bad");
		let small = Images { max_unpacked: 10, ..images.clone() };
		let big = archive(&[("big", &[0u8; 64])]);
		let e = small.unpack(&big, &crate::work::sha256(&big)).unwrap_err().to_string();
		assert!(e.contains("more than 10 bytes"), "{e}");
		assert!(!small.rootfs(&crate::work::sha256(&big)).exists());

		let mut b = tar::Builder::new(Vec::new());
		let mut h = tar::Header::new_gnu();
		h.set_entry_type(tar::EntryType::Link);
		h.set_size(0);
		b.append_link(&mut h, "shadow", "../../../../../etc/shadow").unwrap();
		let link = b.into_inner().unwrap();
		let e = format!("{:#}", images.unpack(&link, &crate::work::sha256(&link)).unwrap_err());
		assert!(e.contains("leaves the image"), "{e}");

		// A long-name entry the tar crate would read whole into memory.
		let mut b = tar::Builder::new(Vec::new());
		let mut h = tar::Header::new_gnu();
		h.set_entry_type(tar::EntryType::GNULongName);
		h.set_size(1 << 20);
		h.set_cksum();
		b.append(&h, &vec![b'a'; 1 << 20][..]).unwrap();
		let long = b.into_inner().unwrap();
		let e = format!("{:#}", images.unpack(&long, &crate::work::sha256(&long)).unwrap_err());
		assert!(e.contains("extension entry"), "{e}");
		assert!(images.unpack(b"junk", &crate::work::sha256(b"junk")).is_err());
	}
}
