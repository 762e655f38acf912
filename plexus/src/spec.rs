//! Indentures as users write them: a TOML file (or the same fields as CLI flags), checked
//! here before anything is signed so that mistakes come back as messages, not fees.
//!
//! ```toml
//! module = "hello.wat"          # .wasm or .wat, inlined when it fits 4 KiB; or:
//! # uri = "https://example.org/task.wasm"   (hash = SHA-256 of the module, hex); or a
//! # container: a root filesystem archive (tar or tar.zst) and the command run in it:
//! # image = "https://example.org/busybox.tar.zst"   (hash = SHA-256 of the archive, hex)
//! # command = ["/bin/sh", "-c", "echo hello"]
//! type = "batch"                # or "service"
//! executor = "container"        # "wasm" for modules (the default); for images "container"
//!                               # (the default: a container or a microVM runs it) or "microvm"
//! cpu_millicores = 1000
//! memory_mib = 512
//! storage_gib = 1
//! gpus = 0
//! nodes = 1
//! public_ip = "none"            # "per-node", "per-cluster"
//! duration = 20                 # blocks
//! incentive = "2"               # CU, fees on top
//! priority = 0
//! min_reputation = 0            # parts per million
//! exchange = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
//! escrow_operator = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
//! challenge = "hash-target"     # or "factorization"
//! replicas = 1
//! ssh_key = "ssh-ed25519 AAAA..."
//! ```

use crate::{
	cutopia::runtime_types::{
		bounded_collections::bounded_vec::BoundedVec,
		cutopia_primitives::types::{ChallengeKind, Executor, PublicIp, Resources},
		pallet_indenture::types::{IndentureSpec, Task, TaskType},
		sp_arithmetic::per_things::Permill,
	},
	parse_cu,
};
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::{path::Path, str::FromStr};
use subxt::utils::{AccountId32, H256};

/// Largest module carried inline in the indenture (the pallet's bound).
pub const MAX_INLINE: usize = 4096;

/// An indenture's fields, from TOML or flags; [`SpecFile::build`] checks and converts them.
///
/// One struct serves both: serde reads it from a file and clap parses the same fields as
/// flags (`cutopia client submit --duration 10 …`), so the two can never disagree. Every
/// field is optional here; `build` names what is missing.
#[derive(clap::Args, Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
	/// Task module (.wasm or .wat), inlined when ≤ 4 KiB.
	#[arg(long)]
	pub module: Option<String>,
	/// Task URI (file://, http:// or https://) instead of a module; needs --hash.
	#[arg(long)]
	pub uri: Option<String>,
	/// SHA-256 of the module at --uri or of the archive at --image.
	#[arg(long)]
	pub hash: Option<String>,
	/// Container image: URI of a root filesystem archive (tar or tar.zst); needs --hash and
	/// --command.
	#[arg(long)]
	pub image: Option<String>,
	/// The container's program and arguments (up to 16 of ≤ 128 bytes), e.g.
	/// `--command /bin/sh -c 'echo hi'`.
	#[arg(long, num_args = 1.., allow_hyphen_values = true)]
	pub command: Option<Vec<String>>,
	/// batch or service.
	#[serde(rename = "type")]
	#[arg(long = "type")]
	pub task_type: Option<String>,
	/// How the task must run: wasm (modules), container or microvm (images; a miner offering
	/// microVMs takes container work too). Defaults to wasm for a module, container for an
	/// image.
	#[arg(long)]
	pub executor: Option<String>,
	/// CPU per node, thousandths of a core.
	#[arg(long)]
	pub cpu_millicores: Option<u32>,
	/// Memory per node, MiB.
	#[arg(long)]
	pub memory_mib: Option<u32>,
	/// Storage per node, GiB.
	#[arg(long)]
	pub storage_gib: Option<u32>,
	/// GPUs per node.
	#[arg(long)]
	pub gpus: Option<u32>,
	/// Number of nodes.
	#[arg(long)]
	pub nodes: Option<u32>,
	/// none, per-node or per-cluster.
	#[arg(long)]
	pub public_ip: Option<String>,
	/// Lease length in blocks.
	#[arg(long)]
	pub duration: Option<u32>,
	/// Price in CU (exchange and escrow fees come on top).
	#[arg(long)]
	pub incentive: Option<String>,
	/// Queue priority, 0 to 255 (higher is served first).
	#[arg(long)]
	pub priority: Option<u8>,
	/// Lowest miner reputation, parts per million.
	#[arg(long)]
	pub min_reputation: Option<u32>,
	/// Exchange address.
	#[arg(long)]
	pub exchange: Option<String>,
	/// Escrow operator address.
	#[arg(long)]
	pub escrow_operator: Option<String>,
	/// hash-target or factorization.
	#[arg(long)]
	pub challenge: Option<String>,
	/// Miners whose results must agree.
	#[arg(long)]
	pub replicas: Option<u32>,
	/// The buyer's SSH public key, handed to miners as access metadata (≤ 512 bytes).
	#[arg(long)]
	pub ssh_key: Option<String>,
}

