//! The relayer's loop. Every cycle it
//! 1. moves the checkpoint over batches whose chain block became final;
//! 2. reads the followed Ethereum head and stops if finality went backwards;
//! 3. reads the vault's `Deposited` logs from its cursor, skips nonces the chain already
//!    processed or this relayer already voted on (read in bulk), and re-checks the receipts of
//!    the rest, as many as one `relay` call carries and the chain's vote window allows;
//! 4. signs withdrawals of the current relayer set it has not signed yet, and signs again
//!    those of older sets the vault has not released once the vault has moved to the current
//!    set, as many as a call carries (attestations and signatures have separate bounds:
//!    deposits never wait behind withdrawals);
//! 5. submits both as one `Bridge.relay` (free for a member's first call in a block) and goes
//!    on once it is in a best block.
//!
//! Cycles are pipelined: a call is judged against the best block's state and the next cycle
//! starts once it is in a best block, not once it is final; the checkpoint follows finality.

use crate::{
	backoff::Backoff,
	batch::{self, Scan},
	chain::{self, At, Chain},
	checkpoint::{Checkpoint, Pending, WithdrawalCursor},
	config::Args,
	error::{Fatal, RelayError, SetupError, Transient},
	eth::{Eth, Proof},
	metrics::{self, Metrics},
};
use alloy::{primitives::U256, signers::local::PrivateKeySigner};
use std::{
	collections::VecDeque,
	time::{Duration, Instant},
};
use subxt::utils::H256;
use subxt_signer::sr25519::Keypair;
use tracing::{error, info, warn};

/// Withdrawals read a cycle from the withdrawal cursor on (catching up, a page a cycle), and
/// below the next one (the newest, so that they are signed at once however far behind the
/// cursor is): a relayer joining a long-running bridge reads them all, a page at a time.
const SIGN_PAGE: u64 = 1_024;

/// Runs cycles until a fatal error, or until `--exit-when-idle` cycles in a row found no work.
pub async fn run(args: Args) -> Result<(), Fatal> {
	let mut relayer = Relayer::connect(&args).await?;
	let poll = Duration::from_secs_f64(args.poll);
	let mut backoff = Backoff::default();
	let mut idle = 0u32;
	loop {
		match relayer.cycle().await {
			Ok(worked) => {
				backoff.reset();
				idle = if worked { 0 } else { idle + 1 };
				if args.exit_when_idle.is_some_and(|n| idle >= n) {
					return Ok(());
				}
				tokio::time::sleep(poll).await;
			},
			Err(RelayError::Fatal(e)) => return Err(e),
			Err(RelayError::Transient(e)) => {
				if let Some(m) = &relayer.metrics {
					m.rpc_errors.inc();
				}
				let wait = backoff.next_delay(&mut rand::thread_rng());
				warn!("{e}; retrying in {} ms", wait.as_millis());
				tokio::time::sleep(wait).await;
			},
		}
	}
}

/// What a new reading of the followed head means.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadMove {
	/// At or past the last reading.
	Forward,
	/// Behind it in `--confirmations` mode: a reorg of a chain without finality; the blocks
	/// below the confirmation depth are what was checkpointed, so wait for the tip to grow.
	TipBack,
	/// Behind it following finalized blocks: not a provider going back (that is caught per
	/// provider, see [`crate::quorum::track_heads`]) but fewer of them answering; the last head
	/// stays the followed one.
	Behind,
}

/// Judges head `head` after `last`.
pub fn judge_head(last: u64, head: u64, confirmations: bool) -> HeadMove {
	if head >= last {
		HeadMove::Forward
	} else if confirmations {
		HeadMove::TipBack
	} else {
		HeadMove::Behind
	}
}

/// Whether the vault the chain names is the one this relayer follows, on the same chain.
pub fn check_vault(
	named: &pallet_bridge::VaultInfo,
	eth_chain_id: u64,
	vault: alloy::primitives::Address,
) -> Result<(), SetupError> {
	let chain_vault = alloy::primitives::Address::from(named.vault.0);
	if chain_vault == vault && named.chain_id == eth_chain_id {
		Ok(())
	} else {
		Err(SetupError::VaultMismatch {
			chain_vault,
			chain_id: named.chain_id,
			vault,
			eth_chain_id,
		})
	}
}

