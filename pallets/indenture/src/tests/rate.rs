//! The living market rate: leased work moves it toward what it paid per compute unit,
//! weighted by compute units, within a bound per block.

use super::*;

/// An indenture of `compute_units` paying `per_unit` per unit, as `observe_price` reads it.
fn paying(per_unit: Balance, compute_units: u64) -> IndentureOf<Test> {
	let spec = SpecOf::<Test> { incentive: per_unit * Balance::from(compute_units), ..spec() };
	Indenture {
		buyer: BUYER,
		spec,
		compute_units,
		exchange_fee: 0,
		escrow_fee: 0,
		submitted: 0,
		award_deadline: 0,
		status: Status::Leased,
		results_deadline: None,
		result: None,
	}
}

fn start_rate(rate: Balance) {
	MarketRate::<Test>::put(rate);
	RateHistory::<Test>::put(BoundedVec::truncate_from(vec![(0, rate)]));
}

#[test]
fn the_rate_follows_leased_work_weighted_by_compute_units_and_bounded_per_block() {
	build_and_execute(|| {
		start_rate(1_000_000);
		set_block(5);
		// 100 units (the reference) paying 1.02 M: a tenth of the 20 k gap.
		IndenturePallet::observe_price(0, &paying(1_020_000, 100));
		assert_eq!(MarketRate::<Test>::get(), 1_002_000);
		System::assert_last_event(
			Event::MarketRateMoved { id: 0, paid: 1_020_000, rate: 1_002_000 }.into(),
		);
		// 10 units move it a tenth as far.
		IndenturePallet::observe_price(1, &paying(1_000_000 + 202_000, 10));
		assert_eq!(MarketRate::<Test>::get(), 1_004_000);
		// Far above: a tenth of the gap is more than the 5 % step from where the block began.
		IndenturePallet::observe_price(2, &paying(10_000_000, 1_000));
		assert_eq!(MarketRate::<Test>::get(), 1_050_000);
		// More of the same in this block moves it no further.
		IndenturePallet::observe_price(3, &paying(10_000_000, 1_000));
		assert_eq!(MarketRate::<Test>::get(), 1_050_000);
		// A tiny indenture at an extreme price moves the rate only its share of the step.
		set_block(5_000);
		RateHistory::<Test>::kill();
		IndenturePallet::observe_price(7, &paying(u64::MAX.into(), 1));
		// 1 of 100 reference units: at most 1 % of the 5 % step (525 of 1,050,000).
		assert_eq!(MarketRate::<Test>::get(), 1_050_525);
		MarketRate::<Test>::put(1_050_000);
		RateHistory::<Test>::put(BoundedVec::truncate_from(vec![(0, 1_000_000), (5, 1_050_000)]));
		assert_eq!(RateHistory::<Test>::get().to_vec(), vec![(0, 1_000_000), (5, 1_050_000)]);
		// The next block's step is from where it begins; downward likewise.
		set_block(6);
		IndenturePallet::observe_price(4, &paying(1, 1_000));
		assert_eq!(MarketRate::<Test>::get(), 1_050_000 - 52_500);
		assert_eq!(
			RateHistory::<Test>::get().to_vec(),
			vec![(0, 1_000_000), (5, 1_050_000), (6, 997_500)]
		);
		// Work paying the rate, or no compute units, leaves it.
		let events = System::events().len();
		IndenturePallet::observe_price(5, &paying(997_500, 100));
		IndenturePallet::observe_price(6, &paying(5, 0));
		assert_eq!((MarketRate::<Test>::get(), System::events().len()), (997_500, events));
	});
}

#[test]
fn the_rate_never_reaches_zero_and_its_history_is_bounded() {
	build_and_execute(|| {
		start_rate(3);
		for block in 1..=(RATE_HISTORY as u64 + 10) {
			set_block(block);
			IndenturePallet::observe_price(block, &paying(0, 1_000));
			assert!(MarketRate::<Test>::get() >= 1);
		}
		assert_eq!(MarketRate::<Test>::get(), 1);
		// It climbs again from the floor.
		set_block(1_000);
		IndenturePallet::observe_price(0, &paying(1_000, 1_000));
		assert_eq!(MarketRate::<Test>::get(), 2);
		let history = RateHistory::<Test>::get();
		assert!(history.len() as u32 <= RATE_HISTORY);
		assert_eq!(history.last(), Some(&(1_000, 2)));
	});
}

/// However many indentures of whatever price are leased in a block, the rate ends the block
/// within `MaxRateStep` of where it began.
#[test]
fn no_sequence_of_indentures_moves_the_rate_more_than_the_step_per_block() {
	for seed in 1..=20u64 {
		build_and_execute(|| {
			let mut next = xorshift(seed);
			start_rate(1 + next(10_000_000) as Balance);
			for block in 1..=40u64 {
				set_block(block);
				let began = MarketRate::<Test>::get();
				let step = MaxRateStep::get().mul_ceil(began).max(1);
				for id in 0..next(12) {
					let per_unit = match next(3) {
						0 => 0,
						1 => Balance::from(next(u64::MAX)),
						_ => began * Balance::from(next(4)),
					};
					IndenturePallet::observe_price(id, &paying(per_unit, 1 + next(5_000)));
					let rate = MarketRate::<Test>::get();
					assert!(
						rate >= began.saturating_sub(step).max(1) && rate <= began + step,
						"seed {seed} block {block}: {began} moved to {rate} (step {step})"
					);
				}
				let history = RateHistory::<Test>::get();
				assert_eq!(history.last().map(|(_, r)| *r), Some(MarketRate::<Test>::get()));
			}
		});
	}
}

/// The last slot's award leases the work and moves the rate toward what the buyer pays.
#[test]
fn leasing_work_moves_the_rate() {
	build_and_execute(|| {
		// One node, 3 CU a block for 100 blocks = 300 units (above the 100 reference), paying
		// 12,000: 40 a unit against a rate of 2, so the rate moves a tenth of the gap, capped
		// at the 5 % step of 2 (rounded up to 1).
		let id = awarded_slot_0(SpecOf::<Test> { nodes: 1, incentive: 12_000, ..spec() });
		System::assert_has_event(Event::MarketRateMoved { id, paid: 40, rate: 3 }.into());
		assert_eq!(MarketRate::<Test>::get(), 3);
	});
}
