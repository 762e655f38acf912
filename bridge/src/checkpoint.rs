//! The checkpoint file: the last Ethereum block whose attestations are final on the chain.
//! Restarting from any checkpoint is safe (the chain refuses processed nonces and repeated
//! votes); it only has to never pass a deposit that is not final yet.

use std::{
	io,
	path::{Path, PathBuf},
};
use subxt::utils::H256;

/// A cycle's work included in a chain block that is not final yet: once that block is final
/// (and still on the canonical chain), the checkpoint may move to `eth_to` and the withdrawal
/// cursor to `signed`.
pub struct Pending {
	pub number: u64,
	pub hash: H256,
	pub eth_to: Option<u64>,
	/// `(set id, nonce)`: every withdrawal below `nonce` was signed by this relayer under that
	/// set, or paid, in the state the cycle was judged against.
	pub signed: Option<(u32, u64)>,
}

pub struct Checkpoint {
	path: PathBuf,
}

impl Checkpoint {
	pub fn new(path: PathBuf) -> Self {
		Self { path }
	}

	/// The checkpointed block; `None` without a readable checkpoint (first start, or a file
	/// that is not a block number).
	pub fn read(&self) -> Option<u64> {
		std::fs::read_to_string(&self.path).ok()?.trim().parse().ok()
	}

	/// The first Ethereum block to scan from the checkpoint.
	pub fn next_block(&self, start_block: u64) -> u64 {
		first_unscanned(self.read(), start_block)
	}

	/// Moves the checkpoint to `block`, never backwards: a block already behind the checkpoint
	/// changes nothing.
	pub fn advance(&self, block: u64) -> io::Result<()> {
		if self.read().is_some_and(|c| c >= block) {
			return Ok(());
		}
		write_atomically(&self.path, &block.to_string())
	}
}

/// The withdrawal cursor file (next to the checkpoint, `.withdrawals`): the nonce below which
/// this relayer owes no signature under a relayer set, as of a final chain block. A restart
/// scans on from it instead of from the oldest withdrawal, and no withdrawal however old is
/// skipped: a fresh relayer or a new set pages through all of them.
pub struct WithdrawalCursor {
	path: PathBuf,
}

impl WithdrawalCursor {
	/// The cursor kept beside `checkpoint`.
	pub fn beside(checkpoint: &Path) -> Self {
		Self { path: checkpoint.with_extension("withdrawals") }
	}

	/// The recorded nonce under `set_id`; `None` without one, for another set, or garbage.
	pub fn read(&self, set_id: u32) -> Option<u64> {
		let text = std::fs::read_to_string(&self.path).ok()?;
		let mut words = text.split_whitespace();
		let set: u32 = words.next()?.parse().ok()?;
		let nonce: u64 = words.next()?.parse().ok()?;
		(set == set_id && words.next().is_none()).then_some(nonce)
	}

	/// Records `nonce` under `set_id`: never backwards within a set; a new set starts anew.
	pub fn advance(&self, set_id: u32, nonce: u64) -> io::Result<()> {
		if self.read(set_id).is_some_and(|n| n >= nonce) {
			return Ok(());
		}
		write_atomically(&self.path, &format!("{set_id} {nonce}"))
	}
}

/// The block after `checkpoint`, or `start_block` (the vault's deployment) without one.
pub fn first_unscanned(checkpoint: Option<u64>, start_block: u64) -> u64 {
	checkpoint.map_or(start_block, |c| c.saturating_add(1))
}

