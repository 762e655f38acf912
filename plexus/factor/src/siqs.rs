//! Self-initialising quadratic sieve (Contini's SIQS) for 40–200-bit numbers.
//!
//! Relations `(Ax+B)² ≡ A·Q(x) (mod kN)` with `Q(x) = Ax² + 2Bx + C` smooth over a factor
//! base, or smooth but for one large prime (two such with the same prime make one relation).
//! A set of relations whose exponent vectors sum to zero mod 2 gives `X² ≡ Z² (mod N)`.
//!
//! Choices, all measured with `scripts/bench-factor.sh`:
//! - a Knuth–Schroeppel multiplier `k` makes small primes residues of `kN`;
//! - `A` is a product of `s` factor-base primes near `(√(2kN)/M)^{1/s}`, and its `2^{s-1}`
//!   `B` values are walked in Gray-code order so each new polynomial's roots are one
//!   addition away from the last one's (a branch-free loop over all primes);
//! - primes below 32 are not sieved (the threshold allows for them), and candidates are
//!   trial-divided only by the primes whose roots hit their sieve position, found by a
//!   multiplication per prime (AVX2 lanes where the CPU has them) and divided by
//!   multiplying with the prime's inverse modulo 2^64 or 2^128;
//! - within the 160-bit limit of the chain, `A`, `B`, `C` and every `Q(x)` fit an `i128`,
//!   and `C = (B² − kN)/A` is found modulo 2^128 through `A`'s inverse, so only the final
//!   square root uses big integers;
//! - relations live in one arena and the GF(2) matrix in one block, eliminated without a
//!   branch per row: allocation and mispredicted branches were a quarter of a 96-bit run.

use crate::arith::{invmod, legendre, primes_below, sqrt_mod, XorShift};
use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};
use std::{
	collections::{HashMap, HashSet},
	hash::{BuildHasherDefault, Hasher},
};

/// Rustc's multiply-rotate hash: the keys are the solver's own numbers (large primes, values
/// of A) and SipHash, built for keys an adversary picks, was a visible share of a factoring.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
	fn finish(&self) -> u64 {
		self.0
	}

	fn write(&mut self, bytes: &[u8]) {
		bytes.iter().for_each(|&b| self.write_u64(b as u64));
	}

	fn write_u64(&mut self, x: u64) {
		self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
	}

	fn write_u128(&mut self, x: u128) {
		self.write_u64(x as u64);
		self.write_u64((x >> 64) as u64);
	}
}

type Fx = BuildHasherDefault<FxHasher>;

/// Largest input this sieve takes: `Q(x)` of a 200-bit `kN` still fits an `i128`.
pub const MAX_BITS: u64 = 200;

struct Params {
	fb_size: usize,
	/// Half-width of the sieve interval.
	m: usize,
	/// Large primes up to `lp_mult · largest factor-base prime` are kept.
	lp_mult: u64,
	/// Bits below `log2 |Q|max − log2(large-prime bound)` a candidate may fall short by
	/// (unsieved small primes, rounding of the logs).
	fudge: f64,
}

/// Measured optima (`scripts/bench-factor.sh` and a parameter sweep on the reference
/// machine), interpolated between the listed sizes. Intervals of 8–32 KiB keep the sieve in
/// the L1 cache.
fn params(bits: u64) -> Params {
	const TABLE: [(u64, usize, usize, u64, f64); 10] = [
		(40, 30, 2048, 10, 2.0),
		(64, 60, 4096, 30, 2.0),
		(80, 90, 4096, 40, 3.0),
		(96, 200, 8192, 100, 5.0),
		(112, 250, 8192, 40, 6.0),
		(128, 450, 16384, 150, 7.0),
		(144, 750, 16384, 250, 8.0),
		(160, 1200, 16384, 300, 8.0),
		(176, 1700, 16384, 300, 8.0),
		(200, 2600, 32768, 300, 8.0),
	];
	let bits = bits.clamp(TABLE[0].0, TABLE[TABLE.len() - 1].0);
	let i = TABLE.iter().position(|t| t.0 >= bits).unwrap_or(TABLE.len() - 1).max(1);
	let (b0, f0, m0, l0, z0) = TABLE[i - 1];
	let (b1, f1, m1, l1, z1) = TABLE[i];
	let t = (bits - b0) as f64 / (b1 - b0) as f64;
	Params {
		fb_size: (f0 as f64 + t * (f1 as f64 - f0 as f64)) as usize,
		m: if t < 0.5 { m0 } else { m1 },
		lp_mult: (l0 as f64 + t * (l1 as f64 - l0 as f64)) as u64,
		fudge: z0 + t * (z1 - z0),
	}
}

