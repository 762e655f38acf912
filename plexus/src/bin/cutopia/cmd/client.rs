//! `cutopia client`: buying compute — price, submit, follow, accept or dispute, rate, fetch
//! results.

use super::{account, connect, signer};
use crate::{
	output::{cu, describe, out, table},
	Cli,
};
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use pallet_indenture_rpc::{InfoView, PriceView, ResourcesView};
use plexus::{
	chain::{AccountId32, Chain, H256},
	cutopia::{
		self,
		runtime_types::{
			cutopia_primitives::types::{Executor, PublicIp, Resources, Role},
			pallet_indenture::types::{IndentureInfo, TaskType},
			pallet_repchain::types::Profile,
		},
	},
	format_cu,
	spec::{covers, executor_name, serves, SpecFile},
};
use serde_json::json;
use std::{
	path::{Path, PathBuf},
	time::Duration,
};

#[derive(Subcommand)]
pub enum Client {
	/// The indicative price of resources for a number of blocks.
	Price {
		/// CPU per node, thousandths of a core.
		#[arg(long, default_value_t = 1000)]
		cpu_millicores: u32,
		/// Memory per node, MiB.
		#[arg(long, default_value_t = 512)]
		memory_mib: u32,
		/// Storage per node, GiB.
		#[arg(long, default_value_t = 1)]
		storage_gib: u32,
		/// GPUs per node.
		#[arg(long, default_value_t = 0)]
		gpus: u32,
		/// Lease length in blocks.
		#[arg(long)]
		duration: u32,
	},
	/// Submit an indenture from a TOML file and/or flags (flags win); prints its id.
	Submit {
		/// TOML file with the indenture's fields; module paths in it are relative to it.
		file: Option<PathBuf>,
		#[command(flatten)]
		spec: Box<SpecFile>,
	},
	/// Registered miners and what each offers (resources, executors, price floor), with its
	/// bond and reputation: who could take the work you are about to ask for.
	Miners,
	/// The open queue in priority order; with `--follow`, then every Indenture event as
	/// blocks arrive.
	Queue {
		/// Keep printing Indenture events as blocks arrive.
		#[arg(long)]
		follow: bool,
	},
	/// An indenture's state (or its record once ended).
	Status {
		/// Indenture id.
		id: u64,
	},
	/// Follow an indenture until it ends or its result waits for you, printing each change.
	Watch {
		/// Indenture id.
		id: u64,
		/// Give up after this many seconds.
		#[arg(long, default_value_t = 3600)]
		timeout: u64,
	},
	/// Cancel an open indenture (refunds what no miner has earned).
	Cancel {
		/// Indenture id.
		id: u64,
	},
	/// End a running (leased) indenture early: its leases stop, miners are paid the rounds
	/// they proved (the withheld ones too), the unserved rest comes back.
	Terminate {
		/// Indenture id.
		id: u64,
	},
	/// Accept the result (or a completed service's withheld rounds): the escrow pays out.
	Accept {
		/// Indenture id.
		id: u64,
	},
	/// Dispute the work: running (leased) work stops and the pay of its last withheld rounds
	/// goes to the escrow operator; a reported result, or a completed service's withheld
	/// rounds, go to the operator within the acceptance window.
	Dispute {
		/// Indenture id.
		id: u64,
	},
	/// Rate a miner of an ended indenture, 1 to 5.
	Rate {
		/// Indenture id.
		id: u64,
		/// The miner's SS58 address.
		miner: String,
		/// 1 to 5.
		stars: u8,
	},
	/// A shell, or a command, inside a running service, through its miner's SSH gateway
	/// (the system's `ssh`): the address and the gateway's host key come from the chain, and
	/// only that host key is trusted. Exits with the command's status.
	Ssh {
		/// Indenture id.
		id: u64,
		/// Which slot's workload (a service on several nodes has one per node).
		#[arg(long, default_value_t = 0)]
		slot: u32,
		/// Your private key: the one whose public half is the indenture's `ssh_key` (else
		/// ssh's defaults and agent).
		#[arg(long, short = 'i')]
		identity: Option<PathBuf>,
		/// The command (run by the service's `/bin/sh -c`); none: `sh -i`, without a terminal.
		#[arg(trailing_var_arg = true, allow_hyphen_values = true)]
		command: Vec<String>,
	},
	/// Fetch the result from a miner's endpoint and check it against the hash on chain.
	Result {
		/// Indenture id.
		id: u64,
		/// Write it here instead of stdout.
		#[arg(long)]
		out: Option<PathBuf>,
	},
}

