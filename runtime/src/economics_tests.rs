//! The fee schedule, the weights and the market rate, checked together with the runtime's own
//! functions: what honest parties pay in fees against what they earn, and how many heartbeat
//! answers a block holds. Every extrinsic here is signed and applied through `Executive`, so
//! the fee is the one `pallet-transaction-payment` charges (length, weight, refunds, `Pays`).

use crate::{configs::RuntimeBlockWeights, *};
use codec::Encode;
use cutopia_primitives::{
	hashes::{leading_zero_bits, work_hash},
	ChallengeApi, ChallengeKind, EscrowApi, Executor, Resources, Role,
};
use frame_support::{
	dispatch::DispatchClass,
	traits::{Get, Hooks},
	BoundedVec,
};
use pallet_indenture::types::{IndentureSpec, PublicIp, Task, TaskType};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{generic::Era, BuildStorage, Permill};

const BUYER: Sr25519Keyring = Sr25519Keyring::Alice;
const EXCHANGE: Sr25519Keyring = Sr25519Keyring::Bob;
const OPERATOR: Sr25519Keyring = Sr25519Keyring::Charlie;
const MINER: Sr25519Keyring = Sr25519Keyring::Dave;

fn ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Runtime>::default()
		.build_storage()
		.expect("system genesis builds");
	pallet_balances::GenesisConfig::<Runtime> {
		balances: [BUYER, EXCHANGE, OPERATOR, MINER]
			.iter()
			.map(|k| (k.to_account_id(), 1_000 * CU))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("balances genesis builds");
	pallet_indenture::GenesisConfig::<Runtime> {
		market_rate: genesis_config_presets::GENESIS_MARKET_RATE,
	}
	.assimilate_storage(&mut storage)
	.expect("indenture genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// `call` signed as `who` the way wallets do.
fn signed(who: Sr25519Keyring, call: RuntimeCall) -> UncheckedExtrinsic {
	let account = who.to_account_id();
	let tx_ext = tx_extension(System::account_nonce(&account), Era::Immortal);
	let payload = SignedPayload::new(call.clone(), tx_ext.clone()).expect("payload");
	let signature = payload.using_encoded(|p| who.sign(p));
	UncheckedExtrinsic::new_signed(call, account.into(), signature.into(), tx_ext)
}

/// Signs `call` as `who` the way wallets do and applies it; returns the fee it was charged.
/// The call must succeed.
fn apply(who: Sr25519Keyring, call: impl Into<RuntimeCall>) -> Balance {
	let call = call.into();
	let account = who.to_account_id();
	let xt = signed(who, call.clone());
	let seen = System::events().len();
	let applied = Executive::apply_extrinsic(xt).expect("a valid transaction");
	assert!(applied.is_ok(), "{call:?} failed: {applied:?}");
	System::events()[seen..]
		.iter()
		.find_map(|e| match &e.event {
			RuntimeEvent::TransactionPayment(
				pallet_transaction_payment::Event::TransactionFeePaid { who, actual_fee, .. },
			) if *who == account => Some(*actual_fee),
			_ => None,
		})
		.expect("every signed transaction reports its fee")
}

/// Moves to block `n`, running the marketplace's agenda on the way.
fn run_to(n: BlockNumber) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Indenture::on_initialize(next);
	}
}

fn balance(who: Sr25519Keyring) -> Balance {
	Balances::free_balance(who.to_account_id())
}

fn endpoint() -> cutopia_primitives::Endpoint {
	BoundedVec::truncate_from(b"127.0.0.1:1".to_vec())
}

