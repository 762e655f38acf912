//! Attacks on the market (the threat model in docs/DECISIONS.md): each test plays the
//! attacker and fails on the code before its defence.

use super::*;
use pallet_challenge::{audit_commitment, factor_commitment, Error as ChallengeError};
use pallet_escrow::EscrowApi;
use sp_runtime::DispatchResult;

/// The parties of an indenture register as miners too: they must not win its slots.
#[test]
fn the_buyer_exchange_and_operator_cannot_compete_on_their_own_work() {
	build_and_execute(|| {
		let id = assert_submit(BUYER, spec());
		for party in [BUYER, EXCHANGE, ESCROW_OP] {
			register_miner(party, big(), 1);
			assert_noop!(solve(id, 0, party), ChallengeError::<Test>::NotEligible);
			assert!(!IndenturePallet::may_compete(id, &party));
		}
		// Anyone else still may.
		register_miner(MINER_A, big(), 1);
		assert_solve(MINER_A, id, 0);
	});
}

/// A buyer registered as an exchange or escrow operator cannot name itself: it would pay its
/// own fees and build its own reputation with them.
#[test]
fn a_buyer_cannot_be_its_own_exchange_or_operator() {
	build_and_execute(|| {
		for role in [Role::Exchange, Role::EscrowOperator] {
			assert_ok!(RepChain::register_service(
				RuntimeOrigin::signed(BUYER),
				role,
				Permill::zero(),
				BoundedVec::truncate_from(b"me".to_vec()),
				BoundedVec::truncate_from(b"me:1".to_vec()),
				50,
			));
		}
		assert_noop!(
			submit(SpecOf::<Test> { exchange: BUYER, ..spec() }),
			Error::<Test>::SelfDealing
		);
		assert_noop!(
			submit(SpecOf::<Test> { escrow_operator: BUYER, ..spec() }),
			Error::<Test>::SelfDealing
		);
	});
}

/// Odd primes from `from` up, by trial division (the numbers are below 2^62).
pub(super) fn prime_from(from: u64) -> u64 {
	(from | 1..)
		.step_by(2)
		.find(|n| (3..).step_by(2).take_while(|d| d * d <= *n).all(|d| n % d != 0))
		.expect("a prime")
}

/// Canonical big-endian bytes of `n`.
pub(super) fn be(n: u128) -> Vec<u8> {
	let bytes = n.to_be_bytes();
	bytes[bytes.iter().position(|b| *b != 0).unwrap_or(15)..].to_vec()
}

/// The exchange posts a fair modulus for the factorization challenge of `slot` of indenture
/// `id`. Returns the challenge and its factors `p ≤ q` as canonical bytes.
fn modulus_posted(id: IndentureId, slot: u32) -> (ChallengeId, Vec<u8>, Vec<u8>) {
	let challenge = Slots::<Test>::get(id, slot).unwrap().challenge;
	let bits = Challenge::factor_bits_for(Indentures::<Test>::get(id).unwrap().compute_units);
	assert!(bits <= 124, "u128 arithmetic");
	// Both factors in [¾·2^h, 2^h): the product has exactly 2h bits.
	let h = bits / 2;
	let low = (1u64 << (h - 1)) + (1u64 << (h - 2));
	let p = prime_from(low + 12_345);
	let q = prime_from(p + 2);
	let c = u128::from(p) * u128::from(q);
	assert_ok!(Challenge::post_modulus(
		RuntimeOrigin::signed(EXCHANGE),
		challenge,
		BoundedVec::truncate_from(be(c)),
		audit_commitment(&be(p.into()), &[9; 32]),
	));
	(challenge, be(p.into()), be(q.into()))
}

/// `who` commits to the factors of `challenge`.
fn commit_factors(who: u64, challenge: ChallengeId, p: &[u8], q: &[u8]) {
	let hash = factor_commitment(p, q, &who, &[7; 32]);
	assert_ok!(Challenge::commit(RuntimeOrigin::signed(who), challenge, hash));
}

fn reveal_factors(who: u64, challenge: ChallengeId, p: &[u8], q: &[u8]) -> DispatchResult {
	Challenge::reveal(
		RuntimeOrigin::signed(who),
		challenge,
		BoundedVec::truncate_from(p.to_vec()),
		BoundedVec::truncate_from(q.to_vec()),
		[7; 32],
	)
	.map(|_| ())
	.map_err(|e| e.error)
}

