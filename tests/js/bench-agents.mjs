// An agent's load on its node against the size of the market (issue 13, item 6): JSON-RPC
// calls per block of a real miner agent (Dave, `cutopia miner run --service`) serving its own
// leases and of a real exchange agent (Ferdie, `cutopia exchange run`), first alone on a fresh
// `--dev --tmp` node, then with 1,000 indentures of others on the chain: 480 services leased
// to 16 other miners (their slots, leases and challenges in storage) and 520 open ones it
// cannot take (their open challenges). The agents log their calls per block at debug level
// (`block #N: K RPC calls for its work, W waiting for it`); this script reads those lines for
// 15 blocks of each phase and prints one table.
// Usage: node bench-agents.mjs <cutopia-node binary> <cutopia binary>
import { u8aToHex } from '@polkadot/util';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CU, alice, dev, failer, startNode, funded, presign, submitAll, send, registerServices, spec,
  freePort, untilBlock, openedChallenges, solveOf,
} from './bench-lib.mjs';

const [bin, cli] = process.argv.slice(2);
const fail = failer('bench-agents');
if (!bin || !fs.existsSync(bin)) fail(`no node binary at ${bin}`);
if (!cli || !fs.existsSync(cli)) fail(`no cutopia binary at ${cli}`);
const BLOCKS = 15;
const [dave, ferdie] = ['Dave', 'Ferdie'].map(dev);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-agents-'));

const { api, url, stop } = await startNode(bin, 'bench-agents-node', fail);
const agents = [];
const agent = (name, key, args) => {
  const log = path.join(tmp, `${name}.log`);
  const child = spawn(cli, ['--url', url, '--key', key, ...args, '--data-dir', path.join(tmp, name)], {
    stdio: ['ignore', 'ignore', fs.openSync(log, 'w')],
    env: { ...process.env, CUTOPIA_LOG: 'cutopia=info,cutopia::miner=debug,cutopia::exchange=debug' },
  });
  agents.push(child);
  return log;
};
const cleanup = async () => {
  for (const a of agents) a.kill('SIGTERM');
  await stop();
};

// `[role] block #N: K RPC calls for its work, W waiting for it` lines of `log` for blocks
// `from..from+BLOCKS`: the median and most calls for work, the median waiting.
function calls(log, from) {
  const rows = [];
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    const m = line.match(/block #(\d+): (\d+) RPC calls for its work, (\d+) waiting/);
    if (m && +m[1] >= from && +m[1] < from + BLOCKS) rows.push({ work: +m[2], wait: +m[3] });
  }
  if (rows.length < BLOCKS / 2) fail(`only ${rows.length} blocks logged in ${log} from #${from}`);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    blocks: rows.length,
    median: median(rows.map((r) => r.work)),
    most: Math.max(...rows.map((r) => r.work)),
    wait: median(rows.map((r) => r.wait)),
  };
}

const count = async (q) => (await q.keys()).length;
const results = [];
async function phase(label, others) {
  const from = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  await untilBlock(api, from + BLOCKS + 1);
  // The agent logs a block once it is done with it.
  await new Promise((r) => setTimeout(r, 3_000));
  const held = (await api.query.indenture.slotsOf.keys(dave.address)).length;
  const chain = { slots: await count(api.query.indenture.slots), challenges: await count(api.query.challenge.challenges) };
  results.push({ label, others, held, ...chain, miner: calls(minerLog, from), exchange: calls(exchangeLog, from) });
  console.error(`bench-agents: ${label}: measured blocks #${from}…#${from + BLOCKS - 1}`);
}

