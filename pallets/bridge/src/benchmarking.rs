//! Benchmarks of the Bridge pallet (frame-benchmarking v2), each at its worst case.

use super::*;
use crate::Pallet as Bridge;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;

/// An amount every runtime accepts (above any sane existential deposit and `MinTransfer`).
const AMOUNT: u128 = 1_000_000_000_000_000;
/// The vault of the benchmarks' deposits and signatures.
const VAULT: VaultInfo = VaultInfo { chain_id: 31337, vault: H160([0xaa; 20]) };

/// Where the `relay` benchmark keeps its signing key.
const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"brdg");

fn eth_of(i: u32) -> H160 {
	let mut a = [0x40u8; 20];
	a[..4].copy_from_slice(&i.to_be_bytes());
	H160(a)
}

/// A signing key in the benchmark keystore and its Ethereum address.
fn new_key() -> (sp_core::ecdsa::Public, H160) {
	let key = sp_io::crypto::ecdsa_generate(KEY_TYPE, None);
	let me = recover_signer(&[7; 32], &eth_sign(&key, &[7; 32])).expect("own signature recovers");
	(key, me)
}

/// `digest` signed as Ethereum tools do (`v` of 27 or 28).
fn eth_sign(key: &sp_core::ecdsa::Public, digest: &[u8; 32]) -> EthSignature {
	let mut sig = sp_io::crypto::ecdsa_sign_prehashed(KEY_TYPE, key, digest)
		.expect("the benchmark keystore signs")
		.0;
	sig[64] += 27;
	sig
}

/// The amount of the benchmarks' withdrawals: as large as the runtime allows, up to `AMOUNT`.
fn out<T: Config>() -> u128 {
	AMOUNT.min(T::MaxWithdrawal::get())
}

/// Installs `n` relayers with threshold `n` (the most votes to count); member 0 is the
/// whitelisted caller with Ethereum address `me`.
fn relayers<T: Config>(n: u32, me: H160) -> Vec<T::AccountId> {
	let caller: T::AccountId = whitelisted_caller();
	let mut members = alloc::vec![(caller.clone(), me)];
	members.extend((1..n).map(|i| (account::<T::AccountId>("relayer", i, 0), eth_of(i))));
	Bridge::<T>::set_relayers(RawOrigin::Root.into(), members.clone(), n).expect("valid set");
	Vault::<T>::put(VAULT);
	members.into_iter().map(|(a, _)| a).collect()
}

fn deposit<T: Config>(nonce: DepositNonce) -> DepositOf<T> {
	Deposit {
		vault: VAULT,
		nonce,
		from: H160([0x11; 20]),
		recipient: account("recipient", 0, 0),
		// Within any period cap, so the mint happens.
		amount: AMOUNT.min(T::MintCap::get()),
		tx_hash: H256::repeat_byte(1),
		refund_of: None,
	}
}

/// `caller`, funded with bridged CU, withdraws `out()` to `0x2222…22` (withdrawal 0 on a fresh
/// chain).
fn withdraw_as<T: Config>(caller: &T::AccountId) {
	T::Currency::mint_into(caller, AMOUNT * 10).expect("funds");
	TotalMinted::<T>::put(AMOUNT * 10);
	Bridge::<T>::withdraw(RawOrigin::Signed(caller.clone()).into(), H160([0x22; 20]), out::<T>())
		.expect("withdraw");
}

/// Stands members `from..to`'s (unchecked) signatures on withdrawal `nonce`.
fn fake_signatures<T: Config>(nonce: WithdrawalNonce, from: u32, to: u32) {
	Withdrawals::<T>::mutate(nonce, |w| {
		if let Some(w) = w {
			for i in from..to {
				w.signatures.try_push((eth_of(i), [0u8; 65])).expect("n ≤ MaxRelayers");
			}
		}
	});
}

/// `count` withdrawals of a fresh owner, each with its refund asked for, and the vault's
/// refund deposits of them with vault nonces `0..count`: the heaviest attestations (the
/// refund's withdrawal is read and written, its pending entry removed).
fn refund_deposits<T: Config>(count: u32) -> Vec<DepositOf<T>> {
	let owner: T::AccountId = account("owner", 0, 0);
	let amount = out::<T>();
	T::Currency::mint_into(&owner, amount * (u128::from(count) + 2)).expect("funds");
	TotalMinted::<T>::mutate(|m| *m = m.saturating_add(amount * (u128::from(count) + 2)));
	(0..u64::from(count))
		.map(|nonce| {
			let w = NextWithdrawal::<T>::get();
			Bridge::<T>::withdraw(
				RawOrigin::Signed(owner.clone()).into(),
				H160([0x22; 20]),
				amount,
			)
			.expect("withdraw");
			Withdrawals::<T>::mutate(w, |w| {
				if let Some(w) = w {
					w.payout = Payout::Refund;
				}
			});
			PendingRefunds::<T>::insert(w, ());
			Deposit {
				from: VAULT.vault,
				recipient: owner.clone(),
				amount,
				refund_of: Some(w),
				..deposit::<T>(nonce)
			}
		})
		.collect()
}

