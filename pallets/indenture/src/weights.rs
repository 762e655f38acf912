//! Weights of the Indenture pallet's calls.
//!
//! The trait is implemented for `()` with zero weights for unit tests only. Before this pallet
//! joins the runtime, its benchmarks generate `runtime/src/weights/pallet_indenture.rs` with
//! `scripts/bench-weights.sh pallet_indenture`.

#![allow(missing_docs)]

use frame_support::weights::Weight;

/// Weight functions needed by the Indenture pallet.
pub trait WeightInfo {
	fn submit() -> Weight;
	fn cancel() -> Weight;
	fn expire() -> Weight;
	fn commit_result() -> Weight;
	fn reveal_result() -> Weight;
	fn conclude_results() -> Weight;
}

impl WeightInfo for () {
	fn submit() -> Weight {
		Weight::zero()
	}
	fn cancel() -> Weight {
		Weight::zero()
	}
	fn expire() -> Weight {
		Weight::zero()
	}
	fn commit_result() -> Weight {
		Weight::zero()
	}
	fn reveal_result() -> Weight {
		Weight::zero()
	}
	fn conclude_results() -> Weight {
		Weight::zero()
	}
}
