//! Services: an image service's workload — a container, or a microVM guest when the spec asks
//! for one — runs for as long as the miner's lease of it, on ports of the miner's host that
//! it publishes on chain (`publish_access`): the service's port forwarded into the workload
//! (its own network namespace, or the guest), and an SSH gateway that takes only the buyer's
//! key. When the lease ends (or fails, or the buyer terminates) the workload
//! is stopped and its scratch goes with it.
//!
//! A Wasm service has no long-running workload (a WASI command runs to completion): it is
//! served by its heartbeats alone, as before.

use super::{
	addresses::{self, Dedicated},
	HeldSlot, ImageTier, MinerCtx, TARGET,
};
use crate::{
	agents::refused,
	chain::{AccountId32, ChainError},
	container::{self, gateway, Service},
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_indenture::types::{IndentureSpec, ServiceAccess, SshGateway, Task},
		},
	},
	exec::Job,
	work,
};
use anyhow::{Context, Result};
use cutopia_primitives::{DEDICATED_SERVICE_PORT, DEDICATED_SSH_PORT};
use std::{
	collections::{BTreeMap, BTreeSet, HashMap},
	net::IpAddr,
	sync::{Arc, Mutex},
};

/// The services this miner runs, by indenture.
pub(super) type Running = Arc<Mutex<HashMap<u64, Workload>>>;

/// Blocks a service that failed to start (or ended) waits before it is tried again, doubled
/// with each failure in a row up to [`MAX_RETRY_BLOCKS`]: a command that exits at once does
/// not cost the miner a restart and a `publish_access` fee every block.
const RETRY_BLOCKS: u32 = 5;
const MAX_RETRY_BLOCKS: u32 = 160;

pub(super) enum Workload {
	/// Being fetched and started, in the background; the failures in a row before it.
	Starting(u32),
	/// Could not start (or ended) at block `.0` after `.1` failures in a row; tried again
	/// later.
	Failed(u32, u32),
	/// Could not start, after this many failures in a row: becomes `Failed` at the block the
	/// agent next sees it, so the wait counts from the failure, not from the block the start
	/// was scheduled in (a slow fetch may take longer than the wait).
	StartFailed(u32),
	Up(Up),
}

fn retry_after(failures: u32) -> u32 {
	RETRY_BLOCKS.saturating_mul(1 << failures.saturating_sub(1).min(5)).min(MAX_RETRY_BLOCKS)
}

pub(super) struct Up {
	service: Arc<Service>,
	/// Failures in a row before this start, and the block it started at.
	failures: u32,
	started: u32,
	/// The image, kept from the cache's pruning until the service has stopped.
	image: Option<container::Held>,
	/// The forwarder's and the gateway's accept loops.
	tasks: Vec<tokio::task::JoinHandle<()>>,
	/// What the miner publishes for it.
	access: ServiceAccess,
	/// The public address it is served at, when its slot needs one of its own.
	dedicated: Option<Dedicated>,
}

impl Drop for Up {
	fn drop(&mut self) {
		for task in &self.tasks {
			task.abort();
		}
		// Stopping waits for the kill: not on the runtime's threads. The address is free
		// once the workload is gone (and the listeners with it, most likely).
		let (service, image, dedicated) =
			(self.service.clone(), self.image.take(), self.dedicated.take());
		tokio::task::spawn_blocking(move || {
			service.stop();
			drop(image);
			drop(dedicated);
		});
	}
}

