//! Word-sized modular arithmetic for the hot loops: Montgomery multiplication modulo an odd
//! `u64`, small-prime helpers, Miller–Rabin.

/// Multiplication modulo an odd `n < 2^64` in Montgomery form (`x·2^64 mod n`).
#[derive(Clone, Copy)]
pub struct Mont64 {
	n: u64,
	/// `n^{-1} mod 2^64`.
	ninv: u64,
	/// `2^128 mod n`, to enter Montgomery form.
	r2: u64,
}

impl Mont64 {
	pub fn new(n: u64) -> Self {
		debug_assert!(n % 2 == 1);
		// Newton's iteration doubles the correct low bits each step: 5 steps reach 64.
		let mut inv = n;
		for _ in 0..5 {
			inv = inv.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(inv)));
		}
		let r = (u128::MAX % n as u128 + 1) % n as u128; // 2^128 mod n
		Self { n, ninv: inv, r2: r as u64 }
	}

	/// `t · 2^-64 mod n` for `t < n·2^64`. The low halves of `t` and `m·n` are equal by the
	/// choice of `m`, so only the high halves are subtracted; no 129-bit intermediate.
	#[inline(always)]
	fn redc(&self, t: u128) -> u64 {
		let m = (t as u64).wrapping_mul(self.ninv);
		let mn_hi = ((m as u128 * self.n as u128) >> 64) as u64;
		let (r, borrow) = ((t >> 64) as u64).overflowing_sub(mn_hi);
		if borrow {
			r.wrapping_add(self.n)
		} else {
			r
		}
	}

	#[inline(always)]
	pub fn mul(&self, a: u64, b: u64) -> u64 {
		self.redc(a as u128 * b as u128)
	}

	#[inline(always)]
	pub fn add(&self, a: u64, b: u64) -> u64 {
		let (s, o) = a.overflowing_add(b);
		if o || s >= self.n {
			s.wrapping_sub(self.n)
		} else {
			s
		}
	}

	#[inline(always)]
	pub fn sub(&self, a: u64, b: u64) -> u64 {
		if a >= b {
			a - b
		} else {
			a.wrapping_sub(b).wrapping_add(self.n)
		}
	}

	pub fn enter(&self, a: u64) -> u64 {
		self.mul(a % self.n, self.r2)
	}

	pub fn leave(&self, a: u64) -> u64 {
		self.redc(a as u128)
	}

	pub fn pow(&self, base: u64, mut e: u64) -> u64 {
		let mut b = self.enter(base);
		let mut r = self.enter(1);
		while e > 0 {
			if e & 1 == 1 {
				r = self.mul(r, b);
			}
			b = self.mul(b, b);
			e >>= 1;
		}
		self.leave(r)
	}
}

pub fn gcd(mut a: u64, mut b: u64) -> u64 {
	if a == 0 {
		return b;
	}
	if b == 0 {
		return a;
	}
	let shift = (a | b).trailing_zeros();
	a >>= a.trailing_zeros();
	loop {
		b >>= b.trailing_zeros();
		if a > b {
			std::mem::swap(&mut a, &mut b);
		}
		b -= a;
		if b == 0 {
			return a << shift;
		}
	}
}

pub fn mulmod(a: u64, b: u64, m: u64) -> u64 {
	if m <= u32::MAX as u64 {
		// Both factors reduced below m: the product fits a u64 and a 64-bit division is far
		// cheaper than a 128-bit one (and skipped for factors already reduced).
		let (a, b) = (if a < m { a } else { a % m }, if b < m { b } else { b % m });
		a * b % m
	} else {
		(a as u128 * b as u128 % m as u128) as u64
	}
}

/// The Legendre symbol `(a/p)` for an odd prime `p`: 1, -1 or 0 (Jacobi's algorithm, no
/// multiplications).
pub fn legendre(a: u64, p: u64) -> i32 {
	let (mut a, mut n, mut t) = (a % p, p, 1i32);
	while a != 0 {
		while a % 2 == 0 {
			a /= 2;
			if n % 8 == 3 || n % 8 == 5 {
				t = -t;
			}
		}
		std::mem::swap(&mut a, &mut n);
		if a % 4 == 3 && n % 4 == 3 {
			t = -t;
		}
		a %= n;
	}
	if n == 1 {
		t
	} else {
		0
	}
}

pub fn powmod(mut b: u64, mut e: u64, m: u64) -> u64 {
	let mut r = 1 % m;
	b %= m;
	while e > 0 {
		if e & 1 == 1 {
			r = mulmod(r, b, m);
		}
		b = mulmod(b, b, m);
		e >>= 1;
	}
	r
}

/// `a^{-1} mod m` for `gcd(a, m) = 1`.
pub fn invmod(a: u64, m: u64) -> Option<u64> {
	inverse_or_gcd(a, m).ok()
}

