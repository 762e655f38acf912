//! What goes into a cycle's `relay` call: which deposits fit (the call's bound and the
//! chain's vote window) and where the scan must end so that the checkpoint never skips one,
//! which withdrawals this relayer signs, and which refused items matter.

use crate::{
	chain::{Attestation, ItemError, Limits, StoredWithdrawal},
	eth::{Deposit, EthError},
};
use alloy::{
	primitives::B256,
	signers::{local::PrivateKeySigner, SignerSync},
};
use subxt::utils::{AccountId32, H160, H256};

/// One cycle's scan of the Ethereum blocks `from..=to` and the deposits it attests.
#[derive(Debug)]
pub struct Scan {
	from: u64,
	to: u64,
	hold: bool,
	limits: Limits,
	attestations: Vec<Deposit>,
}

impl Scan {
	/// A scan whose call carries at most `limits.attestations`, for nonces below
	/// `limits.window_end`.
	pub fn new(from: u64, to: u64, limits: Limits) -> Self {
		Self { from, to, hold: false, limits, attestations: Vec::new() }
	}

	/// Whether the range has any block (the cursor may be past the followed head).
	pub fn has_blocks(&self) -> bool {
		self.from <= self.to
	}

	/// Whether `d` still fits in this cycle's call. The call has a bound (so that it fits a
	/// block) and the chain takes votes only inside its window: past either, the scan ends just
	/// before `d`'s block, so that the checkpoint cannot pass a deposit left out. If `d` is in
	/// the scan's first block (more deposits in one block than a call holds), the scan holds
	/// instead: the next cycle scans the block again and skips what is voted.
	pub fn admits(&mut self, d: &Deposit) -> bool {
		if self.attestations.len() < self.limits.attestations && d.nonce < self.limits.window_end {
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

/// What this relayer owes a stored withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
	/// Nothing: signed by it under the current set.
	Nothing,
	/// Its signature under the current set.
	Signature,
	/// A signature under the current set if the vault has not released it: it was requested
	/// under an older set, whose signatures the vault no longer takes once it has moved to the
	/// current one.
	SignatureIfUnreleased,
}

/// What this relayer (Ethereum address `me`) owes withdrawal `w` under the current set
/// `set_id` and vault `vault`.
pub fn owed(
	w: &StoredWithdrawal,
	set_id: u32,
	vault: &pallet_bridge::VaultInfo,
	me: [u8; 20],
) -> Owed {
	if w.refunded || w.vault != *vault {
		// Done, or paid by another vault only (the chain refuses to sign it for this one).
		Owed::Nothing
	} else if w.set_id < set_id {
		Owed::SignatureIfUnreleased
	} else if w.set_id == set_id && !w.signers.contains(&me) {
		Owed::Signature
	} else {
		Owed::Nothing
	}
}

/// This relayer's EIP-712 signature of withdrawal `nonce`, over the digest the vault and the
/// pallet both check: its release, or its refund once its owner asked for one.
pub fn sign_withdrawal(
	signer: &PrivateKeySigner,
	vault: &pallet_bridge::VaultInfo,
	set_id: u32,
	nonce: u64,
	w: &StoredWithdrawal,
) -> Result<[u8; 65], EthError> {
	let digest = match &w.refund_to {
		None => {
			pallet_bridge::withdrawal_digest(vault, set_id, nonce, &sp_core::H160(w.to), w.amount)
		},
		Some(owner) => pallet_bridge::refund_digest(vault, set_id, nonce, owner, w.amount),
	};
	Ok(signer.sign_hash_sync(&B256::from(digest))?.as_bytes())
}

/// `d`, a deposit of `vault`, as the `relay` call carries it.
pub fn attestation(d: &Deposit, vault: &pallet_bridge::VaultInfo) -> Attestation {
	use crate::chain::cutopia::runtime_types::pallet_bridge::types::VaultInfo;
	Attestation {
		vault: VaultInfo { chain_id: vault.chain_id, vault: H160(vault.vault.0) },
		nonce: d.nonce,
		from: H160(d.from.0 .0),
		recipient: AccountId32(d.recipient),
		amount: d.amount,
		tx_hash: H256(d.tx_hash.0),
		refund_of: d.refund_of,
	}
}

/// The refused items worth reporting, and whether one of them is among the first `attesting`
/// (an attestation). Items that were no longer needed are not refused: the chain counts them
/// as late. A refused attestation (inbound paused, outside the window, …) keeps the
/// checkpoint where it is: the next cycle re-reads the range and re-checks what the chain
/// still needs, so a paused backlog is attested once unpaused.
pub fn failures(rejected: &[(usize, ItemError)], attesting: usize) -> bool {
	rejected.iter().any(|&(i, _)| i < attesting)
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
			refund_of: None,
		}
	}