/// Registers the exchange (5 % fee), the escrow operator (1 %) and a miner with eight cores.
fn register_everyone() {
	for (who, role, fee) in [
		(EXCHANGE, Role::Exchange, Permill::from_percent(5)),
		(OPERATOR, Role::EscrowOperator, Permill::from_percent(1)),
	] {
		apply(
			who,
			pallet_repchain::Call::register_service {
				role,
				fee,
				name: BoundedVec::truncate_from(b"svc".to_vec()),
				endpoint: endpoint(),
				bond: 100 * CU,
			},
		);
	}
	apply(
		MINER,
		pallet_repchain::Call::register_miner {
			resources: Resources {
				cpu_millicores: 8_000,
				memory_mib: 16_384,
				storage_gib: 10,
				gpus: 0,
			},
			executors: BoundedVec::truncate_from(vec![Executor::Wasm]),
			price_floor: 0,
			endpoint: endpoint(),
			addresses: 0,
			bond: 100 * CU,
		},
	);
}

/// One core for one hour at the indicative price, won by a hash-target challenge.
fn one_core_hour() -> IndentureSpec<AccountId, Balance> {
	let resources = Resources { cpu_millicores: 1_000, memory_mib: 0, storage_gib: 0, gpus: 0 };
	let (_, indicative) = Indenture::indicative_price(&resources, 1, HOURS);
	IndentureSpec {
		task: Task::Inline(BoundedVec::truncate_from(b"\0asm\x01\0\0\0".to_vec())),
		task_type: TaskType::Batch,
		executor: Executor::Wasm,
		resources,
		nodes: 1,
		public_ip: PublicIp::None,
		duration: HOURS,
		incentive: indicative,
		priority: 0,
		min_reputation: Permill::zero(),
		exchange: EXCHANGE.to_account_id(),
		escrow_operator: OPERATOR.to_account_id(),
		challenge: ChallengeKind::HashTarget,
		replicas: 1,
		ssh_key: None,
	}
}

fn nonce_for(seed: &[u8; 32], who: Sr25519Keyring, difficulty: u32) -> u64 {
	let me = who.to_account_id().encode();
	(0u64..)
		.find(|n| leading_zero_bits(&work_hash(seed, &me, *n)) >= difficulty)
		.expect("a nonce exists")
}

/// An honest miner serving a one-core, one-hour batch lease at the indicative price (winning
/// it, answering all 120 heartbeat rounds, sealing and revealing its result) pays under 5 % of
/// what it earns in fees; the exchange and the escrow operator, who have no duty on this
/// path, pay nothing against their fees.
#[test]
fn an_honest_miner_pays_under_five_percent_of_its_pay_in_fees() {
	ext().execute_with(|| {
		register_everyone();
		let spec = one_core_hour();
		let incentive = spec.incentive;
		assert_eq!(incentive, 12 * CU / 1_000, "a core-hour is indicated at 0.012 CU");
		let (exchange_before, operator_before) = (balance(EXCHANGE), balance(OPERATOR));
		apply(BUYER, pallet_indenture::Call::submit { spec });
		let id = 0;
		let miner_before = balance(MINER);
		let mut fees: Balance = 0;

		let challenge = pallet_indenture::Slots::<Runtime>::get(id, 0).expect("slot").challenge;
		let c = pallet_challenge::Challenges::<Runtime>::get(challenge).expect("challenge");
		let pallet_challenge::Puzzle::HashTarget { difficulty } = c.puzzle else {
			panic!("a hash-target challenge")
		};
		// The seed is the opening block's hash: known, and solutions taken, from the next.
		run_to(c.opened + 1);
		let seed = Challenge::hash_target_seed_of(challenge, &c);
		let nonce = nonce_for(&seed.0, MINER, difficulty);
		fees += apply(MINER, pallet_challenge::Call::solve { id: challenge, nonce });

		let lease_id = pallet_indenture::Slots::<Runtime>::get(id, 0)
			.and_then(|s| s.lease)
			.expect("the slot was won");
		let lease = pallet_challenge::Leases::<Runtime>::get(lease_id).expect("lease");
		assert_eq!(lease.rounds, 120);
		for round in 0..lease.rounds {
			let open = Challenge::round_open(&lease, round);
			run_to(open);
			let seed = Challenge::round_seed(lease_id, round, open);
			let nonce = nonce_for(&seed.0, MINER, lease.difficulty);
			let answers = BoundedVec::truncate_from(vec![pallet_challenge::HeartbeatAnswer {
				lease: lease_id,
				round,
				nonce,
			}]);
			fees += apply(MINER, pallet_challenge::Call::heartbeats { answers });
		}
		// The last answer completed the lease; the agenda ends it when its last window
		// closes: results are due.
		let end = pallet_indenture::Slots::<Runtime>::get(id, 0)
			.and_then(|s| s.access)
			.expect("access")
			.end;
		run_to(end);
		let result = sp_core::H256::repeat_byte(7);
		let salt = sp_core::H256::repeat_byte(0x5a);
		let seal = Indenture::result_seal(id, 0, &MINER.to_account_id(), &result, &salt);
		fees += apply(MINER, pallet_indenture::Call::commit_result { id, seal });
		fees += apply(MINER, pallet_indenture::Call::reveal_result { id, result, salt });
		apply(BUYER, pallet_escrow::Call::accept { id });
		assert!(pallet_indenture::Indentures::<Runtime>::get(id).is_none(), "settled");

		let pay = balance(MINER) + fees - miner_before;
		assert_eq!(pay, incentive, "the miner earned the whole incentive");
		println!("miner: paid {fees} in fees for {pay} of pay");
		assert!(fees * 20 < pay, "fees {fees} are not under 5 % of pay {pay}");
		let exchange_fee = Permill::from_percent(5).mul_floor(incentive);
		let operator_fee = Permill::from_percent(1).mul_floor(incentive);
		assert_eq!(balance(EXCHANGE), exchange_before + exchange_fee);
		assert_eq!(balance(OPERATOR), operator_before + operator_fee);
	});
}