pub async fn run(cli: &Cli, c: &Client) -> Result<()> {
	let chain = connect(cli).await?;
	match c {
		Client::Price { cpu_millicores, memory_mib, storage_gib, gpus, duration } => {
			let resources = ResourcesView {
				cpu_millicores: *cpu_millicores,
				memory_mib: *memory_mib,
				storage_gib: *storage_gib,
				gpus: *gpus,
			};
			let p: PriceView = chain
				.call("indenture_indicativePrice", vec![json!(resources), json!(duration)])
				.await?;
			let (_, at) = chain.at_best().await?;
			let rate: u128 = at
				.storage()
				.fetch(cutopia::storage().indenture().market_rate(), ())
				.await?
				.decode()?;
			let history = at
				.storage()
				.fetch(cutopia::storage().indenture().rate_history(), ())
				.await?
				.decode()?;
			let moves: Vec<_> = history
				.0
				.iter()
				.map(|(block, rate)| json!({ "block": block, "rate": rate.to_string() }))
				.collect();
			let view = json!({
				"computeUnits": p.compute_units,
				"price": p.price,
				"minimumIncentive": p.minimum_incentive,
				"marketRate": rate.to_string(),
				"rateHistory": moves,
			});
			out(cli, &view, || {
				let mut text = format!(
					"{} compute units: indicative price {} CU, minimum incentive {} CU\n\
					 market rate {} CU per compute unit",
					p.compute_units,
					cu(&p.price),
					cu(&p.minimum_incentive),
					format_cu(rate)
				);
				// The last few moves, oldest first: how the rate got where it is.
				for (block, r) in history.0.iter().rev().take(8).rev() {
					text.push_str(&format!("\n  block {block:>8}: {} CU", format_cu(*r)));
				}
				text
			});
		},
		Client::Submit { file, spec } => submit(cli, &chain, file.as_deref(), spec).await?,
		Client::Queue { follow } => queue(cli, &chain, *follow).await?,
		Client::Miners => {
			let (_, at) = chain.at_best().await?;
			let mut rows = Vec::new();
			for m in miners(&chain).await? {
				let score = at
					.runtime_apis()
					.call(cutopia::runtime_apis().rep_chain_api().score(m.who))
					.await?;
				rows.push((m, score.0));
			}
			let view: Vec<_> = rows
				.iter()
				.map(|(m, score)| {
					json!({
						"who": m.who.to_string(),
						"resources": {
							"cpuMillicores": m.resources.cpu_millicores,
							"memoryMib": m.resources.memory_mib,
							"storageGib": m.resources.storage_gib,
							"gpus": m.resources.gpus,
						},
						"executors": m.executors.iter().map(executor_name).collect::<Vec<_>>(),
						"publicIps": m.addresses,
						"priceFloor": m.price_floor.to_string(),
						"bond": m.bond.to_string(),
						"active": m.active,
						"leaving": m.leaving,
						"score": score,
					})
				})
				.collect();
			out(cli, json!({ "miners": view }), || {
				let mut text = format!(
					"{:<49} {:<28} {:<24} {:>4} {:>6} {:>7}",
					"miner", "resources", "executors", "ips", "active", "score"
				);
				for (m, score) in &rows {
					let r = &m.resources;
					text += &format!(
						"\n{:<49} {:<28} {:<24} {:>4} {:>6} {:>6.1}%{}",
						m.who.to_string(),
						format!(
							"{}m {}MiB {}GiB {}gpu",
							r.cpu_millicores, r.memory_mib, r.storage_gib, r.gpus
						),
						m.executors.iter().map(executor_name).collect::<Vec<_>>().join(","),
						m.addresses,
						m.active,
						f64::from(*score) / 1e4,
						if m.leaving { " (leaving)" } else { "" }
					);
				}
				text
			});
		},
		Client::Status { id } => {
			let Some(v) = indenture(&chain, *id).await? else { bail!("no indenture {id}") };
			let (now, _) = chain.best().await?;
			out(cli, &v, || table(&v, now.into()));
		},
		Client::Watch { id, timeout } => watch(cli, &chain, *id, *timeout).await?,
		Client::Cancel { id } => {
			let inc = chain
				.submit(&cutopia::transactions().indenture().cancel(*id), &signer(cli)?)
				.await?;
			let refunded = inc
				.find::<cutopia::indenture::events::Cancelled>()
				.map(|e| e.refunded)
				.unwrap_or(0);
			out(cli, json!({ "id": id, "refunded": refunded.to_string() }), || {
				format!("indenture {id} cancelled; {} CU refunded", format_cu(refunded))
			});
		},
		Client::Terminate { id } => {
			let inc = chain
				.submit(&cutopia::transactions().indenture().terminate(*id), &signer(cli)?)
				.await?;
			let refunded = inc
				.find::<cutopia::indenture::events::Terminated>()
				.map(|e| e.refunded)
				.unwrap_or(0);
			out(cli, json!({ "id": id, "refunded": refunded.to_string() }), || {
				format!("indenture {id} terminated; {} CU refunded", format_cu(refunded))
			});
		},
		Client::Accept { id } => {
			chain.submit(&cutopia::transactions().escrow().accept(*id), &signer(cli)?).await?;
			out(cli, json!({ "id": id, "accepted": true }), || {
				format!("indenture {id}: result accepted, escrow settled")
			});
		},
		Client::Dispute { id } => {
			let Some(InfoView::Active(active)) = indenture(&chain, *id).await? else {
				bail!("indenture {id} has ended (or never existed): there is nothing to dispute");
			};
			if active.status == "Leased" {
				let tx = cutopia::transactions().indenture().dispute(*id);
				let inc = chain.submit(&tx, &signer(cli)?).await?;
				let withheld = inc
					.find::<cutopia::indenture::events::LeaseDisputed>()
					.map(|e| e.withheld)
					.unwrap_or(0);
				out(
					cli,
					json!({ "id": id, "disputed": true, "withheld": withheld.to_string() }),
					|| {
						format!(
						"indenture {id}: leases stopped; the escrow operator decides the {} CU withheld",
						format_cu(withheld)
					)
					},
				);
			} else {
				chain.submit(&cutopia::transactions().escrow().dispute(*id), &signer(cli)?).await?;
				out(cli, json!({ "id": id, "disputed": true }), || {
					format!("indenture {id}: disputed; the escrow operator decides")
				});
			}
		},
		Client::Rate { id, miner, stars } => {
			if !(1..=5).contains(stars) {
				bail!("a rating is 1 to 5 stars");
			}
			let tx = cutopia::transactions().indenture().rate(*id, account(miner)?, *stars);
			chain.submit(&tx, &signer(cli)?).await?;
			out(cli, json!({ "id": id, "miner": miner, "stars": stars }), || {
				format!("rated {miner} {stars}/5 for indenture {id}")
			});
		},
		Client::Result { id, out: path } => fetch_result(cli, &chain, *id, path.as_deref()).await?,
		Client::Ssh { id, slot, identity, command } => {
			let code = ssh(&chain, *id, *slot, identity.as_deref(), command).await?;
			std::process::exit(code);
		},
	}
	Ok(())
}

