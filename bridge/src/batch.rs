//! What goes into a cycle's batch: which deposits fit and where the scan must end so that the
//! checkpoint never skips one, which withdrawals this relayer signs, the calls in their order,
//! and which failed calls matter.

use crate::{
	chain::{cutopia, ItemError, ItemOutcome, StoredWithdrawal},
	eth::{Deposit, EthError},
};
use alloy::{
	primitives::B256,
	signers::{local::PrivateKeySigner, SignerSync},
};
use subxt::utils::{AccountId32, H160, H256};

/// Attestations per batch: at 16 relayers one weighs ~5 ms on the reference machine, so 100
/// stay well inside a block's normal-class weight.
pub const MAX_ATTESTATIONS_PER_BATCH: usize = 100;

/// One cycle's scan of the Ethereum blocks `from..=to` and the deposits it attests.
#[derive(Debug)]
pub struct Scan {
	from: u64,
	to: u64,
	hold: bool,
	attestations: Vec<Deposit>,
}

impl Scan {
	pub fn new(from: u64, to: u64) -> Self {
		Self { from, to, hold: false, attestations: Vec::new() }
	}

	/// Whether the range has any block (the cursor may be past the followed head).
	pub fn has_blocks(&self) -> bool {
		self.from <= self.to
	}

	/// Whether `d` still fits in this cycle's batch. A batch must fit a block: once it is full
	/// the scan ends just before `d`'s block, so that the checkpoint cannot pass a deposit left
	/// out. If `d` is in the scan's first block (more deposits in one block than a batch
	/// holds), the scan holds instead: the next cycle scans the block again and skips what is
	/// voted.
	pub fn admits(&mut self, d: &Deposit) -> bool {
		if self.attestations.len() < MAX_ATTESTATIONS_PER_BATCH {
			return true;
		}
		if d.block > self.from {
			self.to = d.block - 1;
		} else {
			self.hold = true;
		}
		false
	}

	pub fn attest(&mut self, d: Deposit) {
		self.attestations.push(d);
	}

	pub fn attestations(&self) -> &[Deposit] {
		&self.attestations
	}

	/// The last block of the scan, after any cut.
	pub fn to(&self) -> u64 {
		self.to
	}

	/// Whether the first block must be scanned again.
	pub fn holds(&self) -> bool {
		self.hold
	}

	/// Where the checkpoint may move once this cycle's batch is final: the end of a range
	/// scanned completely; `None` when there was no range or the scan holds.
	pub fn checkpoint_to(&self) -> Option<u64> {
		(self.has_blocks() && !self.hold).then_some(self.to)
	}
}

/// Whether this relayer (Ethereum address `me`) owes withdrawal `w` its signature: the
/// withdrawal belongs to the current set `set_id` (older sets release with their own
/// signatures) and `me` has not signed it.
pub fn owes_signature(w: &StoredWithdrawal, set_id: u32, me: [u8; 20]) -> bool {
	w.set_id == set_id && !w.signers.contains(&me)
}

/// This relayer's EIP-712 signature of withdrawal `nonce`, over the digest the vault and the
/// pallet both check.
pub fn sign_withdrawal(
	signer: &PrivateKeySigner,
	vault: &pallet_bridge::VaultInfo,
	set_id: u32,
	nonce: u64,
	w: &StoredWithdrawal,
) -> Result<[u8; 65], EthError> {
	let digest =
		pallet_bridge::withdrawal_digest(vault, set_id, nonce, &sp_core::H160(w.to), w.amount);
	Ok(signer.sign_hash_sync(&B256::from(digest))?.as_bytes())
}

/// `Bridge::attest_deposit` for `d`.
pub fn attest_call(d: &Deposit) -> cutopia::Call {
	use cutopia::runtime_types::pallet_bridge::types::Deposit as Attested;
	cutopia::Call::Bridge(cutopia::bridge::Call::attest_deposit {
		deposit: Attested {
			nonce: d.nonce,
			from: H160(d.from.0 .0),
			recipient: AccountId32(d.recipient),
			amount: d.amount,
			tx_hash: H256(d.tx_hash.0),
		},
	})
}

/// The batch's calls: attestations first, in log order, then withdrawal signatures (nonce,
/// signature), so that item `i < attestations.len()` of the result is an attestation.
pub fn batch_calls(attestations: &[Deposit], signatures: &[(u64, [u8; 65])]) -> Vec<cutopia::Call> {
	attestations
		.iter()
		.map(attest_call)
		.chain(signatures.iter().map(|&(nonce, signature)| {
			cutopia::Call::Bridge(cutopia::bridge::Call::sign_withdrawal { nonce, signature })
		}))
		.collect()
}

