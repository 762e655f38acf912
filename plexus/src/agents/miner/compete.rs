//! Winning slots: the capability challenge of each open slot that fits, a hash target solved
//! outright or a semiprime factored with commit–reveal.

use super::{FactorCommit, MinerCtx, MinerState, TARGET};
use crate::{
	agents::{posting_deadline, refused},
	chain::{At, ChainError, H256},
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			cutopia_primitives::types::Role,
			pallet_challenge::types::{ChallengeStatus, Puzzle},
			pallet_indenture::types::{IndentureInfo, QueueFilter, Status, TaskType},
		},
	},
	format_cu, work,
};
use anyhow::{anyhow, Result};
use num_bigint::BigUint;

/// Reveals the factors committed once the commit window has closed. A reveal is tried once:
/// whether it is accepted or not, the challenge is decided by the chain from here on.
pub(super) async fn reveal_factors(ctx: &MinerCtx, state: &mut MinerState, now: u32) {
	for (cid, c) in state.commits.clone() {
		// The reveal lands in a later block than `now`: it must be in the reveal window.
		if now + 1 < c.reveal_from {
			continue;
		}
		if now >= c.reveal_until {
			tracing::warn!(target: TARGET, "reveal window of challenge {cid} missed");
		} else {
			let tx = cutopia::transactions().challenge().reveal(
				cid,
				BoundedVec(c.p.clone()),
				BoundedVec(c.q.clone()),
				c.salt,
			);
			match ctx.chain.submit(&tx, &ctx.key).await {
				Ok(_) => {
					tracing::info!(target: TARGET, "revealed factors of challenge {cid}");
					state.qualified.insert(cid, c.reveal_until + 1);
				},
				// The chain refused it (the challenge was cancelled, say): final.
				Err(e @ (ChainError::Dispatch { .. } | ChainError::DispatchOther(_))) => {
					refused!(TARGET, e, "reveal of challenge {cid} refused")
				},
				// Not in a block (pool, connection): the deposit is at stake, so try again
				// next block while the window lasts.
				Err(e) => {
					refused!(TARGET, e, "reveal of challenge {cid} not sent, retrying");
					continue;
				},
			}
		}
		state.commits.remove(&cid);
		state.given_up.insert(cid);
	}
}

/// Concludes the challenges this miner qualified for once their reveal window has closed
/// (the last reveal decides a challenge at once; one with silent commits waits for this).
/// Concluding is free when it decides the challenge.
pub(super) async fn conclude_qualified(
	ctx: &MinerCtx,
	state: &mut MinerState,
	at: &At,
	now: u32,
) -> Result<()> {
	for (cid, from) in state.qualified.clone() {
		if now + 1 < from {
			continue;
		}
		state.qualified.remove(&cid);
		let open = at
			.storage()
			.try_fetch(cutopia::storage().challenge().challenges(), (cid,))
			.await?
			.map(|c| c.decode())
			.transpose()?
			.is_some_and(|c| c.status == ChallengeStatus::Open);
		if !open {
			continue;
		}
		match ctx.chain.submit(&cutopia::transactions().challenge().conclude(cid), &ctx.key).await {
			Ok(_) => tracing::info!(target: TARGET, "concluded challenge {cid}"),
			Err(e) => refused!(TARGET, e, "conclude of challenge {cid} failed"),
		}
	}
	Ok(())
}

