// Helpers over @polkadot/api: amounts, signing and submitting, errors in words. Every value
// is encoded and decoded by the API from the chain's own metadata.
import { chain } from './state.svelte.js';

export const ZERO_HASH = '0x' + '00'.repeat(32);

// `2.5` → base units (bigint); throws with a message on anything that is not an amount.
export function parseCU(text, decimals = chain.decimals) {
  const s = String(text).trim();
  if (!/^\d+(\.\d+)?$/.test(s)) throw new Error(`"${text}" is not an amount of ${chain.symbol}`);
  const [whole, frac = ''] = s.split('.');
  if (frac.length > decimals) throw new Error(`at most ${decimals} decimals`);
  const v = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  if (v >= 1n << 128n) throw new Error('too large an amount');
  return v;
}

// Base units → `2.05 CU` (up to `digits` decimals, trailing zeros dropped, `…` when more
// digits follow).
export function fmtCU(v, digits = 6) {
  if (v === null || v === undefined) return '…';
  const n = BigInt(v.toString());
  const neg = n < 0n;
  const a = neg ? -n : n;
  const unit = 10n ** BigInt(chain.decimals);
  const whole = a / unit;
  const all = (a % unit).toString().padStart(chain.decimals, '0');
  const frac = all.slice(0, digits).replace(/0+$/, '');
  // Digits cut off are marked, so a balance off by a few base units never looks exact.
  const cut = /[1-9]/.test(all.slice(digits)) ? '…' : '';
  const body = (frac ? `${whole}.${frac}` : `${whole}`) + cut;
  return `${neg ? '-' : ''}${body} ${chain.symbol}`;
}

// Base units → a plain decimal string with every digit (for inputs).
export function plainCU(v) {
  const unit = 10n ** BigInt(chain.decimals);
  const frac = (v % unit).toString().padStart(chain.decimals, '0').replace(/0+$/, '');
  return frac ? `${v / unit}.${frac}` : `${v / unit}`;
}

export const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : '');

export function blocksToTime(blocks) {
  const s = Math.max(0, Math.round((blocks * chain.blockMs) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

// A dispatch error in words: the pallet error's name and its documentation from metadata.
export function explain(api, dispatchError) {
  if (dispatchError.isModule) {
    const { section, name, docs } = api.registry.findMetaError(dispatchError.asModule);
    return `${section}.${name}: ${docs.join(' ').trim() || 'no documentation'}`;
  }
  if (dispatchError.isToken) return `token error: ${dispatchError.asToken.type}`;
  if (dispatchError.isArithmetic) return `arithmetic error: ${dispatchError.asArithmetic.type}`;
  return dispatchError.toString();
}

// Signs `tx` with `account` (a dev key pair or an extension's signer) and resolves with the
// events of the block it was included in; rejects with the chain's error in words.
export function send(api, tx, account, onStatus = () => {}) {
  return new Promise((resolve, reject) => {
    const opts = account.pair ? { nonce: -1 } : { nonce: -1, signer: account.signer };
    const who = account.pair ?? account.address;
    let unsub = () => {};
    tx.signAndSend(who, opts, (r) => {
      const { status, events, dispatchError } = r;
      onStatus(status.type);
      if (dispatchError) {
        unsub();
        reject(new Error(explain(api, dispatchError)));
      } else if (status.isInBlock) {
        unsub();
        resolve({ block: status.asInBlock.toHex(), events: events.map((e) => e.event) });
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        unsub();
        reject(new Error(`the transaction was ${status.type.toLowerCase()} by the pool`));
      }
    })
      .then((u) => (unsub = u))
      .catch((e) => reject(new Error(poolError(e))));
  });
}

// The pool's refusals ("1010: Invalid Transaction: Inability to pay some fees…") in words.
function poolError(e) {
  const m = String(e.message ?? e);
  if (/Inability to pay some fees/.test(m)) return 'the account cannot pay the transaction fee (balance too low)';
  return m.replace(/^\d+: /, '');
}

// The variant name of a decoded enum (`Open`, `Leased`…).
export const variant = (e) => (e?.type ?? String(e));

export async function sha256Hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return '0x' + [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}
