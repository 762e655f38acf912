//! What the mock runtimes of CuTopia's pallets share.
//!
//! Every mock with money runs `frame_system` and `pallet_balances` the same way: `u64`
//! accounts and blocks (frame-system's test defaults), `u128` balances (as the runtime), and
//! holds and freezes from the runtime's composite enums. Writing that once keeps the mocks
//! from drifting apart; each then only declares its own pallet's configuration.

use sp_runtime::BuildStorage;

/// Genesis storage of System and Balances with `balances` endowed; a mock adds its own
/// pallets' genesis to it.
pub fn storage_with_balances<T: pallet_balances::Config>(
	balances: Vec<(T::AccountId, T::Balance)>,
) -> sp_runtime::Storage {
	let mut storage =
		frame_system::GenesisConfig::<T>::default().build_storage().expect("system genesis");
	pallet_balances::GenesisConfig::<T> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
	storage
}

/// Externalities over `storage`, at block 1: events are not kept in block 0.
pub fn ext_at_block_one<T: frame_system::Config>(
	storage: sp_runtime::Storage,
) -> sp_io::TestExternalities {
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| frame_system::Pallet::<T>::set_block_number(1u32.into()));
	ext
}

/// The test runtime `$runtime`: `System`, `Balances` and `pallets` (`Name: crate_name`), with
/// `Block`, `Balance = u128` and the configuration of the first two (existential deposit
/// `$ed`). The mock then configures its pallets (most `#[derive_impl]` their
/// `config_preludes::TestDefaultConfig`). Call it in a module that imports
/// `frame_support::derive_impl`.
#[macro_export]
macro_rules! test_runtime {
	($runtime:ident, existential_deposit = $ed:expr, pallets { $($name:ident: $pallet:ident),* $(,)? }) => {
		frame_support::construct_runtime!(
			pub enum $runtime {
				System: frame_system,
				Balances: pallet_balances,
				$($name: $pallet,)*
			}
		);

		type Block = frame_system::mocking::MockBlock<$runtime>;
		/// Balances of the test runtime, as wide as the real runtime's.
		pub type Balance = u128;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
		impl frame_system::Config for $runtime {
			type Block = Block;
			type AccountData = pallet_balances::AccountData<Balance>;
		}

		#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
		impl pallet_balances::Config for $runtime {
			type Balance = Balance;
			type AccountStore = System;
			type ExistentialDeposit = frame_support::traits::ConstU128<{ $ed }>;
			type RuntimeHoldReason = RuntimeHoldReason;
			type MaxFreezes = frame_support::traits::VariantCountOf<RuntimeFreezeReason>;
		}
	};
}
