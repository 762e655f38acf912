//! Test runtime for the Challenge pallet.

use crate::{self as pallet_challenge, ChallengeOutcome, ContextId, Eligibility, LeaseOutcome};
use core::cell::RefCell;
use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		ChallengePallet: pallet_challenge,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

/// What the opener was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Told {
	Awarded(ContextId, u64, u64),
	Expired(ContextId, u64),
	Voided(ContextId, u64, u64),
	Proven(ContextId, u64, u32),
	Missed(ContextId, u64, u32, u32),
	Ended(ContextId, u64, LeaseOutcome, u32, u32),
}

thread_local! {
	pub static TOLD: RefCell<Vec<Told>> = const { RefCell::new(Vec::new()) };
	pub static BANNED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

pub fn told() -> Vec<Told> {
	TOLD.with(|t| t.borrow().clone())
}

pub fn ban(who: u64) {
	BANNED.with(|b| b.borrow_mut().push(who));
}

pub struct Recorder;
impl ChallengeOutcome<u64> for Recorder {
	fn awarded(c: ContextId, id: u64, w: &u64) {
		TOLD.with(|t| t.borrow_mut().push(Told::Awarded(c, id, *w)));
	}
	fn expired(c: ContextId, id: u64) {
		TOLD.with(|t| t.borrow_mut().push(Told::Expired(c, id)));
	}
	fn voided(c: ContextId, id: u64, i: &u64) {
		TOLD.with(|t| t.borrow_mut().push(Told::Voided(c, id, *i)));
	}
	fn heartbeat_proven(c: ContextId, l: u64, r: u32) {
		TOLD.with(|t| t.borrow_mut().push(Told::Proven(c, l, r)));
	}
	fn heartbeats_missed(c: ContextId, l: u64, n: u32, total: u32) {
		TOLD.with(|t| t.borrow_mut().push(Told::Missed(c, l, n, total)));
	}
	fn lease_ended(c: ContextId, l: u64, o: LeaseOutcome, p: u32, m: u32) {
		TOLD.with(|t| t.borrow_mut().push(Told::Ended(c, l, o, p, m)));
	}
}

pub struct NotBanned;
impl Eligibility<u64> for NotBanned {
	fn may_compete(_: ContextId, who: &u64) -> bool {
		BANNED.with(|b| !b.borrow().contains(who))
	}
}

parameter_types! {
	pub const RevealWindow: u64 = 5;
	pub const AuditWindow: u64 = 10;
}

impl pallet_challenge::Config for Test {
	type WeightInfo = ();
	type Outcome = Recorder;
	type Eligibility = NotBanned;
	type MinFactorBits = ConstU32<48>;
	type MaxFactorBits = ConstU32<160>;
	type FactorBitsPerDoubling = ConstU32<4>;
	type MinHashDifficulty = ConstU32<4>;
	type MaxHashDifficulty = ConstU32<20>;
	type HeartbeatDifficulty = ConstU32<4>;
	type MaxCommits = ConstU32<4>;
	type RevealWindow = RevealWindow;
	type AuditWindow = AuditWindow;
	type MaxRounds = ConstU32<100>;
	type AuditPrimalityRounds = ConstU32<4>;
}

/// Fresh state at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	TOLD.with(|t| t.borrow_mut().clear());
	BANNED.with(|b| b.borrow_mut().clear());
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` on fresh state, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		ChallengePallet::do_try_state().expect("invariants hold after the test");
	});
}

/// Advances to block `n`, giving each block a distinct parent hash.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		frame_system::BlockHash::<Test>::insert(
			next - 1,
			sp_core::H256::from_low_u64_be(0xc0ffee ^ next),
		);
		System::set_parent_hash(sp_core::H256::from_low_u64_be(0xc0ffee ^ next));
	}
}
