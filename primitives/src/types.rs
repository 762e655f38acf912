//! Types more than one pallet (or a pallet and its clients) speak.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

/// One CU in base units: 18 decimals, as the CuToken ERC20 it mirrors.
pub const CU: u128 = 1_000_000_000_000_000_000;
/// Most bytes of a task given inline in an indenture (a small Wasm module or script).
pub const MAX_INLINE: u32 = 4096;

/// Identifies an indenture (and its escrow, which shares the id).
pub type IndentureId = u64;
/// Identifies an escrow: the id of the indenture it holds money for.
pub type EscrowId = IndentureId;
/// Identifies a capability challenge.
pub type ChallengeId = u64;
/// Identifies a heartbeat lease.
pub type LeaseId = u64;
/// What a challenge or lease was opened for (for the marketplace: the indenture id).
pub type ContextId = u64;

/// A display name, at most 64 bytes.
pub type Name = BoundedVec<u8, ConstU32<64>>;
/// Where a participant is reached (host:port or URL), at most 256 bytes.
pub type Endpoint = BoundedVec<u8, ConstU32<256>>;

/// What a participant is registered as. One account may hold several roles, each with its
/// own bond.
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
pub enum Role {
	/// Offers compute and competes for indentures.
	Miner,
	/// Lists indentures and issues factorization challenges, for a fee.
	Exchange,
	/// Arbitrates disputes, for a fee.
	EscrowOperator,
}

/// Compute resources: what a miner declares it has, and what an indenture asks for.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Resources {
	/// CPU in thousandths of a core.
	pub cpu_millicores: u32,
	/// Memory in MiB.
	pub memory_mib: u32,
	/// Storage in GiB.
	pub storage_gib: u32,
	/// Whole GPUs.
	pub gpus: u32,
}

impl Resources {
	/// Whether these resources cover `need` in every dimension.
	pub fn covers(&self, need: &Resources) -> bool {
		self.cpu_millicores >= need.cpu_millicores
			&& self.memory_mib >= need.memory_mib
			&& self.storage_gib >= need.storage_gib
			&& self.gpus >= need.gpus
	}

	/// Whether every dimension is zero.
	pub fn is_zero(&self) -> bool {
		*self == Resources::default()
	}
}

/// How work is run: what a miner offers on RepChain and what an indenture asks for.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Executor {
	/// WASI modules in a fuel-metered Wasm runtime.
	Wasm,
	/// Root filesystem images in a Linux sandbox sharing the miner's kernel (namespaces,
	/// cgroups, Landlock, seccomp).
	Container,
	/// Root filesystem images booted as virtual machines with a kernel of their own.
	MicroVm,
}

impl Executor {
	/// Whether a miner offering `self` can take work that needs `need`; `service` says the
	/// work keeps running. A microVM runs the same images as a container behind a stronger
	/// boundary, so it takes batch work asking for a container; a service gets exactly what
	/// it asks for, and nothing else stands in for another executor.
	pub fn serves(self, need: Executor, service: bool) -> bool {
		self == need || (!service && self == Executor::MicroVm && need == Executor::Container)
	}
}

/// Most executors a miner can name (room above today's three).
pub const MAX_EXECUTORS: u32 = 8;
/// The executors a miner offers, each named once.
pub type Executors = BoundedVec<Executor, ConstU32<MAX_EXECUTORS>>;

/// Whether no executor is named twice in `executors`.
pub fn each_once(executors: &[Executor]) -> bool {
	executors.iter().enumerate().all(|(i, e)| !executors[..i].contains(e))
}

/// Whether one of `offered` serves `need` ([`Executor::serves`]).
pub fn offers(offered: &[Executor], need: Executor, service: bool) -> bool {
	offered.iter().any(|e| e.serves(need, service))
}

/// Whether a service needs public addresses of its own (an indenture's `public_ip`).
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
pub enum PublicIp {
	/// No public address needed.
	None,
	/// One public IP per node.
	PerNode,
	/// One public IP for the whole cluster.
	PerCluster,
}

impl PublicIp {
	/// Whether slot `slot` of an indenture of `nodes` nodes needs a dedicated public
	/// address. Slot `s` runs node `s % nodes` of replica `s / nodes`; each replica is a
	/// cluster of its own, whose node 0 answers at the cluster's address (the nodes are
	/// on different miners, with no network between them to share one address over).
	pub fn needs_address(self, nodes: u32, slot: u32) -> bool {
		match self {
			PublicIp::None => false,
			PublicIp::PerNode => true,
			PublicIp::PerCluster => slot.checked_rem(nodes).is_none_or(|node| node == 0),
		}
	}
}