/// `n mod p` for `p < 2^32`, 32 bits at a time so only 64-bit divisions are needed
/// (BigUint's `%` allocates a new number and divides 128 by 64 bits).
fn mod_small(n: &BigUint, p: u64) -> u64 {
	debug_assert!(p <= u32::MAX as u64);
	n.iter_u32_digits().rev().fold(0u64, |r, d| ((r << 32) | d as u64) % p)
}

/// Knuth–Schroeppel: the small multiplier `k` that makes the most small primes divide
/// values of `Q`, weighed by how much each contributes, against the larger `√(kN)`.
fn choose_multiplier(n: &BigUint, primes: &[u32]) -> u64 {
	const KS: [u64; 30] = [
		1, 3, 5, 7, 11, 13, 15, 17, 19, 21, 23, 29, 31, 33, 35, 37, 39, 41, 43, 47, 51, 53, 55, 57,
		59, 61, 67, 69, 71, 73,
	];
	let n8 = mod_small(n, 8);
	// (kN/p) = (k/p)(N/p): N's symbols once, each k's only for small numbers.
	let residues: Vec<(u64, i32, f64)> = primes
		.iter()
		.skip(1)
		.take(100)
		.map(|&p| (p as u64, legendre(mod_small(n, p as u64), p as u64), (p as f64).ln()))
		.collect();
	let mut best = (f64::MIN, 1);
	for k in KS {
		let mut score = -0.5 * (k as f64).ln();
		score += match (k * n8) % 8 {
			1 => 2.0 * 2f64.ln(),
			5 => 2f64.ln(),
			3 | 7 => 0.5 * 2f64.ln(),
			_ => 0.0,
		};
		for &(p, np, lp) in &residues {
			if k % p == 0 {
				score += lp / p as f64;
			} else if np != 0 && legendre(k, p) * np == 1 {
				score += 2.0 * lp / (p - 1) as f64;
			}
		}
		if score > best.0 {
			best = (score, k);
		}
	}
	best.1
}

/// One relation `Π y² ≡ (−1)^e₀ · Π pᵢ^eᵢ · lp² (mod N)`: one `y` (smooth) or two (two
/// partials with the same large prime). Its factor-base indices, with multiplicity (0 is −1),
/// are `arena[start..start + len]` of the shared arena: a factoring finds thousands of
/// relations and partials, and one allocation each was a tenth of its time.
#[derive(Clone, Copy)]
struct Relation {
	ys: [i128; 2],
	two: bool,
	start: u32,
	len: u32,
	/// The large prime that appears squared (1 if none).
	lp: u64,
}

impl Relation {
	fn ys(&self) -> &[i128] {
		&self.ys[..1 + self.two as usize]
	}

	fn factors<'a>(&self, arena: &'a [u32]) -> &'a [u32] {
		&arena[self.start as usize..(self.start + self.len) as usize]
	}
}

struct FactorBase {
	primes: Vec<u32>,
	/// `⌊2^64 / p⌋ + 1`, for Lemire's division-free `x mod p` of any `x < 2^32`.
	magic: Vec<u64>,
	/// `p^{-1} mod 2^32` and `⌊(2^32 − 1)/p⌋`: `p | t` exactly when `t·p^{-1} mod 2^32` is at
	/// most the latter (Granlund–Montgomery), one multiplication instead of a division.
	inv32: Vec<u32>,
	lim32: Vec<u32>,
	/// The same modulo 2^128, to test and divide `Q(x)` by `p`: when `p | u`, `u·p^{-1} mod
	/// 2^128` is the quotient.
	inv128: Vec<u128>,
	lim128: Vec<u128>,
	/// `√(kN) mod p`.
	sqrts: Vec<u32>,
	logs: Vec<u8>,
}

impl FactorBase {
	fn push(&mut self, p: u32, sqrt: u32) {
		let inv128 = inverse_mod_2_128(p as u128);
		self.primes.push(p);
		self.magic.push((u64::MAX / p as u64).wrapping_add(1));
		self.inv32.push(inv128 as u32);
		self.lim32.push(u32::MAX / p);
		self.inv128.push(inv128);
		self.lim128.push(u128::MAX / p as u128);
		self.sqrts.push(sqrt);
		self.logs.push((p as f64).log2().round() as u8);
	}

	/// `x mod p_j`.
	#[inline(always)]
	fn rem(&self, j: usize, x: u64) -> u32 {
		let p = self.primes[j];
		if x >> 32 == 0 {
			((self.magic[j].wrapping_mul(x) as u128 * p as u128) >> 64) as u32
		} else {
			(x % p as u64) as u32
		}
	}