/// The duties of an exchange (posting `C`, passing its audit) and of an escrow operator
/// (resolving a dispute in time) are free when done right, so their fees on a core-hour of
/// work (0.0006 and 0.00012 CU) are not eaten by transaction fees.
#[test]
fn exchange_and_escrow_operator_duties_are_free_when_done_right() {
	ext().execute_with(|| {
		register_everyone();
		let exchange = EXCHANGE.to_account_id();
		// A fair 48-bit semiprime (two 24-bit primes) from the Challenge pallet's tests.
		let (p, q): (u128, u128) = (0xc04499, 0xe0a3a9);
		let number = |x: u128| {
			let bytes = x.to_be_bytes();
			let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
			BoundedVec::truncate_from(bytes[first..].to_vec())
		};
		let deadline = System::block_number() + 5;
		let stake = cutopia_primitives::Stake { beneficiary: BUYER.to_account_id(), value: CU };
		let id =
			Challenge::open(99, ChallengeKind::Factorization, Some(exchange), 1, deadline, stake)
				.expect("open");
		let salt = [3u8; 32];
		let factor_commitment = pallet_challenge::audit_commitment(&number(p), &salt);
		let mut fees = apply(
			EXCHANGE,
			pallet_challenge::Call::post_modulus { id, modulus: number(p * q), factor_commitment },
		);
		run_to(deadline + 1);
		apply(BUYER, pallet_challenge::Call::conclude { id });
		fees += apply(EXCHANGE, pallet_challenge::Call::reveal_factor { id, p: number(p), salt });
		assert_eq!(fees, 0, "the exchange's duties cost it nothing");

		let (buyer, operator) = (BUYER.to_account_id(), OPERATOR.to_account_id());
		let miner = MINER.to_account_id();
		let escrow = 7;
		assert!(Escrow::open(
			escrow,
			&buyer,
			&EXCHANGE.to_account_id(),
			&operator,
			CU,
			0,
			CU / 100
		)
		.is_ok());
		let until = System::block_number() + 10;
		assert!(Escrow::await_acceptance(escrow, vec![(miner, CU)], until).is_ok());
		apply(BUYER, pallet_escrow::Call::dispute { id: escrow });
		let fee = apply(
			OPERATOR,
			pallet_escrow::Call::resolve { id: escrow, miner_share: sp_runtime::Perbill::one() },
		);
		assert_eq!(fee, 0, "resolving a dispute in time costs the operator nothing");
	});
}

