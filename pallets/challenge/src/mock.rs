//! Test runtime for the Challenge pallet.
//!
//! [`ExtBuilder`] builds the state a test starts from, runs the test and then checks the
//! pallet's invariants; [`build_and_execute`] does so with the defaults. Tests advance blocks
//! only with [`run_to_block`].

use crate::{self as pallet_challenge, ChallengeOutcome, ContextId, Eligibility, LeaseOutcome};
use core::cell::RefCell;
use frame_support::{derive_impl, weights::Weight};
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

/// What the recording opener declares it may spend: a settlement is far heavier than a proven
/// round, as in the runtime.
pub const OUTCOME_MAX_WEIGHT: u64 = 1_000_000;
pub const OUTCOME_HEARTBEAT_WEIGHT: u64 = 1_000;

thread_local! {
	pub static TOLD: RefCell<Vec<Told>> = const { RefCell::new(Vec::new()) };
	pub static BANNED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

pub fn told() -> Vec<Told> {
	TOLD.with(|t| t.borrow().clone())
}

fn tell(what: Told) {
	TOLD.with(|t| t.borrow_mut().push(what));
}

pub struct Recorder;
impl ChallengeOutcome<u64> for Recorder {
	fn awarded(c: ContextId, id: u64, w: &u64) {
		tell(Told::Awarded(c, id, *w));
	}
	fn expired(c: ContextId, id: u64) {
		tell(Told::Expired(c, id));
	}
	fn voided(c: ContextId, id: u64, i: &u64) {
		tell(Told::Voided(c, id, *i));
	}
	fn heartbeat_proven(c: ContextId, l: u64, r: u32) {
		tell(Told::Proven(c, l, r));
	}
	fn heartbeats_missed(c: ContextId, l: u64, n: u32, total: u32) {
		tell(Told::Missed(c, l, n, total));
	}
	fn lease_ended(c: ContextId, l: u64, o: LeaseOutcome, p: u32, m: u32) {
		tell(Told::Ended(c, l, o, p, m));
	}
	fn max_weight() -> Weight {
		Weight::from_parts(OUTCOME_MAX_WEIGHT, 0)
	}
	fn heartbeat_weight() -> Weight {
		Weight::from_parts(OUTCOME_HEARTBEAT_WEIGHT, 0)
	}
}

pub struct NotBanned;
impl Eligibility<u64> for NotBanned {
	fn may_compete(_: ContextId, who: &u64) -> bool {
		BANNED.with(|b| !b.borrow().contains(who))
	}
}

/// The pallet's test defaults (its `config_preludes`), with the recording opener and the ban
/// list as the outcome and eligibility.
#[derive_impl(pallet_challenge::config_preludes::TestDefaultConfig)]
impl pallet_challenge::Config for Test {
	type Outcome = Recorder;
	type Eligibility = NotBanned;
}

/// Builds the state every test starts from: block 1, nothing told yet, and by default nobody
/// banned.
#[derive(Default)]
pub struct ExtBuilder {
	banned: Vec<u64>,
}

impl ExtBuilder {
	/// Accounts the eligibility check refuses: they may not commit or solve.
	pub fn banned(mut self, who: &[u64]) -> Self {
		self.banned.extend_from_slice(who);
		self
	}

	pub fn build(self) -> sp_io::TestExternalities {
		TOLD.with(|t| t.borrow_mut().clear());
		BANNED.with(|b| *b.borrow_mut() = self.banned);
		let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Runs `test` on the built state, then checks the pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			ChallengePallet::do_try_state().expect("invariants hold after the test");
		});
	}
}

/// The default state (for the benchmarks' test suite).
#[cfg(feature = "runtime-benchmarks")]
pub fn new_test_ext() -> sp_io::TestExternalities {
	ExtBuilder::default().build()
}

/// Runs `test` on the default state, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	ExtBuilder::default().build_and_execute(test)
}

/// Advances one block at a time to block `n`, giving each block a distinct hash (recorded as
/// the previous block's hash and as the parent hash), so that the seeds of challenges and
/// heartbeat rounds opened in different blocks differ. No hook runs: the Challenge pallet has
/// no per-block hook (every deadline is moved by a call), so there is none to run.
pub fn run_to_block(n: u64) {
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
