//! A property test over random marketplace activity with adversaries among the parties.

use super::{
	adversary::{be, prime_from},
	*,
};
use frame_support::traits::UnfilteredDispatchable;
use pallet_challenge::{audit_commitment, factor_commitment, LeaseStatus, Leases, Puzzle};
use sp_runtime::Permill;
use std::collections::BTreeMap;

/// Miners that follow the protocol: they answer every heartbeat round in its window and seal
/// and reveal the true result of every task they hold.
const HONEST: [u64; 3] = [MINER_A, MINER_B, MINER_C];
/// The adversarial buyer.
const PUPPET_BUYER: u64 = 7;
/// Its sock-puppet miner: reveals a lie, answers heartbeats when it likes, leaves when it likes.
const PUPPET_MINER: u64 = 8;
/// Its escrow operator (0 % fee): judges for the lie, gives miners nothing. Also commits junk
/// to factorization challenges.
const PUPPET_OP: u64 = 9;
/// Everyone who may try to win work: the honest miners, the puppet, the adversarial buyer and
/// the exchange (both registered as miners too, to try to win their own work).
const COMPETITORS: [u64; 6] = [MINER_A, MINER_B, MINER_C, PUPPET_MINER, PUPPET_BUYER, EXCHANGE];

/// The true result of indenture `id`, as the honest miners compute it.
fn truth(id: IndentureId) -> H256 {
	H256::from_low_u64_be(0x7000 + id)
}

/// What the puppets reveal.
const LIE: H256 = H256::repeat_byte(0xee);

/// The factors the exchange chose for a factorization challenge (`p ≤ q`, big-endian).
type Factors = BTreeMap<ChallengeId, FactorPair>;

/// `(p, q)`, big-endian.
type FactorPair = (Vec<u8>, Vec<u8>);

/// Successes and tries of each kind of move.
type Stats = BTreeMap<&'static str, (u32, u32)>;

/// Random sequences of every party's calls, dispatched as the chain would (transactional,
/// failures allowed), over many blocks: honest buyers and miners, a buyer with a sock-puppet
/// miner and operator (lying replicas, one-sided judgements, disputes and terminations of
/// honest work, self-ratings), an exchange that competes on and skips the audits of its own
/// challenges, junk commits, and miners leaving and coming back. After every step:
/// Indenture's invariants (which include: no escrow pays a slot more than its proven rounds,
/// and at most `DisputeLag` rounds of a running lease are beyond dispute), what is held equals
/// the open escrows, no balance is created or lost, every bond equals what is held for it,
/// every running lease's proven rounds are exactly its slot's paid plus withheld ones, and no
/// honest miner was ever slashed.
#[test]
fn adversaries_never_break_an_invariant_or_slash_an_honest_miner() {
	const SEEDS: u64 = 20;
	const STEPS: u32 = 300;
	let mut stats = Stats::new();
	let mut total_ended = 0;
	for seed in 1..=SEEDS {
		build_and_execute(|| {
			let mut next = xorshift(seed);
			setup_parties();
			let issuance = pallet_balances::TotalIssuance::<Test>::get();
			let context = format!("seed {seed}: ");
			let mut factors = Factors::new();
			let mut seen_events = 0;
			for _ in 0..STEPS {
				let Some((name, call, signer, advance)) = pick(&mut next, &factors) else {
					continue;
				};
				let entry = stats.entry(name).or_default();
				entry.1 += 1;
				if call.dispatch_bypass_filter(RuntimeOrigin::signed(signer)).is_ok() {
					entry.0 += 1;
					if name == "post modulus" {
						remember_factors(&mut factors);
					}
				}
				for _ in 0..if advance { next(3) } else { 0 } {
					run_to_block(System::block_number() + 1);
					honest_miners_do_their_duty(&factors, &mut stats);
				}
				check(issuance, &context, &mut seen_events);
			}
			// Every deadline passes (the honest miners still on duty): the agenda ends the rest.
			for _ in 0..200 {
				run_to_block(System::block_number() + 1);
				honest_miners_do_their_duty(&factors, &mut stats);
			}
			check(issuance, &context, &mut seen_events);
			let left: Vec<_> = Indentures::<Test>::iter()
				.map(|(id, i)| (id, i.status, Slots::<Test>::iter_prefix(id).collect::<Vec<_>>()))
				.collect();
			if !left.is_empty() {
				let agenda: Vec<_> = Agenda::<Test>::iter().collect();
				let backlog: Vec<_> = Backlog::<Test>::iter().collect();
				let escrows: Vec<_> = pallet_escrow::Escrows::<Test>::iter().collect();
				let evs: Vec<_> = System::events()
					.into_iter()
					.filter(|e| format!("{:?}", e.event).contains("id: 29"))
					.map(|e| e.event)
					.collect();
				panic!("{context}work left running at {}: {left:?}\nagenda {agenda:?}\nbacklog {backlog:?}\nescrows {escrows:?}\n{evs:#?}", System::block_number());
			}
			let disputed = System::events()
				.iter()
				.filter(|e| {
					matches!(e.event, RuntimeEvent::IndenturePallet(Event::ResultsDisputed { .. }))
				})
				.count();
			let e = stats.entry("results disputed").or_default();
			*e = (e.0 + disputed as u32, e.1 + disputed as u32);
			total_ended += System::events()
				.iter()
				.filter(|e| {
					matches!(e.event, RuntimeEvent::IndenturePallet(Event::CiRecorded { .. }))
				})
				.count();
		});
	}
	for (name, (ok, tried)) in &stats {
		println!("property: {name}: {ok}/{tried} succeeded");
	}
	// The adversaries' moves were tried and the market still worked: each of these succeeded
	// at least once over the seeds.
	for name in [
		"submit",
		"solve",
		"post modulus",
		"honest commit",
		"honest reveal",
		"dispute lease",
		"terminate",
		"judge",
		"resolve",
		"rate",
		"unregister",
	] {
		assert!(stats.get(name).is_some_and(|(ok, _)| *ok > 0), "no {name} succeeded: {stats:?}");
	}
	// Refused by design, whatever the seed: the buyer and the exchange never win their own
	// work, and junk commits never qualify.
	assert!(total_ended >= 40, "only {total_ended} indentures ended over all seeds");
}

