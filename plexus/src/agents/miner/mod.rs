//! The miner agent. Each block it reveals the factors it committed earlier, competes for open
//! work that fits ([`compete`]), and serves the slots it holds: heartbeats ([`heartbeat`]),
//! then running the task and reporting its result ([`results`]).

// Services run on Linux only; which slots need an address is read everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod addresses;
mod compete;
mod heartbeat;
mod results;
#[cfg(target_os = "linux")]
mod services;

use super::{ensure_registered, load, log_registration, next_block, save, Registration};
use crate::{
	chain::{AccountId32, At, Chain},
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			cutopia_primitives::types::{Executor as Tier, Resources, Role},
			pallet_indenture::types::{ServiceAccess, SlotResult, TaskType},
			pallet_repchain::types::Profile,
		},
	},
	exec::{Executor, Limits},
	results::ResultStore,
};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::{
	collections::{BTreeMap, BTreeSet},
	path::PathBuf,
	sync::Arc,
};
use subxt_signer::sr25519::Keypair;

/// Where the miner's log lines go; the CLI prints them as `[miner] …`.
const TARGET: &str = "cutopia::miner";

/// What a miner offers and accepts.
#[derive(Clone, Debug)]
pub struct MinerConfig {
	pub resources: Resources,
	/// Lowest price per compute unit it works for (base units).
	pub price_floor: u128,
	/// Registered endpoint (`host:port`), where it serves results.
	pub endpoint: String,
	/// RepChain bond when registering.
	pub bond: u128,
	/// Task types it takes.
	pub batch: bool,
	pub service: bool,
	/// Per-task limits (fuel, memory, time).
	pub limits: Limits,
	/// Where it keeps state and results.
	pub data_dir: PathBuf,
	/// Image tasks, when this miner runs them (Linux); without, it does not offer or compete
	/// for them.
	#[cfg(target_os = "linux")]
	pub containers: Option<Containers>,
	/// Public addresses of this host it dedicates to services asking for one (`--public-ip`),
	/// each to one service at a time: served on port 80, SSH on port 22.
	#[cfg(target_os = "linux")]
	pub public_ips: Vec<std::net::IpAddr>,
}

impl MinerConfig {
	/// The executors this miner offers on RepChain: Wasm always (it is built in), and the
	/// tiers it runs images in.
	pub fn executors(&self) -> Vec<Tier> {
		let mut offered = vec![Tier::Wasm];
		#[cfg(target_os = "linux")]
		if let Some(c) = &self.containers {
			offered.extend(c.sandbox.as_ref().map(|_| Tier::Container));
			offered.extend(c.microvm.as_ref().map(|_| Tier::MicroVm));
		}
		offered
	}
}

/// What a miner runs image tasks with: at least one of its tiers.
#[cfg(target_os = "linux")]
#[derive(Clone, Debug)]
pub struct Containers {
	pub images: crate::container::Images,
	/// The container tier: namespaces, cgroups, Landlock, seccomp. Runs services too.
	pub sandbox: Option<crate::container::ContainerExecutor>,
	/// The microVM tier: a guest with its own kernel; also runs batch work asking for a
	/// container when there is no container tier.
	pub microvm: Option<crate::container::MicroVmExecutor>,
}

#[cfg(target_os = "linux")]
impl Containers {
	/// Whether a tier here runs batch work that asks for `need`.
	fn serves(&self, need: &Tier) -> bool {
		self.tier(need).is_some()
	}

	/// Runs batch image work that asks for `need`: work asking for a container in the
	/// container tier where this miner has one, else (and work asking for a microVM) in a
	/// microVM, which serves both.
	fn run(
		&self,
		need: &Tier,
		rootfs: &std::path::Path,
		argv: &[String],
		job: &crate::exec::Job,
		quota: &crate::container::Quota,
	) -> Result<crate::exec::Output, crate::exec::ExecError> {
		match self.tier(need) {
			Some(ImageTier::Sandbox(sandbox)) => sandbox.run(rootfs, argv, job, quota),
			Some(ImageTier::MicroVm(vm)) => vm.run(rootfs, argv, job, quota),
			None => Err(crate::exec::ExecError::Sandbox(format!(
				"no executor here runs {} work",
				crate::spec::executor_name(need)
			))),
		}
	}

