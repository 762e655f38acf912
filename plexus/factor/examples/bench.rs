//! `bench gen SEED COUNT BITS...` prints `bits n` lines of balanced semiprimes (two primes of
//! bits/2 bits each); `bench time FILE` prints `bits median_ms max_ms` per size for the solver.
//! `scripts/bench-factor.sh` runs both and PARI/GP on the same numbers.

use cutopia_factor::{is_probable_prime, split, FIXED_BASES};
use num_bigint::BigUint;
use std::{collections::BTreeMap, time::Instant};

fn prime(bits: u64, state: &mut u64) -> BigUint {
	loop {
		let mut x = BigUint::from(0u32);
		for _ in 0..bits.div_ceil(64) {
			*state ^= *state << 13;
			*state ^= *state >> 7;
			*state ^= *state << 17;
			x = (x << 64u32) + *state;
		}
		let top = BigUint::from(1u32) << (bits - 1);
		x = (x % (&top << 1u32)) | top | BigUint::from(1u32);
		if is_probable_prime(&x, &FIXED_BASES) {
			return x;
		}
	}
}

fn main() {
	let args: Vec<String> = std::env::args().skip(1).collect();
	match args.first().map(String::as_str) {
		Some("gen") => {
			let mut state: u64 = args[1].parse().expect("seed");
			let count: usize = args[2].parse().expect("count");
			for bits in &args[3..] {
				let bits: u64 = bits.parse().expect("bits");
				let mut made = 0;
				while made < count {
					let (p, q) = (prime(bits / 2, &mut state), prime(bits - bits / 2, &mut state));
					let n = p * q;
					if n.bits() == bits {
						println!("{bits} {n}");
						made += 1;
					}
				}
			}
		},
		Some("time") => {
			let text = std::fs::read_to_string(&args[1]).expect("semiprime file");
			let mut times: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
			for line in text.lines() {
				let (bits, n) = line.split_once(' ').expect("`bits n` lines");
				let n: BigUint = n.parse().expect("a number");
				// Small sizes are repeated until 20 ms have passed, for resolution.
				let (mut reps, start) = (0u32, Instant::now());
				while reps == 0 || start.elapsed().as_secs_f64() < 0.02 {
					let (a, b) = split(&n).expect("split");
					assert_eq!(a * b, n);
					reps += 1;
				}
				let ms = start.elapsed().as_secs_f64() * 1e3 / reps as f64;
				times.entry(bits.parse().expect("bits")).or_default().push(ms);
			}
			for (bits, mut t) in times {
				t.sort_by(f64::total_cmp);
				println!("{bits} {:.4} {:.4}", t[t.len() / 2], t[t.len() - 1]);
			}
		},
		Some("once") => {
			// Each number once, for a profiler or `perf stat -e task-clock` to measure.
			let text = std::fs::read_to_string(&args[1]).expect("semiprime file");
			for line in text.lines() {
				let n: BigUint =
					line.split_once(' ').expect("`bits n` lines").1.parse().expect("n");
				let (a, b) = split(&n).expect("split");
				assert_eq!(a * b, n);
			}
		},
		_ => eprintln!("usage: bench gen SEED COUNT BITS... | bench time FILE | bench once FILE"),
	}
}