/// Capacity from the weights themselves, as a block counts them (the call, the base extrinsic
/// weight and every transaction extension's weight): a block's normal class holds at least
/// 1,000 heartbeat answers batched as the miner agents send them (10,000 leases at one round per
/// 10 blocks), and 900 sent one per extrinsic (each carrying the base and extension weights
/// alone: ~1,000 with the 2026-12-02 weights); and a refused (paid) heartbeat costs less than one round of a
/// one-core slot pays at the genesis rate, so fees never dwarf the work.
#[test]
fn a_block_holds_a_thousand_heartbeats_and_a_paid_one_costs_less_than_a_round_pays() {
	use frame_support::dispatch::GetDispatchInfo;
	ext().execute_with(|| {
		let weights = RuntimeBlockWeights::get();
		let normal = weights.get(DispatchClass::Normal);
		let max_total = normal.max_total.expect("normal class is bounded").ref_time();
		let base = normal.base_extrinsic.ref_time();
		// What a block is charged for a signed extrinsic of `call`.
		let weigh = |name: &str, call: RuntimeCall| {
			let xt = signed(Sr25519Keyring::Dave, call.clone());
			let extensions = xt.extension_weight().ref_time();
			let total = call.get_dispatch_info().call_weight.ref_time() + extensions + base;
			println!("{name}: extensions {extensions}, in all {total}");
			total
		};
		let answer = pallet_challenge::HeartbeatAnswer { lease: 0, round: 0, nonce: 0 };
		let single = pallet_challenge::Call::<Runtime>::heartbeat { lease: 0, round: 0, nonce: 0 };
		let single_weight = weigh("heartbeat", single.clone().into());
		let batch = pallet_challenge::Call::<Runtime>::heartbeats {
			answers: BoundedVec::truncate_from(vec![answer; 256]),
		};
		let batch_weight = weigh("heartbeats × 256", batch.into());
		let per_single = max_total / single_weight;
		let per_batched = max_total / batch_weight * 256;
		println!(
			"heartbeat answers per block: {per_single} one per extrinsic, {per_batched} batched"
		);
		assert!(per_batched >= 1_000, "only {per_batched} batched answers fit a block");
		assert!(per_single >= 900, "only {per_single} single heartbeats fit a block");

		// Charged as the pool charges it: the signed extrinsic's length and its extensions'
		// weight with the call's.
		let call: RuntimeCall = single.into();
		let xt = signed(Sr25519Keyring::Dave, call.clone());
		let mut info = call.get_dispatch_info();
		info.extension_weight = xt.extension_weight();
		let paid = TransactionPayment::compute_fee(xt.encoded_size() as u32, &info, 0);
		let period: u32 = <Runtime as pallet_indenture::Config>::HeartbeatPeriod::get();
		// One core for one round: `period` compute units.
		let round_pay = genesis_config_presets::GENESIS_MARKET_RATE * Balance::from(period);
		println!("a paid heartbeat costs {paid}; one round of a core pays {round_pay}");
		assert!(
			paid < round_pay,
			"a paid heartbeat ({paid}) costs more than a round pays ({round_pay})"
		);
	});
}

/// An indenture expiring with every slot's challenge full of commits to decide still fits the
/// agenda's budget (and is charged for it when `expire` is called by hand).
#[test]
fn expiring_a_full_indenture_fits_the_agenda_budget() {
	let expire = Indenture::expire_weight();
	let budget = <Runtime as pallet_indenture::Config>::AgendaBudget::get();
	println!(
		"expire with 16 slots × 18 commits: {:.1} ms of a {:.1} ms agenda budget",
		expire.ref_time() as f64 / 1e9,
		budget.ref_time() as f64 / 1e9
	);
	assert!(budget.all_gte(expire));
}