/// The buyer submits one-node factorization work, the exchange posts its modulus, and in the
/// next block (the commit window's first) each of `miners` registers with price floor 1 and
/// commits to the factors. Reveals open at block 5 (commits in blocks 2 to 4). Returns the
/// indenture, its challenge and the factors.
fn factorization_posted(miners: &[u64]) -> (IndentureId, ChallengeId, Vec<u8>, Vec<u8>) {
	let id = assert_submit(
		BUYER,
		SpecOf::<Test> { challenge: ChallengeKind::Factorization, nodes: 1, ..spec() },
	);
	let (challenge, p, q) = modulus_posted(id, 0);
	set_block(2);
	for miner in miners {
		register_miner(*miner, big(), 1);
		commit_factors(*miner, challenge, &p, &q);
	}
	(id, challenge, p, q)
}

/// The first block of the reveal window of a challenge posted in block 1.
const REVEALS: u64 = 5;

/// A miner commits, then starts leaving (its bond becomes withdrawable after the unbonding
/// delay): its valid reveal returns its deposit, but it is not awarded work its bond will not
/// back; with nobody else qualified the slot gets a fresh challenge.
#[test]
fn a_miner_that_starts_leaving_after_its_commit_is_not_awarded() {
	build_and_execute(|| {
		let (id, challenge, p, q) = factorization_posted(&[MINER_A]);
		assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner));
		set_block(REVEALS);
		assert_ok!(reveal_factors(MINER_A, challenge, &p, &q));
		let slot = Slots::<Test>::get(id, 0).unwrap();
		assert!(slot.miner.is_none());
		assert_ne!(slot.challenge, challenge, "the slot gets another round");
		System::assert_has_event(
			Event::SlotChallengeRenewed {
				id,
				slot: 0,
				challenge: slot.challenge,
				kind: ChallengeKind::Factorization,
			}
			.into(),
		);
		let a = pallet_repchain::Registrations::<Test>::get(MINER_A, Role::Miner).unwrap();
		assert_eq!(a.active, 0);
	});
}

/// The best-ranked qualified miner (the cheapest here) starts leaving after its reveal, while
/// another commit is still to be revealed. It must not be awarded a lease its bond no longer
/// backs, and its lapse must not throw away the slot: the next qualified miner wins.
#[test]
fn a_best_reveal_whose_miner_left_does_not_win_the_slot() {
	build_and_execute(|| {
		let (id, challenge, p, q) = factorization_posted(&[MINER_A]);
		register_miner(MINER_B, big(), 0); // cheaper: ranked above A
		commit_factors(MINER_B, challenge, &p, &q);
		set_block(REVEALS);
		assert!(IndenturePallet::rank(id, &MINER_B) > IndenturePallet::rank(id, &MINER_A));
		assert_ok!(reveal_factors(MINER_B, challenge, &p, &q));
		assert!(Slots::<Test>::get(id, 0).unwrap().miner.is_none(), "A may still reveal");
		assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_B), Role::Miner));
		assert_ok!(reveal_factors(MINER_A, challenge, &p, &q));
		assert_eq!(Slots::<Test>::get(id, 0).unwrap().miner, Some(MINER_A));
		let b = pallet_repchain::Registrations::<Test>::get(MINER_B, Role::Miner).unwrap();
		assert_eq!(b.active, 0);
	});
}

/// A miner that stops offering the executor the work needs after it committed (a cheaper,
/// better-ranked commit) does not win the slot: its offer is read again when it is ranked and
/// when the slot is awarded, and the next qualified miner wins.
#[test]
fn a_miner_that_stops_offering_the_executor_does_not_win_the_slot() {
	build_and_execute(|| {
		let (id, challenge, p, q) = factorization_posted(&[MINER_A]);
		register_miner(MINER_B, big(), 0); // cheaper: ranked above A
		commit_factors(MINER_B, challenge, &p, &q);
		assert_ok!(RepChain::update_miner(
			RuntimeOrigin::signed(MINER_B),
			big(),
			BoundedVec::truncate_from(vec![Executor::Container]),
			0,
			BoundedVec::truncate_from(b"10.0.0.5:22".to_vec()),
			0
		));
		set_block(REVEALS);
		assert_eq!(IndenturePallet::rank(id, &MINER_B), None);
		assert_ok!(reveal_factors(MINER_B, challenge, &p, &q));
		assert_ok!(reveal_factors(MINER_A, challenge, &p, &q));
		assert_eq!(Slots::<Test>::get(id, 0).unwrap().miner, Some(MINER_A));
	});
}