/// A failed call that needs nothing done: another relayer's votes completed the deposit
/// earlier in the same block, or a batch retracted by a fork came back from the pool.
pub fn is_benign(e: &ItemError) -> bool {
	use cutopia::bridge::Error as Bridge;
	matches!(
		e,
		ItemError::Pallet(cutopia::Error::Bridge(Bridge::AlreadyProcessed | Bridge::AlreadyVoted))
	)
}

/// The failed calls worth reporting, by position, and whether one of them is among the first
/// `attesting` calls. A failed attestation (inbound paused, …) keeps the checkpoint where it
/// is: the next cycle re-reads the range and re-checks what the chain still needs, so a paused
/// backlog is attested once unpaused.
pub fn failures(items: &[ItemOutcome], attesting: usize) -> (Vec<(usize, &ItemError)>, bool) {
	let failed: Vec<_> = items
		.iter()
		.enumerate()
		.filter_map(|(i, item)| match item {
			ItemOutcome::Failed(e) if !is_benign(e) => Some((i, e)),
			_ => None,
		})
		.collect();
	let attestation_failed = failed.iter().any(|&(i, _)| i < attesting);
	(failed, attestation_failed)
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloy::primitives::Address;

	fn deposit(block: u64, nonce: u64) -> Deposit {
		Deposit {
			block,
			nonce,
			from: Address::repeat_byte(0x33),
			recipient: [0xaa; 32],
			amount: 1_000 + u128::from(nonce),
			tx_hash: B256::repeat_byte(nonce as u8),
		}
	}

	/// The relayer's loop over a range's logs, with `needed` standing for the chain's "still
	/// needs this vote" and the receipt check.
	fn scan(from: u64, to: u64, logs: Vec<Deposit>, needed: impl Fn(&Deposit) -> bool) -> Scan {
		let mut scan = Scan::new(from, to);
		for d in logs {
			if !scan.admits(&d) {
				break;
			}
			if needed(&d) {
				scan.attest(d);
			}
		}
		scan
	}

	fn nonces(scan: &Scan) -> Vec<u64> {
		scan.attestations().iter().map(|d| d.nonce).collect()
	}

	#[test]
	fn a_full_batch_ends_the_scan_before_the_deferred_deposits_block() {
		// 60 deposits in block 110, 60 in block 120.
		let logs: Vec<_> = (0..120).map(|n| deposit(if n < 60 { 110 } else { 120 }, n)).collect();
		let s = scan(100, 200, logs, |_| true);
		assert_eq!(nonces(&s), (0..100).collect::<Vec<_>>(), "capped, in log order");
		assert_eq!(s.to(), 119);
		assert_eq!(s.checkpoint_to(), Some(119), "the checkpoint stops before block 120");
		assert!(!s.holds());
	}

	#[test]
	fn a_block_with_more_deposits_than_a_batch_is_split_over_cycles() {
		let logs: Vec<_> = (0..150).map(|n| deposit(100, n)).collect();
		let first = scan(100, 200, logs.clone(), |_| true);
		assert_eq!(first.attestations().len(), MAX_ATTESTATIONS_PER_BATCH);
		assert!(first.holds());
		assert_eq!(first.checkpoint_to(), None, "block 100 is not done");
		// The next cycle scans block 100 again; the chain has the first 100 votes.
		let second = scan(100, 200, logs, |d| d.nonce >= 100);
		assert_eq!(nonces(&second), (100..150).collect::<Vec<_>>());
		assert_eq!(second.checkpoint_to(), Some(200));
	}

	#[test]
	fn deposits_the_chain_does_not_need_do_not_fill_the_batch() {
		let logs: Vec<_> = (0..150).map(|n| deposit(100 + n, n)).collect();
		let s = scan(100, 300, logs, |d| d.nonce % 3 == 0);
		assert_eq!(s.attestations().len(), 50);
		assert_eq!(s.checkpoint_to(), Some(300));
	}

	#[test]
	fn exactly_a_batch_covers_the_whole_range() {
		let logs: Vec<_> = (0..100).map(|n| deposit(100 + n, n)).collect();
		let s = scan(100, 300, logs, |_| true);
		assert_eq!(s.attestations().len(), 100);
		assert_eq!(s.checkpoint_to(), Some(300));
	}

	#[test]
	fn an_empty_range_moves_no_checkpoint() {
		let s = Scan::new(11, 10);
		assert!(!s.has_blocks());
		assert_eq!(s.checkpoint_to(), None);
	}

	#[test]
	fn attestations_come_first_and_keep_their_order() {
		let deposits = [deposit(5, 7), deposit(5, 3), deposit(6, 9)];
		let calls = batch_calls(&deposits, &[(4, [1; 65]), (2, [2; 65])]);
		let order: Vec<_> = calls
			.iter()
			.map(|c| match c {
				cutopia::Call::Bridge(cutopia::bridge::Call::attest_deposit { deposit: d }) => {
					("attest", d.nonce)
				},
				cutopia::Call::Bridge(cutopia::bridge::Call::sign_withdrawal { nonce, .. }) => {
					("sign", *nonce)
				},
				other => panic!("unexpected call {other:?}"),
			})
			.collect();
		assert_eq!(order, [("attest", 7), ("attest", 3), ("attest", 9), ("sign", 4), ("sign", 2)]);
		assert_eq!(
			calls[3],
			cutopia::Call::Bridge(cutopia::bridge::Call::sign_withdrawal {
				nonce: 4,
				signature: [1; 65]
			})
		);
	}

	#[test]
	fn an_attestation_carries_the_deposit_as_logged() {
		let d = deposit(5, 7);
		let cutopia::Call::Bridge(cutopia::bridge::Call::attest_deposit { deposit: attested }) =
			attest_call(&d)
		else {
			panic!("not an attestation");
		};
		assert_eq!(attested.nonce, 7);
		assert_eq!(attested.from.0, [0x33; 20]);
		assert_eq!(attested.recipient.0, [0xaa; 32]);
		assert_eq!(attested.amount, 1_007);
		assert_eq!(attested.tx_hash.0, [7; 32]);
	}

	#[test]
	fn withdrawals_are_signed_once_per_relayer_and_set() {
		let signer: PrivateKeySigner =
			"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d".parse().unwrap();
		let me = signer.address().0 .0;
		let w = StoredWithdrawal { to: [0x5a; 20], amount: 2_000, set_id: 3, signers: vec![] };
		assert!(owes_signature(&w, 3, me));
		assert!(!owes_signature(&w, 4, me), "a withdrawal of an older set");
		let signed = StoredWithdrawal { signers: vec![[0x01; 20], me], ..w.clone() };
		assert!(!owes_signature(&signed, 3, me));

		let vault = pallet_bridge::VaultInfo { chain_id: 31_337, vault: sp_core::H160([0x11; 20]) };
		let sig = sign_withdrawal(&signer, &vault, 3, 8, &w).unwrap();
		// The pallet recovers the relayer's registered address from it.
		let digest = pallet_bridge::withdrawal_digest(&vault, 3, 8, &sp_core::H160(w.to), 2_000);
		assert_eq!(pallet_bridge::recover_signer(&digest, &sig), Some(sp_core::H160(me)));
		let other = pallet_bridge::withdrawal_digest(&vault, 3, 9, &sp_core::H160(w.to), 2_000);
		assert_ne!(pallet_bridge::recover_signer(&other, &sig), Some(sp_core::H160(me)));
	}

	#[test]
	fn only_failed_attestations_that_are_not_benign_stop_the_checkpoint() {
		use cutopia::bridge::Error as Bridge;
		let failed = |e| ItemOutcome::Failed(ItemError::Pallet(cutopia::Error::Bridge(e)));
		let items = [
			ItemOutcome::Completed,
			failed(Bridge::AlreadyProcessed),
			failed(Bridge::AlreadyVoted),
			ItemOutcome::Completed,
			failed(Bridge::StaleSet),
		];
		// Items 0..4 are attestations, item 4 a signature.
		let (reported, attestation_failed) = failures(&items, 4);
		assert_eq!(reported.len(), 1);
		assert_eq!(reported[0].0, 4);
		assert!(!attestation_failed);

		let paused = [
			ItemOutcome::Completed,
			failed(Bridge::InboundPaused),
			ItemOutcome::Failed(ItemError::Dispatch(cutopia::DispatchError::BadOrigin)),
		];
		let (reported, attestation_failed) = failures(&paused, 2);
		assert_eq!(reported.iter().map(|&(i, _)| i).collect::<Vec<_>>(), [1, 2]);
		assert!(attestation_failed);
	}
}
