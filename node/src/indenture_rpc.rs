//! `indenture_*` RPC methods: the IndentureApi runtime API as JSON, so agents and
//! polkadot.js users read prices and the queue without scanning storage.
//!
//! Balances are decimal strings (base units, 18 decimals): CU amounts exceed what a JSON number
//! keeps exactly in JavaScript. Accounts are SS58 strings, hashes and bytes 0x-hex.
//!
//! - `indenture_indicativePrice(resources, duration, nodes?, at?)` →
//!   `{ computeUnits, price, minimumIncentive }`
//! - `indenture_queue(filter?, page?, at?)` → `[id, …]` in queue order; `filter` has optional
//!   `resources`, `minPricePerCu` (string), `challenge` (`"factorization"` | `"hashTarget"`),
//!   `minPriority`; `page` is `{ start, count }` (count at most 1,000, default 100)
//! - `indenture_get(id, at?)` → the indenture with its slots, its CIRecord once ended, or null.

use std::sync::Arc;

use cutopia_runtime::{opaque::Block, AccountId, Balance, BlockNumber};
use jsonrpsee::{types::ErrorObjectOwned, RpcModule};
use pallet_indenture::types::Task;
use pallet_indenture::{
	CiRecord, Indenture, IndentureApi, IndentureInfo, IndentureSpec, QueueFilter, Slot, SlotResult,
};
use pallet_repchain::Resources;
use serde::Deserialize;
use serde_json::{json, Value};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::H256;

type Hash = <Block as sp_runtime::traits::Block>::Hash;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourcesParam {
	#[serde(default)]
	cpu_millicores: u32,
	#[serde(default)]
	memory_mib: u32,
	#[serde(default)]
	storage_gib: u32,
	#[serde(default)]
	gpus: u32,
}

impl From<ResourcesParam> for Resources {
	fn from(r: ResourcesParam) -> Self {
		Resources {
			cpu_millicores: r.cpu_millicores,
			memory_mib: r.memory_mib,
			storage_gib: r.storage_gib,
			gpus: r.gpus,
		}
	}
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FilterParam {
	resources: Option<ResourcesParam>,
	min_price_per_cu: Option<String>,
	challenge: Option<String>,
	#[serde(default)]
	min_priority: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParam {
	#[serde(default)]
	start: u32,
	count: Option<u32>,
}

fn invalid(msg: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32602, msg.into(), None::<()>)
}

fn runtime_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32000, format!("runtime API call failed: {e}"), None::<()>)
}

fn filter_from(p: FilterParam) -> Result<QueueFilter<Balance>, ErrorObjectOwned> {
	let min_price_per_cu = p
		.min_price_per_cu
		.map(|s| {
			s.parse::<Balance>().map_err(|_| invalid("minPricePerCu: not a base-unit integer"))
		})
		.transpose()?;
	let challenge = match p.challenge.as_deref() {
		None => None,
		Some("factorization") => Some(pallet_challenge::ChallengeKind::Factorization),
		Some("hashTarget") => Some(pallet_challenge::ChallengeKind::HashTarget),
		Some(other) => {
			return Err(invalid(format!(
				"challenge: `{other}` is neither \"factorization\" nor \"hashTarget\""
			)))
		},
	};
	Ok(QueueFilter {
		resources: p.resources.map(Into::into),
		min_price_per_cu,
		challenge,
		min_priority: p.min_priority,
	})
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn h256(h: &H256) -> String {
	hex(h.as_bytes())
}

fn resources_json(r: &Resources) -> Value {
	json!({
		"cpuMillicores": r.cpu_millicores,
		"memoryMib": r.memory_mib,
		"storageGib": r.storage_gib,
		"gpus": r.gpus,
	})
}

fn task_json(t: &Task) -> Value {
	match t {
		Task::Wasm { hash, uri } => {
			json!({ "wasm": { "hash": h256(hash), "uri": String::from_utf8_lossy(uri) } })
		},
		Task::Container { hash, uri } => {
			json!({ "container": { "hash": h256(hash), "uri": String::from_utf8_lossy(uri) } })
		},
		Task::Inline(p) => json!({ "inline": hex(p) }),
	}
}

fn spec_json(s: &IndentureSpec<AccountId, Balance>) -> Value {
	json!({
		"task": task_json(&s.task),
		"taskType": format!("{:?}", s.task_type),
		"resources": resources_json(&s.resources),
		"nodes": s.nodes,
		"publicIp": format!("{:?}", s.public_ip),
		"duration": s.duration,
		"incentive": s.incentive.to_string(),
		"priority": s.priority,
		"minReputation": s.min_reputation.deconstruct(),
		"exchange": s.exchange.to_string(),
		"escrowOperator": s.escrow_operator.to_string(),
		"challenge": format!("{:?}", s.challenge),
		"replicas": s.replicas,
		"sshKey": s.ssh_key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()),
	})
}