/// The withdrawals read in a cycle: a page from the cursor `sign_from` on (the cursor moves
/// over it) and the newest page below `next`; one range when they meet.
pub fn sign_ranges(sign_from: u64, next: u64) -> (std::ops::Range<u64>, std::ops::Range<u64>) {
	let sign_from = sign_from.min(next);
	let newest_start = next.saturating_sub(SIGN_PAGE);
	if newest_start <= sign_from.saturating_add(SIGN_PAGE) {
		(sign_from..next, next..next)
	} else {
		(sign_from..sign_from + SIGN_PAGE, newest_start..next)
	}
}

/// Between two reads of the deposits above the followed head (the second of blocks
/// `head + 1..=to`): the ones `now` has that were not seen `before`, and the ones seen
/// `before` in blocks that `now` covers that it lacks (a reorg took them; one that reached
/// `head` is the scan's now; one above `to` was not looked at). A deposit is the same one
/// when its nonce and transaction are: a reorg may move it to another block.
pub fn unconfirmed_changes<'a>(
	before: &'a [crate::eth::Deposit],
	now: &'a [crate::eth::Deposit],
	head: u64,
	to: u64,
) -> (Vec<&'a crate::eth::Deposit>, Vec<&'a crate::eth::Deposit>) {
	let same = |a: &crate::eth::Deposit, b: &crate::eth::Deposit| {
		a.nonce == b.nonce && a.tx_hash == b.tx_hash
	};
	let new = now.iter().filter(|d| !before.iter().any(|b| same(b, d))).collect();
	let gone = before
		.iter()
		.filter(|b| b.block > head && b.block <= to && !now.iter().any(|d| same(b, d)))
		.collect();
	(new, gone)
}

struct Relayer {
	eth: Eth,
	/// The vault the chain named at start; its deposits are the ones attested.
	vault: pallet_bridge::VaultInfo,
	chain: Chain,
	signer: Keypair,
	eth_signer: PrivateKeySigner,
	metrics: Option<Metrics>,
	checkpoint: Checkpoint,
	withdrawal_cursor: WithdrawalCursor,
	/// The last `(set id, sign_from)` handed to a pending batch.
	recorded: Option<(u32, u64)>,
	start_block: u64,
	max_range: u64,
	last_head: u64,
	/// No withdrawal below this needs this relayer's signature under the current set, except
	/// pending refunds (read apart); persisted once final (the withdrawal cursor).
	sign_from: u64,
	/// The relayer set of the last cycle.
	set_id: Option<u32>,
	/// The next Ethereum block to scan; `None`: the one after the checkpoint.
	cursor: Option<u64>,
	/// The vault nonce the next scanned range starts with, once known (see
	/// [`crate::eth::check_contiguous`]); forgotten with the cursor.
	next_nonce: Option<u64>,
	/// Included, not yet final batches, oldest first.
	pending: VecDeque<Pending>,
	/// Deposits seen above the followed head: logged when seen and when a reorg takes them
	/// away, never attested from here.
	unconfirmed: Vec<crate::eth::Deposit>,
	/// Withdrawals the vault paid by a followed (final) head: never asked about again.
	paid: std::collections::HashSet<u64>,
}

impl Relayer {
	async fn connect(args: &Args) -> Result<Self, SetupError> {
		let uri: subxt_signer::SecretUri =
			args.chain_key.parse().map_err(|e| SetupError::flag("--chain-key", e))?;
		let signer = Keypair::from_uri(&uri).map_err(|e| SetupError::flag("--chain-key", e))?;
		let eth_signer: PrivateKeySigner = args
			.eth_key
			.trim_start_matches("0x")
			.parse()
			.map_err(|e| SetupError::flag("--eth-key", e))?;
		let eth =
			Eth::connect(&args.eth_rpc, args.eth_quorum, args.vault, args.confirmations).await?;
		let chain_error = |source| SetupError::Chain { url: args.chain_rpc.clone(), source };
		let chain = Chain::connect(&args.chain_rpc).await.map_err(chain_error)?;
		// Votes are only meaningful for the vault the chain names: a relayer pointed at another
		// vault or chain (a typo, a testnet RPC) must not attest its deposits as this one's.
		let named =
			async { chain::vault(&chain.at_best().await?).await }.await.map_err(chain_error)?;
		check_vault(&named, eth.chain_id(), args.vault)?;
		let metrics = Metrics::serve(args.prometheus_port)?;
		let (providers, quorum) = eth.providers();
		info!(
			"relaying vault {} (token {}) read through {quorum} of {providers} Ethereum provider(s) as {} / {}",
			args.vault,
			eth.token(),
			signer.public_key().to_account_id(),
			eth_signer.address()
		);
		Ok(Self {
			eth,
			vault: named,
			chain,
			signer,
			eth_signer,
			metrics,
			checkpoint: Checkpoint::new(args.checkpoint.clone()),
			withdrawal_cursor: WithdrawalCursor::beside(&args.checkpoint),
			recorded: None,
			start_block: args.start_block,
			max_range: args.max_range,
			last_head: 0,
			sign_from: 0,
			set_id: None,
			cursor: None,
			next_nonce: None,
			pending: VecDeque::new(),
			unconfirmed: Vec::new(),
			paid: Default::default(),
		})
	}