	/// Divides every factor `p_j` out of `u`, noting each in `factors`.
	#[inline(always)]
	fn divide_out(&self, j: usize, u: &mut u128, factors: &mut Vec<u32>) {
		if *u >> 64 == 0 {
			let (inv, lim) = (self.inv128[j] as u64, (u64::MAX / self.primes[j] as u64));
			let mut v = *u as u64;
			loop {
				let q = v.wrapping_mul(inv);
				if q > lim {
					break;
				}
				v = q;
				factors.push(j as u32);
			}
			*u = v as u128;
		} else {
			let (inv, lim) = (self.inv128[j], self.lim128[j]);
			loop {
				let q = u.wrapping_mul(inv);
				if q > lim {
					break;
				}
				*u = q;
				factors.push(j as u32);
			}
		}
	}
}

/// `a^{-1} mod 2^128` for odd `a` (Newton: each step doubles the correct low bits).
fn inverse_mod_2_128(a: u128) -> u128 {
	let mut x = a; // correct to 3 bits: a·a ≡ 1 (mod 8) for odd a
	for _ in 0..6 {
		x = x.wrapping_mul(2u128.wrapping_sub(a.wrapping_mul(x)));
	}
	x
}

/// `a^{-1} mod p` for `0 < a < p < 2^31` prime.
fn inverse_mod_p(a: u32, p: u32) -> u32 {
	let (mut r0, mut r1) = (p as i32, a as i32);
	let (mut t0, mut t1) = (0i32, 1i32);
	while r1 != 0 {
		let q = r0 / r1;
		(r0, r1) = (r1, r0 - q * r1);
		(t0, t1) = (t1, t0 - q * t1);
	}
	if t0 < 0 {
		(t0 + p as i32) as u32
	} else {
		t0 as u32
	}
}

/// A nontrivial factor of the odd composite `n` (not a perfect power, no factor below 1000),
/// or `None` if the sieve failed (it is then worth retrying with another size).
pub fn siqs(n: &BigUint) -> Option<BigUint> {
	// An unlucky run (every dependency trivial, or polynomials exhausted) is retried with a
	// larger factor base; each retry is a fresh, independent set of relations.
	(0..3).find_map(|attempt| siqs_once(n, attempt))
}