let minerLog, exchangeLog;
try {
  await registerServices(api);
  // The measured agents: Dave, a miner with the CLI's default resources (4 cores, 8 GiB,
  // 50 GiB of storage), and Ferdie, an exchange nobody has named yet.
  await send(api, api.tx.balances.transferKeepAlive(ferdie.address, 1_000n * CU), alice);
  minerLog = agent('dave', '//Dave', ['miner', 'run', '--service', '--endpoint', `127.0.0.1:${await freePort()}`]);
  exchangeLog = agent('ferdie', '//Ferdie', ['exchange', 'run', '--endpoint', `127.0.0.1:${await freePort()}`]);
  for (let i = 0; ; i++) {
    const both = await Promise.all([dave, ferdie].map(async (p) => (await api.query.repChain.registrations.keys(p.address)).length));
    if (both.every((n) => n > 0)) break;
    if (i > 120) fail(`the agents did not register (logs: ${tmp})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Dave's own work: 4 one-slot services of 1,000 blocks.
  const own = await spec(api, 1, 1, 1_000, 'Service');
  for (let i = 0; i < 4; i++) await send(api, api.tx.indenture.submit(own), alice);
  for (let i = 0; (await api.query.indenture.slotsOf.keys(dave.address)).length < 4; i++) {
    if (i > 180) fail(`Dave did not win its 4 slots (log: ${minerLog})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await phase('alone', 0);

  // Others' work: 480 tiny container services (a thousandth of a core, so the hash targets
  // are solved here quickly; a container, which Dave, without `--containers`, does not run)
  // won by 16 other miners; 520 with more cores than Dave has, open.
  const tiny = await spec(api, 1, 1, 2_000, 'Service', { cpuMillicores: 1, memoryMib: 0, storageGib: 0, gpus: 0 });
  tiny.task = { Container: { hash: u8aToHex(new Uint8Array(32)), uri: 'http://127.0.0.1:9/image.tar', command: ['/bin/sh'] } };
  tiny.executor = 'Container';
  const big = await spec(api, 1, 1, 2_000, 'Service', { cpuMillicores: 64_000, memoryMib: 0, storageGib: 0, gpus: 0 });
  const miners = await funded(api, 'agents-miner', 16, 1_000n * CU);
  await Promise.all(miners.map((m, i) => send(api, api.tx.repChain.registerMiner(
    { cpuMillicores: 64_000, memoryMib: 262_144, storageGib: 1_000, gpus: 0 }, ['Wasm', 'Container'], 0, `miner${i}.example:22`, 0, 100n * CU), m)));
  const buyers = await funded(api, 'agents-buyer', 16, 20_000n * CU);
  const leased = [];
  for (const b of buyers) for (let i = 0; i < 30; i++) leased.push(await presign(api, api.tx.indenture.submit(tiny), b));
  let start = (await api.rpc.chain.getHeader()).number.toNumber();
  await submitAll(api, leased);
  const challenges = await openedChallenges(api, start, leased.length, fail);
  const solves = [];
  for (const [i, c] of challenges.entries()) solves.push(await presign(api, await solveOf(api, c, miners[i % miners.length]), miners[i % miners.length]));
  await submitAll(api, solves);
  const open = [];
  for (const b of buyers) for (let i = 0; i < 33 && open.length < 520; i++) open.push(await presign(api, api.tx.indenture.submit(big), b));
  start = (await api.rpc.chain.getHeader()).number.toNumber();
  await submitAll(api, open);
  await openedChallenges(api, start, open.length, fail);
  for (let i = 0; (await count(api.query.challenge.leases)) < 4 + leased.length; i++) {
    if (i > 120) fail(`only ${await count(api.query.challenge.leases)} leases after 2 min`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Measured while the others' leases still run (their miners answer no round: they fail
  // after `MaxMissedRounds`).
  await phase('with others', leased.length + open.length);
} finally {
  await cleanup();
}

console.log('| phase | others\' indentures | chain slots | chain challenges | Dave\'s slots | miner calls/block (median, most) | exchange calls/block (median, most) | waiting/block (median) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.label} | ${r.others} | ${r.slots} | ${r.challenges} | ${r.held} | ${r.miner.median}, ${r.miner.most} | ${r.exchange.median}, ${r.exchange.most} | ${r.miner.wait} |`);
}
process.exit(0);
