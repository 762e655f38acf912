//! The hashes agents compute: `cutopia-primitives` defines each once for the chain and its
//! clients; these wrappers take and give the raw byte arrays agents work with.

use sha2::{Digest, Sha256};

use cutopia_primitives::hashes;
pub use cutopia_primitives::hashes::{leading_zero_bits, work_hash};

/// The smallest nonce from `start` whose [`work_hash`] has `difficulty` leading zero bits.
/// Expected `2^difficulty` hashes; the challenge's difficulty is ≤ 32 bits.
pub fn solve_target(seed: &[u8], miner: &[u8; 32], difficulty: u32, start: u64) -> u64 {
	// The prefix is hashed once; each try only appends the nonce.
	let mut prefix = Sha256::new();
	prefix.update(seed);
	prefix.update(miner);
	(start..)
		.find(|n| {
			let mut h = prefix.clone();
			h.update(n.to_le_bytes());
			let out: [u8; 32] = h.finalize().into();
			leading_zero_bits(&out) >= difficulty
		})
		.expect("a nonce below 2^64")
}

/// `blake2_256(SCALE(("cutopia/heartbeat", lease, round, parent)))`: the seed of a heartbeat
/// round, `parent` being the hash of the block before the round opened.
pub fn heartbeat_seed(lease: u64, round: u32, parent: &[u8; 32]) -> [u8; 32] {
	hashes::heartbeat_seed(lease, round, parent).0
}

/// `blake2_256(SCALE(("cutopia/hash-target", context, challenge, opened)))`: the seed of a
/// hash-target challenge, `opened` being the hash of the block it opened in.
pub fn hash_target_seed(context: u64, challenge: u64, opened: &[u8; 32]) -> [u8; 32] {
	hashes::hash_target_seed(context, challenge, opened).0
}

/// `blake2_256("cutopia/result" ‖ indenture ‖ slot ‖ miner ‖ result ‖ salt)`: a sealed batch
/// result; the salt stays secret until the reveal.
pub fn result_seal(
	indenture: u64,
	slot: u32,
	miner: &[u8; 32],
	result: &[u8; 32],
	salt: &[u8; 32],
) -> [u8; 32] {
	use cutopia_primitives::H256;
	hashes::result_seal(indenture, slot, miner, &H256(*result), &H256(*salt)).0
}

/// A miner's commitment to its factors (`p`, `q` canonical big-endian), as the pallet
/// checks it.
pub fn factor_commitment(p: &[u8], q: &[u8], miner: &[u8; 32], salt: &[u8; 32]) -> [u8; 32] {
	hashes::factor_commitment(p, q, miner, salt).0
}

/// An exchange's commitment to its secret factor, as the pallet checks it.
pub fn audit_commitment(p: &[u8], salt: &[u8; 32]) -> [u8; 32] {
	hashes::audit_commitment(p, salt).0
}

/// 32 bytes from the operating system's random source.
pub fn random32() -> anyhow::Result<[u8; 32]> {
	let mut b = [0u8; 32];
	getrandom::getrandom(&mut b).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
	Ok(b)
}

/// Writes `bytes` to `path` readable by its owner only (mode 0600), whole or not at all: to a
/// new temporary file beside it (named for this process and write, so concurrent writers of
/// one path never share it), synced, renamed over it, and the rename synced. For secrets and
/// state an agent must find intact after a crash (keys, salts, its state file); makes the
/// directory.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
	use std::{
		io::Write,
		os::unix::fs::OpenOptionsExt,
		sync::atomic::{AtomicU64, Ordering},
	};
	static WRITES: AtomicU64 = AtomicU64::new(0);
	let dir = match path.parent() {
		Some(dir) if !dir.as_os_str().is_empty() => dir,
		_ => std::path::Path::new("."),
	};
	std::fs::create_dir_all(dir)?;
	let n = WRITES.fetch_add(1, Ordering::Relaxed);
	let tmp = path.with_extension(format!("{}.{n}.tmp", std::process::id()));
	// `create_new`: a file left by a crash is never reused with the mode it had.
	let mut file =
		std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
	let written = file.write_all(bytes).and_then(|()| file.sync_all());
	if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
		let _ = std::fs::remove_file(&tmp);
		return Err(e.into());
	}
	std::fs::File::open(dir)?.sync_all()?;
	Ok(())
}

/// SHA-256 of `data`: task modules and results are named by it.
pub fn sha256(data: &[u8]) -> [u8; 32] {
	Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn private_files_are_written_whole_with_mode_0600_by_concurrent_writers() {
		use std::os::unix::fs::PermissionsExt;
		let dir = std::env::temp_dir().join(format!("plexus-private-{}", std::process::id()));
		let path = dir.join("sub").join("key");
		// A world-readable file of the old kind is replaced by a private one.
		std::fs::create_dir_all(path.parent().unwrap()).unwrap();
		std::fs::write(&path, b"old").unwrap();
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		let writers: Vec<_> = (0..8u8)
			.map(|i| {
				let path = path.clone();
				std::thread::spawn(move || write_private(&path, &[i; 4096]).unwrap())
			})
			.collect();
		writers.into_iter().for_each(|w| w.join().unwrap());
		let bytes = std::fs::read(&path).unwrap();
		assert!(bytes.len() == 4096 && bytes.iter().all(|b| *b == bytes[0]), "one whole write");
		let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
		assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
		std::fs::remove_dir_all(&dir).unwrap();
	}

	#[test]
	fn solutions_meet_their_target() {
		let seed = [7u8; 32];
		let n = solve_target(&seed, &[1; 32], 12, 0);
		assert!(leading_zero_bits(&work_hash(&seed, &[1; 32], n)) >= 12);
		assert!((0..n).all(|m| leading_zero_bits(&work_hash(&seed, &[1; 32], m)) < 12));
	}
}
