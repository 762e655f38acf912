//! The JSON shapes of the `indenture_*` methods.

use serde::{Deserialize, Serialize};

/// Page size of `indenture_queue` when none is given.
pub const DEFAULT_PAGE: u32 = 100;
/// Largest page `indenture_queue` returns.
pub const MAX_PAGE: u32 = 1_000;

/// Compute resources; missing fields are zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourcesView {
	/// CPU in thousandths of a core.
	#[serde(default)]
	pub cpu_millicores: u32,
	/// Memory in MiB.
	#[serde(default)]
	pub memory_mib: u32,
	/// Storage in GiB.
	#[serde(default)]
	pub storage_gib: u32,
	/// Whole GPUs.
	#[serde(default)]
	pub gpus: u32,
}

/// `indenture_indicativePrice`: what work of this size costs at the market rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceView {
	/// Compute units of the work.
	pub compute_units: u64,
	/// Compute units × market rate, base units.
	pub price: String,
	/// The smallest incentive the chain accepts, base units.
	pub minimum_incentive: String,
}

/// Which queued indentures `indenture_queue` lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterParam {
	/// Only work these resources cover.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub resources: Option<ResourcesView>,
	/// Only work paying at least this per compute unit (base units, decimal string).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub min_price_per_cu: Option<String>,
	/// Only this challenge kind: `"factorization"` or `"hashTarget"`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub challenge: Option<String>,
	/// Only work of at least this priority.
	#[serde(default)]
	pub min_priority: u8,
	/// Only this task type: `"batch"` or `"service"`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub task_type: Option<String>,
	/// Only work one of these executors serves (what the asking miner offers): `"wasm"`,
	/// `"container"`, `"microVm"`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub executors: Option<Vec<String>>,
}

/// A page of `indenture_queue`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParam {
	/// Matches to skip.
	#[serde(default)]
	pub start: u32,
	/// Most ids to return.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub count: Option<u32>,
}

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskView {
	/// A Wasm module by SHA-256 and URI.
	Wasm {
		/// 0x-hex SHA-256.
		hash: String,
		/// Where to fetch it.
		uri: String,
	},
	/// A container image by digest and URI, and its command.
	Container {
		/// 0x-hex SHA-256.
		hash: String,
		/// Where to fetch it.
		uri: String,
		/// The program and its arguments (lossy UTF-8).
		command: Vec<String>,
	},
	/// A small module given inline, 0x-hex.
	Inline(String),
}

/// An indenture's terms as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecView {
	/// What to run.
	pub task: TaskView,
	/// `Batch` or `Service`.
	pub task_type: String,
	/// `Wasm`, `Container` or `MicroVm`.
	pub executor: String,
	/// Per node.
	pub resources: ResourcesView,
	/// Nodes.
	pub nodes: u32,
	/// `None`, `V4` … as the chain names it.
	pub public_ip: String,
	/// Blocks.
	pub duration: u32,
	/// Base units.
	pub incentive: String,
	/// Queue priority.
	pub priority: u8,
	/// Smallest miner score, millionths.
	pub min_reputation: u32,
	/// SS58.
	pub exchange: String,
	/// SS58.
	pub escrow_operator: String,
	/// `Factorization` or `HashTarget`.
	pub challenge: String,
	/// Replicas of each node.
	pub replicas: u32,
	/// The buyer's SSH public key, if any.
	pub ssh_key: Option<String>,
}

/// Where and when a slot's miner serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessView {
	/// First block of the lease.
	pub start: u64,
	/// Last block of the lease.
	pub end: u64,
	/// host:port or URL of the miner.
	pub endpoint: String,
	/// A service's own address and SSH gateway, once its miner published them.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub service: Option<ServiceAccessView>,
}

/// Where a running service answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccessView {
	/// `host:port` forwarded to the workload's port 8080.
	pub service: String,
	/// The SSH gateway's `host:port`, when the buyer gave a key.
	pub ssh: Option<String>,
	/// The gateway's host key (OpenSSH public key line), which clients pin.
	pub host_key: Option<String>,
}

/// How a slot's lease ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseEndView {
	/// Rounds proven.
	pub proven: u32,
	/// Rounds missed.
	pub missed: u32,
	/// Whether the lease failed.
	pub failed: bool,
}

