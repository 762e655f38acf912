//! `cutopia miner`: selling compute.

use super::{connect, signer};
use crate::{output::out, Cli};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use num_bigint::BigUint;
use plexus::{
	agents,
	cutopia::runtime_types::cutopia_primitives::types::Resources,
	exec::{Limits, WasmExecutor},
	parse_cu,
};
use serde_json::json;
use std::{path::PathBuf, str::FromStr, sync::Arc, time::Duration};

#[derive(Subcommand)]
pub enum Miner {
	/// Register if needed, then compete for work, run it, answer heartbeats and report
	/// results, until stopped. Safe to restart: state is read back from the chain.
	Run(MinerArgs),
	/// Factor a challenge modulus offline and print `p q`.
	Factor {
		/// The modulus, in decimal.
		n: String,
	},
}

#[derive(Args)]
pub struct MinerArgs {
	/// host:port where this miner serves results (registered on RepChain).
	#[arg(long, default_value = "127.0.0.1:7070")]
	endpoint: String,
	/// CPU offered, thousandths of a core.
	#[arg(long, default_value_t = 4000)]
	cpu_millicores: u32,
	/// Memory offered, MiB.
	#[arg(long, default_value_t = 8192)]
	memory_mib: u32,
	/// Storage offered, GiB.
	#[arg(long, default_value_t = 50)]
	storage_gib: u32,
	/// GPUs offered.
	#[arg(long, default_value_t = 0)]
	gpus: u32,
	/// Lowest price per compute unit accepted, in CU.
	#[arg(long, default_value = "0")]
	price_floor: String,
	/// RepChain bond when registering, CU.
	#[arg(long, default_value = "100")]
	bond: String,
	/// Take service tasks too: with `--containers` a container service, with `--microvm` a
	/// microVM service, runs for its lease on ports of this host published on chain (and an
	/// SSH gateway for the buyer's key); a Wasm service is served by heartbeats alone.
	#[arg(long)]
	service: bool,
	/// Fuel (Wasm instructions) per task.
	#[arg(long, default_value_t = 10_000_000_000)]
	fuel: u64,
	/// Memory per task, MiB.
	#[arg(long, default_value_t = 256)]
	memory_limit_mib: usize,
	/// Wall-clock limit per task, seconds.
	#[arg(long, default_value_t = 60)]
	time_limit: u64,
	/// In-memory `/scratch` directory per Wasm task, MiB (0 for none).
	#[arg(long, default_value_t = 64)]
	scratch_mib: u64,
	/// Where state and results are kept.
	#[arg(long, default_value = "cutopia-miner")]
	data_dir: PathBuf,
	/// Offer the container executor (Linux, as root or with unprivileged user namespaces):
	/// images run in namespaces, cgroups, Landlock and seccomp; kept unpacked under
	/// <data-dir>/images.
	#[arg(long)]
	containers: bool,
	/// Offer the microVM executor: images boot as QEMU guests with their own kernel (needs
	/// qemu-system-x86 and linux-image-cloud-amd64). Alone, it also runs batch work asking
	/// for a container.
	#[arg(long)]
	microvm: bool,
	/// Most disk the image cache keeps, GiB (least recently used images go first).
	#[arg(long, default_value_t = 32)]
	image_cache_gib: u64,
	/// With `--microvm`: emulate (QEMU's TCG) where KVM cannot boot a guest: same isolation,
	/// far slower.
	#[arg(long, requires = "microvm")]
	microvm_tcg: bool,
	/// A public address of this host to dedicate to one service at a time (give it once per
	/// address; with `--service`): a service whose spec asks for a public IP is served on
	/// its port 80, with its SSH gateway on its port 22. The miner registers how many it has
	/// and checks at start that it can listen on both ports of each.
	#[arg(long = "public-ip", value_name = "ADDR", requires = "service")]
	public_ip: Vec<std::net::IpAddr>,
}

pub async fn run(cli: &Cli, m: &Miner) -> Result<()> {
	match m {
		Miner::Run(a) => {
			let chain = connect(cli).await?;
			let key = signer(cli)?;
			agents::run_miner(chain, key, config(a)?, Arc::new(WasmExecutor::new()?)).await
		},
		// `main` runs it before the async runtime starts; kept here for completeness.
		Miner::Factor { n } => factor(cli, n),
	}
}

fn config(a: &MinerArgs) -> Result<agents::MinerConfig> {
	Ok(agents::MinerConfig {
		resources: Resources {
			cpu_millicores: a.cpu_millicores,
			memory_mib: a.memory_mib,
			storage_gib: a.storage_gib,
			gpus: a.gpus,
		},
		price_floor: parse_cu(&a.price_floor).context("--price-floor")?,
		endpoint: a.endpoint.clone(),
		bond: parse_cu(&a.bond).context("--bond")?,
		batch: true,
		service: a.service,
		limits: Limits {
			fuel: a.fuel,
			memory_bytes: a.memory_limit_mib << 20,
			time: Duration::from_secs(a.time_limit),
			scratch_bytes: a.scratch_mib << 20,
			..Limits::default()
		},
		data_dir: a.data_dir.clone(),
		#[cfg(target_os = "linux")]
		containers: containers(a)?,
		#[cfg(target_os = "linux")]
		public_ips: a.public_ip.clone(),
	})
}

/// The image tiers `--containers` and `--microvm` ask for, each checked at start.
#[cfg(target_os = "linux")]
fn containers(a: &MinerArgs) -> Result<Option<agents::Containers>> {
	if !a.containers && !a.microvm {
		return Ok(None);
	}
	let sandbox = a
		.containers
		.then(|| {
			// The sandbox's helper is this binary (`cutopia __sandbox`).
			plexus::container::ContainerExecutor::new(
				std::env::current_exe().context("cannot find the cutopia binary")?,
			)
			.context("--containers")
		})
		.transpose()?;
	let microvm = a
		.microvm
		.then(|| {
			let vm =
				plexus::container::MicroVmExecutor::detect(a.microvm_tcg).context("--microvm")?;
			tracing::info!(target: "cutopia::miner", "microVM guests boot with {:?}", vm.accel());
			anyhow::Ok(vm)
		})
		.transpose()?;
	let mut images = plexus::container::Images::new(a.data_dir.join("images"))?;
	images.max_cached = a.image_cache_gib << 30;
	Ok(Some(agents::Containers { images, sandbox, microvm }))
}

/// Offline, so that a miner can time its solver on a modulus before it competes.
pub fn factor(cli: &Cli, n: &str) -> Result<()> {
	let n = BigUint::from_str(n.trim()).map_err(|_| anyhow!("`{n}` is not a decimal number"))?;
	let started = std::time::Instant::now();
	let (p, q) = cutopia_factor::split(&n)?;
	let ms = started.elapsed().as_secs_f64() * 1e3;
	out(cli, json!({ "p": p.to_string(), "q": q.to_string(), "ms": ms }), || format!("{p} {q}"));
	Ok(())
}
