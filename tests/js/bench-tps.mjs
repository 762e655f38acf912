// Throughput of the chain by kind of extrinsic (issue 13, item 4): for each kind it starts a
// fresh `--dev --tmp` node (Aura, 3 s slots, the release build given), sets up what the kind
// needs, pre-signs the load from many accounts, submits it all at once and counts the
// extrinsics of that kind included with success, block by block, against the blocks'
// timestamps (chain time, not wall clock). Prints one table: each kind's rate, its ratio to
// `transfer_keep_alive`, the most in one block, how many blocks were full (≥ 95 % of the
// normal class's weight or length) and how full the fullest was.
// Usage: node bench-tps.mjs <cutopia-node binary> [kind,kind,…]
// Kinds: transfer, submit-1, submit-16, heartbeat, heartbeat-batched, attest.
import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aConcat, u8aToHex, stringToU8a, hexToU8a } from '@polkadot/util';
import { randomBytes } from 'node:crypto';
import { work } from './work.mjs';
import fs from 'node:fs';
import {
  CU, alice, bob, failer, startNode as start, funded, nonces, presign, submitAll, send, registerServices,
  spec, u64, u32, openedChallenges, solveOf, untilBlock,
} from './bench-lib.mjs';

const bin = process.argv[2];
const kinds = (process.argv[3] ?? 'transfer,submit-1,submit-16,heartbeat,heartbeat-batched,attest').split(',');
const fail = failer('bench-tps');
if (!bin || !fs.existsSync(bin)) fail(`no node binary at ${bin}`);
const startNode = (kind) => start(bin, `bench-tps-${kind}`, fail);

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
      ? events.filter(({ event, phase }) => phase.isApplyExtrinsic && ok.has(phase.asApplyExtrinsic.toNumber()) && countEvents(event.section, event.method, event)).length
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
    // Deposits name their vault: the one the chain takes deposits from.
    const vault = (await api.query.bridge.vault()).unwrap();
    const deposits = Array.from({ length: 1_500 }, (_, i) => ({
      vault, nonce: i, from: u8aToHex(randomBytes(20)), recipient: u8aToHex(randomBytes(32)), amount: CU, txHash: u8aToHex(randomBytes(32)), refundOf: null,
    }));
    const hexes = [];
    for (const d of deposits) for (const r of [alice, bob]) hexes.push(await presign(api, api.tx.bridge.attestDeposit(d), r));
    return { hexes, isKind: (s, m) => s === 'bridge' && m === 'attestDeposit' };
  },
};