impl SpecFile {
	/// Reads a TOML file; unknown keys and wrong types are errors naming the line.
	pub fn read(path: &Path) -> Result<Self> {
		let text = std::fs::read_to_string(path)
			.with_context(|| format!("cannot read {}", path.display()))?;
		toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
	}

	/// `other`'s fields where given, else ours (flags over a file).
	pub fn overlay(self, other: SpecFile) -> SpecFile {
		// A struct literal, so that a field added above and forgotten here does not compile.
		macro_rules! pick {
			($($f:ident),*) => { SpecFile { $($f: other.$f.or(self.$f)),* } };
		}
		pick!(
			module,
			uri,
			hash,
			image,
			command,
			task_type,
			executor,
			cpu_millicores,
			memory_mib,
			storage_gib,
			gpus,
			nodes,
			public_ip,
			duration,
			incentive,
			priority,
			min_reputation,
			exchange,
			escrow_operator,
			challenge,
			replicas,
			ssh_key
		)
	}

	/// The chain's `IndentureSpec`. Relative module paths are taken from `base`.
	pub fn build(&self, base: &Path) -> Result<IndentureSpec<AccountId32, u128>> {
		let hash = |what: &str| -> Result<H256> {
			let hash = self
				.hash
				.as_deref()
				.ok_or_else(|| anyhow!("`{what}` needs `hash` (SHA-256, hex)"))?;
			H256::from_str(hash).map_err(|e| anyhow!("bad `hash` {hash}: {e}"))
		};
		let uri_of = |what: &str, uri: &str| -> Result<BoundedVec<u8>> {
			if uri.is_empty() || uri.len() > 256 {
				bail!("`{what}` must have 1 to 256 bytes");
			}
			Ok(BoundedVec(uri.as_bytes().to_vec()))
		};
		let task = match (&self.module, &self.uri, &self.image) {
			(Some(m), None, None) => {
				let path = base.join(m);
				let src = std::fs::read(&path)
					.with_context(|| format!("cannot read module {}", path.display()))?;
				let wasm = crate::exec::wasm_bytes(&src)
					.with_context(|| format!("module {}", path.display()))?;
				if wasm.len() > MAX_INLINE {
					bail!(
						"module {} is {} bytes compiled; at most {MAX_INLINE} go inline: host it and give `uri` and `hash`",
						path.display(),
						wasm.len()
					);
				}
				Task::Inline(BoundedVec(wasm))
			},
			(None, Some(uri), None) => Task::Wasm { hash: hash("uri")?, uri: uri_of("uri", uri)? },
			(None, None, Some(image)) => Task::Container {
				hash: hash("image")?,
				uri: uri_of("image", image)?,
				command: container_command(self.command.as_deref())?,
			},
			(None, None, None) => bail!(
				"no task: give `module` (a .wasm or .wat file), `uri` and `hash`, or `image`, \
				 `hash` and `command`"
			),
			_ => bail!("give one of `module`, `uri` or `image`, not several"),
		};
		if self.command.is_some() && self.image.is_none() {
			bail!("`command` is for container tasks: give `image` too");
		}
		let task_type = match self.task_type.as_deref().unwrap_or("batch") {
			"batch" => TaskType::Batch,
			"service" => TaskType::Service,
			other => bail!("`type` is `batch` or `service`, not `{other}`"),
		};
		let executor = match self.executor.as_deref() {
			None if matches!(task, Task::Container { .. }) => Executor::Container,
			None => Executor::Wasm,
			Some(name) => parse_executor(name).map_err(|e| anyhow!("`executor`: {e}"))?,
		};
		match (&task, &executor) {
			(Task::Container { .. }, Executor::Wasm) => {
				bail!(
					"`executor = \"wasm\"` runs modules: an image runs as `container` or `microvm`"
				)
			},
			(Task::Inline(_) | Task::Wasm { .. }, Executor::Container | Executor::MicroVm) => {
				bail!(
				"`executor = \"{}\"` runs images: give `image`, `hash` and `command`, or leave \
				 `executor` out for a module",
				executor_name(&executor)
			)
			},
			_ => {},
		}
		let public_ip = match self.public_ip.as_deref().unwrap_or("none") {
			"none" => PublicIp::None,
			"per-node" => PublicIp::PerNode,
			"per-cluster" => PublicIp::PerCluster,
			other => bail!("`public_ip` is `none`, `per-node` or `per-cluster`, not `{other}`"),
		};
		let from_image = matches!(executor, Executor::Container | Executor::MicroVm);
		if !(matches!(public_ip, PublicIp::None)
			|| matches!(task_type, TaskType::Service) && from_image)
		{
			bail!(
				"`public_ip` is for a service from an image (`type = \"service\"` with `image`): \
				 a batch task or a Wasm module has no port to reach"
			);
		}
		let challenge = match self.challenge.as_deref().unwrap_or("hash-target") {
			"hash-target" => ChallengeKind::HashTarget,
			"factorization" => ChallengeKind::Factorization,
			other => bail!("`challenge` is `hash-target` or `factorization`, not `{other}`"),
		};
		let account = |field: &str, v: &Option<String>| -> Result<AccountId32> {
			let v =
				v.as_deref().ok_or_else(|| anyhow!("`{field}` is required (an SS58 address)"))?;
			AccountId32::from_str(v).map_err(|e| anyhow!("`{field}` {v} is not an address: {e}"))
		};
		let incentive = parse_cu(
			self.incentive.as_deref().ok_or_else(|| anyhow!("`incentive` is required (CU)"))?,
		)
		.context("`incentive`")?;
		let min_reputation = self.min_reputation.unwrap_or(0);
		if min_reputation > 1_000_000 {
			bail!("`min_reputation` is in parts per million: at most 1000000");
		}
		let ssh_key = match &self.ssh_key {
			Some(k) if k.len() > 512 => bail!("`ssh_key` is longer than 512 bytes"),
			Some(k) if russh::keys::PublicKey::from_openssh(k.trim()).is_err() => bail!(
				"`ssh_key` is not an OpenSSH public key line (like `ssh-ed25519 AAAA… you@host`, \
				 the contents of a `.pub` file)"
			),
			Some(k) => Some(BoundedVec(k.as_bytes().to_vec())),
			None => None,
		};
		Ok(IndentureSpec {
			task,
			task_type,
			executor,
			resources: Resources {
				cpu_millicores: self.cpu_millicores.unwrap_or(1000),
				memory_mib: self.memory_mib.unwrap_or(512),
				storage_gib: self.storage_gib.unwrap_or(1),
				gpus: self.gpus.unwrap_or(0),
			},
			nodes: self.nodes.unwrap_or(1),
			public_ip,
			duration: self.duration.ok_or_else(|| anyhow!("`duration` (blocks) is required"))?,
			incentive,
			priority: self.priority.unwrap_or(0),
			min_reputation: Permill(min_reputation),
			exchange: account("exchange", &self.exchange)?,
			escrow_operator: account("escrow_operator", &self.escrow_operator)?,
			challenge,
			replicas: self.replicas.unwrap_or(1),
			ssh_key,
		})
	}
}