/// A slot's result: sealed, then revealed (0x-hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SlotResultView {
	/// The seal.
	Sealed(String),
	/// The revealed result hash.
	Revealed(String),
}

/// One slot (node × replica) of an indenture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
	/// Slot index.
	pub index: u32,
	/// The challenge that decides it.
	pub challenge: u64,
	/// SS58 of its miner, once won.
	pub miner: Option<String>,
	/// Its heartbeat lease, once won.
	pub lease: Option<u64>,
	/// Where the buyer reaches the miner.
	pub access: Option<AccessView>,
	/// How the lease ended.
	pub ended: Option<LeaseEndView>,
	/// Its result.
	pub result: Option<SlotResultView>,
	/// Proven rounds paid to its miner so far.
	pub rounds_paid: u32,
	/// Proven rounds whose pay is withheld (disputable).
	pub rounds_held: u32,
}

/// A running indenture with its slots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndentureView {
	/// Its id.
	pub id: u64,
	/// SS58 of the buyer.
	pub buyer: String,
	/// Its terms.
	pub spec: SpecView,
	/// Compute units of the whole work.
	pub compute_units: u64,
	/// Base units.
	pub exchange_fee: String,
	/// Base units.
	pub escrow_fee: String,
	/// Block it was submitted in.
	pub submitted: u64,
	/// Last block its slots can be won in.
	pub award_deadline: u64,
	/// `Open`, `Leased`, `Reporting`, `Reported`, …
	pub status: String,
	/// Last block to seal results in.
	pub results_deadline: Option<u64>,
	/// 0x-hex of the agreed result.
	pub result: Option<String>,
	/// Its slots in order.
	pub slots: Vec<SlotView>,
}

/// The whitepaper's CIRecord of an ended indenture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
	/// Indenture id.
	pub cid: u64,
	/// Block it ended in.
	pub time: u64,
	/// SS58 of the buyer.
	pub client: String,
	/// SS58 of its miners.
	pub sellers: Vec<String>,
	/// Extrinsic index that ended it (none when the chain's agenda did).
	pub tx_index: Option<u32>,
	/// Its escrow.
	pub escrow: u64,
	/// What ran.
	pub task: TaskView,
	/// `Batch` or `Service`.
	pub task_type: String,
	/// Base units.
	pub incentive: String,
	/// Base units paid to miners in all.
	pub paid_to_miners: String,
	/// Base units returned to the buyer.
	pub refunded: String,
	/// `Settled` or `Failed`.
	pub status: String,
	/// Blocks from submission to the end.
	pub duration: u64,
}

/// `indenture_get`: a running indenture or the record of an ended one.
// Made once per answer and serialised at once: boxing the larger variant would only add an
// allocation and a `Box::new` at every place one is built or matched.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InfoView {
	/// Still running.
	Active(IndentureView),
	/// Ended (while among the recent records).
	Ended {
		/// Its id.
		id: u64,
		/// Its CIRecord.
		record: RecordView,
	},
}

impl InfoView {
	/// The indenture's id.
	pub fn id(&self) -> u64 {
		match self {
			InfoView::Active(i) => i.id,
			InfoView::Ended { id, .. } => *id,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use serde_json::json;

	#[test]
	fn an_ended_indenture_reads_back_as_its_record() {
		let v = json!({ "id": 3, "record": {
			"cid": 3, "time": 40, "client": "5Grw", "sellers": ["5FHn"], "txIndex": null,
			"escrow": 3, "task": { "inline": "0x00" }, "taskType": "Batch", "incentive": "2",
			"paidToMiners": "2", "refunded": "0", "status": "Settled", "duration": 30,
		}});
		let info: InfoView = serde_json::from_value(v.clone()).unwrap();
		let InfoView::Ended { id: 3, ref record } = info else { panic!("{info:?}") };
		assert_eq!(record.task, TaskView::Inline("0x00".into()));
		assert_eq!(serde_json::to_value(&info).unwrap(), v);
	}

	#[test]
	fn filters_refuse_unknown_fields() {
		assert!(serde_json::from_value::<FilterParam>(json!({ "colour": 1 })).is_err());
		let f: FilterParam = serde_json::from_value(json!({ "minPricePerCu": "5" })).unwrap();
		assert_eq!(f.min_price_per_cu.as_deref(), Some("5"));
		assert!(serde_json::from_value::<ResourcesView>(json!({ "cpu": 1 })).is_err());
	}
}