/// A dedicated public address, as the chain keys it: IPv4 as IPv4-mapped IPv6, so one
/// address has one key however it is written.
pub type AddressKey = [u8; 16];

/// Port a dedicated address serves its service on.
pub const DEDICATED_SERVICE_PORT: u16 = 80;
/// Port a dedicated address serves its SSH gateway on.
pub const DEDICATED_SSH_PORT: u16 = 22;

/// The address of `endpoint` if it is a literal IP at `port` (`a.b.c.d:port`, `[v6]:port`).
pub fn dedicated_address(endpoint: &[u8], port: u16) -> Option<AddressKey> {
	let text = core::str::from_utf8(endpoint).ok()?;
	let addr: core::net::SocketAddr = text.parse().ok()?;
	if addr.port() != port {
		return None;
	}
	Some(match addr.ip() {
		core::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
		core::net::IpAddr::V6(v6) => v6.octets(),
	})
}

/// What a registered miner offers, as the market reads it to match work.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MinerOffer<Balance> {
	/// Resources per node it declared.
	pub resources: Resources,
	/// Lowest price per compute unit it accepts, in base units.
	pub price_floor: Balance,
	/// How it runs work.
	pub executors: Executors,
	/// Public addresses it can dedicate, one to each slot of a service that asks for one
	/// (`public_ip`), for as long as that slot's lease runs.
	pub addresses: u16,
}

/// The kind of capability challenge an indenture names.
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
pub enum ChallengeKind {
	/// The issuer (an exchange) posts a semiprime `C`; miners that commit to its factors in
	/// the commit window and reveal them after it qualify, and the best-ranked qualified
	/// miner wins.
	Factorization,
	/// A seed is derived from the hash of the block the challenge opened in; the first miner
	/// with a nonce whose `sha256(seed ‖ miner ‖ nonce)` has enough leading zero bits wins.
	HashTarget,
}

/// What is at stake in a challenge: the value of the work it decides, which sizes the deposit
/// each commit carries, and who gets the deposits of commits never revealed (the buyer, whose
/// work they held up).
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
pub struct Stake<AccountId> {
	/// Receives forfeited commit deposits.
	pub beneficiary: AccountId,
	/// What the work decided by the challenge is worth, in base units.
	pub value: u128,
}

/// How a lease ended, for the owner of the lease.
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
pub enum LeaseOutcome {
	/// Every round resolved, misses within the limit.
	Completed,
	/// Too many missed rounds.
	Failed,
}

/// How a piece of work went for a subject.
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
pub enum Outcome {
	/// Delivered as agreed.
	Success,
	/// Failed (missed heartbeats, wrong result, unfair challenge, dispute not resolved).
	Failure,
	/// The buyer's rating of work recorded earlier: only its `rating` counts as evidence.
	Rated,
	/// Replicas disagreed and nobody judged which result was right (the operator split the
	/// pay, or let its deadline pass): on the record, counted as neither success nor failure.
	Undecided,
}

/// One immutable entry of a subject's RepChain history.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct WorkRecord<AccountId, Balance, BlockNumber> {
	/// Whose record it is.
	pub subject: AccountId,
	/// In what role.
	pub role: Role,
	/// The indenture.
	pub indenture: IndentureId,
	/// How it went.
	pub outcome: Outcome,
	/// In base units: what the counterparty paid the subject for this work on a success or a
	/// rating (a miner's slot, a service's fee), what was at stake on a failure.
	pub value: Balance,
	/// Who paid for the work (the buyer), when someone did: RepChain counts the evidence of
	/// each counterparty less every time it vouches for the same subject again.
	pub counterparty: Option<AccountId>,
	/// Heartbeat rounds proven.
	pub heartbeats_proven: u32,
	/// Heartbeat rounds missed.
	pub heartbeats_missed: u32,
	/// How long it ran, in blocks.
	pub duration: BlockNumber,
	/// The buyer's rating, 1 (worst) to 5 (best), if given.
	pub rating: Option<u8>,
	/// Block it was recorded in.
	pub at: BlockNumber,
}

/// How an escrow was settled.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Settlement<AccountId, Balance> {
	/// Paid to miners at settlement (beyond what was streamed).
	pub to_miners: Balance,
	/// What each miner was paid at settlement (`to_miners` in all), so the opener knows what
	/// each one's work was worth to its buyer.
	pub payouts: alloc::vec::Vec<(AccountId, Balance)>,
	/// Paid to the exchange.
	pub exchange_fee: Balance,
	/// Paid to the escrow operator.
	pub escrow_fee: Balance,
	/// Returned to the buyer.
	pub refunded: Balance,
}
