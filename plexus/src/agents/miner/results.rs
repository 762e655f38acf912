//! A batch task's result: run once, in the background (the output survives restarts in the
//! result store), then sealed and revealed so that no replica can copy another's answer.

use super::{MinerCtx, TARGET};
use crate::{
	agents::refused,
	chain::{AccountId32, ChainError, H256},
	cutopia::{
		self,
		runtime_types::cutopia_primitives::types::Executor,
		runtime_types::pallet_indenture::types::{
			IndentureSpec, SlotResult, Status, Task, TaskType,
		},
	},
	exec::{ExecError, Job, Output},
	work,
};
use anyhow::Result;
use std::{
	collections::HashSet,
	sync::{Arc, Mutex},
};

/// Indentures whose task is running.
pub(super) type Running = Arc<Mutex<HashSet<u64>>>;

/// Whether this miner runs the work `spec` asks for (it competes only for that): an executor
/// it offers serves the one named, by the chain's rule, so the agent and the chain agree.
pub(super) fn can_run(ctx: &MinerCtx, spec: &IndentureSpec<AccountId32, u128>) -> bool {
	let service = spec.task_type == TaskType::Service;
	ctx.offered.iter().any(|e| crate::spec::serves(e, &spec.executor, service))
}

/// Serves a slot of indenture `id` that this miner holds: starts a batch task unless its
/// output is stored or it is running, and once the indenture is reporting and the output
/// is there, seals then reveals it.
pub(super) async fn serve(
	ctx: &MinerCtx,
	id: u64,
	slot: u32,
	spec: &IndentureSpec<AccountId32, u128>,
	status: &Status,
	slot_result: Option<SlotResult>,
) -> Result<()> {
	if spec.task_type != TaskType::Batch {
		return Ok(());
	}
	let Some(result) = ctx.store.find(id) else {
		start(ctx, id, spec);
		return Ok(());
	};
	if *status != Status::Reporting {
		return Ok(());
	}
	let salts = ctx.cfg.data_dir.join("seals");
	match slot_result {
		None => {
			// The salt is kept before the seal is sent: a restart can still reveal.
			let salt = salt_of(&salts, id, true)?;
			let seal = work::result_seal(id, slot, &ctx.me_bytes, &result, &salt);
			let tx = cutopia::transactions().indenture().commit_result(id, H256(seal));
			match ctx.chain.submit(&tx, &ctx.key).await {
				Ok(_) => tracing::info!(target: TARGET, "sealed result of indenture {id}"),
				Err(e) => {
					refused!(TARGET, e, "seal of indenture {id} refused")
				},
			}
		},
		Some(SlotResult::Sealed(_)) => {
			// Reveal once every slot has sealed or sealing closed; the chain says which.
			let salt = salt_of(&salts, id, false)?;
			let tx =
				cutopia::transactions().indenture().reveal_result(id, H256(result), H256(salt));
			match ctx.chain.submit(&tx, &ctx.key).await {
				Ok(_) => tracing::info!(target: TARGET, "revealed result of indenture {id}"),
				Err(ChainError::Dispatch { error, .. }) if error == "SealingOpen" => {},
				Err(e) => {
					refused!(TARGET, e, "reveal of indenture {id} refused")
				},
			}
		},
		Some(SlotResult::Revealed(_)) => {
			let _ = std::fs::remove_file(salts.join(id.to_string()));
		},
	}
	Ok(())
}

/// The secret salt this miner seals indenture `id`'s result with, kept in `dir/<id>`; a new
/// random one when `create` and there is none yet.
fn salt_of(dir: &std::path::Path, id: u64, create: bool) -> Result<[u8; 32]> {
	let path = dir.join(id.to_string());
	match std::fs::read(&path) {
		Ok(bytes) => bytes
			.try_into()
			.map_err(|_| anyhow::anyhow!("{} is not a 32-byte salt", path.display())),
		Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
			// Secret until the reveal: with it, a small output could be guessed from its seal.
			let salt = work::random32()?;
			work::write_private(&path, &salt)?;
			Ok(salt)
		},
		Err(e) => Err(anyhow::anyhow!("the salt of indenture {id}'s seal: {e}")),
	}
}

