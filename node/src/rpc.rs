//! The node's own RPC methods, on top of the standard Substrate ones that `sc-service` adds
//! (chain, state, author, system, chainHead/transaction v2).

#![warn(missing_docs)]

use std::sync::Arc;

use cutopia_runtime::{opaque::Block, AccountId, Balance, Nonce};
use futures::channel::mpsc;
use jsonrpsee::RpcModule;
use sc_consensus_manual_seal::EngineCommand;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
	/// The client instance to use.
	pub client: Arc<C>,
	/// Transaction pool instance.
	pub pool: Arc<P>,
	/// With `--sealing manual`: where `engine_createBlock` / `engine_finalizeBlock` go.
	pub manual_seal:
		Option<mpsc::Sender<EngineCommand<<Block as sp_runtime::traits::Block>::Hash>>>,
}

/// All RPC methods of a full node beyond the standard ones:
/// `system_accountNextIndex`, `system_dryRun`, `payment_queryInfo`, `payment_queryFeeDetails`,
/// `indenture_indicativePrice`, `indenture_queue`, `indenture_get`, and with manual sealing `engine_createBlock` and `engine_finalizeBlock`.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>,
	C: HeaderBackend<Block> + HeaderMetadata<Block, Error = BlockChainError> + 'static,
	C: Send + Sync + 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	C::Api: pallet_indenture_rpc::IndentureRuntimeApi<
		Block,
		AccountId,
		Balance,
		cutopia_runtime::BlockNumber,
	>,
	P: TransactionPool + 'static,
{
	use pallet_indenture_rpc::{IndentureRpc, IndentureRpcApiServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use sc_consensus_manual_seal::rpc::{ManualSeal, ManualSealApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, manual_seal } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(
		IndentureRpc::<_, Block, AccountId, Balance, cutopia_runtime::BlockNumber>::new(client)
			.into_rpc(),
	)?;
	if let Some(sink) = manual_seal {
		module.merge(ManualSeal::new(sink).into_rpc())?;
	}

	Ok(module)
}