	/// One cycle; returns whether it found work.
	async fn cycle(&mut self) -> Result<bool, RelayError> {
		let started = Instant::now();
		self.settle().await?;
		let head = self.head().await?;
		self.watch_unconfirmed(head).await;
		let at = self.chain.at_best().await?;
		let ctx = chain::signing_context(&at).await?;
		if ctx.vault != self.vault {
			let now = alloy::primitives::Address::from(ctx.vault.vault.0);
			return Err(Fatal::VaultChanged { now, chain_id: ctx.vault.chain_id }.into());
		}
		let limits = chain::limits(&at, &self.vault).await?;
		let from = match self.cursor {
			Some(c) => c,
			None => self.checkpoint.next_block(self.start_block),
		};
		let to = head.min(from.saturating_add(self.max_range).saturating_sub(1));
		let mut scan = Scan::new(from, to, limits);
		let mut next_nonce = self.next_nonce;
		if scan.has_blocks() {
			let mut deposits = self.eth.deposits(from, scan.to()).await?;
			next_nonce = self.check_complete(&mut deposits, from, scan.to()).await?;
			if let Some(m) = &self.metrics {
				m.seen.add(deposits.len() as u64);
			}
			let me = self.signer.public_key().to_account_id();
			let nonces: Vec<u64> = deposits.iter().map(|d| d.nonce).collect();
			let needed = self.chain.needing_votes(&at, &self.vault, &nonces, &me).await?;
			for d in deposits {
				if !scan.admits(&d) {
					break;
				}
				// Receipts only for what the chain still needs: a restart from an old
				// checkpoint then costs log queries, not receipts.
				if !needed.contains(&d.nonce) {
					continue;
				}
				let proof = self.eth.verify(&d).await?;
				let proved = match proof {
					Proof::Deposit => true,
					Proof::Nothing => false,
					// The vault minted nothing of its own: a refund deposit stands only for a
					// refund the chain asked for, of that owner and amount.
					Proof::Refund { withdrawal } => {
						let asked = self
							.chain
							.refund_asked(&at, withdrawal, &d.recipient, d.amount)
							.await?;
						if !asked {
							warn!("vault deposit {} refunds withdrawal {withdrawal}, which the chain did not ask for; ignored", d.nonce);
						}
						asked
					},
				};
				if !proved {
					continue;
				}
				let mut d = d;
				if let Proof::Refund { withdrawal } = proof {
					d.refund_of = Some(withdrawal);
				}
				scan.attest(d);
			}
		}
		let signatures = self.signatures(&at, &ctx, limits.signatures, head).await?;
		let (attesting, signing) = (scan.attestations().len(), signatures.len());
		let (number, hash) = if attesting + signing == 0 {
			(at.block_number(), at.block_hash())
		} else {
			let attestations =
				scan.attestations().iter().map(|d| batch::attestation(d, &self.vault)).collect();
			self.submit(&at, attestations, signatures).await?
		};
		let signed = self.set_id.map(|set| (set, self.sign_from));
		let signed = signed.filter(|s| Some(*s) != self.recorded);
		if signed.is_some() && scan.checkpoint_to().is_none() {
			self.pending.push_back(Pending { number, hash, eth_to: None, signed });
			self.recorded = signed;
		}
		if let Some(eth_to) = scan.checkpoint_to() {
			self.pending.push_back(Pending { number, hash, eth_to: Some(eth_to), signed });
			self.recorded = signed.or(self.recorded);
			self.cursor = Some(eth_to + 1);
			// A cut scan (a full call) rescans from the cut, whose nonces the check does not
			// know: only a range scanned whole tells where the next one starts.
			self.next_nonce = if eth_to == to { next_nonce } else { None };
		}
		if let Some(m) = &self.metrics {
			m.attested.add(attesting as u64);
			m.signed.add(signing as u64);
			m.lag.set(head.saturating_sub(scan.to()));
			m.pending_age.set(started.elapsed().as_secs());
		}
		self.watchdog(&at, head).await;
		Ok(attesting + signing > 0 || scan.to() < head || scan.holds() || !self.pending.is_empty())
	}