/// Tries for one open slot of each open indenture that fits this miner and where it holds
/// no slot yet.
pub(super) async fn compete(
	ctx: &MinerCtx,
	state: &mut MinerState,
	at: &At,
	now: u32,
) -> Result<()> {
	// Slashed below the minimum bond, the chain offers no work: solving would only cost fees.
	let minimum = at.constants().entry(cutopia::constants().rep_chain().min_miner_bond())?;
	let bond = at
		.storage()
		.try_fetch(cutopia::storage().rep_chain().registrations(), (ctx.me, Role::Miner))
		.await?
		.map(|r| r.decode())
		.transpose()?
		.map(|r| r.bond);
	if bond.is_none_or(|b| b < minimum) {
		if !state.bond_warned {
			tracing::warn!(
				target: TARGET,
				"bond {} CU is below the minimum of {} CU: not competing until it is topped up \
				 (RepChain::bond_extra)",
				format_cu(bond.unwrap_or(0)),
				format_cu(minimum)
			);
			state.bond_warned = true;
		}
		return Ok(());
	}
	state.bond_warned = false;
	let filter = QueueFilter {
		resources: Some(ctx.cfg.resources.clone()),
		min_price_per_cu: Some(ctx.cfg.price_floor),
		challenge: None,
		min_priority: 0,
		// Task types it does not take and executors it does not offer are left out by the chain,
		// so however many of those are queued they never fill the page it reads.
		task_type: match (ctx.cfg.batch, ctx.cfg.service) {
			(true, false) => Some(TaskType::Batch),
			(false, true) => Some(TaskType::Service),
			_ => None,
		},
		executors: Some(BoundedVec(ctx.offered.clone())),
	};
	let open: Vec<u64> = at
		.runtime_apis()
		.call(cutopia::runtime_apis().indenture_api().queue(filter, 0, 64))
		.await?;
	// A slot needing a dedicated address goes only to a miner with one free: without, a
	// solve or commit would only cost its fee. Each indenture tried for such a slot takes one
	// from the budget (it can win one slot of each), and so does each indenture whose
	// address slot it committed to earlier and has not seen decided.
	#[cfg(target_os = "linux")]
	let addresses = ctx.cfg.public_ips.len();
	#[cfg(not(target_os = "linux"))]
	let addresses = 0usize;
	let MinerState { commits, qualified, address_commits, .. } = &mut *state;
	address_commits.retain(|cid, _| commits.contains_key(cid) || qualified.contains_key(cid));
	let mut pending: std::collections::BTreeSet<u64> = address_commits.values().copied().collect();
	let mut free_addresses = if addresses == 0 {
		0
	} else {
		let held = at
			.storage()
			.try_fetch(cutopia::storage().indenture().addresses_held(), (ctx.me,))
			.await?
			.map(|v| v.decode())
			.transpose()?
			.unwrap_or(0);
		addresses.saturating_sub(usize::from(held)).saturating_sub(pending.len())
	};
	for id in open {
		let Some(IndentureInfo::Active { indenture, slots }) =
			at.runtime_apis().call(cutopia::runtime_apis().indenture_api().get(id)).await?
		else {
			continue;
		};
		let wanted = match indenture.spec.task_type {
			TaskType::Batch => ctx.cfg.batch,
			TaskType::Service => ctx.cfg.service,
		};
		// Its own work is refused (buyer, exchange or escrow operator).
		let party = [&indenture.buyer, &indenture.spec.exchange, &indenture.spec.escrow_operator]
			.contains(&&ctx.me);
		if !wanted
			|| party || !super::results::can_run(ctx, &indenture.spec)
			|| indenture.status != Status::Open
			|| slots.iter().any(|(_, s)| s.miner.as_ref() == Some(&ctx.me))
		{
			continue;
		}
		let needs_address = |index: u32| super::addresses::needed(&indenture.spec, index);
		// Committed to its address slot already: that address is counted.
		let counted = pending.contains(&id);
		// With an address free, a miner tries the slots that need one first: winning a
		// sibling would leave it ineligible for those, and them to the few miners with one.
		let address_first = (counted || free_addresses > 0)
			&& slots.iter().any(|(i, s)| s.miner.is_none() && needs_address(*i));
		let mut took_address = false;
		for (index, slot) in slots.iter().filter(|(_, s)| s.miner.is_none()) {
			let cid = slot.challenge;
			if state.given_up.contains(&cid) || state.commits.contains_key(&cid) {
				continue;
			}
			let needs_address = needs_address(*index);
			if needs_address != address_first || (needs_address && free_addresses == 0 && !counted)
			{
				continue;
			}
			let Some(ch) =
				at.storage().try_fetch(cutopia::storage().challenge().challenges(), (cid,)).await?
			else {
				continue;
			};
			let ch = ch.decode()?;
			// An exchange that did not post in time: concluding voids the challenge, free, and
			// the slot falls back to a hash target this miner can solve.
			if ch.status == ChallengeStatus::AwaitingModulus
				&& now >= posting_deadline(&ch, ctx.commit_window)
			{
				let tx = cutopia::transactions().challenge().conclude(cid);
				match ctx.chain.submit(&tx, &ctx.key).await {
					Ok(_) => tracing::info!(target: TARGET, "voided unposted challenge {cid}"),
					Err(e) => refused!(TARGET, e, "conclude of challenge {cid} failed"),
				}
				state.given_up.insert(cid);
				continue;
			}
			if ch.status != ChallengeStatus::Open {
				continue;
			}
			match ch.puzzle {
				// A hash target is a race won at once: one per indenture and block (winning
				// one slot makes the miner ineligible for the others).
				Puzzle::HashTarget { difficulty } => {
					let Some(opened) = ctx.chain.block_hash(ch.opened).await? else { continue };
					let seed = work::hash_target_seed(ch.context, cid, &opened.0);
					solve_target(ctx, state, id, cid, &seed, difficulty).await?;
					took_address |= needs_address;
					break;
				},
				// A factorization qualifies miners and the best-ranked wins: the miner tries
				// every empty slot whose commit window is open (it can win only one; the
				// others go to the next qualified miner, and its deposits come back).
				Puzzle::Factorization { modulus, .. } => {
					let Some(posted) = ch.posted else { continue };
					// The commit lands in a block after `now`: it must still be in the window.
					if now + 1 > posted + ctx.commit_window {
						state.given_up.insert(cid);
						continue;
					}
					let reveal_from = posted + ctx.commit_window + 1;
					let reveal_until = reveal_from + ctx.reveal_window - 1;
					factor_and_commit(ctx, state, cid, &modulus.0, (reveal_from, reveal_until))
						.await?;
					if needs_address && state.commits.contains_key(&cid) {
						took_address = true;
						state.address_commits.insert(cid, id);
					}
				},
			}
		}
		if took_address && !counted {
			free_addresses = free_addresses.saturating_sub(1);
			pending.insert(id);
		}
	}
	Ok(())
}

