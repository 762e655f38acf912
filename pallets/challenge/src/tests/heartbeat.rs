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
	let nonce = nonce_for(lease, round);
	(
		nonce,
		ChallengePallet::heartbeat(signed(MINER), lease, round, nonce)
			.map(|_| ())
			.map_err(|e| e.error),
	)
}

/// The first nonce that answers `round` of `lease` for its miner.
fn nonce_for(lease: LeaseId, round: u32) -> u64 {
	let l = Leases::<Test>::get(lease).unwrap();
	let seed = ChallengePallet::round_seed(lease, round, ChallengePallet::round_open(&l, round));
	find_nonce(seed, l.miner, l.difficulty, 0)
}

fn answers(list: &[(LeaseId, u32, u64)]) -> BoundedVec<HeartbeatAnswer, ConstU32<8>> {
	BoundedVec::truncate_from(
		list.iter().map(|&(lease, round, nonce)| HeartbeatAnswer { lease, round, nonce }).collect(),
	)
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
		// The last answer completes the lease but does not end it: the opener ends it when the
		// last window closes (as its agenda does, through `count_missed`).
		assert_eq!(Leases::<Test>::get(id).map(|l| l.status), Some(LeaseStatus::Completed));
		assert_eq!(told().last(), Some(&Told::Proven(3, id, 2)));
		assert_noop!(answer(id, 2).1, Error::<Test>::LeaseNotActive);
		assert_ok!(<ChallengePallet as ChallengeApi<_, _>>::count_missed(id));
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

/// A heartbeat is charged its own work and what the opener does for one proven round, never
/// three of the opener's heaviest outcomes (a settlement): at the old charge about ten answers
/// filled a block and the fee of one exceeded what a small lease earns in a round.
#[test]
fn a_heartbeat_is_charged_its_own_work_not_a_settlement() {
	build_and_execute(|| {
		use frame_support::dispatch::GetDispatchInfo;
		let call = crate::Call::<Test>::heartbeat { lease: 0, round: 0, nonce: 0 };
		let weight = call.get_dispatch_info().call_weight;
		assert_eq!(weight, Weight::from_parts(OUTCOME_HEARTBEAT_WEIGHT, 0));
		assert!(weight.ref_time() < OUTCOME_MAX_WEIGHT);
		let batch = crate::Call::<Test>::heartbeats { answers: answers(&[(0, 0, 0); 8]) };
		assert_eq!(
			batch.get_dispatch_info().call_weight,
			Weight::from_parts(8 * OUTCOME_HEARTBEAT_WEIGHT, 0)
		);
	});
}

/// The leaseholder's answer in its window is free; a refused one (late, repeated, not the
/// leaseholder's, wrong) pays, so spam costs the spammer.
#[test]
fn taken_answers_are_free_and_refused_ones_pay() {
	build_and_execute(|| {
		let id = lease();
		run_to_block(2);
		let nonce = nonce_for(id, 0);
		let info = ChallengePallet::heartbeat(signed(MINER), id, 0, nonce).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		let repeated = ChallengePallet::heartbeat(signed(MINER), id, 0, nonce).unwrap_err();
		assert_eq!(repeated.error, Error::<Test>::RoundResolved.into());
		assert_eq!(repeated.post_info.pays_fee, Pays::Yes);
		let stranger = ChallengePallet::heartbeat(signed(EVE), id, 1, nonce).unwrap_err();
		assert_eq!(stranger.post_info.pays_fee, Pays::Yes);
	});
}

/// An answer after more misses than allowed is refused: the lease failed when its misses
/// did, and the answer would end it inside a cheap call. Reporting the misses ends it (free).
#[test]
fn an_answer_after_too_many_misses_is_refused_and_reporting_ends_the_lease() {
	build_and_execute(|| {
		let id = lease();
		run_to_block(10);
		// Rounds 0 and 1 were missed, one miss is allowed.
		assert_noop!(answer(id, 2).1, Error::<Test>::LeaseFailed);
		let info = ChallengePallet::report_missed(signed(EVE), id).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		assert_eq!(
			told(),
			vec![Told::Missed(3, id, 2, 2), Told::Ended(3, id, LeaseOutcome::Failed, 0, 2)]
		);
		assert!(Leases::<Test>::get(id).is_none());
		assert_noop!(ChallengePallet::report_missed(signed(EVE), id), Error::<Test>::UnknownLease);
	});
}

/// One call answers rounds of several leases; each answer is taken or refused on its own.
#[test]
fn heartbeats_answers_each_lease_on_its_own() {
	build_and_execute(|| {
		let a = lease();
		let b = lease();
		run_to_block(2);
		let (na, nb) = (nonce_for(a, 0), nonce_for(b, 0));
		let info =
			ChallengePallet::heartbeats(signed(MINER), answers(&[(a, 0, na), (b, 0, nb)])).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		for lease in [a, b] {
			let l = Leases::<Test>::get(lease).unwrap();
			assert_eq!((l.cursor, l.proven), (1, 1));
		}
		// Every answer refused: an error, nothing changed, and it pays.
		let before = (Leases::<Test>::get(a), Leases::<Test>::get(b));
		let all_bad = answers(&[(a, 0, na), (b, 0, nb)]);
		let e = ChallengePallet::heartbeats(signed(MINER), all_bad).unwrap_err();
		assert_eq!(e.error, Error::<Test>::RoundResolved.into());
		assert_eq!(e.post_info.pays_fee, Pays::Yes);
		assert_eq!((Leases::<Test>::get(a), Leases::<Test>::get(b)), before);
		// One good, one refused: the good one is taken, the refusal reported, and it pays.
		run_to_block(6);
		let n1 = nonce_for(a, 1);
		let info =
			ChallengePallet::heartbeats(signed(MINER), answers(&[(a, 1, n1), (99, 1, 0)])).unwrap();
		assert_eq!(info.pays_fee, Pays::Yes);
		assert_eq!(Leases::<Test>::get(a).unwrap().proven, 2);
		System::assert_has_event(
			Event::HeartbeatRefused {
				lease: 99,
				round: 1,
				error: Error::<Test>::UnknownLease.into(),
			}
			.into(),
		);
		// No answers at all: refused, and it pays (an empty call must not be free).
		let empty = ChallengePallet::heartbeats(signed(MINER), answers(&[])).unwrap_err();
		assert_eq!(empty.error, Error::<Test>::NoAnswers.into());
		assert_eq!(empty.post_info.pays_fee, Pays::Yes);
		// Not the miner's leases: nothing is taken.
		assert_noop!(
			ChallengePallet::heartbeats(signed(EVE), answers(&[(b, 1, 0)])),
			Error::<Test>::NotMiner
		);
	});
}

/// Issue 12, item 3, for heartbeats: a round's seed is fixed by the hash of the block before
/// the round opens, which for every round (the first included: it opens the block after the
/// lease starts) is sealed only after the lease was created, so no answer can be computed
/// in advance.
#[test]
fn a_round_seed_comes_from_a_block_sealed_after_the_lease_started() {
	build_and_execute(|| {
		run_to_block(1);
		let l = ChallengePallet::start_lease(3, MINER, 2, 3, 4, 2, 1).unwrap();
		let lease = Leases::<Test>::get(l).unwrap();
		for round in 0..3 {
			let open = ChallengePallet::round_open(&lease, round);
			assert!(open > System::block_number(), "round {round} opens after the lease starts");
		}
		// In the lease's own block the hash its first round depends on does not exist yet.
		assert_eq!(frame_system::BlockHash::<Test>::get(1), H256::zero());
		run_to_block(2);
		let sealed = frame_system::BlockHash::<Test>::get(1);
		assert_ne!(sealed, H256::zero());
		assert_eq!(
			ChallengePallet::round_seed(l, 0, 2),
			cutopia_primitives::hashes::heartbeat_seed(l, 0, &sealed)
		);
	});
}
