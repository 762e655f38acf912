//! The `IndentureApi` runtime API, apart from the pallet so the node and clients can name it
//! without depending on FRAME internals (as `pallet-transaction-payment-rpc-runtime-api`).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use cutopia_primitives::{IndentureId, Resources};
pub use pallet_indenture::{IndentureInfo, QueueFilter};

sp_api::decl_runtime_apis! {
	/// Pricing and queue queries for buyers' and miners' agents (the node serves them as the
	/// `indenture_*` RPC methods).
	pub trait IndentureApi<AccountId, Balance, BlockNumber>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
		BlockNumber: codec::Codec,
	{
		/// `(compute units, indicative price, minimum incentive)` of work with these resources
		/// per node, nodes and duration.
		fn indicative_price(resources: Resources, nodes: u32, duration: u32) -> (u64, Balance, Balance);
		/// Ids of the queue that pass `filter`, from the `start`-th match, at most `count`, in
		/// queue order (priority, then age).
		fn queue(filter: QueueFilter<Balance>, start: u32, count: u32) -> alloc::vec::Vec<IndentureId>;
		/// An indenture with its slots while it runs, or its CIRecord once it ended (while it
		/// is among the recent records).
		fn get(id: IndentureId) -> Option<IndentureInfo<AccountId, Balance, BlockNumber>>;
	}
}
