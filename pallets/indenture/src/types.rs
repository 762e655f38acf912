//! Types of a Computation Indenture.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
pub use cutopia_primitives::{
	dedicated_address, AddressKey, Executor, Executors, PublicIp, DEDICATED_SERVICE_PORT,
	DEDICATED_SSH_PORT,
};
use cutopia_primitives::{ChallengeId, ChallengeKind, Endpoint, LeaseId, Resources};
use frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::Permill;

/// Identifies an indenture.
pub type IndentureId = u64;
/// A URI where a task's artifact can be fetched, at most 256 bytes.
pub type Uri = BoundedVec<u8, ConstU32<256>>;
/// A small task given inline, at most 4 KiB.
pub type InlinePayload = BoundedVec<u8, ConstU32<4096>>;
/// One argument of a container's command, at most 128 bytes.
pub type Arg = BoundedVec<u8, ConstU32<128>>;
/// A container's command: the program, then its arguments; at most 16. Together with the URI
/// it stays under the inline payload's bound, so a task's largest encoding is unchanged.
pub type ContainerCommand = BoundedVec<Arg, ConstU32<16>>;

/// What to run.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum Task {
	/// A WASM module (WASI), identified by the SHA-256 of its bytes and fetched from `uri`.
	Wasm {
		/// SHA-256 of the module.
		hash: H256,
		/// Where to fetch it.
		uri: Uri,
	},
	/// A container: a root filesystem archive (tar, or tar compressed with zstd) identified
	/// by its SHA-256 and fetched from `uri`, and the command run in it.
	Container {
		/// SHA-256 of the archive.
		hash: H256,
		/// Where to fetch it.
		uri: Uri,
		/// The program (a path in the image, or a name looked up in its `PATH`) and its
		/// arguments.
		command: ContainerCommand,
	},
	/// A small WASM module or script given inline.
	Inline(InlinePayload),
}

impl Task {
	/// Bytes of the task's payload, URI and command: what `submit` is charged for.
	pub fn size(&self) -> u32 {
		match self {
			Task::Wasm { uri, .. } => uri.len() as u32,
			Task::Container { uri, command, .. } => {
				(uri.len() + command.iter().map(|a| a.len()).sum::<usize>()) as u32
			},
			Task::Inline(p) => p.len() as u32,
		}
	}

	/// Whether `executor` runs this kind of task: Wasm runs modules (fetched or inline), a
	/// container or a microVM runs images.
	pub fn runs_on(&self, executor: Executor) -> bool {
		match self {
			Task::Wasm { .. } | Task::Inline(_) => executor == Executor::Wasm,
			Task::Container { .. } => {
				matches!(executor, Executor::Container | Executor::MicroVm)
			},
		}
	}

	/// Whether the task is well formed: URIs present, a container's program named, inline
	/// payload not empty.
	pub fn is_valid(&self) -> bool {
		match self {
			Task::Wasm { uri, .. } => !uri.is_empty(),
			Task::Container { uri, command, .. } => {
				!uri.is_empty() && command.first().is_some_and(|program| !program.is_empty())
			},
			Task::Inline(p) => !p.is_empty(),
		}
	}
}

/// Whether the work produces a result (a batch job) or keeps running (a service).
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum TaskType {
	/// Runs to completion and reports a result hash.
	Batch,
	/// Serves for its duration; settled on its heartbeats.
	Service,
}

/// What a buyer asks for: everything needed to price, match and run the work.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct IndentureSpec<AccountId, Balance> {
	/// What to run.
	pub task: Task,
	/// Batch or service.
	pub task_type: TaskType,
	/// How the task must be run: `Wasm` for modules; `Container` or `MicroVm` for an image
	/// (a miner offering microVMs serves work asking for a container too).
	pub executor: Executor,
	/// Resources per node.
	pub resources: Resources,
	/// Number of nodes.
	pub nodes: u32,
	/// Public IP needs.
	pub public_ip: PublicIp,
	/// How long the lease runs, in blocks (the ETA).
	pub duration: u32,
	/// Total price for the work, in base units of CU (fees come on top).
	pub incentive: Balance,
	/// Higher goes first in the queue.
	pub priority: u8,
	/// Lowest RepChain score a miner needs.
	pub min_reputation: Permill,
	/// The exchange that lists it.
	pub exchange: AccountId,
	/// The escrow operator that arbitrates it.
	pub escrow_operator: AccountId,
	/// The capability challenge miners must solve.
	pub challenge: ChallengeKind,
	/// Miners whose results must agree (for a batch task), each on its own slot.
	pub replicas: u32,
	/// The buyer's SSH public key, handed to miners as access metadata.
	pub ssh_key: Option<BoundedVec<u8, ConstU32<512>>>,
}

/// Most slots any runtime may configure (bounds the sellers of a [`CiRecord`]).
pub const MAX_SLOTS_BOUND: u32 = 64;