// Sets up `waves` × 960 one-slot services won by 16 miners, every lease starting in the same
// phase of the heartbeat period, then answers one round of each so that all are answerable in
// one block: `batched` in one `heartbeats` call per miner, else one `heartbeat` each. While
// later waves are set up, the leases already running are kept answered (batched, as the miner
// agents do), or they would fail for missed rounds before the measured one.
async function heartbeats(api, waves, batched) {
  await registerServices(api);
  const miners = await funded(api, 'miner', 16, 1_000n * CU);
  await Promise.all(miners.map((m, i) => send(api, api.tx.repChain.registerMiner(
    { cpuMillicores: 64_000, memoryMib: 262_144, storageGib: 1_000, gpus: 0 }, ['Wasm'], 0, `miner${i}.example:22`, 0, 100n * CU), m)));
  const byAddress = new Map(miners.map((m) => [m.address, m]));
  const buyers = await funded(api, 'hb-buyer', 16, 20_000n * CU);
  // A thousandth of a core: the hash target's difficulty grows with the work's compute
  // units (12 + log2), and every challenge is solved here in JavaScript.
  const s = await spec(api, 1, 1, 2_000, 'Service', { cpuMillicores: 1, memoryMib: 0, storageGib: 0, gpus: 0 });
  const period = api.consts.indenture.heartbeatPeriod.toNumber();
  const readLeases = async () => (await api.query.challenge.leases.entries()).map(([k, v]) => ({ id: k.args[0].toNumber(), l: v.unwrap() }));
  // The answer to lease `id`'s `round`, seeded by the hash of block `open - 1`.
  const answerOf = (id, round, seedHash, miner, difficulty) => {
    const seed = blake2AsU8a(u8aConcat(stringToU8a('cutopia/heartbeat'), u64(api, id), u32(api, round), hexToU8a(seedHash.toHex())));
    return { lease: id, round, nonce: work(seed, miner.publicKey, difficulty) };
  };
  const batches = async (answers) => {
    const hexes = [];
    for (const [address, list] of answers) {
      for (let i = 0; i < list.length; i += 256) hexes.push(await presign(api, api.tx.challenge.heartbeats(list.slice(i, i + 256)), byAddress.get(address)));
    }
    return hexes;
  };
  // Keeps every running lease answered, round by round, until stopped.
  const keep = { leases: [], answered: new Set(), stop: false, done: null };
  const seeds = new Map();
  keep.done = (async () => {
    let n = (await api.rpc.chain.getHeader()).number.toNumber();
    while (!keep.stop) {
      await untilBlock(api, n + 1);
      n = (await api.rpc.chain.getHeader()).number.toNumber();
      const due = new Map();
      for (const { id, l } of keep.leases) {
        const start = l.start.toNumber();
        if (n < start) continue;
        const round = Math.floor((n - start) / period);
        const open = start + round * period;
        const key = `${id}/${round}`;
        if (round >= l.rounds.toNumber() || keep.answered.has(key) || n >= open + l.window.toNumber() - 1) continue;
        keep.answered.add(key);
        if (!seeds.has(open - 1)) seeds.set(open - 1, await api.rpc.chain.getBlockHash(open - 1));
        const hash = seeds.get(open - 1);
        const miner = byAddress.get(l.miner.toString());
        if (!due.has(miner.address)) due.set(miner.address, []);
        due.get(miner.address).push(answerOf(id, round, hash, miner, l.difficulty.toNumber()));
      }
      if (due.size > 0) await submitAll(api, await batches(due));
    }
  })();
  let phase = null;
  for (let wave = 0; wave < waves; wave++) {
    const subs = [];
    for (const b of buyers) for (let i = 0; i < 60; i++) subs.push(await presign(api, api.tx.indenture.submit(s), b));
    const start = (await api.rpc.chain.getHeader()).number.toNumber();
    await submitAll(api, subs);
    const challenges = await openedChallenges(api, start, subs.length, fail);
    const solves = [];
    for (const [i, c] of challenges.entries()) solves.push([await solveOf(api, c, miners[i % miners.length]), miners[i % miners.length]]);
    // Later waves are solved so that their leases start in the first wave's phase (a lease
    // starts the block after its award): all then share a heartbeat window.
    if (phase !== null) {
      while (((await api.rpc.chain.getHeader()).number.toNumber() + 2) % period !== phase) await new Promise((r) => setTimeout(r, 200));
    }
    const before = keep.leases.length;
    // Signed only now: the keeper's answers take the miners' next nonces meanwhile.
    const signed = [];
    for (const [tx, miner] of solves) signed.push(await presign(api, tx, miner));
    await submitAll(api, signed);
    while ((await api.query.challenge.leases.keys()).length < before + challenges.length) await new Promise((r) => setTimeout(r, 1000));
    keep.leases = await readLeases();
    if (phase === null) phase = Math.min(...keep.leases.map(({ l }) => l.start.toNumber())) % period;
  }
  // The keeper stops; what it sent lands in the next blocks, before those measured.
  keep.stop = true;
  await keep.done;
  const leases = await readLeases();
  // A lease stays stored (active) when it misses too many rounds until they are reported:
  // count the rounds closed by now that it has not resolved.
  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  const failed = leases.filter(({ l }) => {
    const [start, window] = [l.start.toNumber(), l.window.toNumber()];
    const closed = head < start + window ? 0 : Math.min(l.rounds.toNumber(), Math.floor((head - start - window) / period) + 1);
    return l.missed.toNumber() + Math.max(0, closed - l.cursor.toNumber()) > l.maxMisses.toNumber();
  }).length;
  if (failed > 0 || leases.length < waves * 960) fail(`${failed} of ${leases.length} leases failed during the set-up`);
  // The block `target` in which every lease has a round open that the keeper did not answer:
  // each lease's offset from the common phase is below the window, and each measured round
  // opens after `now`.
  const window = leases[0].l.window.toNumber();
  const offsets = leases.map(({ l }) => (l.start.toNumber() - phase + period) % period);
  const spread = Math.max(...offsets);
  if (spread >= window) fail(`leases started ${spread} blocks apart in the period: no common window`);
  await untilBlock(api, (await api.rpc.chain.getHeader()).number.toNumber() + 2);
  const now = (await api.rpc.chain.getHeader()).number.toNumber();
  let target = now + spread + 2;
  while (target % period !== (phase + spread) % period) target++;
  const seededBy = new Map();
  const measured = new Set();
  for (const { id, l } of leases) {
    const round = Math.floor((target - l.start.toNumber()) / period);
    measured.add(`${id}/${round}`);
    const open = l.start.toNumber() + round * period;
    if (!seededBy.has(open - 1)) seededBy.set(open - 1, []);
    seededBy.get(open - 1).push({ id, round, miner: byAddress.get(l.miner.toString()), difficulty: l.difficulty.toNumber() });
  }
  // Each answer is worked out as soon as the block seeding it exists; all are sent together
  // the block before `target`.
  const answers = new Map(miners.map((m) => [m.address, []]));
  const onBlock = async (n, hash) => {
    for (const a of seededBy.get(n) ?? []) answers.get(a.miner.address).push(answerOf(a.id, a.round, hash, a.miner, a.difficulty));
    if (n !== target - 1) return;
    if (batched) return submitAll(api, await batches(answers));
    const hexes = [];
    for (const [address, list] of answers) {
      for (const a of list) hexes.push(await presign(api, api.tx.challenge.heartbeat(a.lease, a.round, a.nonce), byAddress.get(address)));
    }
    await submitAll(api, hexes);
  };
  return {
    hexes: [], count: leases.length, from: now, onBlock,
    // Answers, not extrinsics: a batch carries many.
    // Only the measured rounds: a keeper's answer still in the pool may land meanwhile.
    countEvents: (section, method, event) => section === 'challenge' && method === 'HeartbeatProven'
      && measured.has(`${event.data.lease}/${event.data.round}`),
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