/// Serves slot `slot` of service `id`: starts its workload if it is not running, publishes
/// where it answers if the chain does not say so yet, and stops it once the lease is over.
pub(super) async fn serve(
	ctx: &MinerCtx,
	id: u64,
	slot: &HeldSlot,
	spec: &IndentureSpec<AccountId32, u128>,
	now: u32,
	published: &BTreeMap<u64, IpAddr>,
) -> Result<()> {
	let Task::Container { .. } = &spec.task else { return Ok(()) };
	if slot.lease.is_none() || slot.ended {
		stop(ctx, id);
		return Ok(());
	}
	let access = {
		let mut running = ctx.services.lock().expect("not poisoned");
		let (access, failures) = match running.get(&id) {
			Some(Workload::Starting(_)) => return Ok(()),
			Some(Workload::StartFailed(failures)) => {
				let failures = *failures;
				running.insert(id, Workload::Failed(now, failures));
				return Ok(());
			},
			Some(Workload::Failed(at, failures)) => {
				if now < at + retry_after(*failures) {
					return Ok(());
				}
				(None, *failures)
			},
			Some(Workload::Up(up)) => match up.service.ended() {
				None => (Some(up.access.clone()), 0),
				// It exited (or was killed for its memory): started again, on new ports,
				// after a wait that grows while it keeps ending.
				Some(why) => {
					// A service that ran a good while before it ended starts a new count.
					let ran = now.saturating_sub(up.started);
					let failures = if ran >= MAX_RETRY_BLOCKS { 1 } else { up.failures + 1 };
					let wait = retry_after(failures);
					tracing::warn!(
						target: TARGET,
						"service {id} ended ({why}): starting it again in {wait} blocks"
					);
					running.insert(id, Workload::Failed(now, failures));
					return Ok(());
				},
			},
			None => (None, 0),
		};
		if access.is_none() {
			// Held from before a restart without its tier: said, and said again only as often
			// as a failed start would be retried.
			if ctx.cfg.containers.as_ref().is_none_or(|c| c.service_tier(&spec.executor).is_none())
			{
				tracing::warn!(
					target: TARGET,
					"service {id} needs the {} tier, which this miner was not started with \
					 (--containers or --microvm): it is not running",
					crate::spec::executor_name(&spec.executor)
				);
				running.insert(id, Workload::Failed(now, failures + 1));
				return Ok(());
			}
			running.insert(id, Workload::Starting(failures));
		}
		access
	};
	let Some(access) = access else {
		let reserved: Vec<IpAddr> =
			published.iter().filter(|(other, _)| **other != id).map(|(_, ip)| *ip).collect();
		start(ctx, id, slot, spec.clone(), now, &reserved);
		return Ok(());
	};
	if slot.published.as_ref() != Some(&access) {
		let tx = cutopia::transactions().indenture().publish_access(id, access.clone());
		match ctx.chain.submit(&tx, &ctx.key).await {
			Ok(_) => tracing::info!(
				target: TARGET,
				"service {id} published at {}",
				String::from_utf8_lossy(&access.service.0)
			),
			// The chain will not take it as it stands (say, an address it holds for another
			// lease of this miner): not sent again every block for a fee each time, but
			// stopped and started again later, on other ports or another address.
			Err(e @ (ChainError::Dispatch { .. } | ChainError::DispatchOther(_))) => {
				refused!(TARGET, e, "publishing service {id} refused");
				let mut running = ctx.services.lock().expect("not poisoned");
				if let Some(Workload::Up(up)) = running.remove(&id) {
					running.insert(id, Workload::Failed(now, up.failures + 1));
				}
			},
			Err(e) => refused!(TARGET, e, "publishing service {id} not sent"),
		}
	}
	Ok(())
}

/// Stops every service but those of `running_leases`: its indenture ended (settled,
/// terminated, failed) or its slot's lease did.
pub(super) fn reap(ctx: &MinerCtx, running_leases: &BTreeSet<u64>) {
	let mut running = ctx.services.lock().expect("not poisoned");
	let gone: Vec<u64> =
		running.keys().filter(|id| !running_leases.contains(id)).copied().collect();
	for id in gone {
		if let Some(Workload::Up(_)) = running.remove(&id) {
			tracing::info!(target: TARGET, "service {id} stopped: its lease is over");
		}
	}
}

fn stop(ctx: &MinerCtx, id: u64) {
	if let Some(Workload::Up(_)) = ctx.services.lock().expect("not poisoned").remove(&id) {
		tracing::info!(target: TARGET, "service {id} stopped: its lease is over");
	}
}

/// Fetches the image and starts the workload, its forwarder and its gateway in the background:
/// on ports of the miner's host, or on ports 80 and 22 of a dedicated address when the slot
/// needs one (the one it was published at before a restart, if it is still free).
fn start(
	ctx: &MinerCtx,
	id: u64,
	slot: &HeldSlot,
	spec: IndentureSpec<AccountId32, u128>,
	now: u32,
	reserved: &[IpAddr],
) {
	let (Some(containers), services) = (ctx.cfg.containers.clone(), ctx.services.clone()) else {
		return;
	};
	let dedicated = if addresses::needed(&spec, slot.index) {
		let before = slot.published.as_ref().and_then(|a| addresses::dedicated_ip(&a.service.0));
		match ctx.addresses.take(id, before, reserved) {
			Some(dedicated) => Some(dedicated),
			None => {
				// Another service is still letting its address go, or this miner was
				// registered with more addresses than it was started with (the chain gives it
				// no more such slots than it registered): tried again later, not counted as a
				// failure of this service.
				tracing::warn!(
					target: TARGET,
					"service {id} needs a public address of its own and none of this miner's \
					 --public-ip is free: not started yet"
				);
				let mut running = services.lock().expect("not poisoned");
				let failures = match running.get(&id) {
					Some(Workload::Starting(failures)) => *failures,
					_ => 0,
				};
				running.insert(id, Workload::Failed(now, failures));
				return;
			},
		}
	} else {
		None
	};
	let (host, data_dir) = (host_of(&ctx.cfg.endpoint), ctx.cfg.data_dir.clone());
	tokio::spawn(async move {
		let started = std::time::Instant::now();
		let outcome = up(id, &spec, containers, &host, dedicated, &data_dir).await;
		let mut running = services.lock().expect("not poisoned");
		// Stopped meanwhile (the lease ended while the image was fetched): not started.
		let Some(Workload::Starting(failures)) = running.get(&id) else { return };
		let failures = *failures;
		match outcome {
			Ok(mut up) => {
				(up.failures, up.started) = (failures, now);
				tracing::info!(
					target: TARGET,
					"service {id} running after {:.0} ms",
					started.elapsed().as_secs_f64() * 1e3
				);
				running.insert(id, Workload::Up(up));
			},
			Err(e) => {
				tracing::warn!(target: TARGET, "service {id} could not start: {e:#}");
				running.insert(id, Workload::StartFailed(failures + 1));
			},
		}
	});
}

