//! Tests of how the runtime wires its pallets together.

use crate::*;
use frame_support::assert_ok;
use pallet_escrow::EscrowApi;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{BuildStorage, Perbill};

fn ext(accounts: &[AccountId]) -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Runtime>::default()
		.build_storage()
		.expect("system genesis builds");
	pallet_balances::GenesisConfig::<Runtime> {
		balances: accounts.iter().map(|a| (a.clone(), 1_000 * CU)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("balances genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// An escrow operator that leaves a dispute to the default outcome gets a failure record on
/// RepChain; one that resolves in time gets a success.
#[test]
fn dispute_handling_is_recorded_on_repchain() {
	let [buyer, exchange, operator, miner] =
		[Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie, Sr25519Keyring::Dave]
			.map(|k| k.to_account_id());
	ext(&[buyer.clone(), exchange.clone(), operator.clone(), miner.clone()]).execute_with(|| {
		for (id, resolve_in_time) in [(1u64, false), (2, true)] {
			assert_ok!(Escrow::open(id, &buyer, &exchange, &operator, 10 * CU, CU, CU));
			let until = System::block_number() + 10;
			assert_ok!(Escrow::await_acceptance(id, vec![(miner.clone(), 10 * CU)], until));
			assert_ok!(Escrow::dispute(RuntimeOrigin::signed(buyer.clone()), id));
			if resolve_in_time {
				assert_ok!(Escrow::resolve(
					RuntimeOrigin::signed(operator.clone()),
					id,
					Perbill::from_percent(80)
				));
			} else {
				System::set_block_number(System::block_number() + DAYS + 1);
				assert_ok!(Escrow::resolve_default(RuntimeOrigin::signed(miner.clone()), id));
			}
		}
		assert_eq!(RepChain::counts(&operator), (2, 1, 1));
		assert_eq!(Escrow::held(1) + Escrow::held(2), 0);
	});
}
