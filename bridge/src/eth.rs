//! The Ethereum side: the followed head, the vault's `Deposited` logs, and the receipt checks
//! that keep a clone contract or a failed transaction from being attested.

use crate::{error::SetupError, quorum};
use alloy::{
	primitives::{Address, B256, U256},
	providers::{DynProvider, Provider, ProviderBuilder},
	rpc::types::{BlockNumberOrTag, Filter, Log},
	sol,
	sol_types::SolEvent,
};
use thiserror::Error;
use tracing::warn;

sol! {
	event Deposited(uint64 indexed nonce, address indexed from, bytes32 recipient, uint256 amount);
	event Transfer(address indexed from, address indexed to, uint256 value);
	event Refunded(uint64 indexed nonce, uint64 depositNonce, bytes32 recipient, uint256 amount);
	#[sol(rpc)]
	interface IVault {
		function token() external view returns (address);
		function setId() external view returns (uint64);
		function depositNonce() external view returns (uint64);
		function released(uint64 nonce) external view returns (bool);
	}
	#[sol(rpc)]
	interface IERC20 {
		function balanceOf(address who) external view returns (uint256);
	}
}

/// Errors of the Ethereum node. The foreign errors are boxed to keep every `Result` small.
#[derive(Debug, Error)]
pub enum EthError {
	#[error(transparent)]
	Rpc(Box<alloy::transports::TransportError>),
	#[error(transparent)]
	Call(Box<alloy::contract::Error>),
	#[error(transparent)]
	Sign(Box<alloy::signers::Error>),
	#[error("the Ethereum node has no finalized block")]
	NoFinalizedBlock,
	#[error("a log without a block number")]
	LogWithoutBlock,
	#[error("a deposit's receipt is missing")]
	MissingReceipt,
	#[error("the Ethereum node left out the vault's deposits {from}..{to} (a lagging or lying provider); scanning the range again")]
	MissingDeposits { from: u64, to: u64 },
	#[error("the Ethereum providers disagree on {what}; asking again")]
	ProvidersDisagree { what: String },
	#[error("only {answered} Ethereum provider(s) answered about {what}, {k} must agree")]
	NoQuorum { what: &'static str, k: usize, answered: usize },
	#[error("the provider's followed head went back from {from} to {to}")]
	HeadWentBack { from: u64, to: u64 },
	#[error("the provider has not reached block {0} yet")]
	NotThere(u64),
}

impl From<alloy::transports::TransportError> for EthError {
	fn from(e: alloy::transports::TransportError) -> Self {
		Self::Rpc(Box::new(e))
	}
}

impl From<alloy::contract::Error> for EthError {
	fn from(e: alloy::contract::Error) -> Self {
		Self::Call(Box::new(e))
	}
}

impl From<alloy::signers::Error> for EthError {
	fn from(e: alloy::signers::Error) -> Self {
		Self::Sign(Box::new(e))
	}
}

/// A `Deposited` log; attested only after [`Eth::verify`] accepts its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
	pub block: u64,
	pub nonce: u64,
	pub from: Address,
	pub recipient: [u8; 32],
	pub amount: u128,
	pub tx_hash: B256,
	/// The withdrawal a refund deposit (from the vault itself) refunds, once its receipt is
	/// checked (see [`Proof::Refund`]).
	pub refund_of: Option<u64>,
}

/// One `--eth-rpc` endpoint.
struct Source {
	url: String,
	provider: DynProvider,
}

/// The vault as seen through one or several Ethereum nodes: every read that decides a vote is
/// asked of all of them and believed only when `quorum` agree (see [`crate::quorum`]).
pub struct Eth {
	sources: Vec<Source>,
	/// Each provider's followed head at its last answer: a read about block B counts only
	/// the providers that have followed B themselves, so a lagging provider on a fork that a
	/// liar copies cannot make a quorum for it.
	heads: std::sync::Mutex<Vec<Option<u64>>>,
	quorum: usize,
	vault: Address,
	token: Address,
	chain_id: u64,
	confirmations: Option<u64>,
}