	/// Checks that `deposits` are all of the vault's deposits in blocks `from..=to`: the
	/// nonces go on from the last range's, and up to the vault's `depositNonce` at `to` when
	/// `to` is recent enough for any node to still have its state. Returns where the next
	/// range's nonces start; a provider that left deposits out fails the cycle, which then
	/// scans the range again, instead of moving the checkpoint past them.
	async fn check_complete(
		&self,
		deposits: &mut Vec<crate::eth::Deposit>,
		from: u64,
		to: u64,
	) -> Result<Option<u64>, RelayError> {
		use crate::eth::{check_contiguous, EthError};
		// Full nodes keep the state of the last 128 blocks; older ranges (a catch-up) are
		// checked for holes only. A state the node does not have (pruned, or from before the
		// vault existed) is unknown, not an error: the check must never halt relaying.
		const RECENT: u64 = 64;
		// Most nonces asked for by topic at once.
		const REFETCH: u64 = 1_000;
		let latest = self.eth.latest().await?;
		let state_of = |block: u64| block.saturating_add(RECENT) >= latest;
		let expected = match self.next_nonce {
			Some(n) => Some(n),
			None if from == 0 => Some(0),
			None if state_of(from - 1) => self.eth.deposit_nonce_at(from - 1).await.ok(),
			None => None,
		};
		let after = if state_of(to) { self.eth.deposit_nonce_at(to).await.ok() } else { None };
		match check_contiguous(deposits, expected, after) {
			Err(EthError::MissingDeposits { from: first, to: end }) => {
				// Ask for the missing nonces by their indexed topic, over this range and the
				// one before it (which may have been answered short): the range is then
				// complete, or the cycle fails and scans it again.
				let end = end.min(first.saturating_add(REFETCH));
				let lookback = from.saturating_sub(self.max_range).max(self.start_block);
				let found = self.eth.deposits_by_nonce(first..end, lookback, to).await?;
				warn!(
					"the Ethereum node left out vault deposits {first}..{end} of blocks {from}..={to}; {} found by nonce",
					found.len()
				);
				deposits.extend(found);
				deposits.sort_by_key(|d| d.nonce);
				deposits.dedup_by_key(|d| d.nonce);
				Ok(check_contiguous(deposits, expected, after)?)
			},
			result => Ok(result?),
		}
	}

	/// Reads the deposits above the followed head (up to `--max-range` blocks): an operator
	/// sees a deposit arrive and count its confirmations, and sees it leave if a reorg takes
	/// it before it is confirmed. Only what reaches the followed head is ever attested, so a
	/// failed read here (providers at different tips may well disagree) costs nothing.
	async fn watch_unconfirmed(&mut self, head: u64) {
		let read = async {
			let latest = self.eth.latest().await?;
			if latest <= head {
				return Ok((Vec::new(), head));
			}
			let to = latest.min(head.saturating_add(self.max_range));
			Ok::<_, crate::eth::EthError>((self.eth.unconfirmed_deposits(head + 1, to).await?, to))
		};
		let (now, to) = match read.await {
			Ok(read) => read,
			Err(e) => return tracing::debug!("deposits above the followed head: {e}"),
		};
		let (new, gone) = unconfirmed_changes(&self.unconfirmed, &now, head, to);
		for d in new {
			info!(
				"deposit {} of {} in Ethereum block {} seen, {} block(s) above the followed head {head}: attested once it is reached",
				d.nonce,
				d.amount,
				d.block,
				d.block.saturating_sub(head)
			);
		}
		for d in &gone {
			warn!(
				"deposit {} in {} left the Ethereum chain before it was confirmed (a reorg): not attested",
				d.nonce, d.tx_hash
			);
		}
		if let Some(m) = &self.metrics {
			m.unconfirmed.set(now.len() as u64);
			m.reorged.add(gone.len() as u64);
		}
		// Deposits above this read's end were not looked at: still tracked, so that one a
		// reorg took is reported once the chain grows back past its block.
		let unseen = self.unconfirmed.iter().filter(|d| d.block > to).cloned().collect::<Vec<_>>();
		self.unconfirmed = now;
		self.unconfirmed.extend(unseen);
	}

