//! `cutopia`: the command line of the CuTopia marketplace — wallet, buyer (client), miner,
//! exchange and escrow operator. Every command takes `--json` for scripts.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use num_bigint::BigUint;
use plexus::{
	agents,
	chain::{AccountId32, Chain, H256},
	cutopia::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_indenture::types::IndentureInfo,
			pallet_repchain::types::{Resources, Role},
			sp_arithmetic::per_things::{Perbill, Permill},
		},
	},
	exec::{Limits, WasmExecutor},
	format_cu, keys, parse_cu,
	spec::SpecFile,
};
use serde_json::{json, Value};
use std::{path::PathBuf, str::FromStr, sync::Arc, time::Duration};
use subxt_signer::sr25519::Keypair;

#[derive(Parser)]
#[command(
	name = "cutopia",
	version,
	about = "CuTopia marketplace: wallet, client, miner, exchange and escrow commands"
)]
struct Cli {
	/// The node's RPC endpoint.
	#[arg(long, global = true, env = "CUTOPIA_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// Signing key as a secret URI: `//Alice` (dev), a mnemonic, `0x<seed>`, with optional
	/// `//hard/soft` derivation.
	#[arg(long, global = true, env = "CUTOPIA_KEY", hide_env_values = true)]
	key: Option<String>,
	/// Signing key from a keystore file (`cutopia wallet new --keystore`, or a polkadot.js
	/// account export); the password comes from CUTOPIA_PASSWORD.
	#[arg(long, global = true, env = "CUTOPIA_KEYSTORE")]
	keystore: Option<PathBuf>,
	/// Print JSON instead of text.
	#[arg(long, global = true)]
	json: bool,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Keys, balances, transfers and the CuToken bridge.
	#[command(subcommand)]
	Wallet(Wallet),
	/// Buy compute: price, submit, follow, accept or dispute, rate, fetch results.
	#[command(subcommand)]
	Client(Client),
	/// Sell compute.
	#[command(subcommand)]
	Miner(Miner),
	/// List indentures and issue their factorization challenges.
	#[command(subcommand)]
	Exchange(Exchange),
	/// Arbitrate disputes as an escrow operator.
	#[command(subcommand)]
	Escrow(Escrow),
}

#[derive(Subcommand)]
enum Wallet {
	/// A new key from the OS random source: prints the address and mnemonic, or seals it in
	/// a keystore file (password from CUTOPIA_PASSWORD) with `--out`.
	New {
		#[arg(long)]
		out: Option<PathBuf>,
	},
	/// The address of the signing key.
	Address,
	/// Free balance (of the signing key, or of ADDRESS).
	Balance { address: Option<String> },
	/// Send AMOUNT CU to ADDRESS (keeps the sender's account alive).
	Transfer { to: String, amount: String },
	/// Bridge CU back to Ethereum: burns AMOUNT here; relayers sign the release.
	Withdraw {
		/// Ethereum recipient (0x…, 20 bytes).
		#[arg(long)]
		eth: String,
		amount: String,
	},
	/// The bridge's totals, this key's withdrawals with their relayer signatures, and with
	/// `--deposit N` whether the vault's deposit N is minted here yet.
	BridgeStatus {
		#[arg(long)]
		deposit: Option<u64>,
	},
}

#[derive(Args, Clone)]
struct SpecArgs {
	/// Task module (.wasm or .wat), inlined when ≤ 4 KiB.
	#[arg(long)]
	module: Option<String>,
	/// Task URI (file:// or http://) instead of a module; needs --hash.
	#[arg(long)]
	uri: Option<String>,
	/// SHA-256 of the module at --uri.
	#[arg(long)]
	hash: Option<String>,
	/// batch or service.
	#[arg(long = "type")]
	task_type: Option<String>,
	#[arg(long)]
	cpu_millicores: Option<u32>,
	#[arg(long)]
	memory_mib: Option<u32>,
	#[arg(long)]
	storage_gib: Option<u32>,
	#[arg(long)]
	gpus: Option<u32>,
	#[arg(long)]
	nodes: Option<u32>,
	/// none, per-node or per-cluster.
	#[arg(long)]
	public_ip: Option<String>,
	/// Lease length in blocks.
	#[arg(long)]
	duration: Option<u32>,
	/// Price in CU (exchange and escrow fees come on top).
	#[arg(long)]
	incentive: Option<String>,
	#[arg(long)]
	priority: Option<u8>,
	/// Lowest miner reputation, parts per million.
	#[arg(long)]
	min_reputation: Option<u32>,
	/// Exchange address.
	#[arg(long)]
	exchange: Option<String>,
	/// Escrow operator address.
	#[arg(long)]
	escrow_operator: Option<String>,
	/// hash-target or factorization.
	#[arg(long)]
	challenge: Option<String>,
	/// Miners whose results must agree.
	#[arg(long)]
	replicas: Option<u32>,
	#[arg(long)]
	ssh_key: Option<String>,
}

