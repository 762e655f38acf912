//! A batch task's result: run once (the output survives restarts in the result store), then
//! sealed and revealed so that no replica can copy another's answer.

use super::{MinerCtx, TARGET};
use crate::{
	agents::refused,
	chain::{ChainError, H256},
	cutopia::{
		self,
		runtime_types::pallet_indenture::types::{SlotResult, Status, Task, TaskType},
	},
	exec::Job,
	work,
};
use anyhow::Result;

/// Serves a slot of indenture `id` that this miner holds: runs a batch task unless its
/// output is already stored, and once the indenture is reporting, seals then reveals it.
pub(super) async fn serve(
	ctx: &MinerCtx,
	id: u64,
	task: &Task,
	task_type: &TaskType,
	status: &Status,
	slot_result: Option<SlotResult>,
) -> Result<()> {
	if *task_type != TaskType::Batch {
		return Ok(());
	}
	let result = match ctx.store.find(id) {
		Some(h) => h,
		None => {
			let Some(output) = run(ctx, id, task).await? else { return Ok(()) };
			ctx.store.put(id, &output)?
		},
	};
	if *status != Status::Reporting {
		return Ok(());
	}
	match slot_result {
		None => {
			let seal = work::result_seal(&result, &ctx.me_bytes);
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
			let tx = cutopia::transactions().indenture().reveal_result(id, H256(result));
			match ctx.chain.submit(&tx, &ctx.key).await {
				Ok(_) => tracing::info!(target: TARGET, "revealed result of indenture {id}"),
				Err(ChainError::Dispatch { error, .. }) if error == "SealingOpen" => {},
				Err(e) => {
					refused!(TARGET, e, "reveal of indenture {id} refused")
				},
			}
		},
		Some(SlotResult::Revealed(_)) => {},
	}
	Ok(())
}

/// Runs the task of indenture `id` and returns its output, or `None` for a task this miner
/// cannot run.
async fn run(ctx: &MinerCtx, id: u64, task: &Task) -> Result<Option<Vec<u8>>> {
	let code = match task {
		Task::Inline(b) => b.0.clone(),
		Task::Wasm { hash, uri } => {
			crate::results::fetch_module(&String::from_utf8_lossy(&uri.0), &hash.0).await?
		},
		Task::Container { .. } => {
			tracing::warn!(
				target: TARGET,
				"indenture {id}: container tasks need a container executor; this miner runs Wasm"
			);
			return Ok(None);
		},
	};
	let job =
		Job { args: vec!["task".into()], stdin: Vec::new(), seed: work::sha256(&id.to_le_bytes()) };
	let (exec, limits) = (ctx.executor.clone(), ctx.cfg.limits.clone());
	let out = tokio::task::spawn_blocking(move || exec.run(&code, &job, &limits)).await?;
	// A task that fails is still a result: the output says how it failed, so replicas agree
	// on it and the buyer can see it.
	let bytes = match out {
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
		Err(e) => {
			tracing::warn!(target: TARGET, "indenture {id}: task failed: {e}");
			format!("cutopia: task failed: {e}\n").into_bytes()
		},
	};
	Ok(Some(bytes))
}
