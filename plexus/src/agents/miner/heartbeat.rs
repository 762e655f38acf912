//! Heartbeats: each round of a lease, a hash target seeded by the block before the round
//! opened, proving the miner is still there.

use super::{MinerCtx, TARGET};
use crate::{
	agents::refused,
	chain::At,
	cutopia::{self, runtime_types::pallet_challenge::types::LeaseStatus},
	work,
};
use anyhow::{anyhow, Result};

/// Answers the round of lease `lease_id` (of indenture `id`) that is open at block `now`,
/// unless it is already answered.
pub(super) async fn answer(
	ctx: &MinerCtx,
	at: &At,
	id: u64,
	lease_id: u64,
	now: u32,
) -> Result<()> {
	let Some(lease) =
		at.storage().try_fetch(cutopia::storage().challenge().leases(), (lease_id,)).await?
	else {
		return Ok(());
	};
	let lease = lease.decode()?;
	if lease.status != LeaseStatus::Active || now < lease.start {
		return Ok(());
	}
	let round = (now - lease.start) / lease.period.max(1);
	let open = lease.start + round * lease.period;
	if round >= lease.rounds || round < lease.cursor || now >= open + lease.window {
		return Ok(());
	}
	let parent =
		ctx.chain.block_hash(open - 1).await?.ok_or_else(|| anyhow!("no block {}", open - 1))?;
	let seed = work::heartbeat_seed(lease_id, round, &parent.0);
	let (mb, d) = (ctx.me_bytes, lease.difficulty);
	let nonce = tokio::task::spawn_blocking(move || work::solve_target(&seed, &mb, d, 0)).await?;
	let tx = cutopia::transactions().challenge().heartbeat(lease_id, round, nonce);
	match ctx.chain.submit(&tx, &ctx.key).await {
		Ok(_) => tracing::info!(
			target: TARGET,
			"heartbeat: lease {lease_id} round {round} of indenture {id}"
		),
		Err(e) => {
			refused!(TARGET, e, "heartbeat {lease_id}/{round} refused")
		},
	}
	Ok(())
}