// Index loops over parallel per-prime arrays read more plainly than zipped iterators here.
#[allow(clippy::needless_range_loop)]
pub(crate) fn siqs_once(n: &BigUint, attempt: u32) -> Option<BigUint> {
	let bits = n.bits();
	if !(40..=MAX_BITS).contains(&bits) {
		return None;
	}
	let mut par = params(bits);
	par.fb_size += par.fb_size * attempt as usize / 2;
	let fudge = par.fudge;
	// Enough primes for the factor base: about half of all primes are residues of kN.
	let small = primes_below((par.fb_size * 30).max(2000));
	let k = choose_multiplier(n, &small);
	let kn = n * k;
	let kn_f = kn.to_f64().expect("finite");

	// Factor base: −1 (index 0), 2 (index 1), then odd primes where kN is a residue.
	let mut fb = FactorBase {
		primes: vec![],
		magic: vec![],
		inv32: vec![],
		lim32: vec![],
		inv128: vec![],
		lim128: vec![],
		sqrts: vec![],
		logs: vec![],
	};
	// Index 0 stands for −1 (never divided by), index 1 for 2 (divided out by shifting, its
	// inverses never used).
	fb.push(1, 0);
	fb.push(2, 1);
	for &p in &small[1..] {
		if fb.primes.len() >= par.fb_size {
			break;
		}
		let pp = p as u64;
		let r = mod_small(&kn, pp);
		if r == 0 && !k.is_multiple_of(pp) {
			return Some(BigUint::from(p)); // p divides N itself
		}
		if let Some(s) = sqrt_mod(r, pp) {
			fb.push(p, s as u32);
		}
	}
	let nfb = fb.primes.len();
	let pmax = *fb.primes.last()? as u64;
	let lp_bound = pmax * par.lp_mult;
	let m = par.m as i64;
	let interval = 2 * par.m;
	let mmod: Vec<u32> = (0..nfb).map(|j| fb.rem(j, m as u64)).collect();
	let kn_low: u128 = kn.iter_u64_digits().take(2).rev().fold(0, |x, d| (x << 64) | d as u128);
	// Primes below this are not sieved: their logs are small and their hits many.
	let first_sieved = fb.primes.iter().position(|&p| p >= 32).unwrap_or(nfb).max(2);

	// |Q(x)| ≤ M·√(kN/2); a candidate must be smooth but for a large prime and the
	// unsieved small primes (≈ 4 bits on average, more for prime powers).
	let log_qmax = (m as f64).log2() + (kn_f / 2.0).log2() / 2.0;
	let thresh = (log_qmax - (lp_bound as f64).log2() - fudge).max(8.0) as u8;
	let init = 128u8.wrapping_sub(thresh.min(127));

	// A ≈ √(2kN)/M as a product of s factor-base primes near 2^(log A / s), each well
	// above the unsieved range so that A's primes do not matter much to the yield.
	let log_a = ((2.0 * kn_f).sqrt() / m as f64).log2();
	let min_q_idx = (first_sieved + 4).min(nfb - 1);
	// A's primes must come from the factor base: with a small one, use more of them.
	let log_p_high = (fb.primes[nfb * 3 / 4].max(3) as f64).log2();
	let log_q_ideal: f64 = f64::min(
		if log_a > 40.0 {
			11.0
		} else if log_a > 20.0 {
			9.5
		} else {
			7.5
		},
		log_p_high,
	);
	let s = ((log_a / log_q_ideal).ceil() as usize).max(1);
	let q_target = 2f64.powf(log_a / s as f64);
	let mut lo = fb.primes.iter().position(|&p| p as f64 >= q_target / 1.6).unwrap_or(nfb);
	lo = lo.max(min_q_idx).min(nfb - 1);
	let mut hi = fb.primes.iter().position(|&p| p as f64 > q_target * 1.6).unwrap_or(nfb);
	hi = hi.max(lo + 1);
	while hi - lo < 2 * s + 4 {
		if lo > min_q_idx {
			lo -= 1;
		} else if hi < nfb {
			hi += 1;
		} else {
			break;
		}
	}
	if hi - lo < s + 1 {
		return None;
	}

	let ln_p: Vec<f64> = fb.primes.iter().map(|&p| (p.max(1) as f64).ln()).collect();
	let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ bits ^ (u64::from(attempt) << 32));
	let mut seen_a: HashSet<u128, Fx> = HashSet::default();
	let mut relations: Vec<Relation> = Vec::new();
	let mut arena: Vec<u32> = Vec::new();
	let mut partials: HashMap<u64, Relation, Fx> = HashMap::default();
	let want = nfb + 32;
	let mut sieve = vec![0u8; interval + 8];
	let mut root1 = vec![0u32; nfb];
	let mut root2 = vec![0u32; nfb];
	let mut ainv = vec![0u32; nfb];
	let mut bainv: Vec<Vec<u32>> = vec![vec![0; nfb]; s];
	let mut tries = 0;
	let mut scratch: Vec<u32> = Vec::with_capacity(64);
	let mut hit_buf: Vec<u64> = Vec::with_capacity(nfb / 64 + 1);

	while relations.len() < want {
		tries += 1;
		if tries > 100_000 {
			return None;
		}
		// Choose A.
		let mut qs: Vec<usize> = Vec::with_capacity(s);
		let mut a = 1u128;
		for _ in 0..s.saturating_sub(1) {
			let mut tries_q = 0;
			loop {
				let i = lo + (rng.next() as usize) % (hi - lo);
				if !qs.contains(&i) && !k.is_multiple_of(fb.primes[i] as u64) {
					qs.push(i);
					a *= fb.primes[i] as u128;
					break;
				}
				tries_q += 1;
				if tries_q > 100 {
					return None;
				}
			}
		}
		// The last prime brings A closest to its target, among those not giving an A
		// already used.
		let want_last = 2f64.powf(log_a) / a as f64;
		// The primes nearest the target, walking outwards from it (the base is sorted).
		let want_ln = want_last.ln();
		let dist = |x: usize| (ln_p[x] - want_ln).abs();
		let start =
			fb.primes[..nfb].partition_point(|&p| (p as f64) < want_last).clamp(min_q_idx, nfb - 1);
		let (mut down, mut up) = (start as isize - 1, start);
		let mut near: Vec<usize> = Vec::with_capacity(32);
		while near.len() < 32 && (down >= min_q_idx as isize || up < nfb) {
			let take_up =
				down < min_q_idx as isize || (up < nfb && dist(up) <= dist(down as usize));
			let i = if take_up {
				up += 1;
				up - 1
			} else {
				down -= 1;
				(down + 1) as usize
			};
			if !qs.contains(&i) && !k.is_multiple_of(fb.primes[i] as u64) {
				near.push(i);
			}
		}
		// A product of distinct primes names its set of primes: A itself is the key.
		let fresh = near.iter().find(|&&last| !seen_a.contains(&(a * fb.primes[last] as u128)));
		let Some(&last) = fresh else {
			continue;
		};
		qs.push(last);
		a *= fb.primes[last] as u128;
		seen_a.insert(a);

		// B_l with B_l² ≡ kN (mod q_l) and B_l ≡ 0 (mod q_j), j ≠ l.
		let mut bl: Vec<u128> = Vec::with_capacity(s);
		let mut gammas: Vec<i128> = Vec::with_capacity(s);
		for &qi in &qs {
			let q = fb.primes[qi] as u64;
			let aq = a / q as u128;
			let inv = invmod((aq % q as u128) as u64, q)?;
			let mut g = fb.sqrts[qi] as u64 * inv % q;
			if g > q / 2 {
				g = q - g;
			}
			bl.push(aq * g as u128);
			gammas.push(g as i128);
		}
		let mut b: i128 = bl.iter().sum::<u128>() as i128;
		// C = (B² − kN)/A is exact and fits an i128, and A is odd: so C is (B² − kN)·A^{-1}
		// modulo 2^128, with no big-integer division. Each later polynomial's C follows from
		// this one in i128 arithmetic too (below).
		let mut c: i128 = (b as u128)
			.wrapping_mul(b as u128)
			.wrapping_sub(kn_low)
			.wrapping_mul(inverse_mod_2_128(a)) as i128;

		// Roots of the first polynomial and the per-prime increments of the Gray-code walk,
		// from A's primes' residues modulo each p (products of two residues fit 32 bits while
		// p < 2^16, so `fb.rem` needs no division there). Every entry of each row is
		// rewritten here, so the rows are reused across A.
		let qv: Vec<u32> = qs.iter().map(|&i| fb.primes[i]).collect();
		let gv: Vec<u32> = gammas.iter().map(|&g| g as u32).collect();
		let (mut qm, mut pre) = (vec![0u32; s], vec![0u32; s + 1]);
		for j in 2..nfb {
			let p = fb.primes[j];
			pre[0] = 1;
			for l in 0..s {
				qm[l] = fb.rem(j, qv[l] as u64);
				pre[l + 1] = fb.rem(j, pre[l] as u64 * qm[l] as u64);
			}
			let amod = pre[s];
			if amod == 0 {
				// One of A's primes: it is not sieved, and its roots stay in range for the
				// walk's branch-free updates.
				ainv[j] = 0;
				(root1[j], root2[j]) = (0, 0);
				bainv.iter_mut().for_each(|row| row[j] = 0);
				continue;
			}
			let ai = inverse_mod_p(amod, p);
			ainv[j] = ai;
			let (mut suf, mut bsum) = (1u32, 0u32);
			for l in (0..s).rev() {
				// (A/q_l) mod p = (product of the others), then B_l mod p.
				let others = fb.rem(j, pre[l] as u64 * suf as u64);
				suf = fb.rem(j, suf as u64 * qm[l] as u64);
				let blm = fb.rem(j, others as u64 * fb.rem(j, gv[l] as u64) as u64);
				bsum = add_mod(bsum, blm, p);
				let x = fb.rem(j, blm as u64 * ai as u64);
				bainv[l][j] = add_mod(x, x, p);
			}
			let (t, mm) = (fb.sqrts[j], mmod[j]);
			root1[j] = add_mod(fb.rem(j, ai as u64 * add_mod(t, p - bsum, p) as u64), mm, p);
			let neg_t = if t == 0 { 0 } else { p - t };
			root2[j] = add_mod(fb.rem(j, ai as u64 * add_mod(neg_t, p - bsum, p) as u64), mm, p);
		}

		let polys = 1usize << (s - 1);
		for poly in 0..polys {
			if poly > 0 {
				// Flip the sign of B_v, v = the Gray code's changed bit.
				let v = poly.trailing_zeros() as usize;
				let negative = ((poly ^ (poly >> 1)) >> v) & 1 == 1;
				let step: &[u32] = &bainv[v];
				// B' = B + d with d = 2e·B_v, B_v = (A/q_v)·γ_v, so
				// C' = C + d(2B + d)/A = C + 2e·γ_v·((2B + d)/q_v); q_v divides 2B + d
				// because B ≡ −e·B_v (mod q_v) before the flip.
				let e: i128 = if negative { -1 } else { 1 };
				let d = 2 * e * bl[v] as i128;
				let q = fb.primes[qs[v]] as i128;
				debug_assert_eq!((2 * b + d) % q, 0);
				c += 2 * e * gammas[v] * ((2 * b + d) / q);
				b += d;
				// New roots: r − e·2B_v·A⁻¹ with e = +1 when B_v became positive. Without a
				// branch per prime the loop runs in vector lanes; A's own primes get roots
				// that mean nothing, which neither the sieve nor `check` uses.
				let lanes = root1[2..nfb]
					.iter_mut()
					.zip(&mut root2[2..nfb])
					.zip(&fb.primes[2..nfb])
					.zip(&step[2..nfb]);
				for (((r1, r2), &p), &d) in lanes {
					let d = if negative { d } else { p - d };
					*r1 = add_mod(*r1, d, p);
					*r2 = add_mod(*r2, d, p);
				}
			}

			sieve.fill(init);
			for j in first_sieved..nfb {
				if ainv[j] == 0 {
					continue;
				}
				let p = fb.primes[j] as usize;
				let lg = fb.logs[j];
				let (mut r1, mut r2) = (root1[j] as usize, root2[j] as usize);
				if r1 > r2 {
					std::mem::swap(&mut r1, &mut r2);
				}
				let ptr = sieve.as_mut_ptr();
				// SAFETY: every index written is checked to be below `interval`, and the
				// sieve holds `interval + 8` bytes. Unchecked, interleaved writes are the
				// sieve's inner loop: bounds checks here cost about a third of its time.
				unsafe {
					if r1 == r2 {
						while r1 < interval {
							*ptr.add(r1) = (*ptr.add(r1)).wrapping_add(lg);
							r1 += p;
						}
					} else {
						while r2 < interval {
							*ptr.add(r1) = (*ptr.add(r1)).wrapping_add(lg);
							*ptr.add(r2) = (*ptr.add(r2)).wrapping_add(lg);
							r1 += p;
							r2 += p;
						}
						if r1 < interval {
							*ptr.add(r1) = (*ptr.add(r1)).wrapping_add(lg);
						}
					}
				}
			}

			debug_assert_eq!(interval % 32, 0);
			for (chunk_at, chunk) in sieve[..interval].chunks_exact(32).enumerate() {
				// Most chunks hold no candidate: one OR across 32 bytes (vector lanes) says so.
				if chunk.iter().fold(0u8, |acc, &v| acc | v) & 0x80 == 0 {
					continue;
				}
				for (k, &v) in chunk.iter().enumerate() {
					if v & 0x80 != 0 {
						let i = chunk_at * 32 + k;
						let x = i as i64 - m;
						if let Some((y, lp)) = check(
							x,
							i,
							a,
							b,
							c,
							&qs,
							&fb,
							&root1,
							&root2,
							first_sieved,
							lp_bound,
							&mut scratch,
							&mut hit_buf,
						) {
							let start = arena.len() as u32;
							let mut rel = Relation { ys: [y, 0], two: false, start, len: 0, lp };
							if lp == 1 {
								arena.extend_from_slice(&scratch);
								rel.len = scratch.len() as u32;
								relations.push(rel);
							} else if let Some(other) = partials.remove(&lp) {
								let from = other.start as usize..(other.start + other.len) as usize;
								arena.extend_from_within(from);
								arena.extend_from_slice(&scratch);
								rel.ys = [other.ys[0], y];
								rel.two = true;
								rel.len = other.len + scratch.len() as u32;
								relations.push(rel);
							} else {
								arena.extend_from_slice(&scratch);
								rel.len = scratch.len() as u32;
								partials.insert(lp, rel);
							}
						}
					}
				}
			}
			if relations.len() >= want {
				break;
			}
		}
	}
	combine(n, &fb, &relations, &arena)
}