/// Registers every competitor as a miner, the puppet operator as an escrow operator with no
/// fee.
fn setup_parties() {
	for who in COMPETITORS {
		register_miner(who, big(), 1);
	}
	assert_ok!(RepChain::register_service(
		RuntimeOrigin::signed(PUPPET_OP),
		Role::EscrowOperator,
		Permill::zero(),
		BoundedVec::truncate_from(b"puppet".to_vec()),
		BoundedVec::truncate_from(b"puppet:1".to_vec()),
		50,
	));
}

/// One random move: its name (for the statistics), the call, its signer, and whether blocks
/// pass after it.
fn pick(
	next: &mut impl FnMut(u64) -> u64,
	factors: &Factors,
) -> Option<(&'static str, RuntimeCall, u64, bool)> {
	let action = next(22);
	// Most moves need an indenture in some state: one of those, at random.
	let states: &[Status] = match action {
		9 => &[Status::Open],
		13 | 14 => &[Status::Leased],
		15 => &[Status::Reported],
		16 => &[Status::Disputed],
		17 => &[Status::Disputed, Status::Contested, Status::Reported],
		_ => &[],
	};
	let ids: Vec<_> = Indentures::<Test>::iter()
		.filter(|(_, i)| states.is_empty() || states.contains(&i.status))
		.map(|(id, i)| (id, i.buyer, i.spec.escrow_operator))
		.collect();
	let (id, buyer, operator) =
		ids.get(next(ids.len().max(1) as u64) as usize).copied().unwrap_or((0, BUYER, ESCROW_OP));
	let competitor = COMPETITORS[next(COMPETITORS.len() as u64) as usize];
	// Empty slots whose challenge is still open: hash targets, or factorization challenges
	// still waiting for their modulus.
	let open_slots = |factorization: bool| -> Vec<(IndentureId, u32, ChallengeId)> {
		Slots::<Test>::iter()
			.filter(|(_, _, s)| s.miner.is_none())
			.filter(|(_, _, s)| {
				pallet_challenge::Challenges::<Test>::get(s.challenge).is_some_and(|c| {
					match c.puzzle {
						Puzzle::HashTarget { .. } => !factorization,
						Puzzle::Factorization { modulus, .. } => {
							factorization && modulus.is_empty()
						},
					}
				})
			})
			.map(|(i, n, s)| (i, n, s.challenge))
			.collect()
	};
	Some(match action {
		// Fewer submits while the market is busy: work must also get done.
		0 if Queue::<Test>::get().len() < 3 || next(4) == 0 => {
			let adversary = next(2) == 0;
			let spec = SpecOf::<Test> {
				task_type: if next(3) == 0 { TaskType::Service } else { TaskType::Batch },
				nodes: 1 + next(2) as u32,
				replicas: 1 + next(3) as u32,
				duration: 10 + 10 * next(4) as u32,
				incentive: 2_000 * (1 + next(3) as u128) + next(7) as u128,
				priority: next(3) as u8,
				challenge: if next(3) == 0 {
					ChallengeKind::Factorization
				} else {
					ChallengeKind::HashTarget
				},
				min_reputation: Permill::zero(),
				escrow_operator: if adversary { PUPPET_OP } else { ESCROW_OP },
				..spec()
			};
			let who = if adversary { PUPPET_BUYER } else { BUYER };
			("submit", Call::submit { spec }.into(), who, true)
		},
		1..=3 => {
			let open = open_slots(false);
			let &(i, n, _) = open.get(next(open.len().max(1) as u64) as usize)?;
			// The puppet tries hardest: a third of the solutions are its.
			let who = if next(3) == 0 { PUPPET_MINER } else { competitor };
			let (challenge, nonce) = solution(i, n, who);
			("solve", pallet_challenge::Call::solve { id: challenge, nonce }.into(), who, true)
		},
		4 => {
			// The exchange posts a fair modulus (it may also never post: the fallback).
			let open = open_slots(true);
			let &(i, _, challenge) = open.get(next(open.len().max(1) as u64) as usize)?;
			let work = Indentures::<Test>::get(i)?.compute_units;
			let (modulus, p) = fair_modulus(work);
			let call = pallet_challenge::Call::post_modulus {
				id: challenge,
				modulus: BoundedVec::truncate_from(modulus),
				factor_commitment: audit_commitment(&p, &[9; 32]),
			};
			("post modulus", call.into(), EXCHANGE, true)
		},
		5 | 6 => {
			// A competitor commits to the factors it knows; the puppet operator commits junk.
			let (challenge, (p, q)) = live(factors, next)?;
			let (who, hash) = if next(3) == 0 {
				(PUPPET_OP, H256::from_low_u64_be(next(u64::MAX)))
			} else {
				(competitor, factor_commitment(&p, &q, &competitor, &[7; 32]))
			};
			(
				"commit factors",
				pallet_challenge::Call::commit { id: challenge, hash }.into(),
				who,
				true,
			)
		},
		7 | 8 => {
			let (challenge, (p, q)) = live(factors, next)?;
			let call = pallet_challenge::Call::reveal {
				id: challenge,
				p: BoundedVec::truncate_from(p),
				q: BoundedVec::truncate_from(q),
				salt: [7; 32],
			};
			("reveal factors", call.into(), competitor, true)
		},
		9 if next(2) == 0 => ("cancel", Call::cancel { id }.into(), buyer, true),
		9 => ("expire", Call::expire { id }.into(), BUYER, true),
		10 => {
			// The exchange reveals `p` for the audit, or (half the time) skips it.
			let (challenge, (p, _)) = live(factors, next)?;
			if next(2) == 0 {
				return None;
			}
			let call = pallet_challenge::Call::reveal_factor {
				id: challenge,
				p: BoundedVec::truncate_from(p),
				salt: [9; 32],
			};
			("audit", call.into(), EXCHANGE, false)
		},
		11 => {
			// The puppet answers one of its rounds, when it likes.
			let leases: Vec<_> =
				Leases::<Test>::iter().filter(|(_, l)| l.miner == PUPPET_MINER).collect();
			let (lease_id, lease) = leases.get(next(leases.len().max(1) as u64) as usize)?.clone();
			let round = current_round(&lease)?;
			let nonce = heartbeat_nonce(lease_id, &lease, round, PUPPET_MINER);
			let call = pallet_challenge::Call::heartbeat { lease: lease_id, round, nonce };
			("puppet heartbeat", call.into(), PUPPET_MINER, false)
		},
		12 => {
			let leases: Vec<_> = Leases::<Test>::iter_keys().collect();
			let lease = leases.get(next(leases.len().max(1) as u64) as usize).copied().unwrap_or(0);
			("report missed", pallet_challenge::Call::report_missed { lease }.into(), BUYER, true)
		},
		13 => ("dispute lease", Call::dispute { id }.into(), buyer, true),
		14 => ("terminate", Call::terminate { id }.into(), buyer, true),
		15 if next(2) == 0 => {
			("escrow dispute", pallet_escrow::Call::dispute { id }.into(), buyer, true)
		},
		15 => ("accept", pallet_escrow::Call::accept { id }.into(), buyer, true),
		16 => {
			// The operator judges: the honest one for the truth, the puppet for the lie.
			let result = if operator == ESCROW_OP { truth(id) } else { LIE };
			("judge", Call::judge { id, result: Some(result) }.into(), operator, false)
		},
		17 => {
			// The honest operator pays in full or in part, the puppet nothing.
			let miner_share = if operator == ESCROW_OP {
				Perbill::from_percent(next(101) as u32)
			} else {
				Perbill::zero()
			};
			("resolve", pallet_escrow::Call::resolve { id, miner_share }.into(), operator, false)
		},
		18 => {
			// The adversarial buyer rates its puppet 5 whenever it can (the self-rating loop);
			// the honest buyer rates whoever worked for it.
			let unrated: Vec<_> = Unrated::<Test>::iter().collect();
			let (rid, miner, entry) =
				unrated.get(next(unrated.len().max(1) as u64) as usize)?.clone();
			let stars = if entry.buyer == PUPPET_BUYER { 5 } else { 1 + next(5) as u8 };
			("rate", Call::rate { id: rid, miner, rating: stars }.into(), entry.buyer, true)
		},
		19 => {
			// Unregister races: a miner starts leaving at any moment (refused while it holds
			// work), withdraws its bond when it may, and comes back.
			let who = [MINER_C, PUPPET_BUYER, EXCHANGE][next(3) as usize];
			let k = next(3) as usize;
			let call: RuntimeCall = match k {
				0 => pallet_repchain::Call::unregister { role: Role::Miner }.into(),
				1 => pallet_repchain::Call::withdraw { role: Role::Miner }.into(),
				_ => pallet_repchain::Call::register_miner {
					resources: big(),
					executors: BoundedVec::truncate_from(vec![Executor::Wasm]),
					price_floor: 1,
					endpoint: BoundedVec::truncate_from(b"10.0.0.9:22".to_vec()),
					addresses: 0,
					bond: 100,
				}
				.into(),
			};
			(["unregister", "withdraw", "register"][k], call, who, true)
		},
		_ => ("wait", frame_system::Call::remark { remark: vec![] }.into(), BUYER, true),
	})
}