impl Eth {
	/// Connects to every `urls` endpoint and reads the vault's token and the chain id: at
	/// least `quorum` providers must answer, and all that answer must report them alike (a
	/// provider on another network or an endpoint typo stops the relayer at start rather than
	/// quietly costing the quorum a member); one that is down is warned about and used once
	/// it answers.
	pub async fn connect(
		urls: &[String],
		quorum: Option<usize>,
		vault: Address,
		confirmations: Option<u64>,
	) -> Result<Self, SetupError> {
		if urls.is_empty() {
			return Err(SetupError::flag("--eth-rpc", "no endpoint given"));
		}
		let n = urls.len();
		let quorum = quorum.unwrap_or(n / 2 + 1);
		if quorum == 0 || quorum > n {
			return Err(SetupError::flag(
				"--eth-quorum",
				format!("{quorum} of {n} providers: it must be 1..={n}"),
			));
		}
		let mut sources = Vec::with_capacity(n);
		let mut first: Option<(Address, u64, &String)> = None;
		let mut answered = 0;
		for url in urls {
			let provider = ProviderBuilder::new()
				.connect_http(url.parse().map_err(|e| SetupError::flag("--eth-rpc", e))?)
				.erased();
			let read = async {
				let token = IVault::new(vault, &provider)
					.token()
					.call()
					.await
					.map_err(|e| SetupError::Token { vault, source: Box::new(e) })?;
				let chain_id = provider
					.get_chain_id()
					.await
					.map_err(|e| SetupError::EthChainId(format!("{url}: {e}")))?;
				Ok::<_, SetupError>((token, chain_id))
			};
			match (read.await, first) {
				(Err(e), _) if n == 1 => return Err(e),
				(Err(e), _) => warn!("Ethereum provider {url} did not answer at start: {e}"),
				(Ok((token, chain_id)), None) => {
					first = Some((token, chain_id, url));
					answered += 1;
				},
				(Ok((token, chain_id)), Some((t, c, _))) if (t, c) == (token, chain_id) => {
					answered += 1
				},
				(Ok((token, chain_id)), Some((t, c, other))) => {
					return Err(SetupError::flag(
						"--eth-rpc",
						format!("{url} reports token {token} on chain {chain_id}, {other} reports token {t} on chain {c}: all providers must serve the same network"),
					))
				},
			}
			sources.push(Source { url: url.clone(), provider });
		}
		let Some((token, chain_id, _)) = first.filter(|_| answered >= quorum) else {
			return Err(SetupError::flag(
				"--eth-rpc",
				format!("{answered} of {n} providers answered at start, {quorum} must"),
			));
		};
		let heads = std::sync::Mutex::new(vec![None; n]);
		Ok(Self { sources, heads, quorum, vault, token, chain_id, confirmations })
	}

	pub fn token(&self) -> Address {
		self.token
	}

	/// The Ethereum chain id all providers reported at start.
	pub fn chain_id(&self) -> u64 {
		self.chain_id
	}

	/// `(providers, quorum)`.
	pub fn providers(&self) -> (usize, usize) {
		(self.sources.len(), self.quorum)
	}

	/// `f`'s answer from every provider, in `--eth-rpc` order, asked at the same time; with
	/// `at = Some(block)` only from the providers whose followed head has reached `block`
	/// (the others answer [`EthError::NotThere`]).
	async fn ask<T, F, Fut>(&self, at: Option<u64>, f: F) -> Vec<Result<T, EthError>>
	where
		F: Fn(DynProvider) -> Fut,
		Fut: std::future::Future<Output = Result<T, EthError>>,
	{
		let there: Vec<bool> = {
			let heads = self.heads.lock().unwrap_or_else(|e| e.into_inner());
			heads.iter().map(|h| at.is_none_or(|block| h.is_some_and(|h| h >= block))).collect()
		};
		let reads = self.sources.iter().zip(there).map(|(s, there)| {
			let read = there.then(|| f(s.provider.clone()));
			async move {
				match read {
					Some(read) => read.await,
					None => Err(EthError::NotThere(at.unwrap_or_default())),
				}
			}
		});
		futures::future::join_all(reads).await
	}