async fn up(
	id: u64,
	spec: &IndentureSpec<AccountId32, u128>,
	c: super::Containers,
	host: &str,
	dedicated: Option<Dedicated>,
	data_dir: &std::path::Path,
) -> Result<Up> {
	let Task::Container { hash, uri, command } = &spec.task else {
		anyhow::bail!("not a container");
	};
	let held = c.images.hold(&hash.0);
	let rootfs = c.images.get(&String::from_utf8_lossy(&uri.0), &hash.0).await?;
	let argv: Vec<String> =
		command.0.iter().map(|a| String::from_utf8_lossy(&a.0).into_owned()).collect();
	let quota = container::Quota {
		cpu_millicores: spec.resources.cpu_millicores,
		memory_bytes: u64::from(spec.resources.memory_mib) << 20,
		scratch_bytes: u64::from(spec.resources.storage_gib) << 30,
		pids: 256,
		network: true,
		..Default::default()
	};
	let job = Job {
		args: vec!["service".into()],
		stdin: Vec::new(),
		seed: work::sha256(&id.to_le_bytes()),
	};
	// Exactly the tier asked for: never a weaker one, and a microVM miner does not stand in
	// for a container service (the chain gives it none).
	let executor = spec.executor.clone();
	let service = tokio::task::spawn_blocking(move || match c.service_tier(&executor) {
		Some(ImageTier::Sandbox(sandbox)) => sandbox.start_service(&rootfs, &argv, &job, &quota),
		Some(ImageTier::MicroVm(vm)) => {
			vm.start_service(&rootfs, &argv, &job, &quota).map(Service::MicroVm)
		},
		None => Err(crate::exec::ExecError::Sandbox(format!(
			"no {} tier here",
			crate::spec::executor_name(&executor)
		))),
	})
	.await??;
	// From here on, whatever fails drops `up`, which stops the service and its tasks.
	let mut up = Up {
		service: Arc::new(service),
		failures: 0,
		started: 0,
		image: Some(held),
		tasks: Vec::new(),
		access: ServiceAccess { service: BoundedVec(Vec::new()), ssh: None },
		dedicated,
	};
	// A dedicated address serves on its well-known ports; the shared host on any free ones.
	let (host, service_port, ssh_port) = match &up.dedicated {
		Some(d) => (d.ip.to_string(), DEDICATED_SERVICE_PORT, DEDICATED_SSH_PORT),
		None => (host.to_string(), 0, 0),
	};
	let host = host.as_str();
	let listener = tokio::net::TcpListener::bind((host, service_port))
		.await
		.with_context(|| format!("cannot listen on {}", address(host, service_port)))?;
	let service_at = address(host, listener.local_addr()?.port());
	up.tasks.push(tokio::spawn(container::forward(listener, up.service.clone())));
	// A key that is not one (the chain takes any bytes) gets the service without a gateway.
	let authorized = spec.ssh_key.as_ref().and_then(|key| {
		gateway::authorized_key(&key.0)
			.inspect_err(|e| tracing::warn!(target: TARGET, "service {id}: no SSH gateway: {e:#}"))
			.ok()
	});
	let ssh = match authorized {
		Some(authorized) => {
			let host_key = gateway::host_key(&data_dir.join("ssh_host_ed25519_key"))?;
			let public = gateway::public_line(&host_key)?;
			let listener = tokio::net::TcpListener::bind((host, ssh_port))
				.await
				.with_context(|| format!("cannot listen on {}", address(host, ssh_port)))?;
			let at = address(host, listener.local_addr()?.port());
			let serve = gateway::serve(listener, host_key, authorized, up.service.clone());
			up.tasks.push(tokio::spawn(serve));
			Some(SshGateway {
				endpoint: BoundedVec(at.into_bytes()),
				host_key: BoundedVec(public.into_bytes()),
			})
		},
		None => None,
	};
	up.access = ServiceAccess { service: BoundedVec(service_at.into_bytes()), ssh };
	Ok(up)
}

/// `host:port`, an IPv6 host in brackets.
fn address(host: &str, port: u16) -> String {
	if host.contains(':') {
		format!("[{host}]:{port}")
	} else {
		format!("{host}:{port}")
	}
}

/// The host part of the miner's registered `host:port` endpoint: where its services' ports
/// are opened and published.
fn host_of(endpoint: &str) -> String {
	let host = endpoint.rsplit_once(':').map_or(endpoint, |(host, _)| host);
	host.trim_start_matches('[').trim_end_matches(']').to_string()
}