/// The factors of a challenge still in storage, at random.
fn live(factors: &Factors, next: &mut impl FnMut(u64) -> u64) -> Option<(ChallengeId, FactorPair)> {
	let live: Vec<_> = factors
		.iter()
		.filter(|(c, _)| pallet_challenge::Challenges::<Test>::contains_key(c))
		.collect();
	live.get(next(live.len().max(1) as u64) as usize).map(|(c, f)| (**c, (*f).clone()))
}

/// A fair modulus for work of `work` compute units: `(C, p)`, both big-endian.
fn fair_modulus(work: u64) -> (Vec<u8>, Vec<u8>) {
	let bits = Challenge::factor_bits_for(work);
	let h = bits / 2;
	let low = (1u64 << (h - 1)) + (1u64 << (h - 2));
	let p = prime_from(low + 12_345);
	let q = prime_from(p + 2);
	(be(u128::from(p) * u128::from(q)), be(p.into()))
}

/// After a modulus was posted, keeps the factors of every challenge that has one.
fn remember_factors(factors: &mut Factors) {
	for (id, c) in pallet_challenge::Challenges::<Test>::iter() {
		if let pallet_challenge::Puzzle::Factorization { modulus, .. } = &c.puzzle {
			if modulus.is_empty() || factors.contains_key(&id) {
				continue;
			}
			let (m, p) = fair_modulus(c.work);
			assert_eq!(m, modulus.to_vec(), "only the fair modulus is posted");
			let q = be(u128::from_be_bytes(pad16(&m)) / u128::from_be_bytes(pad16(&p)));
			factors.insert(id, (p, q));
		}
	}
}