/// Issue 12, item 1: qualified miners are ranked by reputation first, then by how cheap their
/// price floor is: neither commit order nor the issuer's knowledge of `p` decides.
#[test]
fn the_award_goes_to_the_best_reputed_then_cheapest_qualified_miner() {
	build_and_execute(|| {
		let (id, challenge, p, q) = factorization_posted(&[MINER_A, MINER_B]);
		// Equal scores: the cheaper floor ranks higher.
		register_miner(MINER_C, big(), 0);
		commit_factors(MINER_C, challenge, &p, &q);
		assert!(IndenturePallet::rank(id, &MINER_C) > IndenturePallet::rank(id, &MINER_A));
		// A better reputation beats a cheaper floor.
		RepChain::append(
			IndenturePallet::work_record(MINER_A, Role::Miner, 99, Outcome::Success, 1_000, None),
			None,
		);
		assert!(IndenturePallet::rank(id, &MINER_A) > IndenturePallet::rank(id, &MINER_C));
		set_block(REVEALS);
		for m in [MINER_C, MINER_B, MINER_A] {
			assert_ok!(reveal_factors(m, challenge, &p, &q));
		}
		assert_eq!(Slots::<Test>::get(id, 0).unwrap().miner, Some(MINER_A));
	});
}

/// Issue 12, item 1: an exchange that does not post its modulus used to lose nothing (a
/// voided challenge had no effect) and the slot sat empty until the award deadline. Now it is
/// slashed to the buyer, its fee goes back to the buyer, and the slot falls back to a
/// hash-target challenge that a miner wins.
#[test]
fn an_exchange_that_does_not_post_is_slashed_refunds_its_fee_and_the_slot_falls_back() {
	build_and_execute(|| {
		let id = assert_submit(
			BUYER,
			SpecOf::<Test> { challenge: ChallengeKind::Factorization, ..spec() },
		);
		let challenge = Slots::<Test>::get(id, 0).unwrap().challenge;
		let second = Slots::<Test>::get(id, 1).unwrap().challenge;
		let fee = Indentures::<Test>::get(id).unwrap().exchange_fee;
		assert_eq!(fee, 60);
		let (buyer, escrowed) =
			(Balances::free_balance(BUYER), <Escrow as EscrowApi<_, _, _>>::held(id));
		let bond =
			pallet_repchain::Registrations::<Test>::get(EXCHANGE, Role::Exchange).unwrap().bond;
		// The issuer had until block 4 (three blocks after opening) to post.
		set_block(5);
		assert_ok!(Challenge::conclude(RuntimeOrigin::signed(MINER_C), challenge));
		System::assert_has_event(
			Event::ExchangeFailed { id, exchange: EXCHANGE, challenge }.into(),
		);
		let ind = Indentures::<Test>::get(id).unwrap();
		assert_eq!((ind.exchange_fee, ind.spec.challenge), (0, ChallengeKind::HashTarget));
		assert_eq!(<Escrow as EscrowApi<_, _, _>>::held(id), escrowed - fee);
		// Fee back, and a tenth of the minimum service bond (50) slashed to the buyer.
		assert_eq!(Balances::free_balance(BUYER), buyer + fee + 5);
		let after = pallet_repchain::Registrations::<Test>::get(EXCHANGE, Role::Exchange).unwrap();
		assert_eq!(after.bond, bond - 5);
		assert_eq!(RepChain::counts(&EXCHANGE), (1, 0, 1));
		let slot = Slots::<Test>::get(id, 0).unwrap();
		assert_ne!(slot.challenge, challenge);
		register_miner(MINER_A, big(), 1);
		assert_solve(MINER_A, id, 0);
		// The other slot's unposted challenge falls back too, without a second slash.
		assert_ok!(Challenge::conclude(RuntimeOrigin::signed(MINER_C), second));
		assert_eq!(RepChain::counts(&EXCHANGE), (1, 0, 1));
		assert_eq!(Balances::free_balance(BUYER), buyer + fee + 5);
		assert_ne!(Slots::<Test>::get(id, 1).unwrap().challenge, second);
		register_miner(MINER_B, big(), 1);
		assert_solve(MINER_B, id, 1);
		assert_eq!(Indentures::<Test>::get(id).unwrap().status, Status::Leased);
	});
}