/// Runs the system's `ssh` into slot `slot` of service `id` with the gateway published on
/// chain, pinning its host key; returns ssh's exit status.
async fn ssh(
	chain: &Chain,
	id: u64,
	slot: u32,
	identity: Option<&Path>,
	command: &[String],
) -> Result<i32> {
	let Some(InfoView::Active(active)) = indenture(chain, id).await? else {
		bail!("indenture {id} has ended (or never existed): its workload no longer runs");
	};
	let Some(s) = active.slots.iter().find(|s| s.index == slot) else {
		bail!("indenture {id} has no slot {slot}");
	};
	let access = s.access.as_ref().ok_or_else(|| anyhow!("slot {slot} has no miner yet"))?;
	let service = access.service.as_ref().ok_or_else(|| {
		anyhow!("the miner of slot {slot} has not published its service yet (it is starting)")
	})?;
	let (Some(gateway), Some(host_key)) = (&service.ssh, &service.host_key) else {
		bail!("slot {slot} has no SSH gateway: the indenture gave no `ssh_key`");
	};
	let (host, port) = gateway
		.rsplit_once(':')
		.ok_or_else(|| anyhow!("the published gateway {gateway:?} is not host:port"))?;
	let host = host.trim_start_matches('[').trim_end_matches(']');
	// What the miner published goes to ssh and into a known-hosts file: checked, not trusted.
	let port: u16 = port.parse().map_err(|_| anyhow!("the published port {port:?} is not one"))?;
	if host.is_empty()
		|| host.starts_with('-')
		|| !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
	{
		bail!("the published gateway host {host:?} is not a host name or address");
	}
	let host_key = russh::keys::PublicKey::from_openssh(host_key)
		.map_err(|_| anyhow!("the published host key is not an OpenSSH public key"))?
		.to_openssh()?;
	// The published host key is the only one trusted for this address: no first-use prompt.
	// In a directory of our own, new and private: nobody can have put a link in its place.
	let dir = std::env::temp_dir()
		.join(format!("cutopia-ssh-{}", plexus::results::hex(&plexus::work::random32()?)));
	std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&dir)?;
	let known_hosts = dir.join("known_hosts");
	// OpenSSH names a host at its default port by the host alone, any other as `[host]:port`.
	let name = if port == 22 { host.to_string() } else { format!("[{host}]:{port}") };
	std::fs::write(&known_hosts, format!("{name} {host_key}\n"))?;
	let mut ssh = std::process::Command::new("ssh");
	ssh.args(["-T", "-p", &port.to_string(), "-F", "/dev/null"])
		.args(["-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null"])
		.arg("-o")
		.arg(format!("UserKnownHostsFile={}", known_hosts.display()));
	if let Some(key) = identity {
		ssh.args(["-o", "IdentitiesOnly=yes", "-i"]).arg(key);
	}
	// Nothing after `--` is an option of ssh's, whatever the command starts with.
	ssh.arg("--").arg(format!("task@{host}"));
	if !command.is_empty() {
		ssh.arg(command.join(" "));
	}
	let status = ssh.status();
	let _ = std::fs::remove_dir_all(&dir);
	let status = status.map_err(|e| anyhow!("cannot run ssh (install openssh-client): {e}"))?;
	Ok(status.code().unwrap_or(255))
}

