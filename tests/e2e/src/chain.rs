//! Typed-enough access to a running chain through subxt for end-to-end tests: signed
//! extrinsics that wait for a best block and return their events, balances and storage at
//! the best block (subxt's own "current block" is the finalized one, which lags).

use serde_json::json;
use subxt::{
	dynamic::{self, At, Value},
	transactions::TransactionStatus,
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::Keypair;

/// A connected subxt client.
pub type Api = OnlineClient<PolkadotConfig>;
/// Decoded fields of an event or a storage value.
pub type Fields = Value<()>;

/// `blake2_256` of `data`.
pub fn blake2_256(data: &[u8]) -> [u8; 32] {
	sp_crypto_hashing::blake2_256(data)
}

/// Prints a measurement as `E2E-METRIC name value` (collected from `scripts/test.sh` output).
pub fn metric(name: &str, value: impl std::fmt::Display) {
	println!("E2E-METRIC {name} {value}");
}

/// A multi-threaded tokio runtime for a test.
pub fn runtime() -> tokio::runtime::Runtime {
	tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

/// Every primitive inside `v` as bytes, in order (for `[u8; 32]`, `H256`, `AccountId32`).
pub fn bytes(v: &Fields) -> Vec<u8> {
	pub fn walk(v: &Fields, out: &mut Vec<u8>) {
		match &v.value {
			scale_value::ValueDef::Primitive(p) => {
				out.push(p.as_u128().expect("a byte") as u8);
			},
			scale_value::ValueDef::Composite(c) => c.values().for_each(|x| walk(x, out)),
			scale_value::ValueDef::Variant(var) => var.values.values().for_each(|x| walk(x, out)),
			_ => {},
		}
	}
	let mut out = Vec::new();
	walk(v, &mut out);
	out
}

/// The unsigned number in `field` of `v`.
pub fn uint(v: &Fields, field: &str) -> u128 {
	v.at(field).and_then(|x| x.as_u128()).unwrap_or_else(|| panic!("no number `{field}` in {v}"))
}

/// What an extrinsic caused: its events as `(pallet, name, fields)`, the block it is in.
pub struct Included {
	/// `(pallet, event, fields)`.
	pub events: Vec<(String, String, Fields)>,
	/// Hash of the block it is in.
	pub block: [u8; 32],
}

impl Included {
	/// Its events `pallet.name`.
	pub fn find(&self, pallet: &str, name: &str) -> Vec<&Fields> {
		self.events.iter().filter(|(p, n, _)| p == pallet && n == name).map(|e| &e.2).collect()
	}

	/// Its first event `pallet.name`; panics naming the events there were.
	pub fn one(&self, pallet: &str, name: &str) -> &Fields {
		self.find(pallet, name)
			.first()
			.copied()
			.unwrap_or_else(|| panic!("no {pallet}.{name} event among {:?}", self.names()))
	}

	/// `pallet.name` of each of its events.
	pub fn names(&self) -> Vec<String> {
		self.events.iter().map(|(p, n, _)| format!("{p}.{n}")).collect()
	}

	/// The fee this extrinsic paid.
	pub fn fee(&self) -> u128 {
		uint(self.one("TransactionPayment", "TransactionFeePaid"), "actual_fee")
	}
}

/// Signs and submits `tx` with the pool-aware nonce (`system_accountNextIndex`: the signer's
/// earlier transactions may not be finalized yet), waits until it is in a best block, and
/// fails on a dispatch error.
pub async fn send(
	api: &Api,
	port: u16,
	tx: &impl subxt::tx::Payload,
	signer: &Keypair,
) -> Included {
	let who = signer.public_key().to_account_id().to_string();
	let nonce = crate::rpc_call(port, "system_accountNextIndex", json!([who]))
		.expect("accountNextIndex")
		.as_u64()
		.expect("a nonce");
	let params =
		subxt::config::PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new().nonce(nonce).build();
	let mut progress = api
		.transactions()
		.await
		.expect("transactions client")
		.sign_and_submit_then_watch(tx, signer, params)
		.await
		.expect("submit");
	while let Some(status) = progress.next().await {
		match status.expect("transaction status") {
			TransactionStatus::InBestBlock(b) | TransactionStatus::InFinalizedBlock(b) => {
				let events = b.wait_for_success().await.expect("extrinsic succeeded");
				let mut out = Vec::new();
				for ev in events.iter() {
					let ev = ev.expect("event");
					let fields = ev.decode_fields_unchecked_as::<Fields>().expect("fields");
					out.push((ev.pallet_name().to_string(), ev.event_name().to_string(), fields));
				}
				return Included { events: out, block: b.block_hash().0 };
			},
			TransactionStatus::Error { message }
			| TransactionStatus::Invalid { message }
			| TransactionStatus::Dropped { message } => panic!("transaction failed: {message}"),
			_ => {},
		}
	}
	panic!("transaction status stream ended");
}

/// The best block's hash, from the node's JSON-RPC (subxt's `at_current_block` is the
/// finalized one, which lags two or three blocks).
pub fn best(port: u16) -> subxt::utils::H256 {
	let hash = crate::rpc_call(port, "chain_getBlockHash", json!([])).expect("best hash");
	hash.as_str().expect("a string").parse().expect("a block hash")
}

/// The state at the best block. A best block read over JSON-RPC can be replaced by a sibling
/// of the same height (the dev chain's author under load) before subxt asks for its header:
/// asked again, a few times, rather than failing the test on the race.
async fn at_best(api: &Api, port: u16) -> subxt::client::OnlineClientAtBlock<PolkadotConfig> {
	let mut tries = 0;
	loop {
		match api.at_block(best(port)).await {
			Ok(at) => return at,
			Err(e) if tries < 5 => {
				tries += 1;
				eprintln!("best block gone before it was read ({e}); again");
				tokio::time::sleep(std::time::Duration::from_millis(300)).await;
			},
			Err(e) => panic!("best block: {e:?}"),
		}
	}
}

/// The balances of `who` (`System.Account`'s `data`) at the best block.
async fn account_data(api: &Api, port: u16, who: [u8; 32]) -> Fields {
	let addr = dynamic::storage::<([u8; 32],), Fields>("System", "Account");
	let at = at_best(api, port).await;
	let info = at.storage().fetch(addr, (who,)).await.expect("fetch").decode().expect("decode");
	info.at("data").expect("data").clone()
}

/// Free balance of `who` at the best block.
pub async fn free(api: &Api, port: u16, who: [u8; 32]) -> u128 {
	uint(&account_data(api, port, who).await, "free")
}

/// The value of `pallet.entry` under `key` at the best block.
pub async fn storage(api: &Api, port: u16, pallet: &str, entry: &str, key: u64) -> Fields {
	let addr = dynamic::storage::<(u64,), Fields>(pallet, entry);
	let at = at_best(api, port).await;
	at.storage().fetch(addr, (key,)).await.expect("fetch").decode().expect("decode")
}

/// A dynamic extrinsic.
pub fn tx(pallet: &str, call: &str, fields: Vec<Value>) -> impl subxt::tx::Payload {
	dynamic::transaction(pallet, call, fields)
}

/// A variant without fields.
pub fn variant(name: &str) -> Value {
	Value::unnamed_variant(name, [])
}

/// The 32 account bytes of a key.
pub fn account(k: &Keypair) -> [u8; 32] {
	k.public_key().0
}

/// The value of the plain storage item `pallet.entry` at the best block.
pub async fn storage_plain(api: &Api, port: u16, pallet: &str, entry: &str) -> Fields {
	let addr = dynamic::storage::<(), Fields>(pallet, entry);
	let at = at_best(api, port).await;
	at.storage().fetch(addr, ()).await.expect("fetch").decode().expect("decode")
}

/// The value of `pallet.entry` under `key` at the best block, decoded into `T` (fields of the
/// stored type that `T` does not name are skipped).
pub async fn storage_as<T: scale_decode::DecodeAsType>(
	api: &Api,
	port: u16,
	pallet: &str,
	entry: &str,
	key: u64,
) -> T {
	let addr = dynamic::storage::<(u64,), T>(pallet, entry);
	let at = at_best(api, port).await;
	at.storage().fetch(addr, (key,)).await.expect("fetch").decode().expect("decode")
}

/// Free plus reserved balance of `who` at the best block (bonds are reserved, not spent).
pub async fn total(api: &Api, port: u16, who: [u8; 32]) -> u128 {
	let data = account_data(api, port, who).await;
	uint(&data, "free") + uint(&data, "reserved")
}

/// Transaction fees each account paid in blocks `from..=to` of the best chain.
pub async fn fees_between(
	api: &Api,
	port: u16,
	from: u64,
	to: u64,
) -> std::collections::BTreeMap<[u8; 32], u128> {
	let mut fees = std::collections::BTreeMap::new();
	for n in from..=to {
		let hash = crate::rpc_call(port, "chain_getBlockHash", json!([n])).expect("block hash");
		let hash: subxt::utils::H256 =
			hash.as_str().expect("a hash").parse().expect("a block hash");
		let at = api.at_block(hash).await.expect("block");
		let events = at.events().fetch().await.expect("events");
		for ev in events.iter() {
			let ev = ev.expect("event");
			if ev.pallet_name() == "TransactionPayment" && ev.event_name() == "TransactionFeePaid" {
				let fields = ev.decode_fields_unchecked_as::<Fields>().expect("fields");
				let who: [u8; 32] =
					bytes(fields.at("who").expect("who")).try_into().expect("32 bytes");
				*fees.entry(who).or_default() += uint(&fields, "actual_fee");
			}
		}
	}
	fees
}
