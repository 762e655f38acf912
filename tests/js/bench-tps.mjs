// Throughput of the chain by kind of extrinsic (issue 13, item 4): for each kind it starts a
// fresh `--dev --tmp` node (Aura, 3 s slots, the release build given), sets up what the kind
// needs, pre-signs the load from many accounts, submits it all at once and counts the
// extrinsics of that kind included with success, block by block, against the blocks'
// timestamps (chain time, not wall clock). Prints one table: each kind's rate, its ratio to
// `transfer_keep_alive`, the most in one block, how many blocks were full (≥ 95 % of the
// normal class's weight or length) and how full the fullest was.
// Usage: node bench-tps.mjs <cutopia-node binary> [kind,kind,…]
// Kinds: transfer, submit-1, submit-16, heartbeat, heartbeat-batched, attest.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { blake2AsU8a, cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aConcat, u8aToHex, stringToU8a, hexToU8a } from '@polkadot/util';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { work } from './work.mjs';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const bin = process.argv[2];
const kinds = (process.argv[3] ?? 'transfer,submit-1,submit-16,heartbeat,heartbeat-batched,attest').split(',');
const fail = (msg) => {
  console.error(`bench-tps: ${msg}`);
  process.exit(1);
};
if (!bin || !fs.existsSync(bin)) fail(`no node binary at ${bin}`);
const CU = 10n ** 18n;
await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const dev = (name) => keyring.addFromUri(`//${name}`);
const [alice, bob, charlie] = ['Alice', 'Bob', 'Charlie'].map(dev);

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// A fresh dev node; resolves with { api, stop }.
async function startNode(name) {
  const [rpc, p2p, prom] = [await freePort(), await freePort(), await freePort()];
  const log = path.join(os.tmpdir(), `bench-tps-${name}.log`);
  const child = spawn(bin, [
    '--dev', '--tmp', '--rpc-port', `${rpc}`, '--port', `${p2p}`, '--prometheus-port', `${prom}`,
    '--no-telemetry', '--no-mdns', '--wasmtime-instantiation-strategy', 'pooling',
    // Room for the whole load at once: the pool's limits are not what is measured.
    '--pool-limit', '50000', '--pool-kbytes', '500000', '--rpc-max-connections', '1000',
  ], { stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
  const url = `http://127.0.0.1:${rpc}`;
  for (let i = 0; ; i++) {
    if (i > 180) fail(`node ${name} did not answer (log: ${log})`);
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":1,"jsonrpc":"2.0","method":"system_health"}' });
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const api = await ApiPromise.create({ provider: new WsProvider(`ws://127.0.0.1:${rpc}`), noInitWarn: true, throwOnConnect: true });
  while ((await api.rpc.chain.getHeader()).number.toNumber() < 1) await new Promise((r) => setTimeout(r, 500));
  return { api, stop: async () => { await api.disconnect(); child.kill('SIGTERM'); } };
}

// Sends `tx` from `signer` and resolves with its block's events once in a best block.
const send = (api, tx, signer) =>
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
async function funded(api, name, count, amount) {
  const pairs = Array.from({ length: count }, (_, i) => keyring.addFromUri(`//bench/${name}/${i}`));
  for (let i = 0; i < pairs.length; i += 200) {
    const batch = pairs.slice(i, i + 200).map((p) => api.tx.balances.transferKeepAlive(p.address, amount));
    await send(api, api.tx.utility.batchAll(batch), alice);
  }
  return pairs;
}

const nonces = new Map();
async function nextNonce(api, pair) {
  if (!nonces.has(pair.address)) nonces.set(pair.address, (await api.rpc.system.accountNextIndex(pair.address)).toNumber());
  const n = nonces.get(pair.address);
  nonces.set(pair.address, n + 1);
  return n;
}

// Signs `tx` as `pair` with its next nonce, immortal (the load outlives no era).
async function presign(api, tx, pair) {
  const signed = await tx.signAsync(pair, { nonce: await nextNonce(api, pair), era: 0 });
  return signed.toHex();
}

async function submitAll(api, hexes) {
  for (let i = 0; i < hexes.length; i += 500) {
    await Promise.all(hexes.slice(i, i + 500).map((h) => api.rpc.author.submitExtrinsic(h)));
  }
}

// Counts, block by block from the best block after `from`, the extrinsics `isKind` picks that
// succeeded, until `expected` are in or 10 blocks pass without one. `onBlock(number, hash)`
// runs for every block first (the heartbeat load answers rounds as they open).
async function measure(api, from, expected, isKind, onBlock = async () => {}, countEvents = null) {
  const limits = api.consts.system.blockWeights.perClass.normal.maxTotal.unwrap().refTime.toBigInt();
  const maxLen = api.consts.system.blockLength.max.normal.toNumber();
  let n = from + 1;
  let included = 0, idle = 0, first = null, last = null, most = 0, full = 0, blocks = 0, fullest = 0;
  const deadline = Date.now() + 15 * 60_000;
  while (included < expected && (first === null || idle < 10)) {
    if (Date.now() > deadline) fail(`only ${included} of ${expected} included after 15 min`);
    if ((await api.rpc.chain.getHeader()).number.toNumber() < n) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const hash = await api.rpc.chain.getBlockHash(n);
    await onBlock(n, hash);
    const [block, events, weight, ts] = await Promise.all([
      api.rpc.chain.getBlock(hash),
      api.query.system.events.at(hash),
      api.query.system.blockWeight.at(hash),
      api.query.timestamp.now.at(hash),
    ]);
    const ok = new Set(events
      .filter(({ event, phase }) => phase.isApplyExtrinsic && event.section === 'system' && event.method === 'ExtrinsicSuccess')
      .map(({ phase }) => phase.asApplyExtrinsic.toNumber()));
    const xts = block.block.extrinsics;
    if (process.env.BENCH_TPS_DEBUG) {
      for (const { event } of events) {
        if (event.section === 'challenge' && event.method === 'HeartbeatRefused') {
          const e = event.data.error;
          const why = e.isModule ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(e.asModule)) : e.toString();
          console.error(`bench-tps: block ${n}: lease ${event.data.lease} round ${event.data.round} refused: ${why}`);
        }
      }
    }
    const here = countEvents
      ? events.filter(({ event, phase }) => phase.isApplyExtrinsic && ok.has(phase.asApplyExtrinsic.toNumber()) && countEvents(event.section, event.method)).length
      : xts.filter((x, i) => ok.has(i) && isKind(x.method.section, x.method.method)).length;
    const len = xts.reduce((a, x) => a + x.encodedLength, 0);
    if (here > 0) {
      if (first === null) first = { n, ts: (await api.query.timestamp.now.at(block.block.header.parentHash)).toNumber() };
      last = { n, ts: ts.toNumber() };
      included += here;
      idle = 0;
      most = Math.max(most, here);
      blocks++;
      const used = Math.max(Number(weight.normal.refTime.toBigInt() * 1000n / limits) / 10, (len * 100) / maxLen);
      fullest = Math.max(fullest, used);
      if (used >= 95) full++;
    } else if (first !== null) {
      idle++;
    }
    n++;
  }
  const seconds = (last.ts - first.ts) / 1000;
  return { included, seconds, rate: included / seconds, most, blocks, full, fullest };
}

async function registerServices(api) {
  const bond = 100n * CU;
  await Promise.all([
    send(api, api.tx.repChain.registerService('Exchange', 50_000, 'bob-exchange', 'bob.example:443', bond), bob),
    send(api, api.tx.repChain.registerService('EscrowOperator', 10_000, 'charlie-escrow', 'charlie.example:443', bond), charlie),
  ]);
}

const resources = { cpuMillicores: 1_000, memoryMib: 1_024, storageGib: 0, gpus: 0 };
async function spec(api, nodes, replicas, duration, taskType, res = resources) {
  const [, price, minimum] = await api.call.indentureApi.indicativePrice(res, nodes, duration);
  const big = price.toBigInt() > minimum.toBigInt() ? price.toBigInt() : minimum.toBigInt();
  return {
    task: { Inline: u8aToHex(stringToU8a('(module)')) }, taskType, resources: res, nodes, publicIp: 'None', duration,
    incentive: big * BigInt(replicas) * 2n, priority: 0, minReputation: 0,
    exchange: bob.address, escrowOperator: charlie.address, challenge: 'HashTarget', replicas, sshKey: null,
  };
}

const u64 = (api, v) => api.createType('u64', v).toU8a();
const u32 = (api, v) => api.createType('u32', v).toU8a();

const loads = {
  // 40 accounts × 100 transfers.
  async transfer(api) {
    const from = await funded(api, 'transfer', 40, 1_000n * CU);
    const hexes = [];
    for (const p of from) for (let i = 0; i < 100; i++) hexes.push(await presign(api, api.tx.balances.transferKeepAlive(alice.address, CU), p));
    return { hexes, isKind: (s, m) => s === 'balances' && m === 'transferKeepAlive' };
  },
  // 16 buyers × 60 one-slot submits (the queue holds 1,024, a buyer 64).
  async 'submit-1'(api) {
    return submits(api, 1, 1);
  },
  // The same with 4 nodes × 4 replicas: 16 slots, a challenge each.
  async 'submit-16'(api) {
    return submits(api, 4, 4);
  },
  // 960 one-slot services won by 16 miners; one round of each answered, one answer per
  // extrinsic (`heartbeat`).
  async heartbeat(api) {
    return heartbeats(api, 1, false);
  },
  // 1,920 leases (two waves of 960, the queue's size) answered in one `heartbeats` call per
  // miner and block: what an agent sends.
  async 'heartbeat-batched'(api) {
    return heartbeats(api, 2, true);
  },
  // Alice and Bob (two of the three dev relayers, the threshold) attest 1,500 deposits each.
  async attest(api) {
    const deposits = Array.from({ length: 1_500 }, (_, i) => ({
      nonce: i, from: u8aToHex(randomBytes(20)), recipient: u8aToHex(randomBytes(32)), amount: CU, txHash: u8aToHex(randomBytes(32)),
    }));
    const hexes = [];
    for (const d of deposits) for (const r of [alice, bob]) hexes.push(await presign(api, api.tx.bridge.attestDeposit(d), r));
    return { hexes, isKind: (s, m) => s === 'bridge' && m === 'attestDeposit' };
  },
};

// Sets up `waves` × 960 one-slot services won by 16 miners, every lease starting in the same
// phase of the heartbeat period, then answers one round of each so that all are answerable in
// one block: `batched` in one `heartbeats` call per miner, else one `heartbeat` each.
async function heartbeats(api, waves, batched) {
  await registerServices(api);
  const miners = await funded(api, 'miner', 16, 1_000n * CU);
  await Promise.all(miners.map((m, i) => send(api, api.tx.repChain.registerMiner(
    { cpuMillicores: 64_000, memoryMib: 262_144, storageGib: 1_000, gpus: 0 }, 0, `miner${i}.example:22`, 100n * CU), m)));
  const buyers = await funded(api, 'hb-buyer', 16, 20_000n * CU);
  // A thousandth of a core: the hash target's difficulty grows with the work's compute
  // units (12 + log2), and every challenge is solved here in JavaScript.
  const s = await spec(api, 1, 1, 2_000, 'Service', { cpuMillicores: 1, memoryMib: 0, storageGib: 0, gpus: 0 });
  const period = api.consts.indenture.heartbeatPeriod.toNumber();
  let phase = null;
  for (let wave = 0; wave < waves; wave++) {
    const subs = [];
    for (const b of buyers) for (let i = 0; i < 60; i++) subs.push(await presign(api, api.tx.indenture.submit(s), b));
    const start = (await api.rpc.chain.getHeader()).number.toNumber();
    await submitAll(api, subs);
    // Each challenge, from the block it opened in (its seed hashes that block).
    const challenges = [];
    for (let n = start + 1; challenges.length < subs.length; n++) {
      while ((await api.rpc.chain.getHeader()).number.toNumber() < n) await new Promise((r) => setTimeout(r, 250));
      const hash = await api.rpc.chain.getBlockHash(n);
      for (const { event } of await api.query.system.events.at(hash)) {
        if (event.section === 'challenge' && event.method === 'ChallengeOpened') {
          challenges.push({ id: event.data.id.toNumber(), context: event.data.context.toNumber(), block: hash });
        }
      }
      if (n > start + 60) fail(`only ${challenges.length} of ${subs.length} indentures opened`);
    }
    const solves = [];
    for (const [i, c] of challenges.entries()) {
      const miner = miners[i % miners.length];
      const puzzle = (await api.query.challenge.challenges(c.id)).unwrap().puzzle.asHashTarget;
      const seed = blake2AsU8a(u8aConcat(stringToU8a('cutopia/hash-target'), u64(api, c.context), u64(api, c.id), hexToU8a(c.block.toHex())));
      solves.push(await presign(api, api.tx.challenge.solve(c.id, work(seed, miner.publicKey, puzzle.difficulty.toNumber())), miner));
    }
    // Later waves are solved so that their leases start in the first wave's phase (a lease
    // starts the block after its award): all then share a heartbeat window.
    if (phase !== null) {
      while (((await api.rpc.chain.getHeader()).number.toNumber() + 2) % period !== phase) await new Promise((r) => setTimeout(r, 200));
    }
    const before = (await api.query.challenge.leases.keys()).length;
    await submitAll(api, solves);
    while ((await api.query.challenge.leases.keys()).length < before + challenges.length) await new Promise((r) => setTimeout(r, 1000));
    if (phase === null) {
      const starts = (await api.query.challenge.leases.entries()).map(([, v]) => v.unwrap().start.toNumber());
      phase = Math.min(...starts) % period;
    }
  }
  const byAddress = new Map(miners.map((m) => [m.address, m]));
  const leases = (await api.query.challenge.leases.entries()).map(([k, v]) => ({ id: k.args[0].toNumber(), l: v.unwrap() }));
  // The block `target` in which every lease has a round open: each lease's offset from the
  // common phase is below the window.
  const window = leases[0].l.window.toNumber();
  const offsets = leases.map(({ l }) => (l.start.toNumber() - phase + period) % period);
  const spread = Math.max(...offsets);
  if (spread >= window) fail(`leases started ${spread} blocks apart in the period: no common window`);
  const now = (await api.rpc.chain.getHeader()).number.toNumber();
  let target = now + 3;
  while (target % period !== (phase + spread) % period) target++;
  const seededBy = new Map();
  for (const { id, l } of leases) {
    const round = Math.floor((target - l.start.toNumber()) / period);
    const open = l.start.toNumber() + round * period;
    if (!seededBy.has(open - 1)) seededBy.set(open - 1, []);
    seededBy.get(open - 1).push({ id, round, miner: byAddress.get(l.miner.toString()), difficulty: l.difficulty.toNumber() });
  }
  // Each answer is worked out as soon as the block seeding it exists; all are sent together
  // the block before `target`.
  const answers = new Map(miners.map((m) => [m.address, []]));
  const onBlock = async (n, hash) => {
    for (const a of seededBy.get(n) ?? []) {
      const seed = blake2AsU8a(u8aConcat(stringToU8a('cutopia/heartbeat'), u64(api, a.id), u32(api, a.round), hexToU8a(hash.toHex())));
      answers.get(a.miner.address).push({ lease: a.id, round: a.round, nonce: work(seed, a.miner.publicKey, a.difficulty), miner: a.miner });
    }
    if (n !== target - 1) return;
    const hexes = [];
    for (const [address, list] of answers) {
      const miner = byAddress.get(address);
      if (batched) {
        for (let i = 0; i < list.length; i += 256) {
          const chunk = list.slice(i, i + 256).map(({ lease, round, nonce }) => ({ lease, round, nonce }));
          hexes.push(await presign(api, api.tx.challenge.heartbeats(chunk), miner));
        }
      } else {
        for (const a of list) hexes.push(await presign(api, api.tx.challenge.heartbeat(a.lease, a.round, a.nonce), miner));
      }
    }
    await submitAll(api, hexes);
  };
  return {
    hexes: [], count: leases.length, from: Math.min(now, target - period - 1), onBlock,
    // Answers, not extrinsics: a batch carries many.
    countEvents: (section, method) => section === 'challenge' && method === 'HeartbeatProven',
  };
}

async function submits(api, nodes, replicas) {
  await registerServices(api);
  const buyers = await funded(api, `buyer${nodes * replicas}`, 16, 10_000n * CU);
  const s = await spec(api, nodes, replicas, 10, 'Batch');
  const hexes = [];
  for (const b of buyers) for (let i = 0; i < 60; i++) hexes.push(await presign(api, api.tx.indenture.submit(s), b));
  return { hexes, isKind: (sec, m) => sec === 'indenture' && m === 'submit' };
}

const results = [];
for (const kind of kinds) {
  if (!loads[kind]) fail(`unknown kind ${kind}: ${Object.keys(loads).join(', ')}`);
  nonces.clear();
  const { api, stop } = await startNode(kind);
  try {
    const load = await loads[kind](api);
    const from = load.from ?? (await api.rpc.chain.getHeader()).number.toNumber();
    await submitAll(api, load.hexes);
    const r = await measure(api, from, load.count ?? load.hexes.length, load.isKind, load.onBlock, load.countEvents);
    results.push({ kind, ...r });
    console.error(`bench-tps: ${kind}: ${r.included} in ${r.seconds} s of chain time`);
  } finally {
    await stop();
  }
}

const transfer = results.find((r) => r.kind === 'transfer')?.rate;
const pad = (s, w) => `${s}`.padStart(w);
console.log(`| kind | included | chain s | per s | ÷ transfer | most in a block | blocks | full blocks | fullest block % |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|`);
for (const r of results) {
  const ratio = transfer ? (r.rate / transfer).toFixed(2) : '–';
  console.log(`| ${r.kind} | ${pad(r.included, 5)} | ${r.seconds.toFixed(0)} | ${r.rate.toFixed(1)} | ${ratio} | ${r.most} | ${r.blocks} | ${r.full} | ${r.fullest.toFixed(1)} |`);
}
process.exit(0);