async fn indenture(chain: &Chain, id: u64) -> Result<Option<InfoView>> {
	Ok(chain.call("indenture_get", vec![id.into()]).await?)
}

/// Flags over the file: a file can be a template that flags adjust per submission.
async fn submit(cli: &Cli, chain: &Chain, file: Option<&Path>, flags: &SpecFile) -> Result<()> {
	let (base, from_file) = match file {
		Some(f) => (f.parent().map(PathBuf::from).unwrap_or_default(), SpecFile::read(f)?),
		None => (PathBuf::from("."), SpecFile::default()),
	};
	let spec = from_file.overlay(flags.clone()).build(&base)?;
	// Not refused (a miner may register later), but said before money is held for it.
	let service = spec.task_type == TaskType::Service;
	let takers = miners(chain).await?.into_iter().filter(|m| {
		!m.leaving
			&& covers(&m.resources, &spec.resources)
			&& m.executors.iter().any(|e| serves(e, &spec.executor, service))
			&& (matches!(spec.public_ip, PublicIp::None) || m.addresses > 0)
	});
	if takers.count() == 0 {
		tracing::warn!(
			target: "cutopia::client",
			"no registered miner offers {} work with these resources{}: the indenture waits \
			 for one until its award deadline, then its escrow is refunded",
			executor_name(&spec.executor),
			if matches!(spec.public_ip, PublicIp::None) { "" } else { " and a public address" }
		);
	}
	let key = signer(cli)?;
	let inc = chain.submit(&cutopia::transactions().indenture().submit(spec), &key).await?;
	let ev = inc
		.find::<cutopia::indenture::events::Submitted>()
		.ok_or_else(|| anyhow!("no Submitted event"))?;
	out(cli, json!({ "id": ev.id, "held": ev.held.to_string(), "block": inc.block }), || {
		format!("indenture {} submitted; {} CU held in escrow", ev.id, format_cu(ev.held))
	});
	Ok(())
}

/// A registered miner's offer, as `client miners` shows it.
struct MinerRow {
	who: AccountId32,
	resources: Resources,
	executors: Vec<Executor>,
	/// Public addresses it can dedicate to services.
	addresses: u16,
	price_floor: u128,
	bond: u128,
	active: u32,
	leaving: bool,
}

