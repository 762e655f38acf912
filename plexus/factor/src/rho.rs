//! Pollard's rho with Brent's cycle finding, in Montgomery form modulo a `u64`: the fastest
//! way to split numbers whose smaller factor has up to ~26 bits.

use crate::arith::{gcd, Mont64, XorShift};

/// A nontrivial factor of the odd composite `n`, or `None` after `max_iters` steps for every
/// tried constant.
pub fn rho(n: u64, max_iters: u64) -> Option<u64> {
	let m = Mont64::new(n);
	let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ n);
	for _ in 0..8 {
		let c = m.enter(rng.next() % (n - 3) + 1);
		let f = |x: u64| m.add(m.mul(x, x), c);
		let mut y = m.enter(rng.next() % n);
		let (mut r, mut q, mut g) = (1u64, m.enter(1), 1u64);
		let (mut x, mut ys) = (y, y);
		// Products of |x - y| are taken in batches so a gcd is paid once per batch.
		const BATCH: u64 = 128;
		let mut iters = 0;
		while g == 1 && iters < max_iters {
			x = y;
			for _ in 0..r {
				y = f(y);
			}
			let mut k = 0;
			while k < r && g == 1 {
				ys = y;
				for _ in 0..BATCH.min(r - k) {
					y = f(y);
					q = m.mul(q, m.sub(x, y));
				}
				g = gcd(q, n);
				k += BATCH;
			}
			iters += r;
			r *= 2;
		}
		if g == n {
			// The batch overshot: step once at a time from its start.
			loop {
				ys = f(ys);
				g = gcd(m.sub(x, ys), n);
				if g > 1 {
					break;
				}
			}
		}
		if g > 1 && g < n {
			return Some(g);
		}
	}
	None
}
