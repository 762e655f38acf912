//! Heartbeats: each round of a lease, a hash target seeded by the block before the round
//! opened, proving the miner is still there.

use super::{MinerCtx, TARGET};
use crate::{
	agents::refused,
	chain::At,
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_challenge::types::{HeartbeatAnswer, LeaseStatus},
		},
	},
	work,
};
use anyhow::{anyhow, Result};

/// The answer to the round of lease `lease_id` that is open at block `now`, unless there is
/// none to give (no round open, or it is already answered).
pub(super) async fn answer(
	ctx: &MinerCtx,
	at: &At,
	lease_id: u64,
	now: u32,
) -> Result<Option<HeartbeatAnswer>> {
	let Some(lease) =
		at.storage().try_fetch(cutopia::storage().challenge().leases(), (lease_id,)).await?
	else {
		return Ok(None);
	};
	let lease = lease.decode()?;
	if lease.status != LeaseStatus::Active || now < lease.start {
		return Ok(None);
	}
	let round = (now - lease.start) / lease.period.max(1);
	let open = lease.start + round * lease.period;
	if round >= lease.rounds || round < lease.cursor || now >= open + lease.window {
		return Ok(None);
	}
	// Past its tolerance the lease has failed: the chain refuses the answer, and a refused
	// answer makes the whole batch pay.
	if lease.missed + (round - lease.cursor) > lease.max_misses {
		tracing::warn!(target: TARGET, "lease {lease_id}: too many rounds missed, it has failed");
		return Ok(None);
	}
	let parent =
		ctx.chain.block_hash(open - 1).await?.ok_or_else(|| anyhow!("no block {}", open - 1))?;
	let seed = work::heartbeat_seed(lease_id, round, &parent.0);
	let (mb, d) = (ctx.me_bytes, lease.difficulty);
	let nonce = tokio::task::spawn_blocking(move || work::solve_target(&seed, &mb, d, 0)).await?;
	Ok(Some(HeartbeatAnswer { lease: lease_id, round, nonce }))
}

/// Sends this block's answers, as many to a call as the chain takes (its
/// `MaxHeartbeatAnswers`, read from `at`): one call (free when every answer is taken) instead
/// of one fee-paying extrinsic per lease.
pub(super) async fn send(ctx: &MinerCtx, at: &At, answers: Vec<HeartbeatAnswer>) -> Result<()> {
	if answers.is_empty() {
		return Ok(());
	}
	let most = at.constants().entry(cutopia::constants().challenge().max_heartbeat_answers())?;
	for chunk in answers.chunks(most.max(1) as usize) {
		let tx = cutopia::transactions().challenge().heartbeats(BoundedVec(chunk.to_vec()));
		match ctx.chain.submit(&tx, &ctx.key).await {
			Ok(included) => {
				let refused: Vec<(u64, u32)> = included
					.events
					.find::<cutopia::challenge::events::HeartbeatRefused>()
					.filter_map(|e| e.ok())
					.map(|e| (e.lease, e.round))
					.collect();
				for a in chunk {
					if refused.contains(&(a.lease, a.round)) {
						tracing::warn!(
							target: TARGET,
							"heartbeat: lease {} round {} refused by the chain",
							a.lease,
							a.round
						);
					} else {
						tracing::info!(
							target: TARGET,
							"heartbeat: lease {} round {}",
							a.lease,
							a.round
						);
					}
				}
			},
			Err(e) => {
				let leases: Vec<String> =
					chunk.iter().map(|a| format!("{}/{}", a.lease, a.round)).collect();
				refused!(TARGET, e, "heartbeats {} refused", leases.join(", "))
			},
		}
	}
	Ok(())
}