/// `a^{-1} mod m`, or `Err(gcd(a, m))` when there is none (ECM's way of finding a factor).
pub fn inverse_or_gcd(a: u64, m: u64) -> Result<u64, u64> {
	// i128: the Bézout coefficients of two u64s fit, whatever m's top bit.
	let (mut r0, mut r1) = (m as i128, (a % m) as i128);
	let (mut t0, mut t1) = (0i128, 1i128);
	while r1 != 0 {
		let q = r0 / r1;
		(r0, r1) = (r1, r0 - q * r1);
		(t0, t1) = (t1, t0 - q * t1);
	}
	if r0 == 1 {
		Ok(t0.rem_euclid(m as i128) as u64)
	} else {
		Err(r0 as u64)
	}
}

/// A square root of `a` modulo the odd prime `p` (Tonelli–Shanks), if `a` is a residue.
pub fn sqrt_mod(a: u64, p: u64) -> Option<u64> {
	let a = a % p;
	if a == 0 {
		return Some(0);
	}
	if p == 2 {
		return Some(a);
	}
	// Jacobi's algorithm costs a few divisions where Euler's criterion costs a powering.
	if legendre(a, p) != 1 {
		return None;
	}
	if p % 4 == 3 {
		return Some(powmod(a, (p + 1) / 4, p));
	}
	let s = (p - 1).trailing_zeros();
	let q = (p - 1) >> s;
	let z = (2..p).find(|&z| legendre(z, p) == -1)?;
	let (mut m, mut c, mut t, mut r) =
		(s, powmod(z, q, p), powmod(a, q, p), powmod(a, q.div_ceil(2), p));
	while t != 1 {
		let mut i = 0;
		let mut tt = t;
		while tt != 1 {
			tt = mulmod(tt, tt, p);
			i += 1;
		}
		let b = powmod(c, 1 << (m - i - 1), p);
		m = i;
		c = mulmod(b, b, p);
		t = mulmod(t, c, p);
		r = mulmod(r, b, p);
	}
	Some(r)
}

/// Deterministic primality for every `u64` (Miller–Rabin with the first twelve primes as
/// bases, which has no counterexample below 3.3·10^24).
pub fn is_prime_u64(n: u64) -> bool {
	if n < 2 {
		return false;
	}
	for p in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
		if n.is_multiple_of(p) {
			return n == p;
		}
	}
	let mont = Mont64::new(n);
	let d = (n - 1) >> (n - 1).trailing_zeros();
	let s = (n - 1).trailing_zeros();
	let one = mont.enter(1);
	let minus_one = mont.enter(n - 1);
	'bases: for a in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
		let mut x = mont.enter(mont.pow(a, d));
		if x == one || x == minus_one {
			continue;
		}
		for _ in 1..s {
			x = mont.mul(x, x);
			if x == minus_one {
				continue 'bases;
			}
		}
		return false;
	}
	true
}

/// Primes below `limit` (sieve of Eratosthenes).
pub fn primes_below(limit: usize) -> Vec<u32> {
	let mut composite = vec![false; limit.max(2)];
	let mut out = Vec::new();
	for i in 2..limit {
		if !composite[i] {
			out.push(i as u32);
			let mut j = i * i;
			while j < limit {
				composite[j] = true;
				j += i;
			}
		}
	}
	out
}

/// A small, fast, deterministic generator for the solver's own choices (which polynomial,
/// which rho constant). Nothing secret depends on it.
pub struct XorShift(pub u64);

impl XorShift {
	pub fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn montgomery_matches_u128_arithmetic_near_the_top_of_u64() {
		for n in [u64::MAX, u64::MAX - 58, (1 << 63) + 29, 1_000_000_007, 3] {
			let m = Mont64::new(n);
			let mut x = XorShift(n | 1);
			for _ in 0..1000 {
				let (a, b) = (x.next() % n, x.next() % n);
				let got = m.leave(m.mul(m.enter(a), m.enter(b)));
				assert_eq!(got, mulmod(a, b, n), "n={n} a={a} b={b}");
			}
		}
	}

	#[test]
	fn primality_and_square_roots() {
		let primes = primes_below(10_000);
		for n in 0..10_000u64 {
			assert_eq!(is_prime_u64(n), primes.binary_search(&(n as u32)).is_ok(), "{n}");
		}
		assert!(is_prime_u64(18_446_744_073_709_551_557)); // largest prime below 2^64
		assert!(!is_prime_u64(3_215_031_751)); // strong pseudoprime to bases 2, 3, 5, 7
		assert!(!is_prime_u64(4_294_967_291 * 4_294_967_279));
		for &p in &primes[1..200] {
			for a in 0..p as u64 {
				if let Some(r) = sqrt_mod(a, p as u64) {
					assert_eq!(mulmod(r, r, p as u64), a, "sqrt({a}) mod {p}");
				} else {
					assert_eq!(powmod(a, (p as u64 - 1) / 2, p as u64), p as u64 - 1);
				}
			}
		}
		assert_eq!(invmod(3, 7), Some(5));
		for &p in &primes[1..100] {
			for a in 0..p as u64 {
				let euler = powmod(a, (p as u64 - 1) / 2, p as u64);
				let expect = if euler == 0 {
					0
				} else if euler == 1 {
					1
				} else {
					-1
				};
				assert_eq!(legendre(a, p as u64), expect, "({a}/{p})");
			}
		}
		assert_eq!(invmod(6, 9), None);
		assert_eq!(gcd(0, 5), 5);
		assert_eq!(gcd(48, 180), 12);
	}
}