async fn solve_target(
	ctx: &MinerCtx,
	state: &mut MinerState,
	id: u64,
	cid: u64,
	seed: &[u8],
	difficulty: u32,
) -> Result<()> {
	let (seed, mb) = (seed.to_vec(), ctx.me_bytes);
	let nonce =
		tokio::task::spawn_blocking(move || work::solve_target(&seed, &mb, difficulty, 0)).await?;
	match ctx.chain.submit(&cutopia::transactions().challenge().solve(cid, nonce), &ctx.key).await {
		Ok(inc) => tracing::info!(
			target: TARGET,
			"solved challenge {cid} of indenture {id} (block {:?})",
			inc.block
		),
		Err(e) => {
			refused!(TARGET, e, "solve of challenge {cid} refused");
			state.given_up.insert(cid);
		},
	}
	Ok(())
}

async fn factor_and_commit(
	ctx: &MinerCtx,
	state: &mut MinerState,
	cid: u64,
	modulus: &[u8],
	(reveal_from, reveal_until): (u32, u32),
) -> Result<()> {
	let n = BigUint::from_bytes_be(modulus);
	let bits = n.bits();
	let started = std::time::Instant::now();
	let (p, q) = tokio::task::spawn_blocking(move || cutopia_factor::split(&n))
		.await?
		.map_err(|e| anyhow!("challenge {cid}: {e}"))?;
	let factor_ms = started.elapsed().as_secs_f64() * 1e3;
	let (p, q) = (p.to_bytes_be(), q.to_bytes_be());
	let salt = work::random32()?;
	let hash = work::factor_commitment(&p, &q, &ctx.me_bytes, &salt);
	// The salt is kept before the commit is sent: a restart can still reveal.
	state.commits.insert(cid, FactorCommit { p, q, salt, reveal_from, reveal_until });
	match ctx
		.chain
		.submit(&cutopia::transactions().challenge().commit(cid, H256(hash)), &ctx.key)
		.await
	{
		Ok(_) => {
			tracing::info!(
				target: TARGET,
				"factored challenge {cid} ({bits} bits) in {factor_ms:.1} ms and committed"
			);
		},
		Err(e) => {
			refused!(TARGET, e, "commit to challenge {cid} refused");
			state.commits.remove(&cid);
			state.given_up.insert(cid);
		},
	}
	Ok(())
}
