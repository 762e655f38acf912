//! The miner and exchange agents. Both are loops over the chain's best block that derive
//! everything they must do from chain state, plus a small state file for the secrets that
//! only they know (a miner's unrevealed factors and salts, an exchange's primes). Killing and
//! restarting an agent therefore loses nothing: it reads where things stand and goes on.

use crate::{
	chain::{AccountId32, Chain, H256},
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_challenge::types::{Audit, ChallengeStatus, LeaseStatus, Puzzle},
			pallet_indenture::types::{
				IndentureInfo, QueueFilter, SlotResult, Status, Task, TaskType,
			},
			pallet_repchain::types::{Resources, Role},
			sp_arithmetic::per_things::Permill,
		},
	},
	exec::{Executor, Job, Limits},
	results::ResultStore,
	work,
};
use anyhow::{anyhow, Context, Result};
use num_bigint::BigUint;
use serde::{Deserialize, Serialize};
use std::{
	collections::{BTreeMap, BTreeSet},
	path::PathBuf,
	sync::Arc,
	time::Duration,
};
use subxt_signer::sr25519::Keypair;

fn log(role: &str, msg: impl std::fmt::Display) {
	eprintln!("[{role}] {msg}");
}

/// A small JSON file written atomically (temporary file, then rename), mode 0600.
fn save<T: Serialize>(path: &PathBuf, value: &T) -> Result<()> {
	use std::{io::Write, os::unix::fs::OpenOptionsExt};
	let tmp = path.with_extension("tmp");
	let mut f = std::fs::OpenOptions::new()
		.write(true)
		.create(true)
		.truncate(true)
		.mode(0o600)
		.open(&tmp)?;
	f.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
	f.sync_all()?;
	std::fs::rename(&tmp, path)?;
	Ok(())
}

fn load<T: for<'de> Deserialize<'de> + Default>(path: &PathBuf) -> Result<T> {
	match std::fs::read_to_string(path) {
		Ok(s) => serde_json::from_str(&s)
			.with_context(|| format!("corrupt state file {}", path.display())),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
		Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
	}
}

