//! The server: runtime API answers turned into [`crate::views`].

use std::{fmt::Display, marker::PhantomData, str::FromStr, sync::Arc};

use crate::views::*;
use codec::Codec;
use cutopia_primitives::{ChallengeKind, Executor, Executors, Resources, MAX_EXECUTORS};
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use pallet_indenture::{
	types::{Task, TaskType},
	CiRecord, Indenture, IndentureInfo, IndentureSpec, QueueFilter, Slot, SlotResult,
};
pub use pallet_indenture_runtime_api::IndentureApi as IndentureRuntimeApi;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_runtime::traits::Block as BlockT;

/// The `indenture_*` methods.
#[rpc(client, server)]
pub trait IndentureRpcApi<BlockHash> {
	/// Compute units, indicative price and minimum incentive of work with `resources` per
	/// node, `nodes` (default 1) and `duration` blocks.
	#[method(name = "indenture_indicativePrice")]
	fn indicative_price(
		&self,
		resources: ResourcesView,
		duration: u32,
		nodes: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<PriceView>;

	/// Ids of the queue that pass `filter`, one page, in queue order.
	#[method(name = "indenture_queue")]
	fn queue(
		&self,
		filter: Option<FilterParam>,
		page: Option<PageParam>,
		at: Option<BlockHash>,
	) -> RpcResult<Vec<u64>>;

	/// An indenture with its slots, its CIRecord once ended, or null.
	#[method(name = "indenture_get")]
	fn get(&self, id: u64, at: Option<BlockHash>) -> RpcResult<Option<InfoView>>;
}

/// The runtime's types the server is generic over, as a phantom (no value is held).
type Types<Block, AccountId, Balance, BlockNumber> =
	fn() -> (Block, AccountId, Balance, BlockNumber);

/// Serves [`IndentureRpcApiServer`] from a client's runtime API.
pub struct IndentureRpc<C, Block, AccountId, Balance, BlockNumber> {
	client: Arc<C>,
	_marker: PhantomData<Types<Block, AccountId, Balance, BlockNumber>>,
}

impl<C, Block, AccountId, Balance, BlockNumber>
	IndentureRpc<C, Block, AccountId, Balance, BlockNumber>
{
	/// Serves `client`'s state (at the best block unless a call names one).
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _marker: PhantomData }
	}
}

fn invalid(msg: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32602, msg.into(), None::<()>)
}

fn runtime_error(e: impl Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32000, format!("runtime API call failed: {e}"), None::<()>)
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn h256(h: &sp_core::H256) -> String {
	hex(h.as_bytes())
}

impl From<ResourcesView> for Resources {
	fn from(r: ResourcesView) -> Self {
		Resources {
			cpu_millicores: r.cpu_millicores,
			memory_mib: r.memory_mib,
			storage_gib: r.storage_gib,
			gpus: r.gpus,
		}
	}
}

impl From<&Resources> for ResourcesView {
	fn from(r: &Resources) -> Self {
		ResourcesView {
			cpu_millicores: r.cpu_millicores,
			memory_mib: r.memory_mib,
			storage_gib: r.storage_gib,
			gpus: r.gpus,
		}
	}
}

