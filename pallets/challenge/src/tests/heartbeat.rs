//! Heartbeat leases: rounds proven into the root, missed rounds counted, leases completed,
//! failed or stopped.

use super::*;

const MINER: u64 = 5;

/// Lease for context 3: rounds open at blocks 2, 6, 10 for 2 blocks each; one miss allowed.
fn lease() -> LeaseId {
	ChallengePallet::start_lease(3, MINER, 2, 3, 4, 2, 1).unwrap()
}

/// The miner answers `round` of `lease` with the first nonce that meets the target.
fn answer(lease: LeaseId, round: u32) -> (u64, sp_runtime::DispatchResult) {
	let l = Leases::<Test>::get(lease).unwrap();
	let open = ChallengePallet::round_open(&l, round);
	let seed = ChallengePallet::round_seed(lease, round, open);
	let nonce = find_nonce(seed, MINER, l.difficulty, 0);
	(nonce, ChallengePallet::heartbeat(signed(MINER), lease, round, nonce))
}

/// The miner answers `round` of `lease` now, which must be accepted. Checks what every proven
/// round does: `HeartbeatProven` is emitted with the lease's next root, the opener is told, and
/// a lease still running has its cursor past the round, one more round proven and that root.
/// Returns the nonce.
fn assert_heartbeat(lease: LeaseId, round: u32) -> u64 {
	let before = Leases::<Test>::get(lease).expect("an active lease");
	let (nonce, result) = answer(lease, round);
	assert_ok!(result);
	let root = cutopia_primitives::hashes::heartbeat_root(&before.root, round, nonce);
	System::assert_has_event(Event::HeartbeatProven { lease, round, nonce, root }.into());
	assert!(told().contains(&Told::Proven(before.context, lease, round)));
	if let Some(after) = Leases::<Test>::get(lease) {
		assert_eq!((after.cursor, after.proven, after.root), (round + 1, before.proven + 1, root));
	}
	nonce
}

#[test]
fn start_lease_validates_parameters() {
	build_and_execute(|| {
		for (start, rounds, period, window) in
			[(2, 0, 4, 2), (2, 101, 4, 2), (2, 3, 4, 0), (2, 3, 4, 5), (0, 3, 4, 2)]
		{
			assert_noop!(
				ChallengePallet::start_lease(3, MINER, start, rounds, period, window, 1),
				Error::<Test>::BadLeaseParameters
			);
		}
	});
}

#[test]
fn heartbeats_chain_into_the_root_and_complete_the_lease() {
	build_and_execute(|| {
		let id = lease();
		assert_noop!(answer(id, 0).1, Error::<Test>::RoundNotOpen);
		run_to_block(2);
		assert_noop!(ChallengePallet::heartbeat(signed(EVE), id, 0, 0), Error::<Test>::NotMiner);
		assert_noop!(
			ChallengePallet::heartbeat(signed(MINER), 99, 0, 0),
			Error::<Test>::UnknownLease
		);
		assert_noop!(answer(id, 3).1, Error::<Test>::RoundNotOpen);
		let n0 = assert_heartbeat(id, 0);
		assert_noop!(answer(id, 0).1, Error::<Test>::RoundResolved);
		run_to_block(6);
		let n1 = assert_heartbeat(id, 1);
		run_to_block(11);
		let n2 = assert_heartbeat(id, 2);
		let root = [(0u32, n0), (1, n1), (2, n2)].iter().fold(H256::zero(), |acc, (r, n)| {
			H256(sp_io::hashing::blake2_256(&codec::Encode::encode(&(acc, *r, *n))))
		});
		System::assert_has_event(
			Event::LeaseEnded {
				lease: id,
				outcome: LeaseOutcome::Completed,
				proven: 3,
				missed: 0,
				root,
			}
			.into(),
		);
		assert!(Leases::<Test>::get(id).is_none());
		assert_eq!(
			told(),
			vec![
				Told::Proven(3, id, 0),
				Told::Proven(3, id, 1),
				Told::Proven(3, id, 2),
				Told::Ended(3, id, LeaseOutcome::Completed, 3, 0)
			]
		);
	});
}

#[test]
fn heartbeat_with_a_wrong_nonce_or_outside_the_window_is_refused() {
	build_and_execute(|| {
		let id = lease();
		run_to_block(2);
		let l = Leases::<Test>::get(id).unwrap();
		let seed = ChallengePallet::round_seed(id, 0, 2);
		let bad = (0u64..).find(|n| proof_bits(seed, MINER, *n) < l.difficulty).unwrap();
		assert_noop!(
			ChallengePallet::heartbeat(signed(MINER), id, 0, bad),
			Error::<Test>::TargetNotMet
		);
		run_to_block(4); // window of round 0 was blocks 2 and 3
		assert_noop!(answer(id, 0).1, Error::<Test>::RoundNotOpen);
	});
}

#[test]
fn missed_rounds_are_reported_by_anyone_and_fail_the_lease() {
	build_and_execute(|| {
		let id = lease();
		run_to_block(3);
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::NothingMissed);
		run_to_block(4);
		let info = ChallengePallet::report_missed(signed(EVE), id).unwrap();
		assert_eq!(info.pays_fee, frame_support::dispatch::Pays::No);
		assert_eq!(Leases::<Test>::get(id).unwrap().missed, 1);
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::NothingMissed);
		run_to_block(8);
		assert_ok!(ChallengePallet::report_missed(signed(EVE), id));
		assert!(Leases::<Test>::get(id).is_none());
		assert_eq!(
			told(),
			vec![
				Told::Missed(3, id, 1, 1),
				Told::Missed(3, id, 1, 2),
				Told::Ended(3, id, LeaseOutcome::Failed, 0, 2)
			]
		);
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::UnknownLease);
	});
}

#[test]
fn answering_a_later_round_counts_the_skipped_ones() {
	build_and_execute(|| {
		let id = lease();
		run_to_block(6);
		assert_heartbeat(id, 1);
		let l = Leases::<Test>::get(id).unwrap();
		assert_eq!((l.cursor, l.proven, l.missed), (2, 1, 1));
		// The last round is never answered: a second miss exceeds max_misses = 1.
		run_to_block(12);
		assert_ok!(ChallengePallet::report_missed(signed(EVE), id));
		assert_eq!(told().last(), Some(&Told::Ended(3, id, LeaseOutcome::Failed, 1, 2)));
	});
}

#[test]
fn stopping_a_lease_returns_its_counts() {
	build_and_execute(|| {
		let id = lease();
		run_to_block(2);
		assert_heartbeat(id, 0);
		assert_eq!(<ChallengePallet as ChallengeApi<_, _>>::stop_lease(id), Ok((1, 0)));
		assert!(Leases::<Test>::get(id).is_none());
		assert_noop!(
			<ChallengePallet as ChallengeApi<_, _>>::stop_lease(id),
			Error::<Test>::UnknownLease
		);
	});
}