impl From<SpecArgs> for SpecFile {
	fn from(a: SpecArgs) -> Self {
		SpecFile {
			module: a.module,
			uri: a.uri,
			hash: a.hash,
			task_type: a.task_type,
			cpu_millicores: a.cpu_millicores,
			memory_mib: a.memory_mib,
			storage_gib: a.storage_gib,
			gpus: a.gpus,
			nodes: a.nodes,
			public_ip: a.public_ip,
			duration: a.duration,
			incentive: a.incentive,
			priority: a.priority,
			min_reputation: a.min_reputation,
			exchange: a.exchange,
			escrow_operator: a.escrow_operator,
			challenge: a.challenge,
			replicas: a.replicas,
			ssh_key: a.ssh_key,
		}
	}
}

#[derive(Subcommand)]
enum Client {
	/// The indicative price of resources for a number of blocks.
	Price {
		#[arg(long, default_value_t = 1000)]
		cpu_millicores: u32,
		#[arg(long, default_value_t = 512)]
		memory_mib: u32,
		#[arg(long, default_value_t = 1)]
		storage_gib: u32,
		#[arg(long, default_value_t = 0)]
		gpus: u32,
		#[arg(long)]
		duration: u32,
	},
	/// Submit an indenture from a TOML file and/or flags (flags win); prints its id.
	Submit {
		file: Option<PathBuf>,
		#[command(flatten)]
		spec: Box<SpecArgs>,
	},
	/// The open queue in priority order; with `--follow`, then every Indenture event as
	/// blocks arrive.
	Queue {
		#[arg(long)]
		follow: bool,
	},
	/// An indenture's state (or its record once ended).
	Status { id: u64 },
	/// Follow an indenture until it ends or its result waits for you, printing each change.
	Watch {
		id: u64,
		/// Give up after this many seconds.
		#[arg(long, default_value_t = 3600)]
		timeout: u64,
	},
	/// Cancel an open indenture (refunds what no miner has earned).
	Cancel { id: u64 },
	/// Accept the result: the escrow pays out.
	Accept { id: u64 },
	/// Dispute the result: the escrow operator decides.
	Dispute { id: u64 },
	/// Rate a miner of an ended indenture, 1 to 5.
	Rate { id: u64, miner: String, stars: u8 },
	/// Fetch the result from a miner's endpoint and check it against the hash on chain.
	Result {
		id: u64,
		/// Write it here instead of stdout.
		#[arg(long)]
		out: Option<PathBuf>,
	},
}

#[derive(Subcommand)]
enum Miner {
	/// Register if needed, then compete for work, run it, answer heartbeats and report
	/// results, until stopped. Safe to restart: state is read back from the chain.
	Run(MinerArgs),
	/// Factor a challenge modulus offline and print `p q`.
	Factor { n: String },
}

