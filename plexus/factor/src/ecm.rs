//! Lenstra's elliptic-curve method modulo a `u64`, for numbers of up to 64 bits whose smaller
//! factor rho would need ~`2^(bits/4)` steps to find.
//!
//! Montgomery curves `By² = x³ + Ax² + x` in Suyama's parametrisation (every group order is a
//! multiple of 12, as if the stage-1 bound were larger), `x`-only arithmetic in Montgomery
//! form: a doubling is 5 multiplications, a differential addition 6. Stage 1 multiplies the
//! point by every prime power up to `B1` with a Montgomery ladder; stage 2 is the standard
//! baby-step giant-step continuation: a prime `q = mD ± j` in `(B1, B2]` divides the order of
//! the stage-1 point modulo `p` exactly when `[mD]Q` and `[j]Q` share an `x`-coordinate
//! there, so the product of `X_{mD}·Z_j − X_j·Z_{mD}` over all such pairs has `p` in its gcd
//! with `n`.

use crate::arith::{gcd, inverse_or_gcd, primes_below, Mont64};
use std::sync::OnceLock;

/// Bounds per size, `(largest bits, B1, B2)`: the fewest instructions per factoring of 200
/// balanced semiprimes at 48, 56 and 64 bits among B1 of 50–700 with B2 of 25–50 × B1.
const PLANS: [(u64, u64, u64); 2] = [(56, 85, 3_000), (64, 250, 8_000)];

/// Distance between giant steps: 2·3·5·7, so only residues coprime to it (48 of 210, 24 up
/// to the midpoint) need baby steps.
const D: u64 = 210;

/// What stage 1 multiplies by, and stage 2's giant steps with the babies to pair each with.
struct Plan {
	/// Prime powers up to `B1`, packed into as few words as fit (one ladder per word).
	stage1: Vec<u64>,
	/// The first giant step's multiple of `D`.
	m0: u64,
	/// For each giant step `m0, m0 + 1, …`: a bit per baby `j` (index into [`babies`]) whose
	/// `mD − j` or `mD + j` is a prime in `(B1, B2]`.
	pairs: Vec<u32>,
}

fn babies() -> impl Iterator<Item = u64> {
	(1..D / 2).filter(|j| gcd(*j, D) == 1)
}

fn plan(index: usize) -> &'static Plan {
	static PLANS_MADE: [OnceLock<Plan>; PLANS.len()] = [const { OnceLock::new() }; PLANS.len()];
	PLANS_MADE[index].get_or_init(|| {
		let (_, b1, b2) = PLANS[index];
		let primes = primes_below(b2 as usize + D as usize);
		let m0 = ((b1 + D / 2) / D).max(1);
		// Primes just above B1 that the first giant step cannot reach go to stage 1.
		let s2_low = stage2_low(b1, m0);
		let mut stage1 = vec![1u64];
		for &p in primes.iter().take_while(|&&p| p as u64 <= s2_low) {
			let mut q = p as u64;
			while q * p as u64 <= s2_low {
				q *= p as u64;
			}
			let last = stage1.last_mut().expect("one word");
			match last.checked_mul(q) {
				Some(x) => *last = x,
				None => stage1.push(q),
			}
		}
		let is_prime = {
			let mut t = vec![false; b2 as usize + D as usize + 1];
			primes.iter().for_each(|&p| t[p as usize] = true);
			t
		};
		let js: Vec<u64> = babies().collect();
		let mut pairs = Vec::new();
		let mut m = m0;
		while m * D - D / 2 < b2 {
			let mut mask = 0u32;
			for (bit, &j) in js.iter().enumerate() {
				let hit = |q: u64| q > s2_low && q <= b2 && is_prime[q as usize];
				if hit(m * D - j) || hit(m * D + j) {
					mask |= 1 << bit;
				}
			}
			pairs.push(mask);
			m += 1;
		}
		Plan { stage1, m0, pairs }
	})
}