/// The vault configured and the mint window at its longest (a full set of empty buckets
/// before the current one), which every mint reads and rewrites.
fn full_window<T: Config>() {
	Vault::<T>::put(VAULT);
	let buckets = T::MintBuckets::get();
	let length = T::MintPeriod::get() / buckets.into();
	frame_system::Pallet::<T>::set_block_number(T::MintPeriod::get().saturating_mul(2u32.into()));
	let current = frame_system::Pallet::<T>::block_number() / length;
	let window: Vec<_> = (1..buckets)
		.rev()
		.map(|back| MintBucket { index: current - back.into(), minted: 0, undelayed: 0 })
		.collect();
	MintWindow::<T>::put(BoundedVec::try_from(window).expect("fewer than MintBuckets"));
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// `n` new members replace a full set whose members all relayed this block: every old
	/// member's provider reference is given back, every new one's taken.
	#[benchmark]
	fn set_relayers(n: Linear<1, { T::MaxRelayers::get() }>) {
		let max = T::MaxRelayers::get();
		let old: Vec<_> =
			(0..max).map(|i| (account::<T::AccountId>("old", i, 0), eth_of(1_000 + i))).collect();
		Bridge::<T>::set_relayers(RawOrigin::Root.into(), old.clone(), max).expect("valid set");
		let now = frame_system::Pallet::<T>::block_number();
		for (who, _) in &old {
			LastRelay::<T>::insert(who, now);
		}
		let members: Vec<_> =
			(0..n).map(|i| (account::<T::AccountId>("relayer", i, 0), eth_of(i))).collect();
		#[extrinsic_call]
		_(RawOrigin::Root, members, n);
		assert_eq!(Relayers::<T>::get().map(|s| s.members.len() as u32), Some(n));
	}

	/// The vote that completes a threshold of `n` for a refund deposit and mints it.
	#[benchmark]
	fn attest_deposit(n: Linear<1, { T::MaxRelayers::get() }>) {
		full_window::<T>();
		let members = relayers::<T>(n, eth_of(u32::MAX));
		let refund = refund_deposits::<T>(1).remove(0);
		for who in &members[1..] {
			Bridge::<T>::attest_deposit(RawOrigin::Signed(who.clone()).into(), refund.clone())
				.expect("vote");
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(members[0].clone()), refund);
		assert!(Processed::<T>::contains_key((VAULT, 0)));
	}

	#[benchmark]
	fn withdraw() {
		relayers::<T>(1, eth_of(u32::MAX));
		let caller: T::AccountId = whitelisted_caller();
		T::Currency::mint_into(&caller, AMOUNT * 10).expect("funds");
		TotalMinted::<T>::put(AMOUNT * 10);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), H160([0x22; 20]), out::<T>());
		assert!(Withdrawals::<T>::contains_key(0));
	}

	/// The last of `n` signatures (the earlier ones are only compared, not verified again).
	#[benchmark]
	fn sign_withdrawal(n: Linear<1, { T::MaxRelayers::get() }>) {
		Vault::<T>::put(VAULT);
		let (key, me) = new_key();
		let members = relayers::<T>(n, me);
		let caller = members[0].clone();
		withdraw_as::<T>(&caller);
		let set_id = Relayers::<T>::get().expect("installed").id;
		let signature =
			eth_sign(&key, &withdrawal_digest(&VAULT, set_id, 0, &H160([0x22; 20]), out::<T>()));
		fake_signatures::<T>(0, 1, n);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), 0, signature);
		assert_eq!(Withdrawals::<T>::get(0).map(|w| w.signatures.len() as u32), Some(n));
	}

	/// The owner asks for a refund of a withdrawal that has every member's signature (all
	/// cleared).
	#[benchmark]
	fn request_refund() {
		let n = T::MaxRelayers::get();
		relayers::<T>(n, eth_of(u32::MAX));
		let caller: T::AccountId = whitelisted_caller();
		withdraw_as::<T>(&caller);
		fake_signatures::<T>(0, 0, n);
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now.saturating_add(Bridge::<T>::delays().1));
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), 0);
		assert_eq!(Withdrawals::<T>::get(0).map(|w| w.payout), Some(Payout::Refund));
	}

	#[benchmark]
	fn set_delays() {
		#[extrinsic_call]
		_(RawOrigin::Root, 7u32.into(), 9u32.into());
		assert_eq!(Delays::<T>::get(), Some((7u32.into(), 9u32.into())));
	}

	#[benchmark]
	fn set_paused() {
		#[extrinsic_call]
		_(RawOrigin::Root, true, true);
		assert!(InboundPaused::<T>::get());
	}

	#[benchmark]
	fn set_vault() {
		#[extrinsic_call]
		_(RawOrigin::Root, VAULT);
		assert_eq!(Vault::<T>::get(), Some(VAULT));
	}

	#[benchmark]
	fn mint_delayed() {
		full_window::<T>();
		let d = deposit::<T>(0);
		Processed::<T>::insert((VAULT, 0), ());
		DelayedDeposits::<T>::insert(0, Delayed { deposit: d, not_before: Zero::zero() });
		DelayQueue::<T>::put((0, 1));
		let caller: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), 0);
		assert!(!DelayedDeposits::<T>::contains_key(0));
	}

	/// A block's `on_initialize` minting `n` due delayed deposits, each to a new account.
	#[benchmark]
	fn mint_due(n: Linear<0, { T::MaxDueMints::get() }>) {
		full_window::<T>();
		let amount = (T::MintCap::get() / u128::from(T::MaxDueMints::get())).min(AMOUNT);
		for id in 0..u64::from(n) {
			let d = Deposit {
				amount,
				recipient: account("recipient", id as u32, 0),
				..deposit::<T>(id)
			};
			Processed::<T>::insert((VAULT, id), ());
			DelayedDeposits::<T>::insert(id, Delayed { deposit: d, not_before: Zero::zero() });
		}
		DelayQueue::<T>::put((0, u64::from(n)));
		#[block]
		{
			Bridge::<T>::mint_due(n);
		}
		assert_eq!(DelayQueue::<T>::get(), (u64::from(n), u64::from(n)));
		assert_eq!(DelayedDeposits::<T>::iter().count(), 0);
	}

	#[benchmark]
	fn cancel_delayed() {
		relayers::<T>(T::MaxRelayers::get(), eth_of(u32::MAX));
		Processed::<T>::insert((VAULT, 0), ());
		DelayedDeposits::<T>::insert(
			0,
			Delayed { deposit: deposit::<T>(0), not_before: Zero::zero() },
		);
		DelayQueue::<T>::put((0, 1));
		#[extrinsic_call]
		_(RawOrigin::Root, 0);
		assert!(!DelayedDeposits::<T>::contains_key(0));
		assert!(Withdrawals::<T>::contains_key(0), "the refund");
	}

	/// `a` attestations that each complete a threshold of `MaxRelayers` and mint, and `s`
	/// signatures that are each the last of `MaxRelayers` and recovered: the worst case of
	/// every item.
	#[benchmark]
	fn relay(
		a: Linear<0, { T::MaxAttestations::get() }>,
		s: Linear<0, { T::MaxSignatures::get() }>,
	) {
		full_window::<T>();
		let (key, me) = new_key();
		let n = T::MaxRelayers::get();
		let caller: T::AccountId = whitelisted_caller();
		let mut members = alloc::vec![(caller.clone(), me)];
		members.extend((1..n).map(|i| (account::<T::AccountId>("relayer", i, 0), eth_of(i))));
		Bridge::<T>::set_relayers(RawOrigin::Root.into(), members.clone(), n).expect("valid set");
		let set = Relayers::<T>::get().expect("installed");

		T::Currency::mint_into(&caller, AMOUNT * (u128::from(s) + 10)).expect("funds");
		TotalMinted::<T>::put(AMOUNT * (u128::from(s) + 10));
		let signatures: Vec<_> = (0..u64::from(s))
			.map(|nonce| {
				Bridge::<T>::withdraw(
					RawOrigin::Signed(caller.clone()).into(),
					H160([0x22; 20]),
					out::<T>(),
				)
				.expect("withdraw");
				fake_signatures::<T>(nonce, 1, n);
				let digest =
					withdrawal_digest(&VAULT, set.id, nonce, &H160([0x22; 20]), out::<T>());
				(nonce, eth_sign(&key, &digest))
			})
			.collect();
		// Refund deposits (the heaviest), their withdrawals after the signed ones.
		let attestations = refund_deposits::<T>(a);
		for d in &attestations {
			let hash = H256(sp_io::hashing::blake2_256(&d.encode()));
			for (who, _) in &members[1..] {
				Votes::<T>::insert((VAULT, d.nonce), who, hash);
			}
		}
		let attestations = BoundedVec::try_from(attestations).expect("a ≤ MaxAttestations");
		let signatures = BoundedVec::try_from(signatures).expect("s ≤ MaxSignatures");

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), attestations, signatures);
		assert!((0..u64::from(a)).all(|nonce| Processed::<T>::contains_key((VAULT, nonce))));
		assert!((0..u64::from(s)).all(|nonce| Withdrawals::<T>::get(nonce).is_some_and(|w| w
			.signatures
			.len()
			as u32
			== n)));
	}

	impl_benchmark_test_suite!(Bridge, crate::mock::new_bench_ext(), crate::mock::Test);
}