#[derive(Args)]
struct MinerArgs {
	/// host:port where this miner serves results (registered on RepChain).
	#[arg(long, default_value = "127.0.0.1:7070")]
	endpoint: String,
	#[arg(long, default_value_t = 4000)]
	cpu_millicores: u32,
	#[arg(long, default_value_t = 8192)]
	memory_mib: u32,
	#[arg(long, default_value_t = 50)]
	storage_gib: u32,
	#[arg(long, default_value_t = 0)]
	gpus: u32,
	/// Lowest price per compute unit accepted, in CU.
	#[arg(long, default_value = "0")]
	price_floor: String,
	/// RepChain bond when registering, CU.
	#[arg(long, default_value = "100")]
	bond: String,
	/// Take service tasks too (heartbeats only: this miner runs batch Wasm).
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
	/// Where state and results are kept.
	#[arg(long, default_value = "cutopia-miner")]
	data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Exchange {
	/// Register if needed, then issue factorization challenges and reveal them for audit.
	Run {
		/// Fee on the incentive, percent.
		#[arg(long, default_value = "5")]
		fee_percent: f64,
		#[arg(long, default_value = "cutopia-exchange")]
		name: String,
		#[arg(long, default_value = "127.0.0.1:7080")]
		endpoint: String,
		#[arg(long, default_value = "100")]
		bond: String,
		#[arg(long, default_value = "cutopia-exchange")]
		data_dir: PathBuf,
	},
}

#[derive(Subcommand)]
enum Escrow {
	/// Register as an escrow operator on RepChain.
	Register {
		/// Fee on the incentive, percent.
		#[arg(long, default_value = "1")]
		fee_percent: f64,
		#[arg(long, default_value = "cutopia-escrow")]
		name: String,
		#[arg(long, default_value = "127.0.0.1:7090")]
		endpoint: String,
		#[arg(long, default_value = "100")]
		bond: String,
	},
	/// Decide a dispute: the miners get MINER_SHARE percent, the buyer the rest.
	Resolve {
		id: u64,
		#[arg(long)]
		miner_share: f64,
	},
}

fn signer(cli: &Cli) -> Result<Keypair> {
	match (&cli.key, &cli.keystore) {
		(Some(_), Some(_)) => bail!("give --key or --keystore, not both"),
		(Some(uri), None) => keys::from_uri(uri),
		(None, Some(path)) => {
			let pw = std::env::var("CUTOPIA_PASSWORD")
				.map_err(|_| anyhow!("set CUTOPIA_PASSWORD to open {}", path.display()))?;
			keys::open(path, &pw)
		},
		(None, None) => {
			bail!("this command signs: give --key (e.g. //Alice on a dev chain) or --keystore")
		},
	}
}

fn account(s: &str) -> Result<AccountId32> {
	AccountId32::from_str(s).map_err(|e| anyhow!("`{s}` is not an address: {e}"))
}

fn percent(p: f64, what: &str) -> Result<u32> {
	if !(0.0..=100.0).contains(&p) {
		bail!("{what} is a percentage from 0 to 100");
	}
	Ok((p * 10_000.0).round() as u32)
}

/// Prints `value` as JSON, or `text` for people.
fn out(cli: &Cli, value: Value, text: impl FnOnce() -> String) {
	if cli.json {
		println!("{value}");
	} else {
		println!("{}", text());
	}
}

async fn indenture_json(chain: &Chain, id: u64) -> Result<Value> {
	chain.call("indenture_get", vec![id.into()]).await
}

#[tokio::main]
async fn main() {
	let cli = Cli::parse();
	if let Err(e) = run(&cli).await {
		if cli.json {
			println!("{}", json!({ "error": format!("{e:#}") }));
		}
		eprintln!("error: {e:#}");
		std::process::exit(1);
	}
}

async fn run(cli: &Cli) -> Result<()> {
	match &cli.command {
		Command::Wallet(Wallet::New { out: path }) => {
			let phrase = keys::new_mnemonic()?;
			let pair = keys::from_uri(&phrase)?;
			let address = pair.public_key().to_account_id().to_string();
			match path {
				Some(p) => {
					let pw = std::env::var("CUTOPIA_PASSWORD")
						.map_err(|_| anyhow!("set CUTOPIA_PASSWORD to seal the keystore"))?;
					keys::write_private(p, &keys::seal(&phrase, &pw)?)?;
					out(cli, json!({ "address": address, "keystore": p }), || {
						format!("address {address}\nkeystore {} (mode 0600)", p.display())
					});
				},
				None => out(cli, json!({ "address": address, "mnemonic": phrase }), || {
					format!("address  {address}\nmnemonic {phrase}\nKeep the mnemonic secret: it is the key.")
				}),
			}
			return Ok(());
		},
		Command::Wallet(Wallet::Address) => {
			let a = signer(cli)?.public_key().to_account_id().to_string();
			out(cli, json!({ "address": a }), || a.clone());
			return Ok(());
		},
		Command::Miner(Miner::Factor { n }) => {
			let n = BigUint::from_str(n.trim())
				.map_err(|_| anyhow!("`{n}` is not a decimal number"))?;
			let started = std::time::Instant::now();
			let (p, q) = cutopia_factor::split(&n)?;
			let ms = started.elapsed().as_secs_f64() * 1e3;
			out(cli, json!({ "p": p.to_string(), "q": q.to_string(), "ms": ms }), || {
				format!("{p} {q}")
			});
			return Ok(());
		},
		_ => {},
	}

	let chain = Chain::connect(&cli.url).await?;
	match &cli.command {
		Command::Wallet(w) => wallet(cli, &chain, w).await,
		Command::Client(c) => client(cli, &chain, c).await,
		Command::Miner(Miner::Run(a)) => {
			let key = signer(cli)?;
			let cfg = agents::MinerConfig {
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
					..Limits::default()
				},
				data_dir: a.data_dir.clone(),
			};
			agents::run_miner(chain, key, cfg, Arc::new(WasmExecutor::new()?)).await
		},
		Command::Exchange(Exchange::Run { fee_percent, name, endpoint, bond, data_dir }) => {
			let key = signer(cli)?;
			let cfg = agents::ExchangeConfig {
				fee: Permill(percent(*fee_percent, "--fee-percent")?),
				name: name.clone(),
				endpoint: endpoint.clone(),
				bond: parse_cu(bond).context("--bond")?,
				data_dir: data_dir.clone(),
			};
			agents::run_exchange(chain, key, cfg).await
		},
		Command::Escrow(Escrow::Register { fee_percent, name, endpoint, bond }) => {
			let key = signer(cli)?;
			let tx = cutopia::transactions().rep_chain().register_service(
				Role::EscrowOperator,
				Permill(percent(*fee_percent, "--fee-percent")?),
				BoundedVec(name.as_bytes().to_vec()),
				BoundedVec(endpoint.as_bytes().to_vec()),
				parse_cu(bond).context("--bond")?,
			);
			let inc = chain.submit(&tx, &key).await?;
			let who = key.public_key().to_account_id().to_string();
			out(cli, json!({ "address": who, "block": inc.block }), || {
				format!("{who} registered as escrow operator `{name}` ({fee_percent}% fee)")
			});
			Ok(())
		},
		Command::Escrow(Escrow::Resolve { id, miner_share }) => {
			let key = signer(cli)?;
			let share = Perbill(percent(*miner_share, "--miner-share")? * 1000);
			let inc =
				chain.submit(&cutopia::transactions().escrow().resolve(*id, share), &key).await?;
			out(cli, json!({ "id": id, "block": inc.block, "minerShare": miner_share }), || {
				format!("escrow {id} resolved: {miner_share}% to the miners")
			});
			Ok(())
		},
		Command::Miner(Miner::Factor { .. }) => unreachable!("handled before connecting"),
	}
}