/// Primes above this and up to `B2` are stage 2's; those up to it, stage 1's.
fn stage2_low(b1: u64, m0: u64) -> u64 {
	b1.max(m0 * D - D / 2)
}

#[derive(Clone, Copy)]
struct Pt {
	x: u64,
	z: u64,
}

struct Curve<'a> {
	m: &'a Mont64,
	/// `(A + 2)/4` in Montgomery form.
	a24: u64,
}

impl Curve<'_> {
	#[inline(always)]
	fn dbl(&self, p: Pt) -> Pt {
		let m = self.m;
		let s = m.add(p.x, p.z);
		let d = m.sub(p.x, p.z);
		let (s2, d2) = (m.mul(s, s), m.mul(d, d));
		let t = m.sub(s2, d2);
		Pt { x: m.mul(s2, d2), z: m.mul(t, m.add(d2, m.mul(self.a24, t))) }
	}

	/// `p + q` from `p`, `q` and `p − q`.
	#[inline(always)]
	fn add(&self, p: Pt, q: Pt, diff: Pt) -> Pt {
		let m = self.m;
		let u = m.mul(m.sub(p.x, p.z), m.add(q.x, q.z));
		let v = m.mul(m.add(p.x, p.z), m.sub(q.x, q.z));
		let (s, d) = (m.add(u, v), m.sub(u, v));
		Pt { x: m.mul(diff.z, m.mul(s, s)), z: m.mul(diff.x, m.mul(d, d)) }
	}

	/// `[k]p` for `k ≥ 1` (Montgomery ladder: `r1 − r0 = p` throughout).
	fn mul(&self, p: Pt, k: u64) -> Pt {
		if k == 1 {
			return p;
		}
		let (mut r0, mut r1) = (p, self.dbl(p));
		for bit in (0..63 - k.leading_zeros()).rev() {
			if (k >> bit) & 1 == 1 {
				r0 = self.add(r1, r0, p);
				r1 = self.dbl(r1);
			} else {
				r1 = self.add(r1, r0, p);
				r0 = self.dbl(r0);
			}
		}
		r0
	}
}

/// A nontrivial factor of the odd composite `n` (no factor below 1000, not a prime power),
/// or `None` after `max_curves` curves.
pub fn ecm(n: u64, max_curves: u32) -> Option<u64> {
	let bits = 64 - n.leading_zeros() as u64;
	let index = PLANS.iter().position(|p| bits <= p.0).unwrap_or(PLANS.len() - 1);
	let plan = plan(index);
	let m = Mont64::new(n);
	let found = |g: u64| (g > 1 && g < n).then_some(g);
	for sigma in 6..6 + max_curves as u64 {
		// Suyama: u = σ² − 5, v = 4σ, x₀ = u³, z₀ = v³, (A + 2)/4 = (v − u)³(3u + v)/(16u³v).
		let s = m.enter(sigma);
		let u = m.sub(m.mul(s, s), m.enter(5));
		let v = m.mul(m.enter(4), s);
		let (u3, v3) = (m.mul(m.mul(u, u), u), m.mul(m.mul(v, v), v));
		let vu = m.sub(v, u);
		let num = m.mul(m.mul(m.mul(vu, vu), vu), m.add(m.add(m.add(u, u), u), v));
		let den = m.mul(m.mul(m.enter(16), u3), v);
		let inv = match inverse_or_gcd(m.leave(den), n) {
			Ok(i) => m.enter(i),
			Err(g) => match found(g) {
				Some(f) => return Some(f),
				None => continue,
			},
		};
		let curve = Curve { m: &m, a24: m.mul(num, inv) };
		let mut q = Pt { x: u3, z: v3 };
		for &k in &plan.stage1 {
			q = curve.mul(q, k);
		}
		let g = gcd(q.z, n);
		if g == n {
			continue; // both primes' orders were smooth: another curve separates them
		}
		if let Some(f) = found(g) {
			return Some(f);
		}
		if let Some(f) = found(stage2(&curve, q, plan, n)) {
			return Some(f);
		}
	}
	None
}

