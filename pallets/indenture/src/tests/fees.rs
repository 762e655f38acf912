//! What each call is charged: results reports are free when taken, refused ones pay; submit
//! is charged by its size.

use super::*;
use frame_support::dispatch::GetDispatchInfo;

/// A miner's result reports are its duty: free when taken, paid when refused (late, repeated,
/// not its slot), so they cannot be spammed for free.
#[test]
fn a_miners_result_reports_are_free_when_taken() {
	build_and_execute(|| {
		single_batch_reporting();
		let result = H256::repeat_byte(3);
		let sealed = IndenturePallet::commit_result(
			RuntimeOrigin::signed(MINER_A),
			0,
			seal(0, result, MINER_A),
		);
		assert_eq!(sealed.map(|i| i.pays_fee), Ok(Pays::No));
		let again = IndenturePallet::commit_result(
			RuntimeOrigin::signed(MINER_A),
			0,
			seal(0, result, MINER_A),
		)
		.unwrap_err();
		assert_eq!(again.error, Error::<Test>::AlreadySealed.into());
		assert_eq!(again.post_info.pays_fee, Pays::Yes);
		let stranger = IndenturePallet::reveal_result(
			RuntimeOrigin::signed(MINER_B),
			0,
			result,
			salt(MINER_B),
		)
		.unwrap_err();
		assert_eq!(stranger.post_info.pays_fee, Pays::Yes);
		let revealed = IndenturePallet::reveal_result(
			RuntimeOrigin::signed(MINER_A),
			0,
			result,
			salt(MINER_A),
		);
		assert_eq!(revealed.map(|i| i.pays_fee), Ok(Pays::No));
	});
}

/// `submit` is charged for its slots and task bytes, not for the largest indenture possible.
#[test]
fn submit_is_charged_by_its_size() {
	// Declared: the submission by its size, plus an eviction it may have to make.
	let eviction = IndenturePallet::eviction_weight().ref_time();
	let weight = |spec: SpecOf<Test>| {
		crate::Call::<Test>::submit { spec }.get_dispatch_info().call_weight.ref_time() - eviction
	};
	let inline = |n: usize| Work::Inline(BoundedVec::truncate_from(vec![1u8; n]));
	let small = weight(SpecOf::<Test> { nodes: 1, task: inline(10), ..spec() });
	let wide = weight(SpecOf::<Test> { nodes: 4, replicas: 2, task: inline(10), ..spec() });
	let large = weight(SpecOf::<Test> { nodes: 1, task: inline(4_000), ..spec() });
	assert_eq!(small, MOCK_SUBMIT_BASE + MOCK_SUBMIT_PER_SLOT + 10);
	assert_eq!(wide, MOCK_SUBMIT_BASE + 8 * MOCK_SUBMIT_PER_SLOT + 10);
	assert_eq!(large, MOCK_SUBMIT_BASE + MOCK_SUBMIT_PER_SLOT + 4_000);
	// Slots beyond the maximum are refused by the call; they are charged as the maximum.
	let too_wide = weight(SpecOf::<Test> { nodes: 100, replicas: 100, task: inline(10), ..spec() });
	assert_eq!(too_wide, wide);
	// With room in the queue nothing is evicted: the eviction part is refunded.
	build_and_execute(|| {
		let spec = SpecOf::<Test> { nodes: 1, task: inline(10), ..spec() };
		let info = IndenturePallet::submit(RuntimeOrigin::signed(BUYER), spec).unwrap();
		assert_eq!(info.actual_weight.map(|w| w.ref_time()), Some(small));
	});
}
