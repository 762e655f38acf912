//! The protocol's hashes, each defined once.
//!
//! Every preimage starts with a domain tag (`b"cutopia/…"`) so a hash made for one purpose
//! can never be passed off as another, and is SCALE-encoded: a byte slice carries its
//! compact length, a `[u8; 32]`, an `H256` and an `AccountId32` are their 32 bytes. The
//! account and parent-hash parameters are generic so pallets pass `T::AccountId` and
//! `T::Hash` and clients pass raw 32-byte arrays: the encodings are the same bytes.
//!
//! `tests/e2e` keeps an independent byte-by-byte check of each layout, so a change here that
//! would split the chain from its clients fails a test.

use crate::types::IndentureId;
use codec::Encode;
use sha2::{Digest, Sha256};
use sp_core::H256;

fn blake2(data: &impl Encode) -> H256 {
	H256(sp_io::hashing::blake2_256(&data.encode()))
}

/// `sha256(seed ‖ miner ‖ nonce_le)`: the proof of a hash-target solution or a heartbeat,
/// bound to the miner's account so it cannot be replayed by anyone else.
pub fn work_hash(seed: &[u8; 32], miner: &[u8], nonce: u64) -> [u8; 32] {
	let mut h = Sha256::new();
	h.update(seed);
	h.update(miner);
	h.update(nonce.to_le_bytes());
	h.finalize().into()
}

/// Leading zero bits of a hash.
pub fn leading_zero_bits(hash: &[u8; 32]) -> u32 {
	let mut bits = 0;
	for b in hash {
		if *b == 0 {
			bits += 8;
		} else {
			bits += b.leading_zeros();
			break;
		}
	}
	bits
}

/// `blake2_256(SCALE(("cutopia/factor", p, q, miner, salt)))`: what a miner commits to before
/// revealing its factors. `p` and `q` are the canonical big-endian bytes it will reveal.
pub fn factor_commitment<AccountId: Encode>(
	p: &[u8],
	q: &[u8],
	miner: &AccountId,
	salt: &[u8; 32],
) -> H256 {
	blake2(&(b"cutopia/factor", p, q, miner, salt))
}

/// `blake2_256(SCALE(("cutopia/factor-audit", p, salt)))`: the issuer's commitment to its
/// secret factor, posted with `C`.
pub fn audit_commitment(p: &[u8], salt: &[u8; 32]) -> H256 {
	blake2(&(b"cutopia/factor-audit", p, salt))
}

/// `blake2_256(SCALE(("cutopia/hash-target", context, challenge, opened)))`: the seed of a
/// hash-target challenge, `opened` being the hash of the block it was opened in. That hash
/// did not exist when the work was submitted, so nobody can solve the challenge before it is
/// public.
pub fn hash_target_seed<Hash: Encode>(context: u64, challenge: u64, opened: &Hash) -> H256 {
	blake2(&(b"cutopia/hash-target", context, challenge, opened))
}

/// `blake2_256(SCALE(("cutopia/heartbeat", lease, round, parent)))`: the seed of a heartbeat
/// round, `parent` being the hash of the block before the round opened.
pub fn heartbeat_seed<Hash: Encode>(lease: u64, round: u32, parent: &Hash) -> H256 {
	blake2(&(b"cutopia/heartbeat", lease, round, parent))
}

/// `blake2_256(SCALE((root, round, nonce)))`: a lease's hash chain over its answered rounds
/// (the whitepaper's compute graph).
pub fn heartbeat_root(root: &H256, round: u32, nonce: u64) -> H256 {
	blake2(&(root, round, nonce))
}

/// `blake2_256(SCALE(("cutopia/result", indenture, slot, miner, result, salt)))`: a sealed
/// batch result. The indenture, slot and miner are inside, so a seal seen in the pool (or on
/// another indenture) cannot be reused; the miner's secret 32-byte salt means a result with
/// few possible values cannot be guessed from another replica's seal by hashing each one.
pub fn result_seal<AccountId: Encode>(
	indenture: IndentureId,
	slot: u32,
	miner: &AccountId,
	result: &H256,
	salt: &H256,
) -> H256 {
	blake2(&(b"cutopia/result", indenture, slot, miner, result, salt))
}

/// `blake2_256(prev ‖ SCALE(record))`: one link of a subject's RepChain history.
pub fn record_link<Record: Encode>(prev: &H256, record: &Record) -> H256 {
	blake2(&(prev, record))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn leading_zero_bits_counts_across_bytes() {
		assert_eq!(leading_zero_bits(&[0xff; 32]), 0);
		let mut h = [0u8; 32];
		assert_eq!(leading_zero_bits(&h), 256);
		h[1] = 0b0001_0000;
		assert_eq!(leading_zero_bits(&h), 11);
	}

	#[test]
	fn raw_bytes_and_typed_values_hash_alike() {
		// Clients pass [u8; 32] where pallets pass H256 / AccountId32: same preimage.
		let parent = [9u8; 32];
		assert_eq!(heartbeat_seed(1, 2, &parent), heartbeat_seed(1, 2, &H256(parent)));
		let miner = [3u8; 32];
		let result = H256([4; 32]);
		assert_eq!(
			result_seal(1, 0, &miner, &result, &H256([5; 32])),
			result_seal(1, 0, &sp_core::crypto::AccountId32::new(miner), &result, &H256([5; 32]))
		);
	}

	#[test]
	fn domains_separate_hashes() {
		let p = [7u8; 4];
		let salt = [1u8; 32];
		assert_ne!(audit_commitment(&p, &salt), factor_commitment(&p, &[], &[0u8; 0], &salt));
		assert_ne!(heartbeat_seed(1, 1, &[0u8; 32]), hash_target_seed(1, 1, &[0u8; 32]));
	}
}