	/// The value `quorum` providers that have followed block `at` agree on; the others are
	/// named in the log.
	async fn agree<T, F, Fut>(&self, what: &'static str, at: u64, f: F) -> Result<T, EthError>
	where
		T: PartialEq,
		F: Fn(DynProvider) -> Fut,
		Fut: std::future::Future<Output = Result<T, EthError>>,
	{
		let agreed = quorum::agreed(self.ask(Some(at), f).await, self.quorum, what)?;
		self.name_dissent(what, &agreed.dissent);
		Ok(agreed.value)
	}

	fn name_dissent(&self, what: &str, dissent: &[usize]) {
		for i in dissent {
			warn!("Ethereum provider {} disagrees with the quorum on {what}", self.sources[*i].url);
		}
	}

	/// `Some(N)` when following `latest − N` on a chain without finality.
	pub fn confirmations(&self) -> Option<u64> {
		self.confirmations
	}

	/// The Ethereum block to follow: finalized, or latest − confirmations; with several
	/// providers, the highest such block that `quorum` of them have reached. A provider whose
	/// finalized head goes back is not believed (and named); `quorum` of them doing so is
	/// [`EthError::HeadWentBack`], which stops the relayer.
	pub async fn followed_head(&self) -> Result<u64, EthError> {
		let confirmations = self.confirmations;
		let answers = self
			.ask(None, |p| async move {
				Ok(match confirmations {
					Some(c) => p.get_block_number().await?.saturating_sub(c),
					None => {
						p.get_block_by_number(BlockNumberOrTag::Finalized)
							.await?
							.ok_or(EthError::NoFinalizedBlock)?
							.header
							.number
					},
				})
			})
			.await;
		let (answers, went_back) = {
			let mut last = self.heads.lock().unwrap_or_else(|e| e.into_inner());
			quorum::track_heads(&mut last, answers, confirmations.is_none())
		};
		for (i, from, to) in &went_back {
			warn!(
				"Ethereum provider {}'s finalized head went back from {from} to {to}: not believed",
				self.sources[*i].url
			);
		}
		if went_back.len() >= self.quorum {
			let (_, from, to) = went_back[0];
			return Err(EthError::HeadWentBack { from, to });
		}
		quorum::kth_highest(answers, self.quorum, "the followed head")
	}

	/// The `Deposited` logs of blocks `from..=to`, still unverified: receipts are fetched only
	/// for deposits the chain still needs this relayer's vote on (see [`Self::verify`]).
	pub async fn deposits(&self, from: u64, to: u64) -> Result<Vec<Deposit>, EthError> {
		self.deposits_matching(Filter::new().from_block(from).to_block(to), Some(to)).await
	}

	/// The `Deposited` logs of blocks `from..=to` above the followed head, as `quorum`
	/// providers agree on them: for watching only, never attested.
	pub async fn unconfirmed_deposits(&self, from: u64, to: u64) -> Result<Vec<Deposit>, EthError> {
		self.deposits_matching(Filter::new().from_block(from).to_block(to), None).await
	}

	/// The vault's `Deposited` logs that `filter` (blocks, topics) selects, as `quorum`
	/// providers that have followed block `at` agree on them.
	async fn deposits_matching(
		&self,
		filter: Filter,
		at: Option<u64>,
	) -> Result<Vec<Deposit>, EthError> {
		let filter = filter.address(self.vault).event_signature(Deposited::SIGNATURE_HASH);
		let answers = self
			.ask(at, |p| {
				let filter = filter.clone();
				async move {
					let logs = p.get_logs(&filter).await?;
					let mut out = Vec::with_capacity(logs.len());
					for log in &logs {
						if let Some(d) = deposit_from_log(log)? {
							out.push(d);
						}
					}
					Ok(out)
				}
			})
			.await;
		let agreed = quorum::agreed_deposits(answers, self.quorum)?;
		self.name_dissent("the vault's deposits", &agreed.dissent);
		Ok(agreed.value)
	}

	/// The `Deposited` logs of vault nonces `nonces` (found by their indexed topic) in blocks
	/// `from..=to`: what a provider left out of a range, asked for again.
	pub async fn deposits_by_nonce(
		&self,
		nonces: std::ops::Range<u64>,
		from: u64,
		to: u64,
	) -> Result<Vec<Deposit>, EthError> {
		let topics: Vec<B256> = nonces.map(|n| B256::from(U256::from(n))).collect();
		self.deposits_matching(Filter::new().topic1(topics).from_block(from).to_block(to), Some(to))
			.await
	}

	/// The latest block number (the tip, whatever is followed) that `quorum` providers have.
	pub async fn latest(&self) -> Result<u64, EthError> {
		let tips = self.ask(None, |p| async move { Ok(p.get_block_number().await?) }).await;
		quorum::kth_highest(tips, self.quorum, "the latest block")
	}

	/// What the deposit's receipt proves (see [`receipt_proof`]), as `quorum` providers'
	/// receipts agree.
	pub async fn verify(&self, d: &Deposit) -> Result<Proof, EthError> {
		let (vault, token) = (self.vault, self.token);
		let proof = self
			.agree("a deposit's receipt", d.block, |p| async move {
				let receipt =
					p.get_transaction_receipt(d.tx_hash).await?.ok_or(EthError::MissingReceipt)?;
				Ok(receipt_proof(receipt.status(), receipt.inner.logs(), vault, token, d))
			})
			.await?;
		if proof == Proof::Nothing {
			warn!("deposit {} in {} fails the receipt checks; ignored", d.nonce, d.tx_hash);
		}
		Ok(proof)
	}

	/// The vault's `depositNonce` after block `block` (the nonce its next deposit gets), read
	/// from that block's state.
	pub async fn deposit_nonce_at(&self, block: u64) -> Result<u64, EthError> {
		let vault = self.vault;
		self.agree("the vault's deposit nonce", block, |p| async move {
			let at = alloy::eips::BlockId::number(block);
			Ok(IVault::new(vault, &p).depositNonce().block(at).call().await?)
		})
		.await
	}

	/// The relayer set id the vault checks signatures against, after block `block`.
	pub async fn vault_set_id(&self, block: u64) -> Result<u64, EthError> {
		let vault = self.vault;
		self.agree("the vault's set id", block, |p| async move {
			let at = alloy::eips::BlockId::number(block);
			Ok(IVault::new(vault, &p).setId().block(at).call().await?)
		})
		.await
	}

	/// Whether the vault paid withdrawal `nonce` (released or refunded it) by block `block`.
	/// Read at the followed head, not the tip: a payment a reorg may still take back must not
	/// stop the relayer from signing.
	pub async fn released(&self, nonce: u64, block: u64) -> Result<bool, EthError> {
		let vault = self.vault;
		self.agree("a withdrawal's release", block, |p| async move {
			let at = alloy::eips::BlockId::number(block);
			Ok(IVault::new(vault, &p).released(nonce).block(at).call().await?)
		})
		.await
	}

	/// The vault's token balance after block `block`, for the watchdog. Read at a given block
	/// so that providers at different tips still agree; `None`: at each provider's tip (only
	/// to confirm an alarm: providers at different tips may well disagree).
	pub async fn vault_balance(&self, block: Option<u64>) -> Result<U256, EthError> {
		let (vault, token) = (self.vault, self.token);
		let read = |p: DynProvider| async move {
			let at = block.map_or(alloy::eips::BlockId::latest(), alloy::eips::BlockId::number);
			Ok(IERC20::new(token, &p).balanceOf(vault).block(at).call().await?)
		};
		let agreed =
			quorum::agreed(self.ask(block, read).await, self.quorum, "the vault's balance")?;
		self.name_dissent("the vault's balance", &agreed.dissent);
		Ok(agreed.value)
	}
}

/// Checks that the `Deposited` logs of a range are every deposit the vault made in it: vault
/// nonces are consecutive, so a provider that leaves logs out (a lagging node answering `[]`,
/// a lying one) shows as a gap after `expected` (the nonce the range should start with, when
/// known) or as a range that ends below `after` (the vault's `depositNonce` at the range's end,
/// when known). Returns the nonce the next range starts with.
pub fn check_contiguous(
	logs: &[Deposit],
	expected: Option<u64>,
	after: Option<u64>,
) -> Result<Option<u64>, EthError> {
	let mut next = expected;
	for d in logs {
		if let Some(n) = next {
			if d.nonce > n {
				return Err(EthError::MissingDeposits { from: n, to: d.nonce });
			}
		}
		next = Some(next.map_or(d.nonce + 1, |n| n.max(d.nonce + 1)));
	}
	if let Some(after) = after {
		let seen = next.unwrap_or(after);
		if after > seen {
			return Err(EthError::MissingDeposits { from: seen, to: after });
		}
		next = Some(after);
	}
	Ok(next)
}

/// The deposit a `Deposited` log announces; `None` for a log to skip: removed by a reorg,
/// not decodable, or an amount no CU balance can hold.
pub fn deposit_from_log(log: &Log) -> Result<Option<Deposit>, EthError> {
	if log.removed {
		return Ok(None);
	}
	let Some(tx_hash) = log.transaction_hash else { return Ok(None) };
	let Ok(ev) = Deposited::decode_log(&log.inner) else { return Ok(None) };
	let Ok(amount) = u128::try_from(ev.amount) else { return Ok(None) };
	Ok(Some(Deposit {
		block: log.block_number.ok_or(EthError::LogWithoutBlock)?,
		nonce: ev.nonce,
		from: ev.from,
		recipient: ev.recipient.0,
		amount,
		tx_hash,
		refund_of: None,
	}))
}

/// What a deposit's receipt proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
	/// Tokens entered the vault for it.
	Deposit,
	/// The vault refunded withdrawal `withdrawal` with it: no tokens moved (the vault held
	/// them since the withdrawal's burn), so the chain must confirm it asked for that refund.
	Refund { withdrawal: u64 },
	/// Nothing: not attested.
	Nothing,
}

