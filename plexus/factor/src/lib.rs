//! Solver for CuTopia's factorization challenges, and the primality test and semiprime
//! generator ([`semiprime()`]) the exchange uses to make them.
//!
//! A challenge is a balanced semiprime `C = p·q` of 48–160 bits (the runtime's bounds). The
//! solver picks the method by size: Pollard–Brent rho in Montgomery form up to
//! [`RHO_MAX_BITS`], the elliptic-curve method on Montgomery curves for the rest of what fits
//! a `u64`, the self-initialising quadratic sieve above (up to [`siqs::MAX_BITS`]).
//! `scripts/bench-factor.sh` compares it with PARI/GP's `factorint`.

mod arith;
mod ecm;
mod rho;
mod semiprime;
pub mod siqs;

pub use arith::is_prime_u64;
use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};
pub use semiprime::{random_prime, semiprime, PrimeError};

/// Numbers up to this many bits are split with rho; above it, up to 64 bits, ECM's curves
/// are cheaper than rho's `√p` steps (measured from 42 bits up: see docs/BENCHMARKS.md).
pub const RHO_MAX_BITS: u64 = 40;

/// Curves ECM tries on a `u64` before the sieve takes over (a balanced 64-bit semiprime
/// needs a few on average with the bounds used; the cap only bounds a pathological input).
const ECM_MAX_CURVES: u32 = 400;

/// Why a number was not split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorError {
	/// 0, 1 or a prime: there is nothing to split.
	NotComposite,
	/// Larger than the solver takes.
	TooLarge { bits: u64, max: u64 },
	/// Every method gave up (not expected for a semiprime in range).
	Failed,
}

impl std::fmt::Display for FactorError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::NotComposite => write!(f, "the number is 0, 1 or prime: nothing to factor"),
			Self::TooLarge { bits, max } => {
				write!(f, "the number has {bits} bits; the solver takes at most {max}")
			},
			Self::Failed => write!(f, "no factor found"),
		}
	}
}

impl std::error::Error for FactorError {}

/// Splits `n` into `(a, b)` with `1 < a ≤ b` and `a·b = n`. For a semiprime these are its two
/// primes, the answer a factorization challenge wants.
pub fn split(n: &BigUint) -> Result<(BigUint, BigUint), FactorError> {
	let d = find_factor(n)?;
	let e = n / &d;
	Ok(if d <= e { (d, e) } else { (e, d) })
}

fn find_factor(n: &BigUint) -> Result<BigUint, FactorError> {
	if n <= &BigUint::from(3u32) {
		return Err(FactorError::NotComposite);
	}
	if n.is_even() {
		return Ok(BigUint::from(2u32));
	}
	for p in arith::primes_below(1000).into_iter().skip(1) {
		if (n % p).is_zero() {
			if n == &BigUint::from(p) {
				return Err(FactorError::NotComposite);
			}
			return Ok(BigUint::from(p));
		}
	}
	let r = n.sqrt();
	if &(&r * &r) == n {
		return Ok(r);
	}
	if let Some(small) = n.to_u64() {
		if is_prime_u64(small) {
			return Err(FactorError::NotComposite);
		}
		if n.bits() <= RHO_MAX_BITS {
			return rho::rho(small, u64::MAX).map(BigUint::from).ok_or(FactorError::Failed);
		}
		if let Some(f) = ecm::ecm(small, ECM_MAX_CURVES) {
			return Ok(BigUint::from(f));
		}
	} else if is_probable_prime(n, &FIXED_BASES) {
		return Err(FactorError::NotComposite);
	}
	if n.bits() > siqs::MAX_BITS {
		return Err(FactorError::TooLarge { bits: n.bits(), max: siqs::MAX_BITS });
	}
	// A perfect power other than a square would make the sieve's relations degenerate. An
	// r^k is also a power of each prime dividing k: prime k suffice.
	for k in [3, 5, 7, 11, 13, 17, 19].into_iter().take_while(|&k| k <= n.bits() as u32 / 10 + 1) {
		let r = n.nth_root(k);
		if r.pow(k) == *n {
			return Ok(r);
		}
	}
	siqs::siqs(n)
		.or_else(|| n.to_u64().and_then(|s| rho::rho(s, u64::MAX)).map(BigUint::from))
		.ok_or(FactorError::Failed)
}

/// The first twelve primes: as Miller–Rabin bases they are a proof below 3.3·10^24 and a
/// strong test above (error below 4^-12 for any one number, far less for random ones).
pub const FIXED_BASES: [u32; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/// Miller–Rabin with the given bases. Callers that face an adversary (an exchange checking
/// its own primes does not; the chain's audit does) should add random bases.
pub fn is_probable_prime<B: Into<BigUint> + Clone>(n: &BigUint, bases: &[B]) -> bool {
	if n < &BigUint::from(2u32) {
		return false;
	}
	if let Some(small) = n.to_u64() {
		return is_prime_u64(small);
	}
	if n.is_even() {
		return false;
	}
	let one = BigUint::one();
	let n1 = n - &one;
	let s = n1.trailing_zeros().expect("n - 1 > 0");
	let d = &n1 >> s;
	'bases: for b in bases {
		let a: BigUint = b.clone().into() % n;
		if a <= one || a == n1 {
			continue;
		}
		let mut x = a.modpow(&d, n);
		if x == one || x == n1 {
			continue;
		}
		for _ in 1..s {
			x = &x * &x % n;
			if x == n1 {
				continue 'bases;
			}
		}
		return false;
	}
	true
}

