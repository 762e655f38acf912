//! A property test over random marketplace activity.

use super::*;

/// Random sequences of submit / solve / heartbeat / miss reports / results / disputes /
/// accept / resolve / cancel / expire / rate over many blocks, every call dispatched as the
/// chain would (in a storage layer, failures allowed), keep Indenture's invariants, keep what
/// is held equal to the open escrows, and never create or lose balance.
#[test]
fn random_marketplace_activity_keeps_every_invariant() {
	use frame_support::traits::UnfilteredDispatchable;
	const BUYERS: [u64; 2] = [BUYER, 7];
	const MINERS: [u64; 3] = [MINER_A, MINER_B, MINER_C];
	let mut total_ended = 0;
	for seed in 1..=12u64 {
		build_and_execute(|| {
			let mut next = xorshift(seed);
			for m in MINERS {
				register_miner(m, big(), 1);
			}
			let issuance = pallet_balances::TotalIssuance::<Test>::get();
			let context = format!("seed {seed}: ");
			let (mut ok, mut tried) = (0u32, 0u32);
			for _ in 0..150 {
				let ids: Vec<IndentureId> = Indentures::<Test>::iter_keys().collect();
				let pick = |r: u64| ids.get(r as usize % ids.len().max(1)).copied().unwrap_or(0);
				let id = pick(next(1_000));
				let buyer = BUYERS[next(2) as usize];
				let miner = MINERS[next(3) as usize];
				let result = H256::repeat_byte(next(2) as u8);
				// What to dispatch, who signs it, and whether blocks pass after it (the
				// miners' own calls are answered in the block they are made for).
				let (call, signer, then_advance): (RuntimeCall, u64, bool) = match next(12) {
					0 | 1 => (
						Call::submit {
							spec: SpecOf::<Test> {
								task_type: if next(2) == 0 {
									TaskType::Batch
								} else {
									TaskType::Service
								},
								nodes: 1 + next(2) as u32,
								replicas: 1 + next(2) as u32,
								duration: 10 + 10 * next(3) as u32,
								incentive: 1_200 * (1 + next(3) as u128) + next(7) as u128,
								priority: next(3) as u8,
								..spec()
							},
						}
						.into(),
						buyer,
						true,
					),
					2 | 3 => {
						let open: Vec<_> = Slots::<Test>::iter()
							.filter(|(_, _, s)| s.miner.is_none())
							.map(|(i, n, _)| (i, n))
							.collect();
						let Some(&(i, n)) = open.get(next(open.len().max(1) as u64) as usize)
						else {
							continue;
						};
						let (challenge, nonce) = solution(i, n, miner);
						(pallet_challenge::Call::solve { id: challenge, nonce }.into(), miner, true)
					},
					4 | 5 => {
						// The miner of a running lease answers the round open now, if any.
						let leases: Vec<_> = pallet_challenge::Leases::<Test>::iter().collect();
						let Some((lease_id, lease)) =
							leases.get(next(leases.len().max(1) as u64) as usize).cloned()
						else {
							continue;
						};
						let now = System::block_number();
						if now < lease.start {
							continue;
						}
						let round = ((now - lease.start) / u64::from(lease.period)) as u32;
						let who = lease.miner;
						let nonce = heartbeat_nonce(lease_id, &lease, round, who);
						let call: RuntimeCall =
							pallet_challenge::Call::heartbeat { lease: lease_id, round, nonce }
								.into();
						(call, who, false)
					},
					6 => {
						let lease =
							pallet_challenge::Leases::<Test>::iter_keys().next().unwrap_or(0);
						(pallet_challenge::Call::report_missed { lease }.into(), miner, true)
					},
					7 => {
						let who = Slots::<Test>::iter_prefix_values(id)
							.filter_map(|s| s.miner)
							.nth(next(2) as usize)
							.unwrap_or(miner);
						let call: RuntimeCall = if next(2) == 0 {
							Call::commit_result { id, seal: seal(id, result, who) }.into()
						} else {
							Call::reveal_result { id, result, salt: salt(who) }.into()
						};
						(call, who, false)
					},
					8 => match next(3) {
						0 => (pallet_escrow::Call::dispute { id }.into(), buyer, true),
						1 => (pallet_escrow::Call::accept { id }.into(), buyer, true),
						_ => {
							let share = Perbill::from_percent(next(101) as u32);
							let call: RuntimeCall =
								pallet_escrow::Call::resolve { id, miner_share: share }.into();
							(call, ESCROW_OP, false)
						},
					},
					9 => (Call::cancel { id }.into(), buyer, true),
					10 => (Call::expire { id }.into(), buyer, true),
					_ => {
						let rid = RecentRecords::<Test>::get().first().copied().unwrap_or(0);
						(
							Call::rate { id: rid, miner, rating: 1 + next(5) as u8 }.into(),
							buyer,
							true,
						)
					},
				};
				tried += 1;
				ok += call.dispatch_bypass_filter(RuntimeOrigin::signed(signer)).is_ok() as u32;
				if !then_advance {
					continue;
				}
				run_to_block(System::block_number() + next(4));
				assert_invariants(issuance, &context);
			}
			// Let every deadline pass so the agenda ends what is left.
			run_to_block(System::block_number() + 200);
			assert_invariants(issuance, &context);
			let ended = RecentRecords::<Test>::get().len();
			println!("property seed {seed}: {ok}/{tried} calls succeeded, {ended} CIRecords kept");
			assert!(ok > 10, "seed {seed}: only {ok} of {tried} calls succeeded");
			total_ended += ended;
		});
	}
	assert!(total_ended >= 6, "only {total_ended} indentures ended over all seeds");
}