/// A full `relay` (every attestation completing a threshold of 16 and minting, every signature
/// the last of 16) stays under a tenth of a block's normal class: every member's call fits a
/// block beside the market's traffic, whatever the backlog (bridge defect 1: batches too
/// heavy for a block halted both directions).
#[test]
fn a_full_relay_fits_a_tenth_of_a_block() {
	use frame_support::dispatch::GetDispatchInfo;
	let normal = RuntimeBlockWeights::get().get(DispatchClass::Normal).max_total;
	let normal = normal.expect("normal class is bounded");
	let (a, s) = (
		<Runtime as pallet_bridge::Config>::MaxAttestations::get(),
		<Runtime as pallet_bridge::Config>::MaxSignatures::get(),
	);
	let full =
		<<Runtime as pallet_bridge::Config>::WeightInfo as pallet_bridge::WeightInfo>::relay(a, s);
	let call = pallet_bridge::Call::<Runtime>::relay {
		attestations: BoundedVec::new(),
		signatures: BoundedVec::new(),
	};
	println!(
		"relay of {a} attestations and {s} signatures: {:.1} ms of a {:.1} ms normal class",
		full.ref_time() as f64 / 1e9,
		normal.ref_time() as f64 / 1e9
	);
	assert!(call.get_dispatch_info().total_weight().all_lte(full));
	assert!((normal / 10).all_gte(full), "a full relay is over a tenth of a block");
}

/// The review's pool finding, through the runtime's real extensions and the pool's own entry
/// point: a member's free `relay` ranks strictly before a transfer that tips enough to
/// saturate its priority, and provides the member's relay tag (so the pool holds one of them
/// per member); a stranger's relay is refused before it pays.
#[test]
fn a_members_free_relay_outranks_paid_traffic_in_the_pool() {
	use sp_runtime::transaction_validity::{InvalidTransaction, TransactionSource};
	const MEMBER: Sr25519Keyring = Sr25519Keyring::Eve;
	let mut ext = ext();
	ext.execute_with(|| {
		let members = vec![(MEMBER.to_account_id(), sp_core::H160::repeat_byte(1))];
		Bridge::set_relayers(RuntimeOrigin::root(), members, 1).expect("relayers");
		let vault = pallet_bridge::VaultInfo { chain_id: 1, vault: sp_core::H160([0xaa; 20]) };
		Bridge::set_vault(RuntimeOrigin::root(), vault).expect("vault");
		let relay: RuntimeCall = pallet_bridge::Call::<Runtime>::relay {
			attestations: BoundedVec::truncate_from(vec![pallet_bridge::Deposit {
				vault,
				nonce: 0,
				from: sp_core::H160::repeat_byte(9),
				recipient: BUYER.to_account_id(),
				amount: 5 * CU,
				tx_hash: sp_core::H256::repeat_byte(1),
				refund_of: None,
			}]),
			signatures: BoundedVec::new(),
		}
		.into();
		let parent = System::parent_hash();
		let validity = |xt| {
			validate_for_pool(TransactionSource::External, xt, parent).expect("valid in the pool")
		};
		let relayed = validity(signed(MEMBER, relay.clone()));
		assert_eq!(relayed.priority, pallet_bridge::extension::RELAY_PRIORITY);
		assert_eq!(relayed.longevity, pallet_bridge::extension::RELAY_LONGEVITY);
		assert!(relayed
			.provides
			.contains(&pallet_bridge::extension::relay_tag(&MEMBER.to_account_id())));
		// A transfer with a tip of 100 CU, as much as a spammer might pay to delay relaying.
		let transfer: RuntimeCall = pallet_balances::Call::<Runtime>::transfer_keep_alive {
			dest: EXCHANGE.to_account_id().into(),
			value: CU,
		}
		.into();
		let account = BUYER.to_account_id();
		let mut tx_ext = tx_extension(System::account_nonce(&account), Era::Immortal);
		tx_ext.7 =
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(100 * CU).into();
		let payload = SignedPayload::new(transfer.clone(), tx_ext.clone()).expect("payload");
		let signature = payload.using_encoded(|p| BUYER.sign(p));
		let tipped =
			UncheckedExtrinsic::new_signed(transfer, account.into(), signature.into(), tx_ext);
		let paid = validity(tipped);
		let first = relayed.priority > paid.priority
			|| (relayed.priority == paid.priority && relayed.longevity < paid.longevity);
		assert!(first, "relay {relayed:?} vs tipped transfer {paid:?}");
		// A stranger's relay could only fail: refused before it is paid for.
		let refused = validate_for_pool(TransactionSource::External, signed(BUYER, relay), parent);
		assert_eq!(refused, Err(InvalidTransaction::Call.into()));
	});
}