#[inline(always)]
fn add_mod(a: u32, b: u32, p: u32) -> u32 {
	let s = a + b;
	if s >= p {
		s - p
	} else {
		s
	}
}

/// Trial-divides `Q(x)` by the factor-base primes whose roots say they divide it: `(y, lp)`
/// with `Q(x)`'s factor-base indices in `factors` (scratch space kept across calls) when it is
/// smooth (`lp` = 1) or smooth but for a prime `lp` below `lp_bound`.
#[allow(clippy::too_many_arguments)]
fn check(
	x: i64,
	i: usize,
	a: u128,
	b: i128,
	c: i128,
	qs: &[usize],
	fb: &FactorBase,
	root1: &[u32],
	root2: &[u32],
	first_sieved: usize,
	lp_bound: u64,
	factors: &mut Vec<u32>,
	hits: &mut Vec<u64>,
) -> Option<(i128, u64)> {
	let xi = x as i128;
	let v = (a as i128 * xi + 2 * b) * xi + c;
	if v == 0 {
		return None;
	}
	factors.clear();
	factors.extend(qs.iter().map(|&q| q as u32));
	if v < 0 {
		factors.push(0);
	}
	let mut u = v.unsigned_abs();
	let tz = u.trailing_zeros();
	u >>= tz;
	factors.extend(std::iter::repeat_n(1, tz as usize));
	// The unsieved small primes and A's own (whose roots were not computed) are tried on u.
	for j in 2..first_sieved {
		fb.divide_out(j, &mut u, factors);
	}
	for &j in qs {
		fb.divide_out(j, &mut u, factors);
	}
	hit_words(i as u32, fb, root1, root2, first_sieved, hits);
	for (w, &word) in hits.iter().enumerate() {
		let mut word = word;
		while word != 0 {
			fb.divide_out(first_sieved + w * 64 + word.trailing_zeros() as usize, &mut u, factors);
			word &= word - 1;
		}
	}
	(u < lp_bound as u128).then_some((a as i128 * xi + b, u as u64))
}