	/// Where a service that asks for `need` runs: exactly that tier (a service is reached on
	/// its port and entered over SSH, and gets the boundary it asked and pays for).
	fn service_tier(&self, need: &Tier) -> Option<ImageTier<'_>> {
		match (need, &self.sandbox, &self.microvm) {
			(Tier::Container, Some(sandbox), _) => Some(ImageTier::Sandbox(sandbox)),
			(Tier::MicroVm, _, Some(vm)) => Some(ImageTier::MicroVm(vm)),
			_ => None,
		}
	}

	fn tier(&self, need: &Tier) -> Option<ImageTier<'_>> {
		match (need, &self.sandbox, &self.microvm) {
			(Tier::Container, Some(sandbox), _) => Some(ImageTier::Sandbox(sandbox)),
			(Tier::Container | Tier::MicroVm, _, Some(vm)) => Some(ImageTier::MicroVm(vm)),
			_ => None,
		}
	}
}

/// Where an image task runs.
#[cfg(target_os = "linux")]
enum ImageTier<'a> {
	Sandbox(&'a crate::container::ContainerExecutor),
	MicroVm(&'a crate::container::MicroVmExecutor),
}

#[derive(Serialize, Deserialize, Default)]
struct MinerState {
	/// Factorization answers committed but not yet revealed, by challenge.
	commits: BTreeMap<u64, FactorCommit>,
	/// Challenges this miner qualified for, with the block from which they can be concluded
	/// (their reveal window closed): the agent concludes them, free, to get the award.
	#[serde(default)]
	qualified: BTreeMap<u64, u32>,
	/// Challenges not to try again (lost, or refused by the chain), so one bad challenge
	/// does not cost a fee every block.
	given_up: BTreeSet<u64>,
	/// The bond was found below the minimum and said so (once, not every block).
	#[serde(skip)]
	bond_warned: bool,
	/// Challenges of slots needing a dedicated address this miner committed to and has not
	/// seen decided, with their indenture: each such indenture may take one of its addresses,
	/// so they count against the addresses it competes with.
	#[serde(default)]
	address_commits: BTreeMap<u64, u64>,
}

#[derive(Serialize, Deserialize, Clone)]
struct FactorCommit {
	p: Vec<u8>,
	q: Vec<u8>,
	salt: [u8; 32],
	/// First block reveals are accepted in (the commit window has closed).
	reveal_from: u32,
	/// Last block reveals are accepted in; after it the challenge can be concluded.
	reveal_until: u32,
}

/// What stays the same from block to block; the mutable [`MinerState`] travels beside it so
/// that every step can borrow this freely.
struct MinerCtx {
	chain: Chain,
	key: Keypair,
	me: AccountId32,
	/// `me` as the bytes the pallets hash into work and seals.
	me_bytes: [u8; 32],
	cfg: MinerConfig,
	/// The executors it competes with: those it runs that RepChain has registered.
	offered: Vec<Tier>,
	executor: Arc<dyn Executor>,
	store: ResultStore,
	/// Indentures whose task is running now (in the background, so that a long task does
	/// not hold up heartbeats).
	running: results::Running,
	/// The container services this miner runs, by indenture.
	#[cfg(target_os = "linux")]
	services: services::Running,
	/// Its dedicated public addresses and the services holding them.
	#[cfg(target_os = "linux")]
	addresses: Arc<addresses::Addresses>,
	/// The runtime's `CommitWindow` and `RevealWindow` (blocks).
	commit_window: u32,
	reveal_window: u32,
}

/// Runs a miner until an error it cannot recover from.
pub async fn run_miner(
	chain: Chain,
	key: Keypair,
	cfg: MinerConfig,
	executor: Arc<dyn Executor>,
) -> Result<()> {
	std::fs::create_dir_all(&cfg.data_dir)?;
	// Services forward connections and serve SSH sessions: descriptors up to the hard limit
	// (the soft one is often 1,024), so a flooded service meets its own bounds first.
	#[cfg(target_os = "linux")]
	if let Ok((_, hard)) =
		nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
	{
		let _ =
			nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, hard, hard);
	}
	let state_path = cfg.data_dir.join("miner-state.json");
	let mut state: MinerState = load(&state_path)?;
	let store = ResultStore::new(cfg.data_dir.join("results"))?;

	// Results are served on the registered endpoint.
	let listener = tokio::net::TcpListener::bind(&cfg.endpoint)
		.await
		.with_context(|| format!("cannot listen on {}", cfg.endpoint))?;
	tokio::spawn(store.clone().serve(listener));

	#[cfg(target_os = "linux")]
	let address_count = {
		if !(cfg.public_ips.is_empty() || cfg.service && cfg.containers.is_some()) {
			anyhow::bail!(
				"--public-ip is for services from images: start with --service and --containers \
				 or --microvm"
			);
		}
		addresses::check(&cfg.public_ips)?;
		u16::try_from(cfg.public_ips.len()).context("too many --public-ip")?
	};
	#[cfg(not(target_os = "linux"))]
	let address_count = 0u16;
	let (resources, executors, price_floor, endpoint) = (
		cfg.resources.clone(),
		BoundedVec(cfg.executors()),
		cfg.price_floor,
		BoundedVec(cfg.endpoint.as_bytes().to_vec()),
	);
	let offer = Profile::Miner {
		resources: resources.clone(),
		executors: executors.clone(),
		price_floor,
		endpoint: endpoint.clone(),
		addresses: address_count,
	};
	let register = cutopia::transactions().rep_chain().register_miner(
		resources.clone(),
		executors.clone(),
		price_floor,
		endpoint.clone(),
		address_count,
		cfg.bond,
	);
	let me = key.public_key().to_account_id();
	let registration = ensure_registered(&chain, &key, Role::Miner, &register, "miner").await?;
	log_registration!(TARGET, registration, me, "miner");
	// A miner restarted with other flags (a container tier added, a new endpoint) offers
	// what it runs now: the chain matches work against the registered offer. If the update
	// cannot be sent (no funds for its fee), the miner keeps serving what it holds and
	// competes only with executors both offers name, rather than stop and miss heartbeats.
	let mut offered = cfg.executors();
	if let Registration::Found(registered) = registration {
		if registered != offer {
			let update = cutopia::transactions().rep_chain().update_miner(
				resources,
				executors,
				price_floor,
				endpoint,
				address_count,
			);
			match chain.submit(&update, &key).await {
				Ok(_) => tracing::info!(target: TARGET, "updated this miner's offer on RepChain"),
				Err(e) => {
					tracing::warn!(
						target: TARGET,
						"could not update this miner's offer on RepChain ({e:#}): competing \
						 with the executors it registered and still runs"
					);
					let on_chain = match registered {
						Profile::Miner { executors, .. } => executors.0,
						_ => Vec::new(),
					};
					offered.retain(|e| on_chain.contains(e));
				},
			}
		}
	}
	tracing::info!(
		target: TARGET,
		"offering executors: {}",
		offered.iter().map(crate::spec::executor_name).collect::<Vec<_>>().join(", ")
	);

	let me_bytes: [u8; 32] = key.public_key().0;
	let (_, at) = chain.at_best().await?;
	let commit_window = at.constants().entry(cutopia::constants().challenge().commit_window())?;
	let reveal_window = at.constants().entry(cutopia::constants().challenge().reveal_window())?;
	#[cfg(target_os = "linux")]
	let addresses = addresses::Addresses::new(&cfg.public_ips);
	let ctx = MinerCtx {
		chain,
		key,
		me,
		me_bytes,
		cfg,
		offered,
		executor,
		store,
		running: Default::default(),
		#[cfg(target_os = "linux")]
		services: Default::default(),
		#[cfg(target_os = "linux")]
		addresses,
		commit_window,
		reveal_window,
	};
	let mut last = 0;
	loop {
		let (now, waited) = next_block(&ctx.chain, last).await?;
		last = now;
		let start = ctx.chain.rpc_calls();
		if let Err(e) = tick(&ctx, &mut state, now).await {
			tracing::warn!(target: TARGET, "block #{now}: {e:#}");
		}
		save(&state_path, &state)?;
		super::log_rpc_calls!(TARGET, now, ctx.chain.rpc_calls() - start, waited);
	}
}

