//! Signing keys: secret URIs (dev accounts `//Alice`, mnemonics, `0x` seeds, with `//hard` and
//! `/soft` derivation), and encrypted keystore files — CuTopia's own (a mnemonic sealed with
//! scrypt + XSalsa20-Poly1305) and polkadot.js account exports.

use anyhow::{anyhow, bail, Context, Result};
use crypto_secretbox::{
	aead::{Aead, KeyInit},
	Key, Nonce, XSalsa20Poly1305,
};
use serde::{Deserialize, Serialize};
use std::{path::Path, str::FromStr};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// A key from a secret URI: `//Alice`, `"twelve words ..."`, `"words//hard/soft"`, `0x<seed>`.
pub fn from_uri(uri: &str) -> Result<Keypair> {
	let parsed = SecretUri::from_str(uri.trim())
		.map_err(|e| anyhow!("not a secret URI (try //Alice or a mnemonic): {e}"))?;
	Keypair::from_uri(&parsed).map_err(|e| anyhow!("bad secret URI: {e}"))
}

/// A new 12-word mnemonic from the operating system's random source.
pub fn new_mnemonic() -> Result<String> {
	let mut entropy = [0u8; 16];
	getrandom::getrandom(&mut entropy).map_err(|e| anyhow!("no OS randomness: {e}"))?;
	Ok(bip39::Mnemonic::from_entropy(&entropy)?.to_string())
}

/// scrypt cost: N = 2^15, r = 8, p = 1 (polkadot.js's standard; ~0.1 s and 32 MiB).
const SCRYPT_LOG_N: u8 = 15;
const FORMAT: &str = "cutopia-keystore-1";

/// CuTopia's keystore file: the secret URI sealed under a password.
#[derive(Serialize, Deserialize)]
struct Keystore {
	format: String,
	/// SS58 address, so the file says whose it is without the password.
	address: String,
	scrypt_log_n: u8,
	salt: String,
	nonce: String,
	ciphertext: String,
}

fn hexs(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
	let s = s.trim_start_matches("0x");
	if !s.len().is_multiple_of(2) {
		bail!("odd-length hex");
	}
	(0..s.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| anyhow!("bad hex: {e}")))
		.collect()
}

fn cipher(password: &str, salt: &[u8], log_n: u8) -> Result<XSalsa20Poly1305> {
	let params = scrypt::Params::new(log_n, 8, 1, 32).map_err(|e| anyhow!("scrypt: {e}"))?;
	let mut key = Key::default();
	scrypt::scrypt(password.as_bytes(), salt, &params, &mut key)
		.map_err(|e| anyhow!("scrypt: {e}"))?;
	Ok(XSalsa20Poly1305::new(&key))
}

/// Seals `uri` under `password` into the JSON of a keystore file.
pub fn seal(uri: &str, password: &str) -> Result<String> {
	let pair = from_uri(uri)?;
	let mut salt = [0u8; 32];
	let mut nonce = [0u8; 24];
	getrandom::getrandom(&mut salt).map_err(|e| anyhow!("no OS randomness: {e}"))?;
	getrandom::getrandom(&mut nonce).map_err(|e| anyhow!("no OS randomness: {e}"))?;
	let ciphertext = cipher(password, &salt, SCRYPT_LOG_N)?
		.encrypt(Nonce::from_slice(&nonce), uri.as_bytes())
		.map_err(|_| anyhow!("encryption failed"))?;
	let ks = Keystore {
		format: FORMAT.into(),
		address: pair.public_key().to_account_id().to_string(),
		scrypt_log_n: SCRYPT_LOG_N,
		salt: hexs(&salt),
		nonce: hexs(&nonce),
		ciphertext: hexs(&ciphertext),
	};
	Ok(serde_json::to_string_pretty(&ks)?)
}

/// Opens a keystore file (CuTopia's or a polkadot.js export) with `password`.
pub fn open(path: &Path, password: &str) -> Result<Keypair> {
	let json = std::fs::read_to_string(path)
		.with_context(|| format!("cannot read keystore {}", path.display()))?;
	let value: serde_json::Value = serde_json::from_str(&json)
		.with_context(|| format!("{} is not a keystore (not JSON)", path.display()))?;
	if value.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
		let ks: Keystore = serde_json::from_value(value)?;
		let plain = cipher(password, &unhex(&ks.salt)?, ks.scrypt_log_n)?
			.decrypt(Nonce::from_slice(&unhex(&ks.nonce)?), unhex(&ks.ciphertext)?.as_slice())
			.map_err(|_| anyhow!("wrong password for {}", path.display()))?;
		let pair = from_uri(std::str::from_utf8(&plain)?)?;
		if pair.public_key().to_account_id().to_string() != ks.address {
			bail!("{} is corrupt: its key does not match its address", path.display());
		}
		Ok(pair)
	} else {
		subxt_signer::polkadot_js_compat::decrypt_json(&json, password).map_err(|e| {
			anyhow!(
				"cannot open {} as a polkadot.js keystore: {e} (wrong password?)",
				path.display()
			)
		})
	}
}

/// Writes `contents` readable by the owner only.
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
	use std::{io::Write, os::unix::fs::OpenOptionsExt};
	let mut f = std::fs::OpenOptions::new()
		.write(true)
		.create_new(true)
		.mode(0o600)
		.open(path)
		.with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
	f.write_all(contents.as_bytes())?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn dev_uris_mnemonics_and_keystores_give_the_same_keys() {
		let alice = from_uri("//Alice").unwrap();
		assert_eq!(
			alice.public_key().to_account_id().to_string(),
			"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
		);
		assert!(from_uri("not a key at all").is_err());
		let phrase = new_mnemonic().unwrap();
		assert_eq!(phrase.split(' ').count(), 12);
		let derived = from_uri(&format!("{phrase}//miner/1")).unwrap();
		let json = seal(&format!("{phrase}//miner/1"), "pw").unwrap();
		let dir = std::env::temp_dir().join(format!("plexus-keys-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let file = dir.join("k.json");
		let _ = std::fs::remove_file(&file);
		write_private(&file, &json).unwrap();
		assert!(write_private(&file, &json).is_err(), "an existing keystore is never overwritten");
		assert_eq!(open(&file, "pw").unwrap().public_key().0, derived.public_key().0);
		let wrong = open(&file, "not-pw").err().unwrap().to_string();
		assert!(wrong.contains("wrong password"), "{wrong}");
		std::fs::remove_dir_all(&dir).unwrap();
	}
}