/// Sets bit `j − from` of `hits` (64 primes a word) where `p_j` may divide `Q(x)` at sieve
/// position `i`: when `i ≡ root (mod p_j)`, i.e. `p_j | i + p_j − root`, tested by multiplying
/// with `p_j^{-1} mod 2^32`. A stale root (A's primes) only costs a division that fails.
fn hit_words(
	i: u32,
	fb: &FactorBase,
	root1: &[u32],
	root2: &[u32],
	from: usize,
	hits: &mut Vec<u64>,
) {
	#[cfg(target_arch = "x86_64")]
	if std::arch::is_x86_feature_detected!("avx2") {
		// SAFETY: the CPU has AVX2, checked just above.
		return unsafe { hit_words_avx2(i, fb, root1, root2, from, hits) };
	}
	hit_words_any(i, fb, root1, root2, from, hits)
}

/// The same loop compiled for AVX2: eight 32-bit multiplications an instruction (the
/// baseline x86-64 target has none for 32-bit lanes). It is most of `check`'s time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn hit_words_avx2(
	i: u32,
	fb: &FactorBase,
	root1: &[u32],
	root2: &[u32],
	from: usize,
	hits: &mut Vec<u64>,
) {
	hit_words_any(i, fb, root1, root2, from, hits)
}