/// The whitepaper's CIRecord: how an indenture ended, emitted as an event and kept in the
/// bounded recent-records index.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct CiRecord<AccountId, Balance, BlockNumber> {
	/// The indenture (cid).
	pub cid: IndentureId,
	/// Block it ended in.
	pub time: BlockNumber,
	/// The buyer (client).
	pub client: AccountId,
	/// The miners that held its slots (sellers), in slot order.
	pub sellers: BoundedVec<AccountId, ConstU32<MAX_SLOTS_BOUND>>,
	/// Index of the extrinsic that ended it in block `time` (tx number); `None` when it ended
	/// in the block's deadline processing.
	pub tx_index: Option<u32>,
	/// The token transfer reference: the escrow whose `Paid`/`Settled` events list every
	/// transfer made for this work (it has the indenture's id).
	pub escrow: u64,
	/// The task.
	pub task: Task,
	/// Batch or service.
	pub task_type: TaskType,
	/// The incentive.
	pub incentive: Balance,
	/// Paid to miners in total.
	pub paid_to_miners: Balance,
	/// Refunded to the buyer.
	pub refunded: Balance,
	/// How it ended.
	pub status: Status,
	/// Blocks from submission to the end.
	pub duration: BlockNumber,
}

/// Where an indenture is in its life.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Status {
	/// Waiting for miners to win its slots; listed in the queue.
	Open,
	/// Every slot has a miner and a heartbeat lease.
	Leased,
	/// Withdrawn by the buyer before any slot was awarded.
	Cancelled,
	/// Not awarded before its deadline.
	Expired,
	/// A batch task's leases all completed; its miners commit and reveal their results.
	Reporting,
	/// A batch task's result was found, or a service's leases completed: the buyer may
	/// dispute the outstanding pay (result share, withheld rounds) in Escrow until its
	/// acceptance window closes.
	Reported,
	/// Every lease ended and the work was paid for what was proven.
	Settled,
	/// Every lease ended and at least one failed; the buyer got the unproven part back.
	Failed,
	/// The replicas revealed different results: the escrow operator decides which is right
	/// (`judge`) by the escrow's deadline, else the default rule applies.
	Disputed,
	/// The buyer ended the leases early: rounds proven were paid, the unserved rest refunded.
	Terminated,
	/// The buyer disputed its leased work: the leases stopped and the escrow operator decides
	/// what the withheld rounds are worth (`Escrow::resolve`) by the escrow's deadline, else
	/// the default rule applies. As a CIRecord's status: ended so.
	Contested,
}

/// A submitted indenture.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Indenture<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub buyer: AccountId,
	/// What was asked.
	pub spec: IndentureSpec<AccountId, Balance>,
	/// Compute units of the whole work.
	pub compute_units: u64,
	/// The exchange's fee, held with the incentive.
	pub exchange_fee: Balance,
	/// The escrow operator's fee, held with the incentive.
	pub escrow_fee: Balance,
	/// Block it was submitted in.
	pub submitted: BlockNumber,
	/// Last block a slot can be awarded in.
	pub award_deadline: BlockNumber,
	/// Where it is.
	pub status: Status,
	/// Batch tasks: results are sealed until this block, revealed for `ResultWindow` more.
	pub results_deadline: Option<BlockNumber>,
	/// Batch tasks: the result hash the miners agreed on.
	pub result: Option<H256>,
}

/// Weights of the compute-unit formula, in thousandths of a compute unit per block and node.
///
/// One compute unit is one CPU core for one block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CuWeights {
	/// Per millicore of CPU.
	pub per_millicore: u64,
	/// Per GiB of memory (the spec counts MiB; 1024 MiB = 1 GiB).
	pub per_gib_memory: u64,
	/// Per GiB of storage.
	pub per_gib_storage: u64,
	/// Per GPU.
	pub per_gpu: u64,
}

impl CuWeights {
	/// `CU = ⌈(cpu·w_cpu + mem_GiB·w_mem + storage_GiB·w_sto + gpus·w_gpu) / 1000⌉ · nodes ·
	/// duration`, computed exactly in integers (memory in MiB scaled by 1/1024) and saturating.
	pub fn compute_units(&self, r: &Resources, nodes: u32, duration: u32) -> u64 {
		let per_node_milli = u128::from(r.cpu_millicores) * u128::from(self.per_millicore)
			+ u128::from(r.memory_mib) * u128::from(self.per_gib_memory) / 1024
			+ u128::from(r.storage_gib) * u128::from(self.per_gib_storage)
			+ u128::from(r.gpus) * u128::from(self.per_gpu);
		let total_milli = per_node_milli * u128::from(nodes) * u128::from(duration);
		u64::try_from(total_milli.div_ceil(1000)).unwrap_or(u64::MAX)
	}
}

/// How the buyer reaches a slot's miner, fixed when the slot is awarded.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Access<BlockNumber> {
	/// First block of the lease.
	pub start: BlockNumber,
	/// Last block of the lease (when its last heartbeat round closes).
	pub end: BlockNumber,
	/// The miner's endpoint as registered in RepChain. The public IP mode and the buyer's SSH
	/// key are in the indenture's spec.
	pub endpoint: Endpoint,
	/// A service's own address, published by the miner once the workload runs
	/// (`publish_access`); `None` before that and for batch tasks.
	pub service: Option<ServiceAccess>,
}