/// What a receipt proves about deposit `d`. Always: status 1 and the `Deposited` log of `d`'s
/// nonce emitted by the vault. A deposit: an ERC20 `Transfer` of the same amount from the
/// vault's token into the vault (a clone contract emitting the same event fails both). A
/// refund (a deposit *from the vault itself*): the vault's `Refunded` log naming this deposit
/// nonce, recipient and amount.
pub fn receipt_proof(
	status: bool,
	logs: &[Log],
	vault: Address,
	token: Address,
	d: &Deposit,
) -> Proof {
	let from_vault = logs.iter().any(|l| {
		l.address() == vault
			&& l.topics().first() == Some(&Deposited::SIGNATURE_HASH)
			&& Deposited::decode_log(&l.inner).is_ok_and(|e| e.nonce == d.nonce)
	});
	if !status || !from_vault {
		return Proof::Nothing;
	}
	if d.from == vault {
		let refunded = logs.iter().find_map(|l| {
			let e = Refunded::decode_log(&l.inner).ok().filter(|_| l.address() == vault)?;
			(e.depositNonce == d.nonce
				&& e.recipient.0 == d.recipient
				&& e.amount == U256::from(d.amount))
			.then_some(e.nonce)
		});
		return refunded.map_or(Proof::Nothing, |withdrawal| Proof::Refund { withdrawal });
	}
	let transferred = logs.iter().any(|l| {
		l.address() == token
			&& Transfer::decode_log(&l.inner)
				.is_ok_and(|t| t.to == vault && t.value == U256::from(d.amount))
	});
	if transferred {
		Proof::Deposit
	} else {
		Proof::Nothing
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloy::primitives::LogData;

	const VAULT: Address = Address::repeat_byte(0x11);
	const TOKEN: Address = Address::repeat_byte(0x22);
	const DEPOSITOR: Address = Address::repeat_byte(0x33);

	fn rpc_log(address: Address, data: LogData) -> Log {
		Log {
			inner: alloy::primitives::Log { address, data },
			block_number: Some(12),
			transaction_hash: Some(B256::repeat_byte(0x77)),
			..Default::default()
		}
	}

	fn deposited(nonce: u64, amount: U256) -> LogData {
		Deposited { nonce, from: DEPOSITOR, recipient: B256::repeat_byte(0xaa), amount }
			.encode_log_data()
	}

	fn transfer(to: Address, value: u128) -> LogData {
		Transfer { from: DEPOSITOR, to, value: U256::from(value) }.encode_log_data()
	}

	fn deposit(nonce: u64, amount: u128) -> Deposit {
		Deposit {
			block: 12,
			nonce,
			from: DEPOSITOR,
			recipient: [0xaa; 32],
			amount,
			tx_hash: B256::repeat_byte(0x77),
			refund_of: None,
		}
	}

	/// A receipt of a real deposit of `amount` with nonce 5.
	fn good_receipt(amount: u128) -> [Log; 2] {
		[rpc_log(TOKEN, transfer(VAULT, amount)), rpc_log(VAULT, deposited(5, U256::from(amount)))]
	}

	#[test]
	fn a_deposited_log_becomes_a_deposit() {
		let log = rpc_log(VAULT, deposited(5, U256::from(1_000u64)));
		assert_eq!(deposit_from_log(&log).unwrap(), Some(deposit(5, 1_000)));
	}

	#[test]
	fn removed_undecodable_and_oversized_logs_are_skipped() {
		let good = rpc_log(VAULT, deposited(5, U256::from(1_000u64)));
		let removed = Log { removed: true, ..good.clone() };
		assert_eq!(deposit_from_log(&removed).unwrap(), None);
		let no_tx = Log { transaction_hash: None, ..good };
		assert_eq!(deposit_from_log(&no_tx).unwrap(), None);
		// An amount above u128 cannot be minted: its encoding is not a CU amount.
		let huge = rpc_log(VAULT, deposited(5, U256::from(u128::MAX) + U256::from(1u8)));
		assert_eq!(deposit_from_log(&huge).unwrap(), None);
		// Truncated data: the amount word is cut off.
		let data = deposited(5, U256::from(1_000u64));
		let short = LogData::new_unchecked(data.topics().to_vec(), data.data[..40].to_vec().into());
		assert_eq!(deposit_from_log(&rpc_log(VAULT, short)).unwrap(), None);
		// Another event's topic under the vault's address.
		let wrong_topic = rpc_log(VAULT, transfer(VAULT, 1_000));
		assert_eq!(deposit_from_log(&wrong_topic).unwrap(), None);
	}

	#[test]
	fn a_log_without_a_block_number_is_an_error() {
		let log = Log { block_number: None, ..rpc_log(VAULT, deposited(5, U256::from(1u8))) };
		assert!(matches!(deposit_from_log(&log), Err(EthError::LogWithoutBlock)));
	}

	#[test]
	fn a_real_deposit_passes_the_receipt_checks() {
		assert_eq!(
			Proof::Deposit,
			receipt_proof(true, &good_receipt(1_000), VAULT, TOKEN, &deposit(5, 1_000))
		);
	}

	#[test]
	fn a_failed_transaction_or_another_deposit_is_refused() {
		let d = deposit(5, 1_000);
		assert_eq!(Proof::Nothing, receipt_proof(false, &good_receipt(1_000), VAULT, TOKEN, &d));
		// The receipt is another nonce's.
		assert_eq!(
			Proof::Nothing,
			receipt_proof(true, &good_receipt(1_000), VAULT, TOKEN, &deposit(6, 1_000))
		);
		// The transfer moved less than the event claims.
		assert_eq!(Proof::Nothing, receipt_proof(true, &good_receipt(999), VAULT, TOKEN, &d));
	}

	#[test]
	fn a_clone_contracts_event_is_refused() {
		let d = deposit(5, 1_000);
		let clone = Address::repeat_byte(0x99);
		// The Deposited log comes from another contract.
		let logs = [
			rpc_log(TOKEN, transfer(VAULT, 1_000)),
			rpc_log(clone, deposited(5, U256::from(1_000u64))),
		];
		assert_eq!(Proof::Nothing, receipt_proof(true, &logs, VAULT, TOKEN, &d));
		// The transfer is of another token.
		let logs = [
			rpc_log(clone, transfer(VAULT, 1_000)),
			rpc_log(VAULT, deposited(5, U256::from(1_000u64))),
		];
		assert_eq!(Proof::Nothing, receipt_proof(true, &logs, VAULT, TOKEN, &d));
		// The tokens went somewhere else than the vault.
		let logs = [
			rpc_log(TOKEN, transfer(clone, 1_000)),
			rpc_log(VAULT, deposited(5, U256::from(1_000u64))),
		];
		assert_eq!(Proof::Nothing, receipt_proof(true, &logs, VAULT, TOKEN, &d));
	}

	#[test]
	fn a_vault_log_with_the_wrong_topic_is_refused() {
		let d = deposit(5, 1_000);
		let real = deposited(5, U256::from(1_000u64));
		let mut topics = real.topics().to_vec();
		topics[0] = Transfer::SIGNATURE_HASH;
		let logs = [
			rpc_log(TOKEN, transfer(VAULT, 1_000)),
			rpc_log(VAULT, LogData::new_unchecked(topics, real.data)),
		];
		assert_eq!(Proof::Nothing, receipt_proof(true, &logs, VAULT, TOKEN, &d));
	}

	#[test]
	fn a_refund_is_proved_by_the_vaults_refunded_log_only() {
		let owner = B256::repeat_byte(0xaa);
		let d = Deposit { from: VAULT, ..deposit(5, 1_000) };
		let refunded = |address, deposit_nonce, amount: u128| {
			let data = Refunded {
				nonce: 41,
				depositNonce: deposit_nonce,
				recipient: owner,
				amount: U256::from(amount),
			}
			.encode_log_data();
			rpc_log(address, data)
		};
		let deposited = rpc_log(VAULT, deposited(5, U256::from(1_000u64)));
		let logs = [deposited.clone(), refunded(VAULT, 5, 1_000)];
		assert_eq!(receipt_proof(true, &logs, VAULT, TOKEN, &d), Proof::Refund { withdrawal: 41 });
		assert_eq!(receipt_proof(false, &logs, VAULT, TOKEN, &d), Proof::Nothing);
		// Another deposit nonce, another amount, another contract's Refunded, or none at all.
		for bad in [refunded(VAULT, 6, 1_000), refunded(VAULT, 5, 999), refunded(TOKEN, 5, 1_000)] {
			let logs = [deposited.clone(), bad];
			assert_eq!(receipt_proof(true, &logs, VAULT, TOKEN, &d), Proof::Nothing);
		}
		// A transfer into the vault does not make a "deposit from the vault" real either.
		let logs = [deposited.clone(), rpc_log(TOKEN, transfer(VAULT, 1_000))];
		assert_eq!(receipt_proof(true, &logs, VAULT, TOKEN, &d), Proof::Nothing);
		// A user's deposit is not a refund because a Refunded log rides along.
		let logs = [deposited, refunded(VAULT, 5, 1_000)];
		assert_eq!(receipt_proof(true, &logs, VAULT, TOKEN, &deposit(5, 1_000)), Proof::Nothing);
	}

	#[test]
	fn deposits_left_out_by_the_provider_are_noticed() {
		let logs = |nonces: &[u64]| nonces.iter().map(|n| deposit(*n, 1_000)).collect::<Vec<_>>();
		// Complete: 5, 6, 7 after 5, and the vault's nonce is 8 at the range's end.
		assert_eq!(check_contiguous(&logs(&[5, 6, 7]), Some(5), Some(8)).unwrap(), Some(8));
		// A hole in the middle, at the start, at the end, or an empty answer.
		for (seen, expected, after) in [
			(vec![5, 7], Some(5), Some(8)),
			(vec![6, 7], Some(5), None),
			(vec![5, 6], Some(5), Some(8)),
			(vec![], Some(5), Some(6)),
		] {
			assert!(
				matches!(
					check_contiguous(&logs(&seen), expected, after),
					Err(EthError::MissingDeposits { .. })
				),
				"{seen:?} after {expected:?}, vault at {after:?}"
			);
		}
		// Unknown start (a restart far behind): a range with no log cannot tell.
		assert_eq!(check_contiguous(&[], None, Some(1)).unwrap(), Some(1));
		// Unknown start and end (catching up on a pruned node): only holes count.
		assert_eq!(check_contiguous(&logs(&[9, 10]), None, None).unwrap(), Some(11));
		assert_eq!(check_contiguous(&[], None, None).unwrap(), None);
		// Logs already seen (a rescan) are no gap.
		assert_eq!(check_contiguous(&logs(&[3, 4]), Some(5), Some(5)).unwrap(), Some(5));
	}
}