async fn wallet(cli: &Cli, chain: &Chain, w: &Wallet) -> Result<()> {
	match w {
		Wallet::Balance { address } => {
			let who = match address {
				Some(a) => account(a)?,
				None => signer(cli)?.public_key().to_account_id(),
			};
			let free = chain.free(&who).await?;
			out(cli, json!({ "address": who.to_string(), "free": free.to_string() }), || {
				format!("{} CU", format_cu(free))
			});
		},
		Wallet::Transfer { to, amount } => {
			let key = signer(cli)?;
			let (dest, value) = (account(to)?, parse_cu(amount)?);
			let tx = cutopia::transactions().balances().transfer_keep_alive(dest.into(), value);
			let inc = chain.submit(&tx, &key).await?;
			out(cli, json!({ "block": inc.block, "fee": inc.fee().to_string() }), || {
				format!("sent {} CU to {to} (fee {} CU)", format_cu(value), format_cu(inc.fee()))
			});
		},
		Wallet::Withdraw { eth, amount } => {
			let key = signer(cli)?;
			let to = subxt::utils::H160::from_str(eth)
				.map_err(|e| anyhow!("`{eth}` is not an Ethereum address: {e}"))?;
			let value = parse_cu(amount)?;
			let inc =
				chain.submit(&cutopia::transactions().bridge().withdraw(to, value), &key).await?;
			let nonce = inc
				.find::<cutopia::bridge::events::WithdrawalRequested>()
				.map(|e| e.nonce)
				.ok_or_else(|| anyhow!("no WithdrawalRequested event"))?;
			out(cli, json!({ "nonce": nonce, "block": inc.block }), || {
				format!(
					"withdrawal {nonce}: {} CU burned; relayers sign its release to {eth}",
					format_cu(value)
				)
			});
		},
		Wallet::BridgeStatus { deposit } => {
			let me = signer(cli).ok().map(|k| k.public_key().to_account_id());
			let (_, at) = chain.at_best().await?;
			let minted = at
				.storage()
				.fetch(cutopia::storage().bridge().total_minted(), ())
				.await?
				.decode()?;
			let burned = at
				.storage()
				.fetch(cutopia::storage().bridge().total_burned(), ())
				.await?
				.decode()?;
			let mut mine = Vec::new();
			let mut all = at.storage().iter(cutopia::storage().bridge().withdrawals(), ()).await?;
			while let Some(e) = all.next().await {
				let e = e?;
				let w = e.value().decode()?;
				if Some(&w.who) == me.as_ref() {
					let (nonce,) = e.key()?.decode()?;
					mine.push(json!({
						"nonce": nonce, "to": format!("{:?}", w.to), "amount": w.amount.to_string(),
						"signatures": w.signatures.0.len(),
					}));
				}
			}
			let deposit_state = match deposit {
				Some(n) => {
					let minted = at
						.storage()
						.try_fetch(cutopia::storage().bridge().processed(), (*n,))
						.await?
						.is_some();
					let mut votes = 0;
					let mut all =
						at.storage().iter(cutopia::storage().bridge().votes(), (*n,)).await?;
					while let Some(v) = all.next().await {
						v?;
						votes += 1;
					}
					Some(json!({ "nonce": n, "minted": minted, "votes": votes }))
				},
				None => None,
			};
			let v = json!({ "totalMinted": minted.to_string(), "totalBurned": burned.to_string(), "withdrawals": mine, "deposit": deposit_state });
			out(cli, v.clone(), || {
				let mut s =
					format!("minted {} CU, burned {} CU", format_cu(minted), format_cu(burned));
				if let Some(d) = &deposit_state {
					s += &format!(
						"\ndeposit {}: {}",
						d["nonce"],
						if d["minted"] == true {
							"minted".to_string()
						} else {
							format!("not minted yet ({} relayer votes)", d["votes"])
						}
					);
				}
				for w in &mine {
					s += &format!(
						"\nwithdrawal {} → {}: {} base units, {} signatures",
						w["nonce"], w["to"], w["amount"], w["signatures"]
					);
				}
				s
			});
		},
		Wallet::New { .. } | Wallet::Address => unreachable!("handled without a chain"),
	}
	Ok(())
}