/// Starts the task of indenture `id` in the background unless it is already running; its
/// output lands in the result store.
fn start(ctx: &MinerCtx, id: u64, spec: &IndentureSpec<AccountId32, u128>) {
	if !ctx.running.lock().expect("not poisoned").insert(id) {
		return;
	}
	let run = Run {
		id,
		task: spec.task.clone(),
		executor_needed: spec.executor.clone(),
		resources: (
			spec.resources.cpu_millicores,
			spec.resources.memory_mib,
			spec.resources.storage_gib,
		),
		executor: ctx.executor.clone(),
		limits: ctx.cfg.limits.clone(),
		#[cfg(target_os = "linux")]
		containers: ctx.cfg.containers.clone(),
	};
	let (store, running) = (ctx.store.clone(), ctx.running.clone());
	tokio::spawn(async move {
		match run.run().await {
			Ok(Some(output)) => {
				if let Err(e) = store.put(id, &output) {
					tracing::warn!(target: TARGET, "indenture {id}: cannot store the result: {e:#}");
				}
			},
			Ok(None) => {},
			Err(e) => tracing::warn!(target: TARGET, "indenture {id}: {e:#}"),
		}
		running.lock().expect("not poisoned").remove(&id);
	});
}

/// Everything a background run needs, owned.
struct Run {
	id: u64,
	task: Task,
	/// What the indenture asked to run it with.
	#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
	executor_needed: Executor,
	/// The indenture's CPU (millicores), memory (MiB) and storage (GiB) per node.
	resources: (u32, u32, u32),
	executor: Arc<dyn crate::exec::Executor>,
	limits: crate::exec::Limits,
	#[cfg(target_os = "linux")]
	containers: Option<super::Containers>,
}

impl Run {
	/// Runs the task and returns its output, or `None` when there is no result to report
	/// (a task this miner cannot run, or a sandbox that could not be set up).
	async fn run(self) -> Result<Option<Vec<u8>>> {
		let id = self.id;
		let job = Job {
			args: vec!["task".into()],
			stdin: Vec::new(),
			seed: work::sha256(&id.to_le_bytes()),
		};
		let task = self.task.clone();
		let out: Result<Output, ExecError> = match task {
			Task::Inline(b) => self.wasm(b.0, job).await?,
			Task::Wasm { hash, uri } => {
				let code =
					crate::results::fetch_module(&String::from_utf8_lossy(&uri.0), &hash.0).await?;
				self.wasm(code, job).await?
			},
			#[cfg(target_os = "linux")]
			Task::Container { hash, uri, command } => {
				let Some(c) = self.containers.filter(|c| c.serves(&self.executor_needed)) else {
					tracing::warn!(
						target: TARGET,
						"indenture {id}: this miner has no executor for {} work",
						crate::spec::executor_name(&self.executor_needed)
					);
					return Ok(None);
				};
				// Held for the whole run: the cache may not remove an image in use.
				let held = c.images.hold(&hash.0);
				let rootfs = c.images.get(&String::from_utf8_lossy(&uri.0), &hash.0).await?;
				let argv: Vec<String> =
					command.0.iter().map(|a| String::from_utf8_lossy(&a.0).into_owned()).collect();
				let (cpu_millicores, memory_mib, storage_gib) = self.resources;
				let quota = crate::container::Quota {
					cpu_millicores,
					memory_bytes: u64::from(memory_mib) << 20,
					scratch_bytes: u64::from(storage_gib) << 30,
					pids: 256,
					time: self.limits.time,
					max_output: self.limits.max_output,
					network: false,
				};
				let need = self.executor_needed;
				tokio::task::spawn_blocking(move || {
					let _held = held;
					c.run(&need, &rootfs, &argv, &job, &quota)
				})
				.await?
			},
			#[cfg(not(target_os = "linux"))]
			Task::Container { .. } => return Ok(None),
		};
		// A task that fails is still a result: the output says how it failed, so replicas
		// agree on it and the buyer can see it. A sandbox that failed is the miner's trouble.
		Ok(Some(match out {
			Ok(o) => {
				tracing::info!(
					target: TARGET,
					"indenture {id}: task exited {} after {:.0} ms, {} bytes of output",
					o.exit_code,
					o.elapsed.as_secs_f64() * 1e3,
					o.stdout.len()
				);
				o.stdout
			},
			Err(e @ ExecError::Sandbox(_)) => {
				tracing::error!(target: TARGET, "indenture {id}: {e}");
				return Ok(None);
			},
			Err(e) => {
				tracing::warn!(target: TARGET, "indenture {id}: task failed: {e}");
				format!("cutopia: task failed: {e}\n").into_bytes()
			},
		}))
	}

	async fn wasm(&self, code: Vec<u8>, job: Job) -> Result<Result<Output, ExecError>> {
		let (exec, limits) = (self.executor.clone(), self.limits.clone());
		Ok(tokio::task::spawn_blocking(move || exec.run(&code, &job, &limits)).await?)
	}
}