/// Every miner registered on RepChain at the best block.
async fn miners(chain: &Chain) -> Result<Vec<MinerRow>> {
	let (_, at) = chain.at_best().await?;
	let mut rows = Vec::new();
	let mut all = at.storage().iter(cutopia::storage().rep_chain().registrations(), ()).await?;
	while let Some(entry) = all.next().await {
		let entry = entry?;
		let (who, role) = entry.key()?.decode()?;
		let r = entry.value().decode()?;
		if let (Role::Miner, Profile::Miner { resources, executors, price_floor, addresses, .. }) =
			(role, r.profile)
		{
			rows.push(MinerRow {
				who,
				resources,
				executors: executors.0,
				addresses,
				price_floor,
				bond: r.bond,
				active: r.active,
				leaving: r.unbonding_until.is_some(),
			});
		}
	}
	Ok(rows)
}

async fn queue(cli: &Cli, chain: &Chain, follow: bool) -> Result<()> {
	let ids: Vec<u64> = chain.call("indenture_queue", vec![]).await?;
	out(cli, json!({ "queue": ids }), || format!("open: {}", json!(ids)));
	if !follow {
		return Ok(());
	}
	let json = cli.json;
	chain
		.follow_indenture_events(|block, e| {
			let text = format!("{e:?}");
			let name = text.split([' ', '{', '(']).next().unwrap_or("").to_string();
			if json {
				println!("{}", json!({ "block": block, "event": name, "detail": text }));
			} else {
				println!("#{block} {text}");
			}
			true
		})
		.await
}

/// Polls once a second and prints only changes, so that the output is a log of the
/// indenture's life rather than of the polling.
async fn watch(cli: &Cli, chain: &Chain, id: u64, timeout: u64) -> Result<()> {
	let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
	let mut last = String::new();
	loop {
		let Some(v) = indenture(chain, id).await? else { bail!("no indenture {id}") };
		let (now, _) = chain.best().await?;
		let line = describe(&v, now.into());
		if line != last {
			out(cli, &v, || line.clone());
			last = line;
		}
		let InfoView::Active(active) = &v else { return Ok(()) };
		// A single-replica result, or a completed service's withheld rounds, wait for the
		// buyer: accept or dispute them.
		if active.status == "Reported" {
			if !cli.json {
				if active.result.is_some() {
					println!("the result is in: fetch it with `cutopia client result {id}`, then `client accept {id}` or `client dispute {id}`");
				} else {
					println!("the service ended: `client accept {id}` pays its last rounds, `client dispute {id}` puts them to the escrow operator");
				}
			}
			return Ok(());
		}
		if std::time::Instant::now() > deadline {
			bail!("indenture {id} has not ended after {timeout} s");
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
}

/// Tries each miner of the indenture in turn: any one of them serving bytes with the agreed
/// hash is as good as another.
async fn fetch_result(cli: &Cli, chain: &Chain, id: u64, path: Option<&Path>) -> Result<()> {
	let (_, at) = chain.at_best().await?;
	let info = at.runtime_apis().call(cutopia::runtime_apis().indenture_api().get(id)).await?;
	let Some(IndentureInfo::Active { indenture, slots }) = info else {
		bail!(
			"indenture {id} is not active: results are fetched while its miners still serve them"
		);
	};
	let hash: H256 =
		indenture.result.ok_or_else(|| anyhow!("indenture {id} has no agreed result yet"))?;
	let mut errors = Vec::new();
	for (_, slot) in &slots {
		let Some(access) = &slot.access else { continue };
		let endpoint = String::from_utf8_lossy(&access.endpoint.0).into_owned();
		match plexus::results::fetch(&endpoint, id, &hash.0).await {
			Ok(bytes) => {
				match path {
					Some(p) => std::fs::write(p, &bytes)?,
					None if !cli.json => {
						use std::io::Write;
						std::io::stdout().write_all(&bytes)?;
					},
					None => {},
				}
				if cli.json {
					println!(
						"{}",
						json!({ "id": id, "hash": hash, "bytes": bytes.len(), "from": endpoint, "verified": true })
					);
				}
				return Ok(());
			},
			Err(e) => errors.push(format!("{endpoint}: {e:#}")),
		}
	}
	bail!("no miner served the result {hash:?}: {}", errors.join("; "));
}