fn indenture_json(id: u64, i: &Indenture<AccountId, Balance, BlockNumber>) -> Value {
	json!({
		"id": id,
		"buyer": i.buyer.to_string(),
		"spec": spec_json(&i.spec),
		"computeUnits": i.compute_units,
		"exchangeFee": i.exchange_fee.to_string(),
		"escrowFee": i.escrow_fee.to_string(),
		"submitted": i.submitted,
		"awardDeadline": i.award_deadline,
		"status": format!("{:?}", i.status),
		"resultsDeadline": i.results_deadline,
		"result": i.result.as_ref().map(h256),
	})
}

fn slot_json(index: u32, s: &Slot<AccountId, BlockNumber>) -> Value {
	json!({
		"index": index,
		"challenge": s.challenge,
		"miner": s.miner.as_ref().map(|m| m.to_string()),
		"lease": s.lease,
		"access": s.access.as_ref().map(|a| json!({
			"start": a.start,
			"end": a.end,
			"endpoint": String::from_utf8_lossy(&a.endpoint),
		})),
		"ended": s.ended.map(|e| json!({
			"proven": e.proven, "missed": e.missed, "failed": e.failed,
		})),
		"result": s.result.map(|r| match r {
			SlotResult::Sealed(h) => json!({ "sealed": h256(&h) }),
			SlotResult::Revealed(h) => json!({ "revealed": h256(&h) }),
		}),
	})
}

fn record_json(r: &CiRecord<AccountId, Balance, BlockNumber>) -> Value {
	json!({
		"cid": r.cid,
		"time": r.time,
		"client": r.client.to_string(),
		"sellers": r.sellers.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
		"txIndex": r.tx_index,
		"escrow": r.escrow,
		"task": task_json(&r.task),
		"taskType": format!("{:?}", r.task_type),
		"incentive": r.incentive.to_string(),
		"paidToMiners": r.paid_to_miners.to_string(),
		"refunded": r.refunded.to_string(),
		"status": format!("{:?}", r.status),
		"duration": r.duration,
	})
}

/// The `indenture_*` methods over `client`.
pub fn module<C>(
	client: Arc<C>,
) -> Result<RpcModule<Arc<C>>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: IndentureApi<Block, AccountId, Balance, BlockNumber>,
{
	let mut module = RpcModule::new(client);
	let best = |c: &C, at: Option<Hash>| at.unwrap_or_else(|| c.info().best_hash);

	module.register_method("indenture_indicativePrice", move |params, client, _| {
		let mut seq = params.sequence();
		let resources: ResourcesParam = seq.next()?;
		let duration: u32 = seq.next()?;
		let nodes: Option<u32> = seq.optional_next()?;
		let at: Option<Hash> = seq.optional_next()?;
		let (cu, price, minimum) = client
			.runtime_api()
			.indicative_price(best(client, at), resources.into(), nodes.unwrap_or(1), duration)
			.map_err(runtime_error)?;
		Ok::<_, ErrorObjectOwned>(json!({
			"computeUnits": cu,
			"price": price.to_string(),
			"minimumIncentive": minimum.to_string(),
		}))
	})?;

	module.register_method("indenture_queue", move |params, client, _| {
		let mut seq = params.sequence();
		let filter: Option<FilterParam> = seq.optional_next()?;
		let page: Option<PageParam> = seq.optional_next()?;
		let at: Option<Hash> = seq.optional_next()?;
		let filter = filter_from(filter.unwrap_or_default())?;
		let (start, count) = page.map(|p| (p.start, p.count)).unwrap_or((0, None));
		let count = count.unwrap_or(DEFAULT_PAGE);
		if count > MAX_PAGE {
			return Err(invalid(format!("page.count: at most {MAX_PAGE}")));
		}
		client.runtime_api().queue(best(client, at), filter, start, count).map_err(runtime_error)
	})?;

	module.register_method("indenture_get", move |params, client, _| {
		let mut seq = params.sequence();
		let id: u64 = seq.next()?;
		let at: Option<Hash> = seq.optional_next()?;
		let info = client.runtime_api().get(best(client, at), id).map_err(runtime_error)?;
		Ok::<_, ErrorObjectOwned>(match info {
			None => Value::Null,
			Some(IndentureInfo::Active { indenture, slots }) => {
				let mut v = indenture_json(id, &indenture);
				v["slots"] = slots.iter().map(|(i, s)| slot_json(*i, s)).collect();
				v
			},
			Some(IndentureInfo::Ended(record)) => {
				json!({ "id": id, "record": record_json(&record) })
			},
		})
	})?;

	Ok(module)
}