#[inline(always)]
fn hit_words_any(
	i: u32,
	fb: &FactorBase,
	root1: &[u32],
	root2: &[u32],
	from: usize,
	hits: &mut Vec<u64>,
) {
	let n = fb.primes.len();
	let (p, inv, lim) = (&fb.primes[from..n], &fb.inv32[from..n], &fb.lim32[from..n]);
	let (r1, r2) = (&root1[from..n], &root2[from..n]);
	let hit = |k: usize| {
		((i + p[k] - r1[k]).wrapping_mul(inv[k]) <= lim[k])
			| ((i + p[k] - r2[k]).wrapping_mul(inv[k]) <= lim[k])
	};
	hits.clear();
	let mut k = 0;
	while k + 64 <= p.len() {
		// Fixed-size views: one bounds check per 64 primes, and a loop of lanes.
		let (pw, iw, lw): (&[u32; 64], &[u32; 64], &[u32; 64]) = (
			p[k..k + 64].try_into().expect("64"),
			inv[k..k + 64].try_into().expect("64"),
			lim[k..k + 64].try_into().expect("64"),
		);
		let (aw, bw): (&[u32; 64], &[u32; 64]) =
			(r1[k..k + 64].try_into().expect("64"), r2[k..k + 64].try_into().expect("64"));
		let mut word = 0u64;
		for l in 0..64 {
			let h1 = (i + pw[l] - aw[l]).wrapping_mul(iw[l]) <= lw[l];
			let h2 = (i + pw[l] - bw[l]).wrapping_mul(iw[l]) <= lw[l];
			word |= ((h1 | h2) as u64) << l;
		}
		hits.push(word);
		k += 64;
	}
	if k < p.len() {
		hits.push((k..p.len()).fold(0u64, |w, kk| w | (hit(kk) as u64) << (kk - k)));
	}
}

