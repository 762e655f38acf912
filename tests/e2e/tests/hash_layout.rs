//! The byte layout of every protocol hash, written out by hand and independently of
//! `cutopia-primitives`, which the chain, plexus, the relayer and these tests all call.
//! A change to a preimage there would split the chain from clients built before it: this
//! test is what notices.

use cutopia_e2e::chain::blake2_256;
use cutopia_primitives::hashes;
use sha2::{Digest, Sha256};

const MINER: [u8; 32] = [0x11; 32];
const SALT: [u8; 32] = [0x22; 32];
const PARENT: [u8; 32] = [0x33; 32];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
	parts.concat()
}

/// SCALE's compact length prefix for a short byte string (< 64 bytes).
fn compact_len(bytes: &[u8]) -> Vec<u8> {
	assert!(bytes.len() < 64);
	let mut v = vec![(bytes.len() as u8) << 2];
	v.extend_from_slice(bytes);
	v
}

#[test]
fn work_hash_is_sha256_of_seed_miner_and_little_endian_nonce() {
	let seed = [7u8; 32];
	let nonce = 0x0102_0304_0506_0708u64;
	let expected: [u8; 32] = Sha256::digest(cat(&[&seed, &MINER, &nonce.to_le_bytes()])).into();
	assert_eq!(hashes::work_hash(&seed, &MINER, nonce), expected);
	assert_eq!(
		hashes::leading_zero_bits(&[0, 0, 0b0010_0000, 0xff].repeat(8).try_into().unwrap()),
		18
	);
}

#[test]
fn factor_and_audit_commitments_length_prefix_the_numbers() {
	let (p, q) = ([0x0bu8, 0xad], [0x0f, 0xee, 0x01]);
	let pre = cat(&[b"cutopia/factor", &compact_len(&p), &compact_len(&q), &MINER, &SALT]);
	assert_eq!(hashes::factor_commitment(&p, &q, &MINER, &SALT).0, blake2_256(&pre));
	let pre = cat(&[b"cutopia/factor-audit", &compact_len(&p), &SALT]);
	assert_eq!(hashes::audit_commitment(&p, &SALT).0, blake2_256(&pre));
}

#[test]
fn seeds_are_tagged_and_little_endian() {
	let pre = cat(&[b"cutopia/hash-target", &5u64.to_le_bytes(), &9u64.to_le_bytes(), &PARENT]);
	assert_eq!(hashes::hash_target_seed(5, 9, &PARENT).0, blake2_256(&pre));
	let pre = cat(&[b"cutopia/heartbeat", &5u64.to_le_bytes(), &3u32.to_le_bytes(), &PARENT]);
	assert_eq!(hashes::heartbeat_seed(5, 3, &PARENT).0, blake2_256(&pre));
}

#[test]
fn heartbeat_root_chains_root_round_and_nonce() {
	let root = [0x44u8; 32];
	let pre = cat(&[&root, &3u32.to_le_bytes(), &77u64.to_le_bytes()]);
	assert_eq!(hashes::heartbeat_root(&root.into(), 3, 77).0, blake2_256(&pre));
}

#[test]
fn result_seal_binds_indenture_slot_miner_and_salt() {
	let (result, salt) = ([0x42u8; 32], [0x17u8; 32]);
	let pre =
		cat(&[b"cutopia/result", &9u64.to_le_bytes(), &2u32.to_le_bytes(), &MINER, &result, &salt]);
	let seal = hashes::result_seal(9, 2, &MINER, &result.into(), &salt.into());
	assert_eq!(seal.0, blake2_256(&pre));
}

#[test]
fn record_links_hash_the_previous_root_then_the_record() {
	let prev = [0x55u8; 32];
	let record = (7u64, true);
	let pre = cat(&[&prev, &7u64.to_le_bytes(), &[1u8]]);
	assert_eq!(hashes::record_link(&prev.into(), &record).0, blake2_256(&pre));
}