/// One block's work, all of it derived from the chain's state at the best block.
async fn tick(ctx: &MinerCtx, state: &mut MinerState, now: u32) -> Result<()> {
	let (_, at) = ctx.chain.at_best().await?;
	let held = held_slots(ctx, &at).await?;
	// Before anything else that may fail this block: a lease that ended stops its service
	// even while, say, competing or heartbeats cannot be sent.
	#[cfg(target_os = "linux")]
	services::reap(ctx, &held.iter().filter(|(_, s)| !s.ended).map(|(id, _)| *id).collect());
	compete::reveal_factors(ctx, state, now).await;
	compete::conclude_qualified(ctx, state, &at, now).await?;
	compete::compete(ctx, state, &at, now).await?;
	let mut answers = Vec::new();
	// Heartbeats first, all in one call: they have a window; results can wait a block.
	for (_, slot) in &held {
		if let Some(lease_id) = slot.lease {
			// One lease's trouble (an RPC hiccup) must not cost the others their round.
			match heartbeat::answer(ctx, &at, lease_id, now).await {
				Ok(answer) => answers.extend(answer),
				Err(e) => tracing::warn!(target: TARGET, "heartbeat of lease {lease_id}: {e:#}"),
			}
		}
	}
	heartbeat::send(ctx, &at, answers).await?;
	// Where the chain says each running service was published: an address published for
	// one lease is not given to another (the chain would refuse that publication).
	#[cfg(target_os = "linux")]
	let published: BTreeMap<u64, std::net::IpAddr> = held
		.iter()
		.filter(|(_, s)| !s.ended)
		.filter_map(|(id, s)| {
			let access = s.published.as_ref()?;
			Some((*id, addresses::dedicated_ip(&access.service.0)?))
		})
		.collect();
	for (id, slot) in held {
		let Some(ind) =
			at.storage().try_fetch(cutopia::storage().indenture().indentures(), (id,)).await?
		else {
			continue;
		};
		let ind = ind.decode()?;
		// One indenture's trouble (an image that cannot be fetched) must not hold up the others.
		let served = match ind.spec.task_type {
			TaskType::Batch => {
				results::serve(ctx, id, slot.index, &ind.spec, &ind.status, slot.result).await
			},
			#[cfg(target_os = "linux")]
			TaskType::Service => services::serve(ctx, id, &slot, &ind.spec, now, &published).await,
			#[cfg(not(target_os = "linux"))]
			TaskType::Service => Ok(()),
		};
		if let Err(e) = served {
			tracing::warn!(target: TARGET, "indenture {id}: {e:#}");
		}
	}
	Ok(())
}