/// Waits for the next best block after `last`, polling twice a second.
async fn next_block(chain: &Chain, last: u32) -> Result<u32> {
	loop {
		let (n, _) = chain.best().await?;
		if n > last {
			return Ok(n);
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Sends `register` unless RepChain already has `key` in `role` (a restarted agent).
async fn ensure_registered(
	chain: &Chain,
	key: &Keypair,
	role: Role,
	register: &impl subxt::tx::Payload,
	agent: &str,
) -> Result<()> {
	let me = key.public_key().to_account_id();
	let (_, at) = chain.at_best().await?;
	let registered = at
		.storage()
		.try_fetch(cutopia::storage().rep_chain().registrations(), (me, role))
		.await?
		.is_some();
	if registered {
		log(agent, format!("{me} is registered; resuming from chain state"));
	} else {
		chain.submit(register, key).await.with_context(|| format!("registering as {agent}"))?;
		log(agent, format!("registered {me} as {agent}"));
	}
	Ok(())
}

// ---------------------------------------------------------------------------------------
// Miner
// ---------------------------------------------------------------------------------------

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
}

#[derive(Serialize, Deserialize, Default)]
struct MinerState {
	/// Factorization answers committed but not yet revealed, by challenge.
	commits: BTreeMap<u64, FactorCommit>,
	/// Challenges not to try again (lost, or refused by the chain), so one bad challenge
	/// does not cost a fee every block.
	given_up: BTreeSet<u64>,
}

#[derive(Serialize, Deserialize, Clone)]
struct FactorCommit {
	p: Vec<u8>,
	q: Vec<u8>,
	salt: [u8; 32],
	block: u32,
}

/// Runs a miner until an error it cannot recover from.
pub async fn run_miner(
	chain: Chain,
	key: Keypair,
	cfg: MinerConfig,
	executor: Arc<dyn Executor>,
) -> Result<()> {
	const R: &str = "miner";
	let me = key.public_key().to_account_id();
	let me_bytes: [u8; 32] = key.public_key().0;
	std::fs::create_dir_all(&cfg.data_dir)?;
	let state_path = cfg.data_dir.join("miner-state.json");
	let mut state: MinerState = load(&state_path)?;
	let store = ResultStore::new(cfg.data_dir.join("results"))?;

	// Results are served on the registered endpoint.
	let listener = tokio::net::TcpListener::bind(&cfg.endpoint)
		.await
		.with_context(|| format!("cannot listen on {}", cfg.endpoint))?;
	tokio::spawn(store.clone().serve(listener));

	let register = cutopia::transactions().rep_chain().register_miner(
		cfg.resources.clone(),
		cfg.price_floor,
		BoundedVec(cfg.endpoint.as_bytes().to_vec()),
		cfg.bond,
	);
	ensure_registered(&chain, &key, Role::Miner, &register, R).await?;

	let mut last = 0;
	loop {
		let now = next_block(&chain, last).await?;
		last = now;
		if let Err(e) =
			miner_tick(&chain, &key, &me, &me_bytes, &cfg, &executor, &store, &mut state, now).await
		{
			log(R, format!("block #{now}: {e:#}"));
		}
		save(&state_path, &state)?;
	}
}

#[allow(clippy::too_many_arguments)]
async fn miner_tick(
	chain: &Chain,
	key: &Keypair,
	me: &AccountId32,
	me_bytes: &[u8; 32],
	cfg: &MinerConfig,
	executor: &Arc<dyn Executor>,
	store: &ResultStore,
	state: &mut MinerState,
	now: u32,
) -> Result<()> {
	const R: &str = "miner";
	let (_, at) = chain.at_best().await?;

	// 1. Reveal factorization answers committed in an earlier block.
	for (cid, c) in state.commits.clone() {
		if c.block >= now {
			continue;
		}
		let tx = cutopia::transactions().challenge().reveal(
			cid,
			BoundedVec(c.p.clone()),
			BoundedVec(c.q.clone()),
			c.salt,
		);
		match chain.submit(&tx, key).await {
			Ok(_) => log(R, format!("revealed factors of challenge {cid}")),
			Err(e) => log(R, format!("reveal of challenge {cid} failed: {e:#}")),
		}
		state.commits.remove(&cid);
		state.given_up.insert(cid);
	}

	// 2. Compete for open work that fits.
	let filter = QueueFilter {
		resources: Some(cfg.resources.clone()),
		min_price_per_cu: Some(cfg.price_floor),
		challenge: None,
		min_priority: 0,
	};
	let open: Vec<u64> = at
		.runtime_apis()
		.call(cutopia::runtime_apis().indenture_api().queue(filter, 0, 64))
		.await?;
	for id in open {
		let Some(IndentureInfo::Active { indenture, slots }) =
			at.runtime_apis().call(cutopia::runtime_apis().indenture_api().get(id)).await?
		else {
			continue;
		};
		let wanted = match indenture.spec.task_type {
			TaskType::Batch => cfg.batch,
			TaskType::Service => cfg.service,
		};
		if !wanted
			|| indenture.status != Status::Open
			|| slots.iter().any(|(_, s)| s.miner.as_ref() == Some(me))
		{
			continue;
		}
		for (_, slot) in slots.iter().filter(|(_, s)| s.miner.is_none()) {
			let cid = slot.challenge;
			if state.given_up.contains(&cid) || state.commits.contains_key(&cid) {
				continue;
			}
			let Some(ch) =
				at.storage().try_fetch(cutopia::storage().challenge().challenges(), (cid,)).await?
			else {
				continue;
			};
			let ch = ch.decode()?;
			if ch.status != ChallengeStatus::Open {
				continue;
			}
			match ch.puzzle {
				Puzzle::HashTarget { difficulty, seed } => {
					let mb = *me_bytes;
					let nonce = tokio::task::spawn_blocking(move || {
						work::solve_target(&seed.0, &mb, difficulty, 0)
					})
					.await?;
					match chain
						.submit(&cutopia::transactions().challenge().solve(cid, nonce), key)
						.await
					{
						Ok(inc) => log(
							R,
							format!(
								"solved challenge {cid} of indenture {id} (block {:?})",
								inc.block
							),
						),
						Err(e) => {
							log(R, format!("solve of challenge {cid} refused: {e:#}"));
							state.given_up.insert(cid);
						},
					}
				},
				Puzzle::Factorization { modulus, .. } => {
					let n = BigUint::from_bytes_be(&modulus.0);
					let bits = n.bits();
					let started = std::time::Instant::now();
					let (p, q) = tokio::task::spawn_blocking(move || cutopia_factor::split(&n))
						.await?
						.map_err(|e| anyhow!("challenge {cid}: {e}"))?;
					let factor_ms = started.elapsed().as_secs_f64() * 1e3;
					let (p, q) = (p.to_bytes_be(), q.to_bytes_be());
					let salt = work::random32()?;
					let hash = work::factor_commitment(&p, &q, me_bytes, &salt);
					// The salt is kept before the commit is sent: a restart can still reveal.
					state.commits.insert(cid, FactorCommit { p, q, salt, block: u32::MAX });
					match chain
						.submit(&cutopia::transactions().challenge().commit(cid, H256(hash)), key)
						.await
					{
						Ok(_) => {
							let (block, _) = chain.best().await?;
							if let Some(c) = state.commits.get_mut(&cid) {
								c.block = block;
							}
							log(R, format!("factored challenge {cid} ({bits} bits) in {factor_ms:.1} ms and committed"));
						},
						Err(e) => {
							log(R, format!("commit to challenge {cid} refused: {e:#}"));
							state.commits.remove(&cid);
							state.given_up.insert(cid);
						},
					}
				},
			}
			break; // one slot per indenture and block
		}
	}

	// 3. Serve the slots this miner holds: run the task, answer heartbeats, report results.
	let mut mine = Vec::new();
	let mut slots = at.storage().iter(cutopia::storage().indenture().slots(), ()).await?;
	while let Some(entry) = slots.next().await {
		let entry = entry?;
		let slot = entry.value().decode()?;
		if slot.miner.as_ref() == Some(me) {
			let (id, index) = entry.key()?.decode()?;
			mine.push((id, index, slot));
		}
	}
	for (id, _index, slot) in mine {
		let Some(ind) =
			at.storage().try_fetch(cutopia::storage().indenture().indentures(), (id,)).await?
		else {
			continue;
		};
		let ind = ind.decode()?;
		// Heartbeats.
		if let Some(lease_id) = slot.lease {
			if let Some(lease) =
				at.storage().try_fetch(cutopia::storage().challenge().leases(), (lease_id,)).await?
			{
				let lease = lease.decode()?;
				if lease.status == LeaseStatus::Active && now >= lease.start {
					let round = (now - lease.start) / lease.period.max(1);
					let open = lease.start + round * lease.period;
					if round < lease.rounds && round >= lease.cursor && now < open + lease.window {
						let parent = chain
							.block_hash(open - 1)
							.await?
							.ok_or_else(|| anyhow!("no block {}", open - 1))?;
						let seed = work::heartbeat_seed(lease_id, round, &parent.0);
						let (mb, d) = (*me_bytes, lease.difficulty);
						let nonce = tokio::task::spawn_blocking(move || {
							work::solve_target(&seed, &mb, d, 0)
						})
						.await?;
						match chain
							.submit(
								&cutopia::transactions()
									.challenge()
									.heartbeat(lease_id, round, nonce),
								key,
							)
							.await
						{
							Ok(_) => log(
								R,
								format!(
									"heartbeat: lease {lease_id} round {round} of indenture {id}"
								),
							),
							Err(e) => {
								log(R, format!("heartbeat {lease_id}/{round} refused: {e:#}"))
							},
						}
					}
				}
			}
		}
		if ind.spec.task_type != TaskType::Batch {
			continue;
		}
		// Run the task once; its output stays in the result store across restarts.
		let result = match store.find(id) {
			Some(h) => h,
			None => {
				let code = match &ind.spec.task {
					Task::Inline(b) => b.0.clone(),
					Task::Wasm { hash, uri } => {
						crate::results::fetch_module(&String::from_utf8_lossy(&uri.0), &hash.0)
							.await?
					},
					Task::Container { .. } => {
						log(R, format!("indenture {id}: container tasks need a container executor; this miner runs Wasm"));
						continue;
					},
				};
				let job = Job {
					args: vec!["task".into()],
					stdin: Vec::new(),
					seed: work::sha256(&id.to_le_bytes()),
				};
				let (exec, limits) = (executor.clone(), cfg.limits.clone());
				let out =
					tokio::task::spawn_blocking(move || exec.run(&code, &job, &limits)).await?;
				// A task that fails is still a result: the output says how it failed, so
				// replicas agree on it and the buyer can see it.
				let bytes = match out {
					Ok(o) => {
						log(
							R,
							format!(
								"indenture {id}: task exited {} after {:.0} ms, {} bytes of output",
								o.exit_code,
								o.elapsed.as_secs_f64() * 1e3,
								o.stdout.len()
							),
						);
						o.stdout
					},
					Err(e) => {
						log(R, format!("indenture {id}: task failed: {e}"));
						format!("cutopia: task failed: {e}\n").into_bytes()
					},
				};
				store.put(id, &bytes)?
			},
		};
		if ind.status != Status::Reporting {
			continue;
		}
		match slot.result {
			None => {
				let seal = work::result_seal(&result, me_bytes);
				match chain
					.submit(&cutopia::transactions().indenture().commit_result(id, H256(seal)), key)
					.await
				{
					Ok(_) => log(R, format!("sealed result of indenture {id}")),
					Err(e) => log(R, format!("seal of indenture {id} refused: {e:#}")),
				}
			},
			Some(SlotResult::Sealed(_)) => {
				// Reveal once every slot has sealed or sealing closed; the chain says which.
				match chain
					.submit(
						&cutopia::transactions().indenture().reveal_result(id, H256(result)),
						key,
					)
					.await
				{
					Ok(_) => log(R, format!("revealed result of indenture {id}")),
					Err(e) if format!("{e:#}").contains("SealingOpen") => {},
					Err(e) => log(R, format!("reveal of indenture {id} refused: {e:#}")),
				}
			},
			Some(SlotResult::Revealed(_)) => {},
		}
	}
	Ok(())
}

// ---------------------------------------------------------------------------------------
// Exchange
// ---------------------------------------------------------------------------------------

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

/// A random prime of exactly `bits` bits whose top two bits are set, so that the product of
/// two such primes has exactly `2·bits` bits. Candidates come from the OS RNG; Miller–Rabin
/// with 12 fixed and 16 random bases (a false prime is below 4^-28 per number).
pub fn random_prime(bits: u64) -> Result<BigUint> {
	anyhow::ensure!(bits >= 8, "primes of fewer than 8 bits are not challenges");
	let bytes = bits.div_ceil(8) as usize;
	loop {
		let mut buf = vec![0u8; bytes];
		getrandom::getrandom(&mut buf).map_err(|e| anyhow!("no OS randomness: {e}"))?;
		let mut x = BigUint::from_bytes_be(&buf) >> (bytes as u64 * 8 - bits);
		x |= (BigUint::from(3u32) << (bits - 2)) | BigUint::from(1u32);
		if !cutopia_factor::is_probable_prime(&x, &cutopia_factor::FIXED_BASES) {
			continue;
		}
		let mut random_bases = Vec::new();
		for _ in 0..16 {
			let mut b = [0u8; 8];
			getrandom::getrandom(&mut b).map_err(|e| anyhow!("no OS randomness: {e}"))?;
			random_bases.push(BigUint::from(u64::from_le_bytes(b) | 2));
		}
		if random_bases.iter().all(|b| cutopia_factor::is_probable_prime(&x, &[b.clone()][..])) {
			return Ok(x);
		}
	}
}

/// A balanced semiprime of exactly `bits` bits: `(p, q, p·q)`, `p < q`.
pub fn semiprime(bits: u32) -> Result<(BigUint, BigUint, BigUint)> {
	let half = u64::from(bits / 2);
	loop {
		let (a, b) = (random_prime(half)?, random_prime(u64::from(bits) - half)?);
		if a != b {
			let (p, q) = if a < b { (a, b) } else { (b, a) };
			let n = &p * &q;
			debug_assert_eq!(n.bits(), u64::from(bits));
			return Ok((p, q, n));
		}
	}
}

/// Runs an exchange agent: posts a fresh semiprime for each factorization challenge it
/// issues and reveals its factor for the audit once the challenge is decided.
pub async fn run_exchange(chain: Chain, key: Keypair, cfg: ExchangeConfig) -> Result<()> {
	const R: &str = "exchange";
	let me = key.public_key().to_account_id();
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
	ensure_registered(&chain, &key, Role::Exchange, &register, R).await?;
	let mut last = 0;
	loop {
		let now = next_block(&chain, last).await?;
		last = now;
		if let Err(e) = exchange_tick(&chain, &key, &me, &mut state, &state_path).await {
			log(R, format!("block #{now}: {e:#}"));
		}
	}
}

async fn exchange_tick(
	chain: &Chain,
	key: &Keypair,
	me: &AccountId32,
	state: &mut ExchangeState,
	state_path: &PathBuf,
) -> Result<()> {
	const R: &str = "exchange";
	let (_, at) = chain.at_best().await?;
	let mut todo = Vec::new();
	let mut all = at.storage().iter(cutopia::storage().challenge().challenges(), ()).await?;
	while let Some(entry) = all.next().await {
		let entry = entry?;
		let c = entry.value().decode()?;
		if c.issuer.as_ref() == Some(me) {
			let (id,) = entry.key()?.decode()?;
			todo.push((id, c));
		}
	}
	for (id, c) in todo {
		let Puzzle::Factorization { bits, audit, .. } = &c.puzzle else { continue };
		match (&c.status, audit) {
			(ChallengeStatus::AwaitingModulus, _) => {
				let bits = *bits;
				let (p, _q, n) = tokio::task::spawn_blocking(move || semiprime(bits)).await??;
				let salt = work::random32()?;
				let p = p.to_bytes_be();
				let commitment = work::audit_commitment(&p, &salt);
				// The secret is on disk before C is public: a crash cannot lose the audit.
				state.secrets.insert(id, Secret { p, salt });
				save(state_path, state)?;
				chain
					.submit(
						&cutopia::transactions().challenge().post_modulus(
							id,
							BoundedVec(n.to_bytes_be()),
							H256(commitment),
						),
						key,
					)
					.await?;
				log(R, format!("posted a {bits}-bit semiprime for challenge {id}"));
			},
			(ChallengeStatus::Awarded(_) | ChallengeStatus::Expired, Audit::Pending) => {
				let Some(s) = state.secrets.get(&id).cloned() else {
					log(
						R,
						format!("challenge {id}: no secret on record, cannot reveal for the audit"),
					);
					continue;
				};
				chain
					.submit(
						&cutopia::transactions().challenge().reveal_factor(
							id,
							BoundedVec(s.p),
							s.salt,
						),
						key,
					)
					.await?;
				log(R, format!("revealed the factor of challenge {id} for its audit"));
				state.secrets.remove(&id);
				save(state_path, state)?;
			},
			_ => {},
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn semiprimes_have_exactly_the_bits_asked_and_factor_back() {
		for bits in [48u32, 64, 96, 160] {
			let (p, q, n) = semiprime(bits).unwrap();
			assert_eq!(n.bits(), u64::from(bits));
			assert!(p < q && p.bits() == u64::from(bits / 2));
			if bits <= 96 {
				assert_eq!(cutopia_factor::split(&n).unwrap(), (p, q));
			}
		}
	}
}