fn pad16(b: &[u8]) -> [u8; 16] {
	let mut out = [0u8; 16];
	out[16 - b.len()..].copy_from_slice(b);
	out
}

/// The round of `lease` open now, if one is.
fn current_round(lease: &pallet_challenge::HeartbeatLease<u64, u64>) -> Option<u32> {
	let now = System::block_number();
	let since = now.checked_sub(lease.start)?;
	let round = (since / u64::from(lease.period)) as u32;
	(round < lease.rounds && since % u64::from(lease.period) < u64::from(lease.window))
		.then_some(round)
}

/// Every honest miner answers the open round of each of its leases and seals, then reveals,
/// the true result of every task it holds that is collecting results; the puppet miner seals
/// and reveals its lie as diligently, and answers most of its rounds. Calls that are not due
/// (answered already, sealing still open) fail and change nothing.
fn honest_miners_do_their_duty(factors: &Factors, stats: &mut Stats) {
	let signed = RuntimeOrigin::signed;
	// They factor every posted modulus, commit in the commit window and reveal after it.
	for (challenge, (p, q)) in factors {
		if !pallet_challenge::Challenges::<Test>::contains_key(challenge) {
			continue;
		}
		for who in HONEST {
			let hash = factor_commitment(p, q, &who, &[7; 32]);
			let committed = Challenge::commit(signed(who), *challenge, hash).is_ok();
			let (bp, bq) =
				(BoundedVec::truncate_from(p.clone()), BoundedVec::truncate_from(q.clone()));
			let revealed = Challenge::reveal(signed(who), *challenge, bp, bq, [7; 32]).is_ok();
			let e = stats.entry("honest commit").or_default();
			*e = (e.0 + committed as u32, e.1 + 1);
			let e = stats.entry("honest reveal").or_default();
			*e = (e.0 + revealed as u32, e.1 + 1);
		}
	}
	for (lease_id, lease) in Leases::<Test>::iter() {
		if lease.status != LeaseStatus::Active {
			continue;
		}
		// The puppet skips every third round of some of its leases: within the tolerance on
		// short leases, a failure on long ones (the random moves may still answer it).
		let puppet_skips = |round: u32| lease_id % 2 == 0 && round % 3 == 1;
		let honest = HONEST.contains(&lease.miner);
		if !honest && lease.miner != PUPPET_MINER {
			continue;
		}
		let Some(round) = current_round(&lease) else { continue };
		if !honest && puppet_skips(round) {
			continue;
		}
		let nonce = heartbeat_nonce(lease_id, &lease, round, lease.miner);
		let _ = Challenge::heartbeat(signed(lease.miner), lease_id, round, nonce);
	}
	// Operators judge disputed results, each for its side: the honest one for the truth, the
	// puppet for the lie; a third of the disputes they leave to the default rule.
	let disputed: Vec<_> = Indentures::<Test>::iter()
		.filter(|(id, i)| i.status == Status::Disputed && id % 3 != 0)
		.map(|(id, i)| (id, i.spec.escrow_operator))
		.collect();
	for (id, operator) in disputed {
		let result = if operator == ESCROW_OP { truth(id) } else { LIE };
		let judged = IndenturePallet::judge(signed(operator), id, Some(result)).is_ok();
		let e = stats.entry("judge").or_default();
		*e = (e.0 + judged as u32, e.1 + 1);
	}
	let reporting: Vec<_> = Indentures::<Test>::iter()
		.filter(|(_, i)| i.status == Status::Reporting)
		.map(|(id, _)| id)
		.collect();
	for id in reporting {
		for slot in Slots::<Test>::iter_prefix_values(id) {
			let Some(who) = slot.miner.filter(|m| HONEST.contains(m) || *m == PUPPET_MINER) else {
				continue;
			};
			let result = if who == PUPPET_MINER { LIE } else { truth(id) };
			match slot.result {
				None => {
					let _ = IndenturePallet::commit_result(signed(who), id, seal(id, result, who));
				},
				Some(SlotResult::Sealed(_)) => {
					let _ = IndenturePallet::reveal_result(signed(who), id, result, salt(who));
				},
				Some(SlotResult::Revealed(_)) => {},
			}
		}
	}
}

