// What the benchmark scripts (bench-tps.mjs, bench-agents.mjs) share: a fresh release dev
// node per run, accounts funded in bulk, pre-signed load submitted at once, the dev market's
// exchange and escrow operator, and hash-target challenges solved in JavaScript.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { blake2AsU8a, cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aConcat, u8aToHex, stringToU8a, hexToU8a } from '@polkadot/util';
import { spawn } from 'node:child_process';
import { work } from './work.mjs';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const CU = 10n ** 18n;
await cryptoWaitReady();
export const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
export const dev = (name) => keyring.addFromUri(`//${name}`);
export const [alice, bob, charlie] = ['Alice', 'Bob', 'Charlie'].map(dev);

// Exits with `msg`, prefixed with the script's name.
export const failer = (script) => (msg) => {
  console.error(`${script}: ${msg}`);
  process.exit(1);
};

export const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// A fresh `--dev --tmp` node of binary `bin` logging to `<tmp>/<log>.log`; resolves with
// { api, url, stop }.
export async function startNode(bin, log, fail) {
  const [rpc, p2p, prom] = [await freePort(), await freePort(), await freePort()];
  const file = path.join(os.tmpdir(), `${log}.log`);
  const child = spawn(bin, [
    '--dev', '--tmp', '--rpc-port', `${rpc}`, '--port', `${p2p}`, '--prometheus-port', `${prom}`,
    '--no-telemetry', '--no-mdns', '--wasmtime-instantiation-strategy', 'pooling',
    // Room for the whole load at once: the pool's limits are not what is measured.
    '--pool-limit', '50000', '--pool-kbytes', '500000', '--rpc-max-connections', '1000',
  ], { stdio: ['ignore', 'ignore', fs.openSync(file, 'w')] });
  const http = `http://127.0.0.1:${rpc}`;
  for (let i = 0; ; i++) {
    if (i > 180) fail(`node ${log} did not answer (log: ${file})`);
    try {
      const r = await fetch(http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":1,"jsonrpc":"2.0","method":"system_health"}' });
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const url = `ws://127.0.0.1:${rpc}`;
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true, throwOnConnect: true });
  while ((await api.rpc.chain.getHeader()).number.toNumber() < 1) await new Promise((r) => setTimeout(r, 500));
  return { api, url, stop: async () => { await api.disconnect(); child.kill('SIGTERM'); } };
}

// Sends `tx` from `signer` and resolves with its block's events once in a best block.
export const send = (api, tx, signer) =>
  new Promise((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const err = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`${tx.method.section}.${tx.method.method}: ${err}`));
      } else if (status.isInBlock) {
        resolve({ events: events.map((e) => e.event), block: status.asInBlock });
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new Error(`${tx.method.section}.${tx.method.method}: ${status.type}`));
      }
    }).catch(reject);
  });

// `count` fresh accounts, each given `amount` by Alice in one batch.
export async function funded(api, name, count, amount) {
  const pairs = Array.from({ length: count }, (_, i) => keyring.addFromUri(`//bench/${name}/${i}`));
  for (let i = 0; i < pairs.length; i += 200) {
    const batch = pairs.slice(i, i + 200).map((p) => api.tx.balances.transferKeepAlive(p.address, amount));
    await send(api, api.tx.utility.batchAll(batch), alice);
  }
  return pairs;
}

// Each account's next nonce, counted here so that many transactions can be signed ahead.
export const nonces = new Map();
async function nextNonce(api, pair) {
  if (!nonces.has(pair.address)) nonces.set(pair.address, (await api.rpc.system.accountNextIndex(pair.address)).toNumber());
  const n = nonces.get(pair.address);
  nonces.set(pair.address, n + 1);
  return n;
}

// Signs `tx` as `pair` with its next nonce, immortal (the load outlives no era).
export async function presign(api, tx, pair) {
  const signed = await tx.signAsync(pair, { nonce: await nextNonce(api, pair), era: 0 });
  return signed.toHex();
}

export async function submitAll(api, hexes) {
  for (let i = 0; i < hexes.length; i += 500) {
    await Promise.all(hexes.slice(i, i + 500).map((h) => api.rpc.author.submitExtrinsic(h)));
  }
}

// Bob as exchange (5 %), Charlie as escrow operator (1 %).
export async function registerServices(api) {
  const bond = 100n * CU;
  await Promise.all([
    send(api, api.tx.repChain.registerService('Exchange', 50_000, 'bob-exchange', 'bob.example:443', bond), bob),
    send(api, api.tx.repChain.registerService('EscrowOperator', 10_000, 'charlie-escrow', 'charlie.example:443', bond), charlie),
  ]);
}

export const resources = { cpuMillicores: 1_000, memoryMib: 1_024, storageGib: 0, gpus: 0 };

// A hash-target spec with Bob and Charlie, paying twice the indicative price (or minimum).
export async function spec(api, nodes, replicas, duration, taskType, res = resources) {
  const [, price, minimum] = await api.call.indentureApi.indicativePrice(res, nodes, duration);
  const big = price.toBigInt() > minimum.toBigInt() ? price.toBigInt() : minimum.toBigInt();
  return {
    task: { Inline: u8aToHex(stringToU8a('(module)')) }, taskType, executor: 'Wasm', resources: res, nodes, publicIp: 'None', duration,
    incentive: big * BigInt(replicas) * 2n, priority: 0, minReputation: 0,
    exchange: bob.address, escrowOperator: charlie.address, challenge: 'HashTarget', replicas, sshKey: null,
  };
}

export const u64 = (api, v) => api.createType('u64', v).toU8a();
export const u32 = (api, v) => api.createType('u32', v).toU8a();

// Waits for best block `n`.
export async function untilBlock(api, n) {
  while ((await api.rpc.chain.getHeader()).number.toNumber() < n) await new Promise((r) => setTimeout(r, 250));
}

// The `ChallengeOpened` events of the `count` indentures submitted after block `start`, as
// { id, context, block } (a hash target's seed hashes the block it opened in).
export async function openedChallenges(api, start, count, fail) {
  const challenges = [];
  for (let n = start + 1; challenges.length < count; n++) {
    await untilBlock(api, n);
    const hash = await api.rpc.chain.getBlockHash(n);
    for (const { event } of await api.query.system.events.at(hash)) {
      if (event.section === 'challenge' && event.method === 'ChallengeOpened') {
        challenges.push({ id: event.data.id.toNumber(), context: event.data.context.toNumber(), block: hash });
      }
    }
    if (n > start + 60) fail(`only ${challenges.length} of ${count} indentures opened`);
  }
  return challenges;
}

// `Challenge::solve` of hash-target challenge `c`, worked out for `miner` (unsigned).
export async function solveOf(api, c, miner) {
  const puzzle = (await api.query.challenge.challenges(c.id)).unwrap().puzzle.asHashTarget;
  const seed = blake2AsU8a(u8aConcat(stringToU8a('cutopia/hash-target'), u64(api, c.context), u64(api, c.id), hexToU8a(c.block.toHex())));
  return api.tx.challenge.solve(c.id, work(seed, miner.publicKey, puzzle.difficulty.toNumber()));
}