/// Issue 12, item 8: compute units counted nodes × duration while each slot is paid
/// `incentive / (nodes × replicas)`: with three replicas the buyer got triple replication at
/// the one-replica minimum and each miner a third of the floor it passed. Now the minimum
/// incentive and price floors count replicas.
#[test]
fn replicas_count_in_the_minimum_incentive_and_in_price_floors() {
	build_and_execute(|| {
		// 600 compute units a replica at rate 2: three replicas' minimum is 50 % of 3,600.
		let tripled = SpecOf::<Test> { replicas: 3, ..spec() };
		assert_noop!(submit(tripled.clone()), Error::<Test>::IncentiveTooLow);
		let id = assert_submit(BUYER, SpecOf::<Test> { incentive: 3_600, ..tripled });
		// Each of the six slots pays 600 for its node's 300 units: 2 a unit, so a floor of 2
		// may compete and a floor of 3 may not (it passed when replicas were ignored).
		register_miner(MINER_A, big(), 2);
		register_miner(MINER_B, big(), 3);
		assert!(IndenturePallet::may_compete(id, &MINER_A));
		assert!(!IndenturePallet::may_compete(id, &MINER_B));
	});
}

/// One-node work; `MINER_A` registers and starts leaving; at block `at` (if not 0) the slot's
/// challenge reports `MINER_A` as its winner, as the Challenge pallet does once it is done
/// with the challenge. Returns the indenture and that challenge.
fn award_to_a_leaving_miner(at: u64) -> (IndentureId, ChallengeId) {
	let id = assert_submit(BUYER, SpecOf::<Test> { nodes: 1, ..spec() });
	assert_eq!(Indentures::<Test>::get(id).unwrap().award_deadline, 21);
	register_miner(MINER_A, big(), 1);
	assert_ok!(RepChain::unregister(RuntimeOrigin::signed(MINER_A), Role::Miner));
	let old = Slots::<Test>::get(id, 0).unwrap().challenge;
	if at > 0 {
		set_block(at);
	}
	assert_ok!(<Challenge as ChallengeApi<u64, u64>>::cancel(old));
	<IndenturePallet as ChallengeOutcome<u64>>::awarded(id, old, &MINER_A);
	(id, old)
}

/// Whatever the challenge says, the marketplace never leases to a miner that may not compete
/// (here one that started leaving): the award does not stand, nothing is marked busy and the
/// slot reopens under a fresh challenge until the award deadline.
#[test]
fn an_award_to_an_ineligible_miner_reopens_the_slot() {
	build_and_execute(|| {
		let (id, old) = award_to_a_leaving_miner(0);
		let slot = Slots::<Test>::get(id, 0).unwrap();
		assert_eq!((slot.miner, slot.lease), (None, None));
		assert_ne!(slot.challenge, old);
		assert_eq!(SlotOfChallenge::<Test>::get(slot.challenge), Some((id, 0)));
		assert!(pallet_challenge::Challenges::<Test>::get(slot.challenge).is_some());
		System::assert_has_event(
			Event::SlotReopened { id, slot: 0, miner: MINER_A, challenge: Some(slot.challenge) }
				.into(),
		);
		let a = pallet_repchain::Registrations::<Test>::get(MINER_A, Role::Miner).unwrap();
		assert_eq!(a.active, 0);
		// The reopened slot is won by an eligible miner as any other.
		register_miner(MINER_B, big(), 1);
		assert_solve(MINER_B, id, 0);
	});
}

