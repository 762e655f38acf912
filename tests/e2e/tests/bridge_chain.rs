//! End-to-end: the chain side of the CuToken bridge on `cutopia-node --dev`, with the dev
//! relayers (Alice, Bob, Charlie; threshold 2) submitting signed extrinsics through subxt:
//! two attestations mint a deposit exactly once and for free, a withdrawal burns, and a
//! relayer's EIP-712 signature made with its Ethereum key (anvil's account 1) is accepted.

use cutopia_e2e::{
	chain::{account, free, metric, runtime, send, tx, uint, Api},
	Node, TempDir,
};
use sp_core::{ecdsa, Pair, H160};
use std::time::{Duration, Instant};
use subxt::dynamic::{At, Value};
use subxt_signer::sr25519::dev;

const CU: u128 = 1_000_000_000_000_000_000;
/// anvil's account 1, Alice's Ethereum key in the dev genesis.
const ANVIL_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn hex(s: &str) -> Vec<u8> {
	(0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// The dev genesis vault: anvil account 0's second deployment on chain 31337.
const DEV_VAULT: &str = "e7f1725e7734ce288f8367e1bb143e90bb3f0512";

fn deposit(nonce: u64, recipient: [u8; 32], amount: u128) -> Value {
	Value::named_composite([
		(
			"vault",
			Value::named_composite([
				("chain_id", Value::u128(31337)),
				("vault", Value::from_bytes(hex(DEV_VAULT))),
			]),
		),
		("nonce", Value::u128(nonce.into())),
		("from", Value::from_bytes([0x11u8; 20])),
		("recipient", Value::from_bytes(recipient)),
		("amount", Value::u128(amount)),
		("tx_hash", Value::from_bytes([0xabu8; 32])),
		("refund_of", Value::unnamed_variant("None", [])),
	])
}

/// `Bridge.relay` with these attestations and signatures.
fn relay(attestations: Vec<Value>, signatures: Vec<Value>) -> impl subxt::tx::Payload {
	tx(
		"Bridge",
		"relay",
		vec![Value::unnamed_composite(attestations), Value::unnamed_composite(signatures)],
	)
}

#[test]
fn relayers_mint_a_deposit_once_and_sign_a_withdrawal() {
	let tmp = TempDir::new("bridge-chain");
	let mut node = Node::start("bridge-chain", tmp.path(), &["--dev", "--tmp"]);
	node.wait_until("block #1", Duration::from_secs(120), |n| n.best_number() >= 1);
	let port = node.rpc_port;
	let (alice, bob, dave) = (dev::alice(), dev::bob(), dev::dave());
	let amount = 5 * CU + 123;
	runtime().block_on(async {
		let api = Api::from_insecure_url(node.ws_url()).await.expect("subxt connects");
		let (alice0, dave0) =
			(free(&api, port, account(&alice)).await, free(&api, port, account(&dave)).await);

		let started = Instant::now();
		let first =
			send(&api, port, &relay(vec![deposit(0, account(&dave), amount)], vec![]), &alice)
				.await;
		assert_eq!(uint(first.one("Bridge", "Attested"), "votes"), 1);
		first.one("SkipFeelessPayment", "FeeSkipped");
		assert!(first.find("Bridge", "Minted").is_empty(), "one vote minted");
		let second =
			send(&api, port, &relay(vec![deposit(0, account(&dave), amount)], vec![]), &bob).await;
		assert_eq!(uint(second.one("Bridge", "Minted"), "amount"), amount);
		metric(
			"bridge_two_attestations_to_mint_s",
			format!("{:.1}", started.elapsed().as_secs_f64()),
		);
		assert_eq!(free(&api, port, account(&dave)).await, dave0 + amount);
		// Relaying is free for relayers.
		assert_eq!(free(&api, port, account(&alice)).await, alice0);

		// Dave sends 2 CU back to Ethereum: burned here, signed by Alice's Ethereum key.
		let to = H160([0x22; 20]);
		let back = 2 * CU;
		let w = send(
			&api,
			port,
			&tx("Bridge", "withdraw", vec![Value::from_bytes(to.0), Value::u128(back)]),
			&dave,
		)
		.await;
		let req = w.one("Bridge", "WithdrawalRequested");
		let nonce = uint(req, "nonce") as u64;
		let set_id = uint(req, "set_id") as u32;
		assert_eq!(
			free(&api, port, account(&dave)).await,
			dave0 + amount - back - w.fee(),
			"the withdrawal burns exactly its amount"
		);
		let vault =
			pallet_bridge::VaultInfo { chain_id: 31337, vault: H160::from_slice(&hex(DEV_VAULT)) };
		let digest = pallet_bridge::withdrawal_digest(&vault, set_id, nonce, &to, back);
		let key = ecdsa::Pair::from_seed_slice(&hex(ANVIL_1)).expect("secret key");
		let mut sig = key.sign_prehashed(&digest).0;
		// v as Ethereum (and the vault) expects it: 27 or 28.
		sig[64] += 27;
		let signed = send(
			&api,
			port,
			&relay(
				vec![],
				vec![Value::unnamed_composite([Value::u128(nonce.into()), Value::from_bytes(sig)])],
			),
			&alice,
		)
		.await;
		let ev = signed.one("Bridge", "WithdrawalSigned");
		let signer: Vec<u8> = cutopia_e2e::chain::bytes(ev.at("signer").expect("signer"));
		assert_eq!(signer, hex("70997970c51812dc3a010c7d01b50e0d17dc79c8"));
		assert_eq!(free(&api, port, account(&alice)).await, alice0, "signing is free");
	});
	node.stop();
}