/// Bridge defect 6: relayers holding 0 CU relay for free, through the runtime's real
/// transaction extensions: the first `relay` of a member in a block is valid and charges
/// nothing; a second one in the block, or a stranger's, must pay and cannot.
#[test]
fn relayers_holding_no_cu_relay_the_first_deposit() {
	use pallet_bridge::{Deposit, Event as BridgeEvent, VaultInfo};
	const VAULT: VaultInfo = VaultInfo { chain_id: 1, vault: sp_core::H160([0xaa; 20]) };
	use sp_runtime::transaction_validity::{InvalidTransaction, TransactionValidityError};
	const RELAYERS: [Sr25519Keyring; 3] =
		[Sr25519Keyring::Eve, Sr25519Keyring::Ferdie, Sr25519Keyring::One];
	let mut ext = ext();
	ext.execute_with(|| {
		let members: Vec<_> = RELAYERS
			.iter()
			.enumerate()
			.map(|(i, k)| (k.to_account_id(), sp_core::H160::repeat_byte(i as u8 + 1)))
			.collect();
		assert_eq!(Balances::free_balance(&members[0].0), 0);
		Bridge::set_relayers(RuntimeOrigin::root(), members, 2).expect("relayers");
		Bridge::set_vault(RuntimeOrigin::root(), VAULT).expect("vault");
	});
	ext.execute_with(|| {
		let recipient = Sr25519Keyring::AliceStash.to_account_id();
		let deposit = Deposit {
			vault: VAULT,
			nonce: 0,
			from: sp_core::H160::repeat_byte(9),
			recipient: recipient.clone(),
			amount: 5 * CU,
			tx_hash: sp_core::H256::repeat_byte(1),
			refund_of: None,
		};
		let relay = || -> RuntimeCall {
			pallet_bridge::Call::<Runtime>::relay {
				attestations: BoundedVec::truncate_from(vec![deposit.clone()]),
				signatures: BoundedVec::new(),
			}
			.into()
		};
		let cannot_pay = Err(TransactionValidityError::Invalid(InvalidTransaction::Payment));
		for who in [RELAYERS[0], RELAYERS[1]] {
			let applied = Executive::apply_extrinsic(signed(who, relay()));
			assert!(matches!(applied, Ok(Ok(()))), "{who:?}'s relay: {applied:?}");
			assert_eq!(Balances::free_balance(who.to_account_id()), 0);
		}
		assert_eq!(Balances::free_balance(&recipient), 5 * CU, "minted");
		assert!(System::events().iter().any(|e| matches!(
			e.event,
			RuntimeEvent::Bridge(BridgeEvent::Relayed { accepted: 1, .. })
		)));
		// A second call in the same block, and a stranger's: both must pay, neither can.
		assert_eq!(Executive::apply_extrinsic(signed(RELAYERS[0], relay())), cannot_pay);
		assert_eq!(
			Executive::apply_extrinsic(signed(Sr25519Keyring::BobStash, relay())),
			cannot_pay
		);
	});
}