	/// The followed Ethereum head. Finality going backwards on a quorum of providers (on the
	/// only one) means the node or its history is wrong: the relayer stops.
	async fn head(&mut self) -> Result<u64, RelayError> {
		let head = match self.eth.followed_head().await {
			Err(crate::eth::EthError::HeadWentBack { from, to }) => {
				return Err(Fatal::HeadWentBackwards { from, to }.into())
			},
			other => other?,
		};
		Ok(match judge_head(self.last_head, head, self.eth.confirmations().is_some()) {
			HeadMove::Forward => {
				self.last_head = head;
				head
			},
			HeadMove::TipBack => {
				warn!(
					"the Ethereum tip moved back ({} → {head} after confirmations); waiting",
					self.last_head
				);
				head
			},
			HeadMove::Behind => self.last_head,
		})
	}

	/// Submits the `relay` call and returns the number and hash of the best block it is in.
	async fn submit(
		&mut self,
		at: &At,
		attestations: Vec<chain::Attestation>,
		signatures: Vec<(u64, [u8; 65])>,
	) -> Result<(u64, H256), RelayError> {
		let (attesting, signing) = (attestations.len(), signatures.len());
		let included = self.chain.submit_relay(at, attestations, signatures, &self.signer).await?;
		for (item, error) in &included.rejected {
			warn!("relayed item {item} refused: {error}");
		}
		if batch::failures(&included.rejected, attesting) {
			self.cursor = None;
			self.next_nonce = None;
			self.pending.clear();
			self.recorded = None;
			return Err(Transient::AttestationFailed.into());
		}
		info!(
			"{attesting} attestation(s), {signing} signature(s) in chain block #{}",
			included.number
		);
		Ok((included.number, included.hash))
	}

	/// The signatures, as (nonce, signature), of the oldest `most` withdrawals this relayer
	/// owes a signature under the current set; the vault is read at Ethereum block `head`.
	/// Read: a page from the cursor `sign_from` on, the newest page, and pending refunds
	/// outside both; the cursor moves over the first page's done prefix.
	async fn signatures(
		&mut self,
		at: &At,
		ctx: &chain::SigningContext,
		most: usize,
		head: u64,
	) -> Result<Vec<(u64, [u8; 65])>, RelayError> {
		let me = self.eth_signer.address().0 .0;
		let mut out = Vec::new();
		// Read once, and only when a withdrawal of an older set turns up.
		let mut vault_moved: Option<bool> = None;
		if self.set_id != Some(ctx.set_id) {
			// A new set signs what older sets signed: from its own cursor, or from the start.
			self.set_id = Some(ctx.set_id);
			// A cursor past the withdrawals stored is not this chain's (a reset dev chain with
			// the same set id): read from the start.
			self.sign_from =
				self.withdrawal_cursor.read(ctx.set_id).filter(|n| *n <= ctx.next).unwrap_or(0);
			info!(
				"signing withdrawals under relayer set {} from nonce {} (the withdrawal cursor) on; {} stored",
				ctx.set_id, self.sign_from, ctx.next
			);
		}
		let (catch_up, newest) = sign_ranges(self.sign_from, ctx.next);
		// Refunds are asked for days after a withdrawal, usually outside both: read apart.
		let outside = |n: &u64| !catch_up.contains(n) && !newest.contains(n);
		let refunds: Vec<u64> =
			self.chain.pending_refunds(at).await?.into_iter().filter(outside).collect();
		let refunds = self.chain.withdrawals(at, refunds).await?;
		let first = self.chain.withdrawals(at, catch_up.clone()).await?;
		let second = self.chain.withdrawals(at, newest).await?;
		// Whether everything of `catch_up` so far is done: the cursor may move over it.
		let mut all_done = true;
		for (nonce, w) in refunds.into_iter().chain(first).chain(second) {
			let advancing = catch_up.contains(&nonce);
			let owed = match batch::owed(&w, ctx.set_id, &ctx.vault, me) {
				batch::Owed::SignatureIfUnreleased => {
					let moved = match vault_moved {
						Some(moved) => moved,
						None => {
							let moved = self.eth.vault_set_id(head).await? == u64::from(ctx.set_id);
							*vault_moved.insert(moved)
						},
					};
					if !moved {
						// The vault still takes the older set's signatures: signing again now
						// would replace ones it can release with ones it cannot yet.
						all_done &= !advancing;
						continue;
					}
					if self.paid.contains(&nonce) {
						false
					} else if self.eth.released(nonce, head).await? {
						// Paid by the followed head, which is final: for good.
						self.paid.insert(nonce);
						false
					} else {
						true
					}
				},
				batch::Owed::Signature => true,
				batch::Owed::Nothing => false,
			};
			if !owed {
				if all_done && advancing {
					self.sign_from = nonce + 1;
				}
				continue;
			}
			if advancing {
				all_done = false;
			}
			if out.len() == most {
				// Stopped before the end of the page (refunds come first): it is not all done.
				all_done = false;
				break;
			}
			let signature =
				batch::sign_withdrawal(&self.eth_signer, &ctx.vault, ctx.set_id, nonce, &w)?;
			out.push((nonce, signature));
		}
		if all_done {
			// Nonces of the page with no stored withdrawal owe nothing either.
			self.sign_from = self.sign_from.max(catch_up.end);
		}
		Ok(out)
	}