/// An executor as users write it (`wasm`, `container`, `microvm`).
pub fn executor_name(e: &Executor) -> &'static str {
	match e {
		Executor::Wasm => "wasm",
		Executor::Container => "container",
		Executor::MicroVm => "microvm",
	}
}

/// The executor a user named, or what the names are.
pub fn parse_executor(name: &str) -> Result<Executor> {
	[Executor::Wasm, Executor::Container, Executor::MicroVm]
		.into_iter()
		.find(|e| executor_name(e) == name)
		.ok_or_else(|| anyhow!("`{name}` is not an executor: `wasm`, `container` or `microvm`"))
}

/// Whether a miner offering `offered` can take work needing `need` (`service`: work that
/// keeps running): the chain's rule ([`cutopia_primitives::Executor::serves`]).
pub fn serves(offered: &Executor, need: &Executor, service: bool) -> bool {
	own(offered).serves(own(need), service)
}

/// Whether `offered` covers `need` in every dimension: the chain's rule, on the client's types.
pub fn covers(offered: &Resources, need: &Resources) -> bool {
	let own = |r: &Resources| cutopia_primitives::Resources {
		cpu_millicores: r.cpu_millicores,
		memory_mib: r.memory_mib,
		storage_gib: r.storage_gib,
		gpus: r.gpus,
	};
	own(offered).covers(&own(need))
}

