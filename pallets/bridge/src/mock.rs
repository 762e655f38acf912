//! Test runtime for Bridge: System, Balances and Bridge. Relayers 1, 2, 3 (threshold 2) sign
//! withdrawals with the ECDSA keys of seeds `[1; 32]`, `[2; 32]`, `[3; 32]`.

use crate::{self as pallet_bridge, VaultInfo};
use cutopia_test_utils::{ext_at_block_one, storage_with_balances};
use frame_support::{
	derive_impl,
	traits::{ConstU128, ConstU32, ConstU64},
};
use sp_core::{ecdsa, Pair, H160};
use sp_runtime::BuildStorage;

cutopia_test_utils::test_runtime!(
	Test,
	existential_deposit = 10,
	pallets { Bridge: pallet_bridge }
);

impl pallet_bridge::Config for Test {
	type Currency = Balances;
	type WeightInfo = ();
	type MaxRelayers = ConstU32<5>;
	type MintPeriod = ConstU64<100>;
	/// Buckets of 10 blocks: the cap holds over any 90 blocks.
	type MintBuckets = ConstU32<10>;
	type MintCap = ConstU128<10_000>;
	type LargeDeposit = ConstU128<5_000>;
	type LargeDepositDelay = ConstU64<20>;
	type MinTransfer = ConstU128<10>;
	type MaxAttestations = ConstU32<8>;
	type MaxSignatures = ConstU32<8>;
	type VoteWindow = ConstU64<16>;
	type MaxDueMints = ConstU32<2>;
	type MaxWithdrawal = ConstU128<5_000>;
	type RefundAfter = ConstU64<50>;
}

/// Runs blocks up to `n` with the Bridge's `on_initialize` (the block mints due delayed
/// deposits).
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		System::set_block_number(System::block_number() + 1);
		Bridge::on_initialize(System::block_number());
	}
}

/// The signing key of relayer `i`.
pub fn key(i: u8) -> ecdsa::Pair {
	ecdsa::Pair::from_seed(&[i; 32])
}

/// `digest` signed by `pair` as Ethereum tools do: `v` is 27 or 28.
pub fn eth_sign(pair: &ecdsa::Pair, digest: &[u8; 32]) -> crate::EthSignature {
	let mut sig = pair.sign_prehashed(digest).0;
	sig[64] += 27;
	sig
}

/// The Ethereum address of an ECDSA key (keccak of the uncompressed public key).
pub fn eth(pair: &ecdsa::Pair) -> H160 {
	let digest = [7u8; 32];
	crate::recover_signer(&digest, &eth_sign(pair, &digest)).expect("own signature recovers")
}

pub const VAULT: VaultInfo = VaultInfo { chain_id: 31337, vault: H160([0xaa; 20]) };

/// Accounts 1..=9 hold 1,000,000 (the "genesis" supply, not bridged); relayers 1, 2, 3 with
/// threshold 2; the vault configured.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = storage_with_balances::<Test>((1..=9).map(|a| (a, 1_000_000)).collect());
	pallet_bridge::GenesisConfig::<Test> {
		relayers: (1..=3u8).map(|i| (u64::from(i), eth(&key(i)))).collect(),
		threshold: 2,
		vault: Some((VAULT.chain_id, VAULT.vault)),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	ext_at_block_one::<Test>(storage)
}

/// The test externalities with a keystore, in which the benchmarks sign.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let mut ext = new_test_ext();
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext
}

/// Runs `test`, then checks the pallet's invariants and that total issuance moved exactly by
/// the bridged supply.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		let issuance = pallet_balances::TotalIssuance::<Test>::get();
		test();
		Bridge::do_try_state().expect("bridge invariants");
		assert_eq!(
			pallet_balances::TotalIssuance::<Test>::get() as i128,
			issuance as i128 + Bridge::bridged_supply(),
			"issuance moved by something else than bridged supply"
		);
	});
}