	const LIMITS: Limits = Limits { attestations: 100, signatures: 200, window_end: u64::MAX };

	/// The relayer's loop over a range's logs, with `needed` standing for the chain's "still
	/// needs this vote" and the receipt check.
	fn scan_with(
		from: u64,
		to: u64,
		limits: Limits,
		logs: Vec<Deposit>,
		needed: impl Fn(&Deposit) -> bool,
	) -> Scan {
		let mut scan = Scan::new(from, to, limits);
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

	fn scan(from: u64, to: u64, logs: Vec<Deposit>, needed: impl Fn(&Deposit) -> bool) -> Scan {
		scan_with(from, to, LIMITS, logs, needed)
	}

	fn nonces(scan: &Scan) -> Vec<u64> {
		scan.attestations().iter().map(|d| d.nonce).collect()
	}

	#[test]
	fn a_full_call_ends_the_scan_before_the_deferred_deposits_block() {
		// 60 deposits in block 110, 60 in block 120.
		let logs: Vec<_> = (0..120).map(|n| deposit(if n < 60 { 110 } else { 120 }, n)).collect();
		let s = scan(100, 200, logs, |_| true);
		assert_eq!(nonces(&s), (0..100).collect::<Vec<_>>(), "capped, in log order");
		assert_eq!(s.to(), 119);
		assert_eq!(s.checkpoint_to(), Some(119), "the checkpoint stops before block 120");
		assert!(!s.holds());
	}

	#[test]
	fn a_block_with_more_deposits_than_a_call_is_split_over_cycles() {
		let logs: Vec<_> = (0..150).map(|n| deposit(100, n)).collect();
		let first = scan(100, 200, logs.clone(), |_| true);
		assert_eq!(first.attestations().len(), LIMITS.attestations);
		assert!(first.holds());
		assert_eq!(first.checkpoint_to(), None, "block 100 is not done");
		// The next cycle scans block 100 again; the chain has the first 100 votes.
		let second = scan(100, 200, logs, |d| d.nonce >= 100);
		assert_eq!(nonces(&second), (100..150).collect::<Vec<_>>());
		assert_eq!(second.checkpoint_to(), Some(200));
	}

	#[test]
	fn the_scan_ends_at_the_chains_vote_window() {
		let logs: Vec<_> = (0..50).map(|n| deposit(100 + n, n)).collect();
		let limits = Limits { window_end: 20, ..LIMITS };
		let s = scan_with(100, 300, limits, logs.clone(), |_| true);
		assert_eq!(nonces(&s), (0..20).collect::<Vec<_>>());
		assert_eq!(s.checkpoint_to(), Some(119), "nonce 20's block is scanned again");
		// Nonce 20 in the first block: hold.
		let s = scan_with(120, 300, limits, logs[20..].to_vec(), |_| true);
		assert!(s.attestations().is_empty());
		assert!(s.holds());
	}

	#[test]
	fn deposits_the_chain_does_not_need_do_not_fill_the_call() {
		let logs: Vec<_> = (0..150).map(|n| deposit(100 + n, n)).collect();
		let s = scan(100, 300, logs, |d| d.nonce % 3 == 0);
		assert_eq!(s.attestations().len(), 50);
		assert_eq!(s.checkpoint_to(), Some(300));
	}

	#[test]
	fn exactly_a_full_call_covers_the_whole_range() {
		let logs: Vec<_> = (0..100).map(|n| deposit(100 + n, n)).collect();
		let s = scan(100, 300, logs, |_| true);
		assert_eq!(s.attestations().len(), 100);
		assert_eq!(s.checkpoint_to(), Some(300));
	}

	#[test]
	fn an_empty_range_moves_no_checkpoint() {
		let s = Scan::new(11, 10, LIMITS);
		assert!(!s.has_blocks());
		assert_eq!(s.checkpoint_to(), None);
	}

	#[test]
	fn an_attestation_carries_the_deposit_as_logged() {
		let vault = pallet_bridge::VaultInfo { chain_id: 31_337, vault: sp_core::H160([0x11; 20]) };
		let attested = attestation(&deposit(5, 7), &vault);
		assert_eq!((attested.vault.chain_id, attested.vault.vault.0), (31_337, [0x11; 20]));
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
		let vault = pallet_bridge::VaultInfo { chain_id: 31_337, vault: sp_core::H160([0x11; 20]) };
		let w = StoredWithdrawal {
			vault,
			refunded: false,
			to: [0x5a; 20],
			amount: 2_000,
			set_id: 3,
			refund_to: None,
			signers: vec![],
		};
		assert_eq!(owed(&w, 3, &vault, me), Owed::Signature);
		let signed = StoredWithdrawal { signers: vec![[0x01; 20], me], ..w.clone() };
		assert_eq!(owed(&signed, 3, &vault, me), Owed::Nothing);
		// Signed or not under an older set: signed again unless the vault released it.
		assert_eq!(owed(&w, 4, &vault, me), Owed::SignatureIfUnreleased);
		assert_eq!(owed(&signed, 4, &vault, me), Owed::SignatureIfUnreleased);
		// Refunded, or paid by another vault: nothing.
		assert_eq!(
			owed(&StoredWithdrawal { refunded: true, ..w.clone() }, 3, &vault, me),
			Owed::Nothing
		);
		let other = pallet_bridge::VaultInfo { chain_id: 1, ..vault };
		assert_eq!(owed(&w, 3, &other, me), Owed::Nothing);

		let sig = sign_withdrawal(&signer, &vault, 3, 8, &w).unwrap();
		// The pallet recovers the relayer's registered address from it.
		let digest = pallet_bridge::withdrawal_digest(&vault, 3, 8, &sp_core::H160(w.to), 2_000);
		assert_eq!(pallet_bridge::recover_signer(&digest, &sig), Some(sp_core::H160(me)));
		let other = pallet_bridge::withdrawal_digest(&vault, 3, 9, &sp_core::H160(w.to), 2_000);
		assert_ne!(pallet_bridge::recover_signer(&other, &sig), Some(sp_core::H160(me)));
		// Once its owner asked for a refund, the relayer signs the refund instead.
		let refunding = StoredWithdrawal { refund_to: Some([0x42; 32]), ..w };
		let sig = sign_withdrawal(&signer, &vault, 3, 8, &refunding).unwrap();
		let digest = pallet_bridge::refund_digest(&vault, 3, 8, &[0x42; 32], 2_000);
		assert_eq!(pallet_bridge::recover_signer(&digest, &sig), Some(sp_core::H160(me)));
	}

	#[test]
	fn only_refused_attestations_stop_the_checkpoint() {
		use crate::chain::cutopia::{self, bridge::Error as Bridge};
		let refused = |i, e| (i, ItemError::Pallet(cutopia::Error::Bridge(e)));
		// Items 0..4 are attestations, items from 4 on signatures.
		assert!(!failures(&[refused(4, Bridge::AlreadySigned)], 4));
		assert!(failures(&[refused(1, Bridge::InboundPaused)], 4));
		assert!(failures(
			&[refused(3, Bridge::OutsideVoteWindow), refused(5, Bridge::BadSignature)],
			4
		));
		assert!(!failures(&[], 4));
	}
}