/// The slot this miner holds in an indenture, as far as serving it needs.
struct HeldSlot {
	index: u32,
	lease: Option<u64>,
	result: Option<SlotResult>,
	/// The slot's lease has ended.
	#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
	ended: bool,
	/// What the chain says about where its service answers.
	#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
	published: Option<ServiceAccess>,
}

/// The slots this miner holds, by indenture: read through the chain's index of them
/// (`SlotsOf`), so the work grows with this miner's slots, not with every slot on the chain.
async fn held_slots(ctx: &MinerCtx, at: &At) -> Result<Vec<(u64, HeldSlot)>> {
	let mut keys = Vec::new();
	let mut index = at.storage().iter(cutopia::storage().indenture().slots_of(), (ctx.me,)).await?;
	while let Some(entry) = index.next().await {
		let (_, (id, slot)) = entry?.key()?.decode()?;
		keys.push((id, slot));
	}
	let mut mine = Vec::with_capacity(keys.len());
	for (id, index) in keys {
		let Some(slot) =
			at.storage().try_fetch(cutopia::storage().indenture().slots(), (id, index)).await?
		else {
			continue;
		};
		let slot = slot.decode()?;
		mine.push((
			id,
			HeldSlot {
				index,
				lease: slot.lease,
				result: slot.result,
				ended: slot.ended.is_some(),
				published: slot.access.and_then(|a| a.service),
			},
		));
	}
	Ok(mine)
}