/// Past the award deadline no challenge can open: a refused award leaves the slot empty,
/// still mapped to its challenge, and the indenture expires with everything refunded.
#[test]
fn past_the_deadline_a_refused_award_leaves_the_slot_to_expiry() {
	build_and_execute(|| {
		let (id, old) = award_to_a_leaving_miner(21 + 1);
		System::assert_has_event(
			Event::SlotReopened { id, slot: 0, miner: MINER_A, challenge: None }.into(),
		);
		assert_eq!(SlotOfChallenge::<Test>::get(old), Some((id, 0)));
		assert_ok!(IndenturePallet::expire(RuntimeOrigin::signed(MINER_C), id));
		System::assert_has_event(Event::Expired { id, refunded: 1_200 + 60 + 12 }.into());
	});
}

/// Item 4: the buyer runs two of three replicas as sock puppets that reveal a wrong result.
/// Counting votes failed the honest miner and slashed its bond to the buyer; now the
/// disagreement goes to the escrow operator with every result on record, nobody is blamed by
/// count, and the operator's judgement pays the honest miner and slashes nobody.
#[test]
fn sock_puppet_replicas_cannot_fail_an_honest_miner() {
	build_and_execute(|| {
		three_replicas_reporting();
		let (lie, truth) = (H256::repeat_byte(0xba), H256::repeat_byte(0x60));
		let plays = [(MINER_A, lie), (MINER_B, lie), (MINER_C, truth)];
		for (who, r) in plays {
			assert_seal(who, 0, r);
		}
		for (who, r) in plays {
			assert_reveal(who, 0, r);
		}
		// Nobody is blamed or slashed by the count.
		assert_eq!(RepChain::counts(&MINER_C), (0, 0, 0));
		assert_eq!(miner_bond(MINER_C), 100);
		let ind = Indentures::<Test>::get(0).unwrap();
		assert_eq!(ind.status, Status::Disputed);
		let deadline = System::block_number() + 5;
		System::assert_has_event(
			Event::ResultsDisputed {
				id: 0,
				results: vec![(0, lie), (1, lie), (2, truth)],
				deadline,
			}
			.into(),
		);
		System::assert_has_event(pallet_escrow::Event::Disputed { id: 0, deadline }.into());
		let buyer_before = Balances::free_balance(BUYER);
		assert_eq!(
			IndenturePallet::judge(RuntimeOrigin::signed(ESCROW_OP), 0, Some(truth))
				.map(|i| i.pays_fee),
			Ok(Pays::No)
		);
		System::assert_has_event(Event::Judged { id: 0, result: Some(truth) }.into());
		// The honest miner is paid its result share and withheld round and recorded a success;
		// the puppets are paid nothing (their withheld rounds go back with their result
		// shares) and fail, with their bonds untouched (a judgement is not an objective fault).
		assert_eq!(Balances::free_balance(MINER_C), 1_000_000 - 100 + 400);
		assert_eq!(RepChain::counts(&MINER_C), (1, 1, 0));
		for puppet in [MINER_A, MINER_B] {
			assert_eq!(Balances::free_balance(puppet), 1_000_000 - 100);
			assert_eq!(RepChain::counts(&puppet), (1, 0, 1));
			assert_eq!(miner_bond(puppet), 100);
		}
		// The buyer gets the puppets' shares back; the operator's judgement is recorded.
		assert_eq!(Balances::free_balance(BUYER), buyer_before + 800);
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 1, 0));
		let record = ci_record();
		assert_eq!((record.status, record.paid_to_miners), (Status::Settled, 400));
	});
}

