//! The pallets whose weights the node's `benchmark pallet` command measures.

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench::<Runtime>]
	[frame_system, SystemBench::<Runtime>]
	[frame_system_extensions, SystemExtensionsBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_utility, Utility]
	[pallet_repchain, RepChain]
	[pallet_escrow, Escrow]
	[pallet_challenge, Challenge]
	[pallet_indenture, Indenture]
	[pallet_bridge, Bridge]
);