	/// Moves the checkpoint over every pending batch whose block is now final. A batch whose
	/// block left the canonical chain is forgotten with everything after it: the next cycle
	/// scans again from the checkpoint and votes again where the chain lacks the vote.
	async fn settle(&mut self) -> Result<(), RelayError> {
		if self.pending.is_empty() {
			return Ok(());
		}
		let finalized = self.chain.finalized_number().await?;
		while let Some(p) = self.pending.front() {
			if p.number > finalized {
				break;
			}
			if self.chain.canonical_hash(p.number).await? != Some(p.hash) {
				warn!(
					"chain block #{} with this relayer's batch was not finalized; rescanning from the checkpoint",
					p.number
				);
				self.pending.clear();
				self.cursor = None;
				self.next_nonce = None;
				// Signatures in the lost block may be gone: look again from the final cursor.
				self.set_id = None;
				self.recorded = None;
				break;
			}
			if let Some(eth_to) = p.eth_to {
				self.checkpoint.advance(eth_to)?;
			}
			if let Some((set, nonce)) = p.signed {
				self.withdrawal_cursor.advance(set, nonce)?;
			}
			self.pending.pop_front();
		}
		Ok(())
	}

	/// Compares the vault's token balance at the followed Ethereum head with the bridged
	/// supply in the cycle's chain state, and alarms when the vault holds less at the head *and*
	/// at the tip (other relayers may have minted deposits above this relayer's head). A read
	/// that fails is logged; it never fails a cycle whose work is already submitted.
	async fn watchdog(&self, at: &At, head: u64) {
		let check = async {
			let (minted, burned) = chain::minted_and_burned(at).await?;
			let supply = U256::from(minted.saturating_sub(burned));
			let mut balance = self.eth.vault_balance(Some(head)).await?;
			if balance < supply {
				// Deposits enter the vault before they are minted, and releases leave it after
				// their burn: at the tip the vault holds at least the supply unless it lost tokens.
				balance = self.eth.vault_balance(None).await?;
			}
			Ok::<_, RelayError>((balance, supply))
		};
		match check.await {
			Ok((balance, supply)) => {
				if balance < supply {
					error!(
						"WATCHDOG: the vault holds {balance} but the chain's bridged supply is {supply}"
					);
				}
				if let Some(m) = &self.metrics {
					m.supply_delta.set(metrics::supply_delta(balance, supply));
				}
			},
			Err(e) => warn!("watchdog: {e}"),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_head_at_or_past_the_last_one_moves_forward() {
		assert_eq!(judge_head(0, 0, false), HeadMove::Forward);
		assert_eq!(judge_head(10, 10, false), HeadMove::Forward);
		assert_eq!(judge_head(10, 12, true), HeadMove::Forward);
	}

	#[test]
	fn finality_going_backwards_is_fatal_and_says_so() {
		// A provider's finalized head going back: with one provider, that is the quorum.
		let mut last = vec![Some(20)];
		let (_, went_back) = crate::quorum::track_heads(&mut last, vec![Ok(12)], true);
		assert_eq!(went_back, vec![(0, 20, 12)]);
		let e = Fatal::HeadWentBackwards { from: 20, to: 12 };
		// The e2e test and operators look for these words in the log.
		assert_eq!(
			e.to_string(),
			"the followed Ethereum head went backwards from 20 to 12: refusing to continue"
		);
		let e = RelayError::from(e);
		assert!(matches!(e, RelayError::Fatal(_)));
	}

	#[test]
	fn a_relayer_refuses_a_vault_or_chain_the_bridge_does_not_name() {
		let named = pallet_bridge::VaultInfo { chain_id: 31_337, vault: sp_core::H160([0xe7; 20]) };
		let vault = alloy::primitives::Address::from([0xe7; 20]);
		assert!(check_vault(&named, 31_337, vault).is_ok());
		let e = check_vault(&named, 1, vault).unwrap_err();
		assert!(e.to_string().contains("on chain 1"), "{e}");
		let other = alloy::primitives::Address::from([0x11; 20]);
		assert!(matches!(
			check_vault(&named, 31_337, other),
			Err(SetupError::VaultMismatch { .. })
		));
	}

	#[test]
	fn withdrawals_are_read_from_the_cursor_and_at_the_top() {
		// Close to the top: one range, however long (at most two pages).
		assert_eq!(sign_ranges(0, 10), (0..10, 10..10));
		assert_eq!(sign_ranges(0, 2 * SIGN_PAGE), (0..2 * SIGN_PAGE, 2 * SIGN_PAGE..2 * SIGN_PAGE));
		// Far behind: a page from the cursor, and the newest page.
		let next = 1_000_000;
		assert_eq!(
			sign_ranges(5, next),
			(5..5 + SIGN_PAGE, next - SIGN_PAGE..next),
			"no withdrawal between them is skipped for good: the cursor pages on"
		);
		// A cursor past the top (a stale file) is held to it.
		assert_eq!(sign_ranges(50, 10), (10..10, 10..10));
	}

	#[test]
	fn unconfirmed_deposits_are_seen_and_seen_to_leave() {
		let d = |nonce: u64, block: u64, tx: u8| crate::eth::Deposit {
			block,
			nonce,
			from: alloy::primitives::Address::ZERO,
			recipient: [1; 32],
			amount: 5,
			tx_hash: alloy::primitives::B256::repeat_byte(tx),
			refund_of: None,
		};
		let nonces = |v: Vec<&crate::eth::Deposit>| v.iter().map(|d| d.nonce).collect::<Vec<_>>();
		let before = [d(0, 11, 1), d(1, 12, 2), d(2, 13, 3)];
		// Head 11: deposit 0 reached it (now the scan's); 1 moved to block 14 in the same
		// transaction (still there); 2 was replaced by another transaction; 3 is new.
		let now = [d(1, 14, 2), d(2, 15, 9), d(3, 15, 4)];
		let (new, gone) = unconfirmed_changes(&before, &now, 11, 15);
		assert_eq!(nonces(new), vec![2, 3]);
		assert_eq!(nonces(gone), vec![2]);
		// Nothing above the head any more after a deep revert: all of them left.
		let (new, gone) = unconfirmed_changes(&before, &[], 5, 20);
		assert_eq!((nonces(new), nonces(gone)), (vec![], vec![0, 1, 2]));
		// A shorter read (the tip agreed on came out lower) says nothing past its end.
		let (_, gone) = unconfirmed_changes(&before, &[], 5, 12);
		assert_eq!(nonces(gone), vec![0, 1]);
	}

	#[test]
	fn a_tip_moving_back_under_confirmations_is_waited_out() {
		assert_eq!(judge_head(20, 12, true), HeadMove::TipBack);
		// Following finality, fewer providers answering is not finality going back.
		assert_eq!(judge_head(20, 12, false), HeadMove::Behind);
	}
}