/// Item 5: three replicas reveal three results and the operator never decides. The result
/// part used to go back to the buyer with no record at all; now the default rule applies
/// after the operator's deadline and the dispute is on every party's RepChain history: each
/// miner's (neither success nor failure) and the operator's (a failure).
#[test]
fn a_split_vote_is_decided_and_recorded_for_every_party() {
	build_and_execute(|| {
		three_replicas_reporting();
		let plays = [
			(MINER_A, H256::repeat_byte(1)),
			(MINER_B, H256::repeat_byte(2)),
			(MINER_C, H256::repeat_byte(3)),
		];
		for (who, r) in plays {
			assert_seal(who, 0, r);
		}
		for (who, r) in plays {
			assert_reveal(who, 0, r);
		}
		assert_eq!(Indentures::<Test>::get(0).unwrap().status, Status::Disputed);
		let ind = Indentures::<Test>::get(0).unwrap();
		assert_noop!(
			Escrow::resolve_default(RuntimeOrigin::signed(9), 0),
			pallet_escrow::Error::<Test>::ResolutionWindowOpen
		);
		// Nobody has to call it: the agenda applies the default rule after the deadline.
		let due = System::block_number() + 5 + 1;
		assert!(Agenda::<Test>::get(due).contains(&Deadline::DisputeDefault(0)));
		set_block(due);
		let buyer_before = Balances::free_balance(BUYER);
		assert_ok!(IndenturePallet::process_deadline(due, Deadline::DisputeDefault(0)));
		for (who, _) in plays {
			// Half (`DefaultMinerShare`) of its 200 result share and 200 withheld round, a
			// neutral record, no slash.
			assert_eq!(Balances::free_balance(who), 1_000_000 - 100 + 200);
			assert_eq!(RepChain::counts(&who), (1, 0, 0));
			assert_eq!(
				pallet_repchain::RecentRecords::<Test>::get(who)[0].0.outcome,
				Outcome::Undecided
			);
			assert_eq!(miner_bond(who), 100);
		}
		assert_eq!(RepChain::counts(&ESCROW_OP), (1, 0, 1));
		// The buyer gets the other half and the operator's fee back.
		assert_eq!(Balances::free_balance(BUYER), buyer_before + 600 + ind.escrow_fee);
		assert_eq!(ci_record().status, Status::Settled);
	});
}

/// Item 4: an automatic slash is capped at the unserved part of the failed slot. A buyer whose
/// small job fails (or who makes it fail) gained 10 % of the minimum bond whatever the job was
/// worth; now it gets back at most what it paid for and did not get.
#[test]
fn a_slash_never_exceeds_the_unserved_part_of_the_slot() {
	build_and_execute(|| {
		// 0.1 core for 10 blocks, 12 paid: 6 streams with the one round, 6 for the result.
		let tiny = Resources { cpu_millicores: 100, memory_mib: 0, storage_gib: 0, gpus: 0 };
		awarded_slot_0(SpecOf::<Test> {
			nodes: 1,
			duration: 10,
			incentive: 12,
			resources: tiny,
			..spec()
		});
		heartbeat(MINER_A, 0);
		let seal_until = Indentures::<Test>::get(0).unwrap().results_deadline.unwrap();
		set_block(seal_until + 6);
		let buyer_before = Balances::free_balance(BUYER);
		assert_ok!(IndenturePallet::conclude_results(RuntimeOrigin::signed(9), 0));
		assert_eq!(RepChain::counts(&MINER_A), (1, 0, 1));
		// 10 % of the minimum bond would be 10; the unserved part is 6.
		assert_eq!(miner_bond(MINER_A), 94);
		let refunded = ci_record().refunded;
		assert_eq!(Balances::free_balance(BUYER), buyer_before + refunded + 6);
	});
}

/// Item 11: a result with few possible values (yes/no) was guessed from another replica's seal
/// by hashing each candidate with that miner's account, and a seal was valid on any indenture.
/// Now the seal binds the indenture, the slot and a secret salt.
#[test]
fn a_seal_cannot_be_guessed_or_reused() {
	build_and_execute(|| {
		three_replicas_reporting();
		let (yes, no) = (H256::repeat_byte(1), H256::repeat_byte(0));
		assert_seal(MINER_A, 0, yes);
		let Some(SlotResult::Sealed(seen)) = Slots::<Test>::get(0, 0).unwrap().result else {
			panic!("sealed")
		};
		// The copier hashes each candidate the way the old seal was made, and the new way
		// without the salt: neither finds the answer.
		for candidate in [yes, no] {
			let old = sp_io::hashing::blake2_256(&codec::Encode::encode(&(
				b"cutopia/result",
				candidate,
				MINER_A,
			)));
			assert_ne!(H256(old), seen);
			for guess in [H256::zero(), salt(MINER_B)] {
				assert_ne!(IndenturePallet::result_seal(0, 0, &MINER_A, &candidate, &guess), seen);
			}
		}
		// The same result and salt seal differently on another slot or indenture.
		let same =
			|id, slot| IndenturePallet::result_seal(id, slot, &MINER_A, &yes, &salt(MINER_A));
		assert_eq!(same(0, 0), seen);
		assert_ne!(same(1, 0), seen);
		assert_ne!(same(0, 1), seen);
		// A reveal with the right result but another salt is refused, state unchanged.
		assert_seal(MINER_B, 0, yes);
		assert_seal(MINER_C, 0, yes);
		assert_noop!(
			IndenturePallet::reveal_result(RuntimeOrigin::signed(MINER_A), 0, yes, H256::zero()),
			Error::<Test>::SealMismatch
		);
		assert_reveal(MINER_A, 0, yes);
	});
}