#[cfg(test)]
mod tests {
	use super::*;
	use arith::XorShift;

	/// A prime of exactly `bits` bits from `rng` (tests only; the exchange uses the OS RNG).
	fn prime(bits: u64, rng: &mut XorShift) -> BigUint {
		loop {
			let mut x = BigUint::zero();
			for _ in 0..bits.div_ceil(64) {
				x = (x << 64) + rng.next();
			}
			x = (x % (BigUint::one() << bits)) | (BigUint::one() << (bits - 1)) | BigUint::one();
			if is_probable_prime(&x, &FIXED_BASES) {
				return x;
			}
		}
	}

	#[test]
	fn splits_balanced_semiprimes_at_every_challenge_size() {
		let mut rng = XorShift(42);
		for bits in (48..=160).step_by(8) {
			for _ in 0..3 {
				let (p, q) = (prime(bits / 2, &mut rng), prime(bits - bits / 2, &mut rng));
				let n = &p * &q;
				let (a, b) = split(&n).unwrap_or_else(|e| panic!("{bits} bits, {n}: {e}"));
				assert_eq!(&a * &b, n);
				assert!(a <= b);
				assert!(a == p.clone().min(q.clone()), "{bits} bits: {a} {b} vs {p} {q}");
			}
		}
	}

	#[test]
	fn the_sieves_retry_works_with_factor_base_primes_above_16_bits() {
		// A second retry doubles the factor base: at 176 bits (1,700 primes, then 3,400) its
		// largest primes pass 2^16, where products of residues no longer fit 32 bits and the
		// polynomial set-up takes its division path.
		let mut rng = XorShift(5);
		let (p, q) = (prime(88, &mut rng), prime(88, &mut rng));
		let n = &p * &q;
		let f = siqs::siqs_once(&n, 2).expect("a factor on the second retry");
		assert!(f == p || f == q, "{n}: {f}");
	}

	#[test]
	fn splits_unbalanced_and_special_numbers() {
		let mut rng = XorShift(7);
		let cases: Vec<BigUint> = vec![
			BigUint::from(4u32),
			BigUint::from(15u32),
			BigUint::from(1_000_003u64 * 1_000_003),
			BigUint::from(1_000_003u64).pow(3),
			BigUint::from(997u32) * prime(90, &mut rng),
			prime(20, &mut rng) * prime(70, &mut rng),
			prime(40, &mut rng) * prime(40, &mut rng) * prime(40, &mut rng),
			prime(50, &mut rng).pow(2),
		];
		for n in cases {
			let (a, b) = split(&n).unwrap_or_else(|e| panic!("{n}: {e}"));
			assert_eq!(&a * &b, n);
			assert!(a > BigUint::one() && a <= b, "{n}: {a} {b}");
		}
	}

	#[test]
	fn refuses_what_cannot_be_split() {
		let mut rng = XorShift(9);
		for n in [BigUint::zero(), BigUint::one(), BigUint::from(2u32), BigUint::from(997u32)] {
			assert_eq!(split(&n), Err(FactorError::NotComposite), "{n}");
		}
		assert_eq!(split(&prime(61, &mut rng)), Err(FactorError::NotComposite));
		assert_eq!(split(&prime(127, &mut rng)), Err(FactorError::NotComposite));
		let big = prime(110, &mut rng) * prime(110, &mut rng);
		assert_eq!(split(&big), Err(FactorError::TooLarge { bits: big.bits(), max: 200 }));
	}

	#[test]
	fn miller_rabin_knows_big_primes_and_carmichael_numbers() {
		let m127 = (BigUint::one() << 127) - 1u32;
		assert!(is_probable_prime(&m127, &FIXED_BASES));
		assert!(!is_probable_prime(&((BigUint::one() << 128) + 1u32), &FIXED_BASES));
		// 3825123056546413051 is a strong pseudoprime to bases 2..23 but not to 29..37;
		// times a large prime it is caught by the big-number path too.
		let spsp = BigUint::from(3_825_123_056_546_413_051u64);
		assert!(!is_probable_prime(&spsp, &FIXED_BASES));
		assert!(!is_probable_prime(&(spsp * &m127), &FIXED_BASES));
		// A Carmichael number: Fermat's test with a coprime base would call it prime.
		assert!(!is_probable_prime(&BigUint::from(561u32), &FIXED_BASES));
	}
}
