//! Making challenges: the random balanced semiprimes an exchange posts. They live next to the
//! solver so that the test that every size made here is split back runs with both sides.

use crate::{is_probable_prime, FIXED_BASES};
use num_bigint::BigUint;

/// Why no prime was made.
#[derive(Debug)]
pub enum PrimeError {
	/// Below 8 bits there are too few primes for a challenge to be worth anything.
	TooSmall { bits: u64 },
	/// The operating system's random source failed.
	NoRandomness(getrandom::Error),
}

impl std::fmt::Display for PrimeError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::TooSmall { .. } => write!(f, "primes of fewer than 8 bits are not challenges"),
			Self::NoRandomness(e) => write!(f, "no OS randomness: {e}"),
		}
	}
}

impl std::error::Error for PrimeError {}

/// A random prime of exactly `bits` bits whose top two bits are set, so that the product of
/// two such primes has exactly `2·bits` bits. Candidates come from the OS RNG; Miller–Rabin
/// with 12 fixed and 16 random bases (a false prime is below 4^-28 per number).
pub fn random_prime(bits: u64) -> Result<BigUint, PrimeError> {
	if bits < 8 {
		return Err(PrimeError::TooSmall { bits });
	}
	let bytes = bits.div_ceil(8) as usize;
	loop {
		let mut buf = vec![0u8; bytes];
		getrandom::getrandom(&mut buf).map_err(PrimeError::NoRandomness)?;
		let mut x = BigUint::from_bytes_be(&buf) >> (bytes as u64 * 8 - bits);
		x |= (BigUint::from(3u32) << (bits - 2)) | BigUint::from(1u32);
		if !is_probable_prime(&x, &FIXED_BASES) {
			continue;
		}
		let mut random_bases = Vec::new();
		for _ in 0..16 {
			let mut b = [0u8; 8];
			getrandom::getrandom(&mut b).map_err(PrimeError::NoRandomness)?;
			random_bases.push(BigUint::from(u64::from_le_bytes(b) | 2));
		}
		if random_bases.iter().all(|b| is_probable_prime(&x, &[b.clone()][..])) {
			return Ok(x);
		}
	}
}

/// A balanced semiprime of exactly `bits` bits: `(p, q, p·q)`, `p < q`.
pub fn semiprime(bits: u32) -> Result<(BigUint, BigUint, BigUint), PrimeError> {
	let half = u64::from(bits / 2);
	loop {
		let (a, b) = (random_prime(half)?, random_prime(u64::from(bits) - half)?);
		if a != b {
			let (p, q) = if a < b { (a, b) } else { (b, a) };
			let n = &p * &q;
			debug_assert_eq!(n.bits(), u64::from(bits));
			return Ok((p, q, n));
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn semiprimes_have_exactly_the_bits_asked_and_factor_back() {
		for bits in [48u32, 64, 96, 160] {
			let (p, q, n) = semiprime(bits).unwrap();
			assert_eq!(n.bits(), u64::from(bits));
			assert!(p < q && p.bits() == u64::from(bits / 2));
			if bits <= 96 {
				assert_eq!(crate::split(&n).unwrap(), (p, q));
			}
		}
	}
}