/// The client's executor as the chain's rules take it.
fn own(e: &Executor) -> cutopia_primitives::Executor {
	match e {
		Executor::Wasm => cutopia_primitives::Executor::Wasm,
		Executor::Container => cutopia_primitives::Executor::Container,
		Executor::MicroVm => cutopia_primitives::Executor::MicroVm,
	}
}

/// Most arguments of a container's command, and bytes of each (the pallet's bounds).
pub const MAX_ARGS: usize = 16;
pub const MAX_ARG: usize = 128;

/// A container command as the chain holds it, its bounds checked here.
fn container_command(command: Option<&[String]>) -> Result<BoundedVec<BoundedVec<u8>>> {
	let command = command.unwrap_or_default();
	match command.first() {
		None => bail!("`image` needs `command`: the program to run and its arguments"),
		Some(p) if p.is_empty() => bail!("`command` starts with an empty program name"),
		_ => {},
	}
	if command.len() > MAX_ARGS {
		bail!("`command` has {} parts; at most {MAX_ARGS}", command.len());
	}
	if let Some(long) = command.iter().find(|a| a.len() > MAX_ARG) {
		bail!(
			"`command` part {long:?} is {} bytes; at most {MAX_ARG} (put longer scripts in the image)",
			long.len()
		);
	}
	Ok(BoundedVec(command.iter().map(|a| BoundedVec(a.as_bytes().to_vec())).collect()))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_toml_file_becomes_a_spec_and_mistakes_are_named() {
		let dir = std::env::temp_dir().join(format!("plexus-spec-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		std::fs::write(dir.join("t.wat"), "(module (func (export \"_start\")))").unwrap();
		let text = r#"
			module = "t.wat"
			duration = 20
			incentive = "2.5"
			exchange = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
			escrow_operator = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
			replicas = 2
		"#;
		std::fs::write(dir.join("a.toml"), text).unwrap();
		let spec = SpecFile::read(&dir.join("a.toml")).unwrap().build(&dir).unwrap();
		assert_eq!(spec.incentive, 2 * crate::CU + crate::CU / 2);
		assert_eq!(spec.replicas, 2);
		assert!(matches!(spec.task, Task::Inline(ref b) if b.0.starts_with(b"\0asm")));

		std::fs::write(dir.join("b.toml"), "duration = \"soon\"").unwrap();
		let e = SpecFile::read(&dir.join("b.toml")).unwrap_err().to_string();
		assert!(e.contains("duration"), "{e}");
		std::fs::write(dir.join("c.toml"), "colour = 1").unwrap();
		let e = SpecFile::read(&dir.join("c.toml")).unwrap_err().to_string();
		assert!(e.contains("colour"), "{e}");
		let no_task = SpecFile { duration: Some(1), ..Default::default() };
		assert!(no_task.build(&dir).unwrap_err().to_string().contains("no task"));
		let bad = SpecFile::read(&dir.join("a.toml"))
			.unwrap()
			.overlay(SpecFile { challenge: Some("lottery".into()), ..Default::default() });
		assert!(bad.build(&dir).unwrap_err().to_string().contains("lottery"));
		let image = |command: Option<Vec<&str>>| SpecFile {
			image: Some("http://127.0.0.1:1/busybox.tar".into()),
			hash: Some(format!("0x{}", "ab".repeat(32))),
			command: command.map(|c| c.into_iter().map(String::from).collect()),
			..SpecFile::read(&dir.join("a.toml")).unwrap()
		};
		let err = |s: SpecFile| s.build(&dir).unwrap_err().to_string();
		let spec = SpecFile { module: None, ..image(Some(vec!["/bin/sh", "-c", "echo hi"])) }
			.build(&dir)
			.unwrap();
		assert!(
			matches!(spec.task, Task::Container { ref command, .. } if command.0.len() == 3 && command.0[2].0 == b"echo hi")
		);
		assert!(err(image(Some(vec!["/bin/sh"]))).contains("not several"));
		assert!(err(SpecFile { module: None, ..image(None) }).contains("needs `command`"));
		assert!(err(SpecFile { module: None, ..image(Some(vec![""])) }).contains("empty program"));
		let long = "x".repeat(129);
		assert!(err(SpecFile { module: None, ..image(Some(vec!["sh", &long])) }).contains("128"));
		assert!(err(SpecFile { module: None, ..image(Some(vec!["a"; 17])) }).contains("16"));
		assert!(err(SpecFile {
			command: Some(vec!["sh".into()]),
			..SpecFile::read(&dir.join("a.toml")).unwrap()
		})
		.contains("`image` too"));
		// The executor: taken from the task unless named, and named only where it runs it.
		assert_eq!(spec.executor, Executor::Container);
		let a = || SpecFile::read(&dir.join("a.toml")).unwrap();
		assert_eq!(a().build(&dir).unwrap().executor, Executor::Wasm);
		let vm = SpecFile {
			module: None,
			executor: Some("microvm".into()),
			..image(Some(vec!["/bin/sh"]))
		};
		assert_eq!(vm.build(&dir).unwrap().executor, Executor::MicroVm);
		let named = |e: &str| SpecFile { executor: Some(e.into()), ..a() };
		assert!(err(named("docker")).contains("`docker` is not an executor"));
		assert!(err(named("container")).contains("runs images"));
		assert!(
			err(SpecFile { executor: Some("wasm".into()), ..vm.clone() }).contains("runs modules")
		);
		// A service may ask for a guest of its own.
		let vm_service = SpecFile { task_type: Some("service".into()), ..vm.clone() };
		let built = vm_service.build(&dir).unwrap();
		assert_eq!((built.executor, built.task_type), (Executor::MicroVm, TaskType::Service));
		// A public address only for a service from an image.
		let per_node = |s: SpecFile| SpecFile { public_ip: Some("per-node".into()), ..s };
		let built = per_node(vm_service.clone()).build(&dir).unwrap();
		assert!(matches!(built.public_ip, PublicIp::PerNode));
		assert!(err(per_node(vm)).contains("for a service from an image"));
		let wasm_service = SpecFile { task_type: Some("service".into()), ..a() };
		assert!(err(per_node(wasm_service)).contains("for a service from an image"));
		assert!(err(SpecFile { public_ip: Some("yes".into()), ..vm_service })
			.contains("`none`, `per-node` or `per-cluster`"));
		std::fs::remove_dir_all(&dir).unwrap();
	}

	#[test]
	fn a_microvm_serves_container_work_and_nothing_else_stands_in() {
		use Executor::*;
		let served = |service| -> Vec<_> {
			[Wasm, Container, MicroVm]
				.iter()
				.flat_map(|o| [Wasm, Container, MicroVm].map(|n| serves(o, &n, service)))
				.collect()
		};
		assert_eq!(served(false), [true, false, false, false, true, false, false, true, true]);
		assert_eq!(served(true), [true, false, false, false, true, false, false, false, true]);
		for e in [Wasm, Container, MicroVm] {
			assert_eq!(parse_executor(executor_name(&e)).unwrap(), e);
		}
	}
}