/// Finds sets of relations whose exponents are all even (Gauss–Jordan over GF(2) after
/// dropping relations with a prime no other relation has) and tries each for a factor.
// Relation and column indices address several parallel arrays here.
#[allow(clippy::needless_range_loop)]
fn combine(n: &BigUint, fb: &FactorBase, relations: &[Relation], arena: &[u32]) -> Option<BigUint> {
	let nfb = fb.primes.len();
	// Odd-exponent columns of each relation, flat: relation r's are odd[at[r]..at[r + 1]].
	let (mut odd, mut at) = (Vec::new(), vec![0usize]);
	let mut sorted: Vec<u32> = Vec::new();
	for r in relations {
		sorted.clear();
		sorted.extend_from_slice(r.factors(arena));
		sorted.sort_unstable();
		for run in sorted.chunk_by(|a, b| a == b) {
			if run.len() % 2 == 1 {
				odd.push(run[0]);
			}
		}
		at.push(odd.len());
	}
	let cols = |r: usize| &odd[at[r]..at[r + 1]];
	// Singleton removal.
	let mut alive = vec![true; relations.len()];
	let mut count = vec![0u32; nfb];
	loop {
		count.fill(0);
		(0..relations.len()).filter(|&r| alive[r]).for_each(|r| {
			cols(r).iter().for_each(|&c| count[c as usize] += 1);
		});
		let mut changed = false;
		for r in 0..relations.len() {
			if alive[r] && cols(r).iter().any(|&c| count[c as usize] == 1) {
				alive[r] = false;
				changed = true;
			}
		}
		if !changed {
			break;
		}
	}
	let rels: Vec<usize> = (0..relations.len()).filter(|&r| alive[r]).collect();
	// One row per prime that occurs, one bit per remaining relation, all rows in one block.
	let words = rels.len().div_ceil(64);
	let mut row_of = vec![usize::MAX; nfb];
	let mut nrows = 0;
	for &r in &rels {
		for &c in cols(r) {
			if row_of[c as usize] == usize::MAX {
				row_of[c as usize] = nrows;
				nrows += 1;
			}
		}
	}
	let mut m = vec![0u64; nrows * words];
	for (ri, &r) in rels.iter().enumerate() {
		for &c in cols(r) {
			m[row_of[c as usize] * words + ri / 64] |= 1 << (ri % 64);
		}
	}
	let mut pivot_of_row: Vec<usize> = Vec::new();
	let mut is_pivot = vec![false; rels.len()];
	let mut pivot = vec![0u64; words];
	let mut rank = 0;
	for col in 0..rels.len() {
		let (w, bit) = (col / 64, 1u64 << (col % 64));
		let Some(p) = (rank..nrows).find(|&r| m[r * words + w] & bit != 0) else {
			continue;
		};
		if p != rank {
			let (lo, hi) = m.split_at_mut(p * words);
			lo[rank * words..(rank + 1) * words].swap_with_slice(&mut hi[..words]);
		}
		pivot.copy_from_slice(&m[rank * words..(rank + 1) * words]);
		// Every row with the bit takes the pivot row, without a branch per row (whether a
		// row has the bit is a coin flip the branch predictor loses); the pivot row, which
		// cleared itself, is put back.
		for row in m.chunks_exact_mut(words) {
			let take = 0u64.wrapping_sub((row[w] >> (col % 64)) & 1);
			row.iter_mut().zip(&pivot).for_each(|(a, b)| *a ^= b & take);
		}
		m[rank * words..(rank + 1) * words].copy_from_slice(&pivot);
		pivot_of_row.push(col);
		is_pivot[col] = true;
		rank += 1;
	}
	for free in (0..rels.len()).filter(|&c| !is_pivot[c]) {
		// Null vector: the free column plus every pivot column whose row has it.
		let (w, bit) = (free / 64, 1u64 << (free % 64));
		let set = std::iter::once(free).chain(
			pivot_of_row
				.iter()
				.enumerate()
				.filter(|(r, _)| m[r * words + w] & bit != 0)
				.map(|(_, &pc)| pc),
		);
		if let Some(f) = try_square(n, fb, relations, arena, set.map(|c| rels[c])) {
			return Some(f);
		}
	}
	None
}

fn try_square(
	n: &BigUint,
	fb: &FactorBase,
	relations: &[Relation],
	arena: &[u32],
	set: impl Iterator<Item = usize>,
) -> Option<BigUint> {
	let mut exps = vec![0u32; fb.primes.len()];
	let mut ys: Vec<u128> = Vec::new();
	let mut lps: Vec<u128> = Vec::new();
	for r in set {
		let rel = &relations[r];
		// |y| rather than y: X and −X have the same square, so either finds the factor.
		ys.extend(rel.ys().iter().map(|y| y.unsigned_abs()));
		rel.factors(arena).iter().for_each(|&f| exps[f as usize] += 1);
		if rel.lp > 1 {
			lps.push(rel.lp as u128);
		}
	}
	debug_assert!(exps.iter().skip(1).all(|e| e % 2 == 0), "odd exponent in a null vector");
	let x = product_mod(n, ys.into_iter());
	let halves = exps
		.iter()
		.enumerate()
		.skip(1)
		.flat_map(|(j, &e)| std::iter::repeat_n(fb.primes[j] as u128, (e / 2) as usize));
	let z = product_mod(n, lps.into_iter().chain(halves));
	let d = if x >= z { x - &z } else { &z - x };
	let g = d.gcd(n);
	(!g.is_one() && &g != n && !g.is_zero()).then_some(g)
}

/// The product of `factors` modulo `n`, reduced only when it outgrows `n²`: a reduction per
/// factor was most of the square root's time.
fn product_mod(n: &BigUint, factors: impl Iterator<Item = u128>) -> BigUint {
	let limit = 2 * n.bits() + 128;
	let mut acc = BigUint::one();
	for f in factors {
		acc *= f;
		if acc.bits() > limit {
			acc %= n;
		}
	}
	acc % n
}