/// The runtime's filter from its JSON form; a bad field is named.
pub fn queue_filter<Balance: FromStr>(
	p: FilterParam,
) -> Result<QueueFilter<Balance>, ErrorObjectOwned> {
	let min_price_per_cu = p
		.min_price_per_cu
		.map(|s| {
			s.parse::<Balance>().map_err(|_| invalid("minPricePerCu: not a base-unit integer"))
		})
		.transpose()?;
	let challenge = match p.challenge.as_deref() {
		None => None,
		Some("factorization") => Some(ChallengeKind::Factorization),
		Some("hashTarget") => Some(ChallengeKind::HashTarget),
		Some(other) => {
			return Err(invalid(format!(
				"challenge: `{other}` is neither \"factorization\" nor \"hashTarget\""
			)))
		},
	};
	let task_type = match p.task_type.as_deref() {
		None => None,
		Some("batch") => Some(TaskType::Batch),
		Some("service") => Some(TaskType::Service),
		Some(other) => {
			return Err(invalid(format!(
				"taskType: `{other}` is neither \"batch\" nor \"service\""
			)))
		},
	};
	let executors = p
		.executors
		.map(|names| {
			let executors = names
				.iter()
				.map(|name| match name.as_str() {
					"wasm" => Ok(Executor::Wasm),
					"container" => Ok(Executor::Container),
					"microVm" => Ok(Executor::MicroVm),
					other => Err(invalid(format!(
						"executors: `{other}` is not \"wasm\", \"container\" or \"microVm\""
					))),
				})
				.collect::<Result<Vec<_>, _>>()?;
			Executors::try_from(executors)
				.map_err(|_| invalid(format!("executors: at most {MAX_EXECUTORS}")))
		})
		.transpose()?;
	Ok(QueueFilter {
		resources: p.resources.map(Into::into),
		min_price_per_cu,
		challenge,
		min_priority: p.min_priority,
		task_type,
		executors,
	})
}

fn task_view(t: &Task) -> TaskView {
	match t {
		Task::Wasm { hash, uri } => {
			TaskView::Wasm { hash: h256(hash), uri: String::from_utf8_lossy(uri).into_owned() }
		},
		Task::Container { hash, uri, command } => TaskView::Container {
			hash: h256(hash),
			uri: String::from_utf8_lossy(uri).into_owned(),
			command: command.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect(),
		},
		Task::Inline(p) => TaskView::Inline(hex(p)),
	}
}

fn spec_view<A: Display, B: Display>(s: &IndentureSpec<A, B>) -> SpecView {
	SpecView {
		task: task_view(&s.task),
		task_type: format!("{:?}", s.task_type),
		executor: format!("{:?}", s.executor),
		resources: (&s.resources).into(),
		nodes: s.nodes,
		public_ip: format!("{:?}", s.public_ip),
		duration: s.duration,
		incentive: s.incentive.to_string(),
		priority: s.priority,
		min_reputation: s.min_reputation.deconstruct(),
		exchange: s.exchange.to_string(),
		escrow_operator: s.escrow_operator.to_string(),
		challenge: format!("{:?}", s.challenge),
		replicas: s.replicas,
		ssh_key: s.ssh_key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()),
	}
}

fn slot_view<A: Display, N: Copy + Into<u64>>(index: u32, s: &Slot<A, N>) -> SlotView {
	SlotView {
		index,
		challenge: s.challenge,
		miner: s.miner.as_ref().map(|m| m.to_string()),
		lease: s.lease,
		access: s.access.as_ref().map(|a| AccessView {
			start: a.start.into(),
			end: a.end.into(),
			endpoint: String::from_utf8_lossy(&a.endpoint).into_owned(),
			service: a.service.as_ref().map(|s| ServiceAccessView {
				service: String::from_utf8_lossy(&s.service).into_owned(),
				ssh: s.ssh.as_ref().map(|g| String::from_utf8_lossy(&g.endpoint).into_owned()),
				host_key: s.ssh.as_ref().map(|g| String::from_utf8_lossy(&g.host_key).into_owned()),
			}),
		}),
		ended: s.ended.map(|e| LeaseEndView {
			proven: e.proven,
			missed: e.missed,
			failed: e.failed,
		}),
		result: s.result.map(|r| match r {
			SlotResult::Sealed(h) => SlotResultView::Sealed(h256(&h)),
			SlotResult::Revealed(h) => SlotResultView::Revealed(h256(&h)),
		}),
		rounds_paid: s.rounds_paid,
		rounds_held: s.rounds_held,
	}
}

