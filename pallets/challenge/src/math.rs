//! Number theory and hashing the challenges check on-chain.
//!
//! Everything here is deterministic and bounded by the runtime's maximum number size, so the
//! benchmarks of the calls that use it cover its worst case.

use alloc::vec::Vec;
use num_bigint::BigUint;
use num_traits::{One, Zero};
use sha2::{Digest, Sha256};

pub use cutopia_primitives::hashes::{leading_zero_bits, work_hash};

/// Small primes for trial division before Miller–Rabin and as its first bases.
const SMALL_PRIMES: [u32; 24] =
	[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89];

/// Parses a big-endian number.
pub fn from_be(bytes: &[u8]) -> BigUint {
	BigUint::from_bytes_be(bytes)
}

/// Whether `bytes` is the one canonical encoding of its number: non-empty, no leading zero
/// byte. Canonical input keeps commitments unambiguous.
pub fn is_canonical(bytes: &[u8]) -> bool {
	bytes.first().is_some_and(|b| *b != 0)
}

/// Bit length of a big-endian number (0 for zero).
pub fn bit_len(bytes: &[u8]) -> u32 {
	match bytes.iter().position(|b| *b != 0) {
		None => 0,
		Some(i) => (bytes.len() - i - 1) as u32 * 8 + (8 - bytes[i].leading_zeros()),
	}
}

/// Miller–Rabin probable-prime test.
///
/// Bases: the 12 smallest primes (deterministic below 3.3·10^24) plus `extra` bases derived
/// from `entropy`. The entropy is a block hash the caller cannot choose, so an issuer cannot
/// craft a composite that passes the bases it will meet.
pub fn is_probable_prime(n: &BigUint, entropy: &[u8; 32], extra: u32) -> bool {
	let two = BigUint::from(2u32);
	if *n < two {
		return false;
	}
	for p in SMALL_PRIMES {
		let p = BigUint::from(p);
		if *n == p {
			return true;
		}
		if (n % &p).is_zero() {
			return false;
		}
	}
	let n_minus_1 = n - 1u32;
	let s = n_minus_1.trailing_zeros().unwrap_or(0);
	let d = &n_minus_1 >> s;
	let witness = |a: &BigUint| -> bool {
		let mut x = a.modpow(&d, n);
		if x.is_one() || x == n_minus_1 {
			return true;
		}
		for _ in 1..s {
			x = (&x * &x) % n;
			if x == n_minus_1 {
				return true;
			}
		}
		false
	};
	for p in &SMALL_PRIMES[..12] {
		if !witness(&BigUint::from(*p)) {
			return false;
		}
	}
	// Random bases in [2, n-2].
	let span = n - 3u32;
	for i in 0..extra {
		let mut h = Sha256::new();
		h.update(entropy);
		h.update(i.to_le_bytes());
		let a = BigUint::from_bytes_be(&h.finalize()) % &span + 2u32;
		if !witness(&a) {
			return false;
		}
	}
	true
}

/// `p · q` as big-endian bytes (for tests and benchmarks that build challenges).
pub fn product_be(p: &[u8], q: &[u8]) -> Vec<u8> {
	(from_be(p) * from_be(q)).to_bytes_be()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn bit_len_counts_from_the_top_bit() {
		assert_eq!(bit_len(&[]), 0);
		assert_eq!(bit_len(&[0, 0]), 0);
		assert_eq!(bit_len(&[1]), 1);
		assert_eq!(bit_len(&[0x80]), 8);
		assert_eq!(bit_len(&[0, 0x01, 0x00]), 9);
	}

	#[test]
	fn miller_rabin_agrees_with_known_numbers() {
		let e = [7u8; 32];
		for p in [2u64, 3, 97, 65_537, 2_147_483_647, 18_446_744_073_709_551_557] {
			assert!(is_probable_prime(&BigUint::from(p), &e, 8), "{p} is prime");
		}
		// Carmichael numbers and a strong pseudoprime to bases 2..=37 products.
		for c in [1u64, 561, 1105, 3_215_031_751, 18_446_744_073_709_551_555] {
			assert!(!is_probable_prime(&BigUint::from(c), &e, 8), "{c} is composite");
		}
		// 2^127 - 1 is prime; 2^128 + 1 is not.
		let m127 = (BigUint::one() << 127u32) - 1u32;
		assert!(is_probable_prime(&m127, &e, 8));
		let f7 = (BigUint::one() << 128u32) + 1u32;
		assert!(!is_probable_prime(&f7, &e, 8));
	}

	#[test]
	fn leading_zeros_of_hashes() {
		let mut h = [0xffu8; 32];
		assert_eq!(leading_zero_bits(&h), 0);
		h[0] = 0;
		h[1] = 0x0f;
		assert_eq!(leading_zero_bits(&h), 12);
		assert_eq!(leading_zero_bits(&[0u8; 32]), 256);
	}
}