/// Write + rename, so that a crash leaves the old checkpoint or the new one, never half of one.
fn write_atomically(path: &Path, line: &str) -> io::Result<()> {
	let mut tmp = path.as_os_str().to_owned();
	tmp.push(".tmp");
	std::fs::write(&tmp, format!("{line}\n"))?;
	std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A fresh directory per test, so that tests running in parallel do not share files.
	fn temp_dir(name: &str) -> PathBuf {
		let dir = std::env::temp_dir()
			.join(format!("cutopia-bridge-checkpoint-{}-{name}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		std::fs::create_dir_all(&dir).expect("temp dir");
		dir
	}

	#[test]
	fn a_written_checkpoint_reads_back() {
		let dir = temp_dir("roundtrip");
		let c = Checkpoint::new(dir.join("relayer.checkpoint"));
		c.advance(1_234).unwrap();
		assert_eq!(c.read(), Some(1_234));
		assert_eq!(std::fs::read_to_string(dir.join("relayer.checkpoint")).unwrap(), "1234\n");
		assert!(!dir.join("relayer.checkpoint.tmp").exists(), "the temporary file was renamed");
		assert_eq!(c.next_block(0), 1_235);
		std::fs::remove_dir_all(dir).unwrap();
	}

	#[test]
	fn a_missing_or_garbage_checkpoint_starts_at_the_start_block() {
		let dir = temp_dir("garbage");
		let path = dir.join("relayer.checkpoint");
		let c = Checkpoint::new(path.clone());
		assert_eq!(c.read(), None);
		assert_eq!(c.next_block(77), 77);
		for garbage in ["", "twelve", "-5", "12 13", "0x10"] {
			std::fs::write(&path, garbage).unwrap();
			assert_eq!(c.read(), None, "{garbage:?}");
			assert_eq!(c.next_block(77), 77);
		}
		// Written by hand, with spaces: still a checkpoint.
		std::fs::write(&path, " 0\n").unwrap();
		assert_eq!(c.next_block(77), 1);
		// Garbage is replaced by the next checkpoint.
		std::fs::write(&path, "twelve").unwrap();
		c.advance(5).unwrap();
		assert_eq!(c.read(), Some(5));
		std::fs::remove_dir_all(dir).unwrap();
	}

	#[test]
	fn the_checkpoint_never_moves_backwards() {
		let dir = temp_dir("backwards");
		let c = Checkpoint::new(dir.join("relayer.checkpoint"));
		c.advance(100).unwrap();
		c.advance(40).unwrap();
		assert_eq!(c.read(), Some(100));
		c.advance(100).unwrap();
		c.advance(101).unwrap();
		assert_eq!(c.read(), Some(101));
		std::fs::remove_dir_all(dir).unwrap();
	}

	#[test]
	fn the_withdrawal_cursor_is_kept_per_set() {
		let dir = temp_dir("cursor");
		let checkpoint = Checkpoint::new(dir.join("relayer.checkpoint"));
		checkpoint.advance(7).unwrap();
		let c = WithdrawalCursor::beside(&dir.join("relayer.checkpoint"));
		assert_eq!(c.read(0), None);
		c.advance(0, 1_500).unwrap();
		assert_eq!(c.read(0), Some(1_500));
		assert_eq!(std::fs::read_to_string(dir.join("relayer.withdrawals")).unwrap(), "0 1500\n");
		// The checkpoint beside it is its own file.
		assert_eq!(checkpoint.read(), Some(7));
		// Never backwards within a set.
		c.advance(0, 900).unwrap();
		assert_eq!(c.read(0), Some(1_500));
		// Another set's cursor says nothing about this one; a new set starts lower.
		assert_eq!(c.read(1), None);
		c.advance(1, 40).unwrap();
		assert_eq!((c.read(1), c.read(0)), (Some(40), None));
		for garbage in ["", "1", "1 x", "1 2 3", "x 2"] {
			std::fs::write(dir.join("relayer.withdrawals"), garbage).unwrap();
			assert_eq!(c.read(1), None, "{garbage:?}");
		}
		std::fs::remove_dir_all(dir).unwrap();
	}

	#[test]
	fn the_scan_resumes_after_the_checkpoint() {
		assert_eq!(first_unscanned(None, 9), 9);
		assert_eq!(first_unscanned(Some(9), 0), 10);
		// An older checkpoint than the start block still wins: it is what is known final.
		assert_eq!(first_unscanned(Some(3), 9), 4);
		assert_eq!(first_unscanned(Some(u64::MAX), 0), u64::MAX);
	}
}