/// The invariants of every step (see the test's doc), events from `seen` on.
fn check(issuance: Balance, context: &str, seen: &mut usize) {
	use frame_support::traits::fungible::InspectHold;
	assert_invariants(issuance, context);
	let mut bonds = BTreeMap::<u64, Balance>::new();
	for (who, _, r) in pallet_repchain::Registrations::<Test>::iter() {
		*bonds.entry(who).or_default() += r.bond;
	}
	for who in 1..=LAST_ACCOUNT {
		let held = Balances::balance_on_hold(&pallet_repchain::HoldReason::Bond.into(), &who);
		assert_eq!(held, bonds.get(&who).copied().unwrap_or(0), "{context}bond of {who}");
	}
	let lag = DisputeLag::get();
	for (id, index, slot) in Slots::<Test>::iter() {
		let Some(lease) = slot.lease.and_then(Leases::<Test>::get) else { continue };
		if slot.ended.is_none() {
			assert_eq!(
				slot.rounds_paid + slot.rounds_held,
				lease.proven,
				"{context}slot {id}/{index}: paid + withheld rounds differ from those proven"
			);
			assert!(slot.rounds_held <= lag, "{context}slot {id}/{index} withholds too much");
		}
	}
	let events = System::events();
	for e in &events[*seen..] {
		if let RuntimeEvent::RepChain(pallet_repchain::Event::Slashed { who, .. }) = &e.event {
			assert!(!HONEST.contains(who), "{context}honest miner {who} was slashed");
		}
	}
	*seen = events.len();
}