/// Issue 12, item 12: a factorization challenge whose issuer never revealed `p` stayed in
/// storage until someone called `report_unaudited`, and the exchange lost nothing meanwhile.
/// Its audit now goes on the agenda when it concludes: at the window's end the exchange fails
/// (its fee back to the buyer, part of its bond slashed) and the challenge leaves storage; an
/// audit passed in time leaves the deadline nothing to do.
#[test]
fn an_unaudited_factorization_challenge_is_closed_by_the_agenda() {
	build_and_execute(|| {
		let (id, challenge, p, q) = factorization_posted(&[MINER_A]);
		set_block(REVEALS);
		assert_ok!(reveal_factors(MINER_A, challenge, &p, &q));
		assert_eq!(Slots::<Test>::get(id, 0).unwrap().miner, Some(MINER_A));
		// Awarded in block 5; the issuer may reveal `p` until 5 + AuditWindow (10).
		assert!(pallet_challenge::Challenges::<Test>::get(challenge).is_some());
		let due = REVEALS + 10 + 1;
		assert!(Agenda::<Test>::get(due).contains(&Deadline::Audit(challenge)));
		let buyer = Balances::free_balance(BUYER);
		assert_audit_fails(id, challenge, due);
		// The exchange's fee (60) came back and 5 of its bond went to the buyer.
		assert_eq!(Balances::free_balance(BUYER), buyer + 60 + 5);
	});
	build_and_execute(|| {
		let (_, challenge, p, q) = factorization_posted(&[MINER_A]);
		set_block(REVEALS);
		assert_ok!(reveal_factors(MINER_A, challenge, &p, &q));
		assert_ok!(Challenge::reveal_factor(
			RuntimeOrigin::signed(EXCHANGE),
			challenge,
			BoundedVec::truncate_from(p.clone()),
			[9; 32]
		));
		assert!(pallet_challenge::Challenges::<Test>::get(challenge).is_none());
		let due = REVEALS + 10 + 1;
		set_block(due);
		assert!(IndenturePallet::process_deadline(due, Deadline::Audit(challenge)).is_err());
		assert_eq!(RepChain::counts(&EXCHANGE), (0, 0, 0));
	});
}

/// The review of the audit deadline: an exchange whose indenture ended before the audit window
/// closed (here the buyer terminated it right after the award) skipped its audit for nothing.
/// The failure is recorded and slashed to the buyer all the same.
#[test]
fn an_exchange_that_skips_the_audit_of_ended_work_still_fails() {
	build_and_execute(|| {
		let (id, challenge, p, q) = factorization_posted(&[MINER_A]);
		set_block(REVEALS);
		assert_ok!(reveal_factors(MINER_A, challenge, &p, &q));
		assert_ok!(IndenturePallet::terminate(RuntimeOrigin::signed(BUYER), id));
		assert!(Indentures::<Test>::get(id).is_none());
		let buyer = Balances::free_balance(BUYER);
		let due = REVEALS + 10 + 1;
		assert_audit_fails(id, challenge, due);
		// A tenth of the minimum service bond (50).
		assert_eq!(Balances::free_balance(BUYER), buyer + 5);
	});
}

/// The audit deadline of `challenge` (of indenture `id`) runs at `due` with `p` never revealed:
/// the challenge is gone and the exchange has one failure on record.
fn assert_audit_fails(id: IndentureId, challenge: ChallengeId, due: u64) {
	set_block(due);
	assert_ok!(IndenturePallet::process_deadline(due, Deadline::Audit(challenge)));
	assert!(pallet_challenge::Challenges::<Test>::get(challenge).is_none());
	System::assert_has_event(Event::ExchangeFailed { id, exchange: EXCHANGE, challenge }.into());
	assert_eq!(RepChain::counts(&EXCHANGE), (1, 0, 1));
}