async fn client(cli: &Cli, chain: &Chain, c: &Client) -> Result<()> {
	match c {
		Client::Price { cpu_millicores, memory_mib, storage_gib, gpus, duration } => {
			let v: Value = chain
				.call(
					"indenture_indicativePrice",
					vec![
						json!({ "cpuMillicores": cpu_millicores, "memoryMib": memory_mib, "storageGib": storage_gib, "gpus": gpus }),
						json!(duration),
					],
				)
				.await?;
			out(cli, v.clone(), || {
				let cu =
					|k: &str| format_cu(v[k].as_str().and_then(|s| s.parse().ok()).unwrap_or(0));
				format!(
					"{} compute units: indicative price {} CU, minimum incentive {} CU",
					v["computeUnits"],
					cu("price"),
					cu("minimumIncentive")
				)
			});
		},
		Client::Submit { file, spec } => {
			let (base, from_file) = match file {
				Some(f) => (f.parent().map(PathBuf::from).unwrap_or_default(), SpecFile::read(f)?),
				None => (PathBuf::from("."), SpecFile::default()),
			};
			let spec = from_file.overlay((**spec).clone().into()).build(&base)?;
			let key = signer(cli)?;
			let inc = chain.submit(&cutopia::transactions().indenture().submit(spec), &key).await?;
			let ev = inc
				.find::<cutopia::indenture::events::Submitted>()
				.ok_or_else(|| anyhow!("no Submitted event"))?;
			out(
				cli,
				json!({ "id": ev.id, "held": ev.held.to_string(), "block": inc.block }),
				|| {
					format!(
						"indenture {} submitted; {} CU held in escrow",
						ev.id,
						format_cu(ev.held)
					)
				},
			);
		},
		Client::Queue { follow } => {
			let ids: Value = chain.call("indenture_queue", vec![]).await?;
			out(cli, json!({ "queue": ids }), || format!("open: {ids}"));
			if *follow {
				let json = cli.json;
				chain
					.follow_indenture_events(|block, e| {
						let text = format!("{e:?}");
						let name = text.split([' ', '{', '(']).next().unwrap_or("").to_string();
						if json {
							println!(
								"{}",
								json!({ "block": block, "event": name, "detail": text })
							);
						} else {
							println!("#{block} {text}");
						}
						true
					})
					.await?;
			}
		},
		Client::Status { id } => {
			let v = indenture_json(chain, *id).await?;
			if v.is_null() {
				bail!("no indenture {id}");
			}
			let (now, _) = chain.best().await?;
			out(cli, v.clone(), || table(&v, now.into()));
		},
		Client::Watch { id, timeout } => {
			let deadline = std::time::Instant::now() + Duration::from_secs(*timeout);
			let mut last = String::new();
			loop {
				let v = indenture_json(chain, *id).await?;
				if v.is_null() {
					bail!("no indenture {id}");
				}
				let (now, _) = chain.best().await?;
				let line = describe(&v, now.into());
				if line != last {
					out(cli, v.clone(), || line.clone());
					last = line;
				}
				if v.get("record").is_some() {
					return Ok(());
				}
				// A single-replica result waits for the buyer: accept or dispute it.
				if v["status"] == "Reported" {
					if !cli.json {
						println!("the result is in: fetch it with `cutopia client result {id}`, then `client accept {id}` or `client dispute {id}`");
					}
					return Ok(());
				}
				if std::time::Instant::now() > deadline {
					bail!("indenture {id} has not ended after {timeout} s");
				}
				tokio::time::sleep(Duration::from_secs(1)).await;
			}
		},
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
		Client::Accept { id } => {
			chain.submit(&cutopia::transactions().escrow().accept(*id), &signer(cli)?).await?;
			out(cli, json!({ "id": id, "accepted": true }), || {
				format!("indenture {id}: result accepted, escrow settled")
			});
		},
		Client::Dispute { id } => {
			chain.submit(&cutopia::transactions().escrow().dispute(*id), &signer(cli)?).await?;
			out(cli, json!({ "id": id, "disputed": true }), || {
				format!("indenture {id}: disputed; the escrow operator decides")
			});
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
		Client::Result { id, out: path } => {
			let (_, at) = chain.at_best().await?;
			let info =
				at.runtime_apis().call(cutopia::runtime_apis().indenture_api().get(*id)).await?;
			let Some(IndentureInfo::Active { indenture, slots }) = info else {
				bail!("indenture {id} is not active: results are fetched while its miners still serve them");
			};
			let hash: H256 = indenture
				.result
				.ok_or_else(|| anyhow!("indenture {id} has no agreed result yet"))?;
			let mut errors = Vec::new();
			for (_, slot) in &slots {
				let Some(access) = &slot.access else { continue };
				let endpoint = String::from_utf8_lossy(&access.endpoint.0).into_owned();
				match plexus::results::fetch(&endpoint, *id, &hash.0).await {
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
		},
	}
	Ok(())
}

/// `[#####.....] 5/10` for `done` of `total`.
fn bar(done: u64, total: u64) -> String {
	let total = total.max(1);
	let done = done.min(total);
	let filled = (done * 10 / total) as usize;
	format!("[{}{}] {done}/{total}", "#".repeat(filled), ".".repeat(10 - filled))
}

/// A slot's lease progress at block `now`, while its lease runs.
fn progress(slot: &Value, now: u64) -> Option<String> {
	if !slot["ended"].is_null() {
		return None;
	}
	let (start, end) = (slot["access"]["start"].as_u64()?, slot["access"]["end"].as_u64()?);
	Some(bar(now.saturating_sub(start), end.saturating_sub(start)))
}

fn cu(v: &Value) -> String {
	format_cu(v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// One line about an indenture, from `indenture_get`, with lease progress at block `now`.
fn describe(v: &Value, now: u64) -> String {
	if let Some(r) = v.get("record") {
		return format!(
			"indenture {}: {} — paid to miners {} CU, refunded {} CU",
			r["cid"],
			r["status"].as_str().unwrap_or("?"),
			cu(&r["paidToMiners"]),
			cu(&r["refunded"]),
		);
	}
	let slots: Vec<String> = v["slots"]
		.as_array()
		.map(|s| {
			s.iter()
				.map(|s| {
					let miner = s["miner"].as_str().map(|m| &m[..8.min(m.len())]).unwrap_or("open");
					let lease = progress(s, now).map(|p| format!(" {p}")).unwrap_or_default();
					let ended = match s["ended"]["failed"].as_bool() {
						Some(true) => " ended (failed)",
						Some(false) => " ended",
						None => "",
					};
					let result = if s["result"].is_null() { "" } else { " result" };
					format!("slot {}: {miner}{lease}{ended}{result}", s["index"])
				})
				.collect()
		})
		.unwrap_or_default();
	format!("indenture {}: {} [{}]", v["id"], v["status"].as_str().unwrap_or("?"), slots.join(", "))
}

/// A table of an indenture and its slots, from `indenture_get`, at block `now`.
fn table(v: &Value, now: u64) -> String {
	if v.get("record").is_some() {
		let r = &v["record"];
		return format!(
			"{}\nclient   {}\nsellers  {}\nended at block {} after {} blocks",
			describe(v, now),
			r["client"].as_str().unwrap_or("?"),
			r["sellers"]
				.as_array()
				.map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
				.unwrap_or_default(),
			r["time"],
			r["duration"],
		);
	}
	let spec = &v["spec"];
	let mut out = format!(
		"indenture {}  {}  (block {now})\nbuyer     {}\nincentive {} CU + fees {} CU (exchange) {} CU (escrow)\ntask      {} {}, {} blocks, {} replica(s), {} challenge\n",
		v["id"],
		v["status"].as_str().unwrap_or("?"),
		v["buyer"].as_str().unwrap_or("?"),
		cu(&spec["incentive"]),
		cu(&v["exchangeFee"]),
		cu(&v["escrowFee"]),
		spec["taskType"].as_str().unwrap_or("?"),
		spec["task"].as_object().and_then(|t| t.keys().next().cloned()).unwrap_or_default(),
		spec["duration"],
		spec["replicas"],
		spec["challenge"].as_str().unwrap_or("?"),
	);
	out +=
		&format!("{:<5} {:<49} {:<22} {:<18} {}\n", "slot", "miner", "endpoint", "lease", "result");
	for s in v["slots"].as_array().into_iter().flatten() {
		let result = match (&s["result"]["sealed"], &s["result"]["revealed"]) {
			(Value::String(_), _) => "sealed".to_string(),
			(_, Value::String(h)) => format!("revealed {}…", &h[..h.len().min(12)]),
			_ => "-".to_string(),
		};
		out += &format!(
			"{:<5} {:<49} {:<22} {:<18} {}\n",
			s["index"],
			s["miner"].as_str().unwrap_or("(open)"),
			s["access"]["endpoint"].as_str().unwrap_or("-"),
			progress(s, now).unwrap_or_else(|| "-".into()),
			result
		);
	}
	out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn status_is_a_table_with_lease_progress() {
		assert_eq!(bar(5, 10), "[#####.....] 5/10");
		assert_eq!(bar(15, 10), "[##########] 10/10");
		assert_eq!(bar(0, 0), "[..........] 0/1");
		let v = json!({
			"id": 3, "status": "Leased", "buyer": "5Grw", "exchangeFee": "100", "escrowFee": "20",
			"spec": { "incentive": "2000000000000000000", "taskType": "Batch", "task": { "inline": "0x00" },
				"duration": 10, "replicas": 1, "challenge": "HashTarget" },
			"slots": [{ "index": 0, "miner": "5DAA", "access": { "start": 100, "end": 110, "endpoint": "127.0.0.1:7070" },
				"result": { "sealed": "0xab" } }],
		});
		let t = table(&v, 104);
		assert!(t.contains("indenture 3  Leased"), "{t}");
		assert!(t.contains("incentive 2 CU"), "{t}");
		assert!(
			t.contains("[####......] 4/10") && t.contains("sealed") && t.contains("127.0.0.1:7070"),
			"{t}"
		);
		assert!(
			describe(&v, 104).contains("slot 0: 5DAA [####......] 4/10 result"),
			"{}",
			describe(&v, 104)
		);
	}
}