/// The view of a running indenture.
pub fn indenture_view<A: Display, B: Display, N: Copy + Into<u64>>(
	id: u64,
	i: &Indenture<A, B, N>,
	slots: &[(u32, Slot<A, N>)],
) -> IndentureView {
	IndentureView {
		id,
		buyer: i.buyer.to_string(),
		spec: spec_view(&i.spec),
		compute_units: i.compute_units,
		exchange_fee: i.exchange_fee.to_string(),
		escrow_fee: i.escrow_fee.to_string(),
		submitted: i.submitted.into(),
		award_deadline: i.award_deadline.into(),
		status: format!("{:?}", i.status),
		results_deadline: i.results_deadline.map(Into::into),
		result: i.result.as_ref().map(h256),
		slots: slots.iter().map(|(index, s)| slot_view(*index, s)).collect(),
	}
}

/// The view of an ended indenture's CIRecord.
pub fn record_view<A: Display, B: Display, N: Copy + Into<u64>>(
	r: &CiRecord<A, B, N>,
) -> RecordView {
	RecordView {
		cid: r.cid,
		time: r.time.into(),
		client: r.client.to_string(),
		sellers: r.sellers.iter().map(|s| s.to_string()).collect(),
		tx_index: r.tx_index,
		escrow: r.escrow,
		task: task_view(&r.task),
		task_type: format!("{:?}", r.task_type),
		incentive: r.incentive.to_string(),
		paid_to_miners: r.paid_to_miners.to_string(),
		refunded: r.refunded.to_string(),
		status: format!("{:?}", r.status),
		duration: r.duration.into(),
	}
}

impl<C, Block, AccountId, Balance, BlockNumber> IndentureRpcApiServer<<Block as BlockT>::Hash>
	for IndentureRpc<C, Block, AccountId, Balance, BlockNumber>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: IndentureRuntimeApi<Block, AccountId, Balance, BlockNumber>,
	AccountId: Codec + Display + Send + Sync + 'static,
	Balance: Codec + Display + FromStr + Send + Sync + 'static,
	BlockNumber: Codec + Copy + Into<u64> + Send + Sync + 'static,
{
	fn indicative_price(
		&self,
		resources: ResourcesView,
		duration: u32,
		nodes: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<PriceView> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let (compute_units, price, minimum) = self
			.client
			.runtime_api()
			.indicative_price(at, resources.into(), nodes.unwrap_or(1), duration)
			.map_err(runtime_error)?;
		Ok(PriceView {
			compute_units,
			price: price.to_string(),
			minimum_incentive: minimum.to_string(),
		})
	}

	fn queue(
		&self,
		filter: Option<FilterParam>,
		page: Option<PageParam>,
		at: Option<Block::Hash>,
	) -> RpcResult<Vec<u64>> {
		let filter = queue_filter::<Balance>(filter.unwrap_or_default())?;
		let page = page.unwrap_or_default();
		let count = page.count.unwrap_or(DEFAULT_PAGE);
		if count > MAX_PAGE {
			return Err(invalid(format!("page.count: at most {MAX_PAGE}")));
		}
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		self.client.runtime_api().queue(at, filter, page.start, count).map_err(runtime_error)
	}

	fn get(&self, id: u64, at: Option<Block::Hash>) -> RpcResult<Option<InfoView>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let info = self.client.runtime_api().get(at, id).map_err(runtime_error)?;
		Ok(info.map(|info| match info {
			IndentureInfo::Active { indenture, slots } => {
				InfoView::Active(indenture_view(id, &indenture, &slots))
			},
			IndentureInfo::Ended(record) => InfoView::Ended { id, record: record_view(&record) },
		}))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_queue_filter_names_executors_and_refuses_unknown_ones() {
		let param = |names: &[&str]| FilterParam {
			executors: Some(names.iter().map(|n| n.to_string()).collect()),
			..Default::default()
		};
		let f = queue_filter::<u128>(param(&["wasm", "microVm"])).unwrap();
		assert_eq!(
			f.executors.map(|e| e.into_inner()),
			Some(vec![Executor::Wasm, Executor::MicroVm])
		);
		assert!(queue_filter::<u128>(FilterParam::default()).unwrap().executors.is_none());
		let e = queue_filter::<u128>(param(&["docker"])).unwrap_err();
		assert!(e.message().contains("`docker` is not"), "{e:?}");
		assert!(queue_filter::<u128>(param(&["wasm"; 9])).is_err());
	}
}