/// An SSH host key as an OpenSSH public key line (`ssh-ed25519 AAAA…`), at most 128 bytes.
pub type HostKey = BoundedVec<u8, ConstU32<128>>;

/// Where a running service answers, published on chain by the miner that runs it.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct ServiceAccess {
	/// The workload's port, as `host:port` on the miner's side.
	pub service: Endpoint,
	/// The miner's SSH gateway into the workload, when the buyer gave a key.
	pub ssh: Option<SshGateway>,
}

/// An SSH gateway into a lease: its address and its host key, which a client pins instead of
/// trusting whatever answers there the first time.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct SshGateway {
	/// `host:port`.
	pub endpoint: Endpoint,
	/// The gateway's public host key.
	pub host_key: HostKey,
}

/// A deadline of an indenture, processed from the per-block agenda.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Deadline {
	/// The award window closed: conclude the slots' challenges, expire it if any is empty.
	Award(IndentureId),
	/// The reveal window closed: count the results.
	Results(IndentureId),
	/// The acceptance window of a single-replica result closed: settle it.
	Acceptance(IndentureId),
	/// A lease's last heartbeat round closed: count its misses, which ends it.
	LeaseEnd(LeaseId),
	/// The rating window of an ended indenture closed: its unrated miners can no longer be.
	RatingsClose(IndentureId),
	/// The audit window of a concluded factorization challenge closed: if its issuer never
	/// revealed `p`, it fails and the challenge leaves storage.
	Audit(ChallengeId),
	/// The escrow operator's deadline to judge disputed results passed: if it did not, the
	/// default rule applies.
	DisputeDefault(IndentureId),
}

/// What a buyer's rating of one miner needs, kept until the rating window closes.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Rateable<AccountId, Balance, BlockNumber> {
	/// Who may rate.
	pub buyer: AccountId,
	/// What the miner's slot was worth.
	pub value: Balance,
	/// How long the indenture ran, in blocks.
	pub duration: BlockNumber,
	/// Last block the rating is taken in.
	pub until: BlockNumber,
}

/// One place for a miner: a node of one replica.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Slot<AccountId, BlockNumber> {
	/// The capability challenge that decides who gets it.
	pub challenge: ChallengeId,
	/// The winner, once awarded.
	pub miner: Option<AccountId>,
	/// The winner's heartbeat lease.
	pub lease: Option<LeaseId>,
	/// How to reach the winner, and when its lease runs.
	pub access: Option<Access<BlockNumber>>,
	/// How the lease ended, once it has: rounds proven and missed, and whether it failed.
	pub ended: Option<LeaseEnd>,
	/// A batch task's result from this slot's miner.
	pub result: Option<SlotResult>,
	/// Proven rounds paid to the miner so far.
	pub rounds_paid: u32,
	/// Proven rounds whose pay is withheld (at most `DisputeLag` while the lease runs): paid
	/// at settlement unless a dispute decides otherwise.
	pub rounds_held: u32,
}

/// A miner's result for a batch task: sealed first, then revealed, so that no replica can copy
/// another's answer.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum SlotResult {
	/// `result_seal(indenture, slot, miner, result, salt)`.
	Sealed(H256),
	/// The result hash itself.
	Revealed(H256),
}

/// How a slot's lease ended.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct LeaseEnd {
	/// Rounds proven.
	pub proven: u32,
	/// Rounds missed.
	pub missed: u32,
	/// Too many misses.
	pub failed: bool,
}

/// Which queued indentures an agent wants to see.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, Default)]
pub struct QueueFilter<Balance> {
	/// Only work a miner with these resources per node could take.
	pub resources: Option<Resources>,
	/// Only work paying at least this per compute unit.
	pub min_price_per_cu: Option<Balance>,
	/// Only work decided by this kind of challenge.
	pub challenge: Option<ChallengeKind>,
	/// Only work of at least this priority.
	pub min_priority: u8,
	/// Only batch tasks, or only services.
	pub task_type: Option<TaskType>,
	/// Only work one of these executors serves: what the asking miner offers. Without it, a
	/// queue full of containers would hide from a miner without a container runtime every
	/// task it could take behind pages it has to skip.
	pub executors: Option<Executors>,
}

impl<Balance> QueueFilter<Balance> {
	/// Whether only the priority matters (no indenture needs to be read).
	pub fn is_trivial(&self) -> bool {
		self.resources.is_none()
			&& self.min_price_per_cu.is_none()
			&& self.challenge.is_none()
			&& self.task_type.is_none()
			&& self.executors.is_none()
	}
}

/// What `IndentureApi::get` returns.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub enum IndentureInfo<AccountId, Balance, BlockNumber> {
	/// Still open or running, with its slots in order.
	Active {
		/// The indenture.
		indenture: Indenture<AccountId, Balance, BlockNumber>,
		/// `(index, slot)` pairs.
		slots: alloc::vec::Vec<(u32, Slot<AccountId, BlockNumber>)>,
	},
	/// Ended; its CIRecord.
	Ended(CiRecord<AccountId, Balance, BlockNumber>),
}
