//! The exchange agent: posts a fresh semiprime for each factorization challenge it issues
//! and reveals its factor for the audit once the challenge is decided.

use super::{
	ensure_registered, load, log_registration, next_block, posting_deadline, save, Registration,
};
use crate::{
	chain::{AccountId32, Chain, H256},
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			cutopia_primitives::types::Role,
			pallet_challenge::types::{Audit, ChallengeStatus, Puzzle},
			sp_arithmetic::per_things::Permill,
		},
	},
	work,
};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::PathBuf};
use subxt_signer::sr25519::Keypair;

/// Where the exchange's log lines go; the CLI prints them as `[exchange] …`.
const TARGET: &str = "cutopia::exchange";

#[derive(Serialize, Deserialize, Default)]
struct ExchangeState {
	/// Secret smaller factor and audit salt of each posted modulus, by challenge.
	secrets: BTreeMap<u64, Secret>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Secret {
	p: Vec<u8>,
	salt: [u8; 32],
}

/// How an exchange registers when it is not yet registered.
#[derive(Clone, Debug)]
pub struct ExchangeConfig {
	pub fee: Permill,
	pub name: String,
	pub endpoint: String,
	pub bond: u128,
	pub data_dir: PathBuf,
}

/// What stays the same from block to block.
struct ExchangeCtx {
	chain: Chain,
	key: Keypair,
	me: AccountId32,
	/// Where the secrets are kept, written before anything that depends on them is sent.
	state_path: PathBuf,
	/// The runtime's `CommitWindow`: blocks after opening within which `C` must be posted.
	commit_window: u32,
}

/// Runs an exchange agent: posts a fresh semiprime for each factorization challenge it
/// issues and reveals its factor for the audit once the challenge is decided.
pub async fn run_exchange(chain: Chain, key: Keypair, cfg: ExchangeConfig) -> Result<()> {
	std::fs::create_dir_all(&cfg.data_dir)?;
	let state_path = cfg.data_dir.join("exchange-secrets.json");
	let mut state: ExchangeState = load(&state_path)?;
	let register = cutopia::transactions().rep_chain().register_service(
		Role::Exchange,
		cfg.fee.clone(),
		BoundedVec(cfg.name.as_bytes().to_vec()),
		BoundedVec(cfg.endpoint.as_bytes().to_vec()),
		cfg.bond,
	);
	let me = key.public_key().to_account_id();
	let registration =
		ensure_registered(&chain, &key, Role::Exchange, &register, "exchange").await?;
	log_registration!(TARGET, registration, me, "exchange");
	let (_, at) = chain.at_best().await?;
	let commit_window = at.constants().entry(cutopia::constants().challenge().commit_window())?;
	let ctx = ExchangeCtx { chain, key, me, state_path, commit_window };
	let mut last = 0;
	loop {
		let (now, waited) = next_block(&ctx.chain, last).await?;
		last = now;
		let start = ctx.chain.rpc_calls();
		if let Err(e) = tick(&ctx, &mut state).await {
			tracing::warn!(target: TARGET, "block #{now}: {e:#}");
		}
		super::log_rpc_calls!(TARGET, now, ctx.chain.rpc_calls() - start, waited);
	}
}

async fn tick(ctx: &ExchangeCtx, state: &mut ExchangeState) -> Result<()> {
	let (now, at) = ctx.chain.at_best().await?;
	// Its challenges, without scanning every challenge on the chain: those waiting for a
	// modulus are the current challenges of the slots of the indentures the chain counts
	// under it (`IssuedBy`), those waiting for an audit the ones it holds a secret for.
	let mut ids: std::collections::BTreeSet<u64> = state.secrets.keys().copied().collect();
	let mut contexts = Vec::new();
	let mut mine = at.storage().iter(cutopia::storage().challenge().issued_by(), (ctx.me,)).await?;
	while let Some(entry) = mine.next().await {
		let (_, context) = entry?.key()?.decode()?;
		contexts.push(context);
	}
	for context in contexts {
		let mut slots =
			at.storage().iter(cutopia::storage().indenture().slots(), (context,)).await?;
		while let Some(entry) = slots.next().await {
			ids.insert(entry?.value().decode()?.challenge);
		}
	}
	let mut todo = Vec::with_capacity(ids.len());
	let mut gone = Vec::new();
	for id in ids {
		let challenge = cutopia::storage().challenge().challenges();
		match at.storage().try_fetch(challenge, (id,)).await? {
			Some(c) => {
				let c = c.decode()?;
				if c.issuer.as_ref() == Some(&ctx.me) {
					todo.push((id, c));
				}
			},
			None => gone.push(id),
		}
	}
	// A challenge that is gone (audited, or voided) needs its secret no more.
	if gone.iter().any(|id| state.secrets.remove(id).is_some()) {
		save(&ctx.state_path, state)?;
	}
	// Moduli are due within `CommitWindow` blocks of opening, for every slot of an indenture
	// at once: they are all prepared, then sent together (one block, not one per slot).
	// One challenge's failure must not hold up the others' moduli and audits.
	let mut posts = Vec::new();
	for (id, c) in todo {
		let Puzzle::Factorization { bits, audit, .. } = &c.puzzle else { continue };
		let done = match (&c.status, audit) {
			// Past its posting deadline (`CommitWindow` blocks after opening, or the
			// deadline) a modulus is refused: the challenge is voided instead.
			(ChallengeStatus::AwaitingModulus, _)
				if now >= posting_deadline(&c, ctx.commit_window) =>
			{
				Ok(())
			},
			(ChallengeStatus::AwaitingModulus, _) => {
				prepare_modulus(ctx, state, id, *bits).await.map(|(n, commitment)| {
					let tx = cutopia::transactions().challenge().post_modulus(
						id,
						BoundedVec(n),
						H256(commitment),
					);
					posts.push((id, *bits, tx))
				})
			},
			(ChallengeStatus::Awarded(_) | ChallengeStatus::Expired, Audit::Pending) => {
				reveal_factor(ctx, state, id).await
			},
			_ => Ok(()),
		};
		if let Err(e) = done {
			tracing::warn!(target: TARGET, "challenge {id}: {e:#}");
		}
	}
	if posts.is_empty() {
		return Ok(());
	}
	let txs: Vec<_> = posts.iter().map(|(_, _, tx)| tx.clone()).collect();
	for ((id, bits, _), sent) in posts.iter().zip(ctx.chain.submit_all(&txs, &ctx.key).await?) {
		match sent {
			Ok(_) => {
				tracing::info!(target: TARGET, "posted a {bits}-bit semiprime for challenge {id}")
			},
			Err(e) => {
				tracing::warn!(target: TARGET, "challenge {id}: {:#}", anyhow::Error::from(e))
			},
		}
	}
	Ok(())
}

/// A fresh `bits`-bit semiprime `C` for challenge `id` and the commitment to its smaller
/// factor that the audit will check. The secret is on disk before `C` can be sent: a crash
/// cannot lose the audit.
async fn prepare_modulus(
	ctx: &ExchangeCtx,
	state: &mut ExchangeState,
	id: u64,
	bits: u32,
) -> Result<(Vec<u8>, [u8; 32])> {
	let (p, _q, n) = tokio::task::spawn_blocking(move || cutopia_factor::semiprime(bits)).await??;
	let salt = work::random32()?;
	let p = p.to_bytes_be();
	let commitment = work::audit_commitment(&p, &salt);
	state.secrets.insert(id, Secret { p, salt });
	save(&ctx.state_path, state)?;
	Ok((n.to_bytes_be(), commitment))
}

/// Reveals the secret factor of decided challenge `id` for its audit.
async fn reveal_factor(ctx: &ExchangeCtx, state: &mut ExchangeState, id: u64) -> Result<()> {
	let Some(s) = state.secrets.get(&id).cloned() else {
		tracing::warn!(
			target: TARGET,
			"challenge {id}: no secret on record, cannot reveal for the audit"
		);
		return Ok(());
	};
	let tx = cutopia::transactions().challenge().reveal_factor(id, BoundedVec(s.p), s.salt);
	ctx.chain.submit(&tx, &ctx.key).await?;
	tracing::info!(target: TARGET, "revealed the factor of challenge {id} for its audit");
	state.secrets.remove(&id);
	save(&ctx.state_path, state)?;
	Ok(())
}