fn stage2(curve: &Curve, q: Pt, plan: &Plan, n: u64) -> u64 {
	let m = curve.m;
	// [j]Q for odd j < D/2 by differential additions, keeping those coprime to D.
	let q2 = curve.dbl(q);
	let mut odd = vec![q, curve.add(q2, q, q)];
	while (odd.len() as u64) * 2 + 1 < D / 2 {
		let k = odd.len();
		odd.push(curve.add(odd[k - 1], q2, odd[k - 2]));
	}
	let baby: Vec<Pt> = babies().map(|j| odd[(j / 2) as usize]).collect();
	let step = curve.mul(q, D);
	let mut giant = curve.mul(q, plan.m0 * D);
	let mut next = curve.mul(q, (plan.m0 + 1) * D);
	let mut acc = m.enter(1);
	for &mask in &plan.pairs {
		let mut bits = mask;
		while bits != 0 {
			let b = &baby[bits.trailing_zeros() as usize];
			acc = m.mul(acc, m.sub(m.mul(giant.x, b.z), m.mul(b.x, giant.z)));
			bits &= bits - 1;
		}
		(giant, next) = (next, curve.add(next, step, giant));
	}
	gcd(acc, n)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::arith::{is_prime_u64, XorShift};

	fn prime(bits: u32, rng: &mut XorShift) -> u64 {
		loop {
			let x = (rng.next() >> (64 - bits)) | (1 << (bits - 1)) | 1;
			if is_prime_u64(x) {
				return x;
			}
		}
	}

	#[test]
	fn splits_balanced_semiprimes_of_40_to_64_bits() {
		let mut rng = XorShift(11);
		for bits in (40..=64).step_by(4) {
			for _ in 0..20 {
				let (p, q) = (prime(bits / 2, &mut rng), prime(bits - bits / 2, &mut rng));
				let n = p * q;
				let f = ecm(n, 2000).unwrap_or_else(|| panic!("{bits} bits: {n} = {p}·{q}"));
				assert!(f == p || f == q, "{n}: {f}");
			}
		}
	}

	#[test]
	fn stage_two_pairs_cover_every_prime_between_the_bounds() {
		for (index, &(_, b1, b2)) in PLANS.iter().enumerate() {
			let plan = plan(index);
			assert!(plan.stage1.iter().all(|&w| w > 1), "no empty word");
			let js: Vec<u64> = babies().collect();
			let mut covered = std::collections::BTreeSet::new();
			for (i, &mask) in plan.pairs.iter().enumerate() {
				let md = (plan.m0 + i as u64) * D;
				for (bit, &j) in js.iter().enumerate() {
					if mask & (1 << bit) != 0 {
						covered.extend([md - j, md + j]);
					}
				}
			}
			let low = stage2_low(b1, plan.m0);
			for p in primes_below(low as usize + 1) {
				let p = p as u64;
				let mut e = 0;
				let mut pe = p;
				while pe * p <= low {
					pe *= p;
					e += 1;
				}
				let in_stage1: u32 = plan
					.stage1
					.iter()
					.map(|&w| {
						let (mut w, mut c) = (w, 0);
						while w % p == 0 {
							w /= p;
							c += 1;
						}
						c
					})
					.sum();
				assert_eq!(in_stage1, e + 1, "{p}: its largest power up to {low} in stage 1");
			}
			for p in primes_below(b2 as usize + 1).into_iter().map(u64::from).filter(|&p| p > low) {
				assert!(covered.contains(&p), "stage 2 from {low} to {b2}: {p} not paired");
			}
		}
	}

	#[test]
	fn inverse_or_the_shared_factor() {
		assert_eq!(inverse_or_gcd(3, 7), Ok(5));
		assert_eq!(inverse_or_gcd(6, 9), Err(3));
		let n = u64::MAX - 58; // odd, near the top: the i128 arithmetic must not overflow
		let a = 1_234_567_890_123;
		let inv = inverse_or_gcd(a, n).expect("coprime");
		assert_eq!((a as u128 * inv as u128 % n as u128) as u64, 1);
	}
}
