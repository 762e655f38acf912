//! Exponential back-off with jitter between failed cycles: relayers that share a failing
//! node do not retry in lockstep, and a long outage costs one request a minute.

use rand::Rng;
use std::time::Duration;

/// The first wait after a failure.
pub const FIRST: Duration = Duration::from_millis(500);
/// The longest step (the jitter comes on top).
pub const LONGEST: Duration = Duration::from_secs(60);

pub struct Backoff {
	step: Duration,
}

impl Default for Backoff {
	fn default() -> Self {
		Self { step: FIRST }
	}
}

impl Backoff {
	/// After a cycle that worked: the next failure waits [`FIRST`] again.
	pub fn reset(&mut self) {
		self.step = FIRST;
	}

	/// The wait before the next retry: the current step plus up to half of it at random; each
	/// call doubles the step, up to [`LONGEST`].
	pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
		let step = self.step.as_millis() as u64;
		let jitter = rng.gen_range(0..=step / 2);
		self.step = (self.step * 2).min(LONGEST);
		Duration::from_millis(step + jitter)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::{rngs::StdRng, SeedableRng};

	#[test]
	fn the_wait_doubles_up_to_a_minute_with_jitter_within_half_a_step() {
		let mut rng = StdRng::seed_from_u64(7);
		let mut backoff = Backoff::default();
		let steps = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000];
		for step in steps {
			let wait = backoff.next_delay(&mut rng).as_millis() as u64;
			assert!((step..=step + step / 2).contains(&wait), "{wait} ms for a {step} ms step");
		}
	}

	#[test]
	fn the_jitter_spreads_the_retries() {
		let mut rng = StdRng::seed_from_u64(1);
		let waits: std::collections::BTreeSet<_> = (0..50)
			.map(|_| {
				let mut backoff = Backoff::default();
				backoff.next_delay(&mut rng)
			})
			.collect();
		assert!(waits.len() > 10, "only {} different waits", waits.len());
		assert!(waits.iter().all(|w| (FIRST..=FIRST * 3 / 2).contains(w)));
	}

	#[test]
	fn a_success_starts_over() {
		let mut rng = StdRng::seed_from_u64(3);
		let mut backoff = Backoff::default();
		for _ in 0..5 {
			backoff.next_delay(&mut rng);
		}
		assert!(backoff.next_delay(&mut rng) >= Duration::from_secs(16));
		backoff.reset();
		assert!(backoff.next_delay(&mut rng) <= FIRST * 3 / 2);
	}
}
