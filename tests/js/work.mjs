// The proof of work of hash-target challenges and heartbeat rounds, as the chain checks it
// (cutopia_primitives::hashes / pallet-challenge `math::work_hash`).
import { createHash } from 'node:crypto';

// The first nonce whose sha256(seed ‖ miner ‖ nonce_le) has `bits` leading zero bits.
export const work = (seed, miner, bits) => {
  for (let n = 0n; ; n++) {
    const le = new Uint8Array(8);
    new DataView(le.buffer).setBigUint64(0, n, true);
    const h = createHash('sha256').update(seed).update(miner).update(le).digest();
    let zeros = 0;
    for (const b of h) {
      if (b === 0) { zeros += 8; continue; }
      zeros += Math.clz32(b) - 24;
      break;
    }
    if (zeros >= bits) return n;
  }
};
