//! Test runtime for the Challenge pallet.
//!
//! [`ExtBuilder`] builds the state a test starts from, runs the test and then checks the
//! pallet's invariants; [`build_and_execute`] does so with the defaults. Tests advance blocks
//! only with [`run_to_block`].

use crate::{
	self as pallet_challenge, ChallengeId, ChallengeOutcome, ContextId, Eligibility, LeaseOutcome,
};
use core::cell::RefCell;
use cutopia_test_utils::{ext_at_block_one, storage_with_balances};
use frame_support::{derive_impl, traits::ConstU128, weights::Weight};

cutopia_test_utils::test_runtime!(
	Test,
	existential_deposit = 1,
	pallets { ChallengePallet: pallet_challenge }
);

/// Every account the tests use (1 to 40) starts with this much.
pub const ENDOWMENT: Balance = 1_000;
/// A commit's deposit when the stake is small.
pub const MIN_DEPOSIT: Balance = 10;

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
	pub static RANKS: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
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

/// Anyone not banned may compete; ranks are set by tests (0 by default).
pub struct NotBanned;
impl Eligibility<u64> for NotBanned {
	fn may_compete(_: ContextId, _: ChallengeId, who: &u64) -> bool {
		BANNED.with(|b| !b.borrow().contains(who))
	}
	fn rank(context: ContextId, challenge: ChallengeId, who: &u64) -> Option<u64> {
		Self::may_compete(context, challenge, who).then(|| {
			RANKS.with(|r| r.borrow().iter().rfind(|(w, _)| w == who).map_or(0, |(_, r)| *r))
		})
	}
}

/// The pallet's test defaults (its `config_preludes`), with Balances for deposits, the
/// recording opener and the ban list as the outcome and eligibility.
#[derive_impl(pallet_challenge::config_preludes::TestDefaultConfig)]
impl pallet_challenge::Config for Test {
	type Currency = Balances;
	type MinCommitDeposit = ConstU128<MIN_DEPOSIT>;
	type MaxCommits = frame_support::traits::ConstU32<20>;
	type Outcome = Recorder;
	type Eligibility = NotBanned;
}

/// Sets how the opener ranks `who` (higher wins the award).
pub fn set_rank(who: u64, rank: u64) {
	RANKS.with(|r| r.borrow_mut().push((who, rank)));
}

/// Held as commit deposits from `who`.
pub fn deposit_held(who: u64) -> Balance {
	use frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(&crate::HoldReason::CommitDeposit.into(), &who)
}

/// `who`'s free balance.
pub fn free(who: u64) -> Balance {
	pallet_balances::Pallet::<Test>::free_balance(who)
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
		RANKS.with(|r| r.borrow_mut().clear());
		BANNED.with(|b| *b.borrow_mut() = self.banned);
		let balances = (1..=40).map(|a| (a, ENDOWMENT)).collect();
		ext_at_block_one::<Test>(storage_with_balances::<Test>(balances))
	}

	/// Runs `test` on the built state, then checks the pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			use frame_support::traits::fungible::Inspect;
			let issuance = pallet_balances::TotalIssuance::<Test>::get();
			test();
			ChallengePallet::do_try_state().expect("invariants hold after the test");
			let total: Balance = (1..=40).map(|a| Balances::total_balance(&a)).sum();
			assert_eq!(total, issuance, "balance was created or lost");
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
