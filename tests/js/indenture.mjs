// One Computation Indenture from submit to settlement with @polkadot/api, as a user writes it:
// Ferdie (exchange) and Eve (escrow operator) and Charlie (miner) register, Alice submits a
// batch task, Charlie solves the hash-target challenge, answers the heartbeat, seals and reveals
// his result, Alice accepts. Checks the buyer's, miner's, exchange's and operator's balances to
// the unit (transaction fees read from the TransactionFeePaid events).
// Usage: node indenture.mjs ws://127.0.0.1:9944
// Prints one JSON line; exits non-zero with a message on any failure.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aConcat, u8aToHex, stringToU8a, hexToU8a } from '@polkadot/util';
import { work } from './work.mjs';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const fail = (msg) => {
  console.error(`indenture.mjs: ${msg}`);
  process.exit(1);
};
const timer = setTimeout(() => fail('timed out after 240 s'), 240_000);
const CU = 10n ** 18n;

const provider = new WsProvider(url);
const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const [alice, charlie, eve, ferdie] = ['//Alice', '//Charlie', '//Eve', '//Ferdie'].map((u) => keyring.addFromUri(u));
const fees = new Map();

// Sends `tx` signed by `signer` and resolves with the events of its block once in a best block.
const send = (tx, signer) =>
  new Promise((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const err = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`${tx.method.section}.${tx.method.method} failed: ${err}`));
      } else if (status.isInBlock) {
        for (const { event } of events) {
          if (event.section === 'transactionPayment' && event.method === 'TransactionFeePaid') {
            const who = event.data.who.toString();
            fees.set(who, (fees.get(who) ?? 0n) + event.data.actualFee.toBigInt());
          }
        }
        resolve({ events: events.map((e) => e.event), block: status.asInBlock });
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new Error(`${tx.method.section}.${tx.method.method}: transaction ${status.type}`));
      }
    }).catch(reject);
  });
const find = (r, section, method) => {
  const e = r.events.find((ev) => ev.section === section && ev.method === method);
  if (!e) fail(`no ${section}.${method} among ${r.events.map((ev) => `${ev.section}.${ev.method}`)}`);
  return e;
};
const free = async (who) => (await api.query.system.account(who.address)).data.free.toBigInt();


const bond = 100n * CU;
await Promise.all([
  send(api.tx.repChain.registerService('Exchange', 50_000, 'ferdie-exchange', 'ferdie.example:443', bond), ferdie),
  send(api.tx.repChain.registerService('EscrowOperator', 10_000, 'eve-escrow', 'eve.example:443', bond), eve),
  send(api.tx.repChain.registerMiner(
    { cpuMillicores: 4_000, memoryMib: 8_192, storageGib: 50, gpus: 0 }, ['Wasm'], 1_000, 'charlie.example:2222', 0, bond), charlie),
]);
const parties = [alice, charlie, eve, ferdie];
const before = await Promise.all(parties.map(free));
fees.clear();

// The indicative price through the runtime API, then the submission.
const resources = { cpuMillicores: 1_000, memoryMib: 2_048, storageGib: 0, gpus: 0 };
const [cu, price, minimum] = await api.call.indentureApi.indicativePrice(resources, 1, 10);
if (cu.toNumber() !== 15) fail(`compute units ${cu}, expected 15`);
const incentive = 3n * CU + 1n;
if (incentive < minimum.toBigInt()) fail(`minimum incentive ${minimum} above the offer`);
const started = Date.now();
const submitted = await send(api.tx.indenture.submit({
  task: { Inline: u8aToHex(stringToU8a('(module)')) },
  taskType: 'Batch',
  executor: 'Wasm',
  resources,
  nodes: 1,
  publicIp: 'None',
  duration: 10,
  incentive,
  priority: 0,
  minReputation: 0,
  exchange: ferdie.address,
  escrowOperator: eve.address,
  challenge: 'HashTarget',
  replicas: 1,
  sshKey: null,
}), alice);
const id = find(submitted, 'indenture', 'Submitted').data.id.toNumber();
const challengeId = find(submitted, 'challenge', 'ChallengeOpened').data.id.toNumber();
const queue = await provider.send('indenture_queue', [{ challenge: 'hashTarget' }, { start: 0, count: 10 }]);
if (!queue.includes(id)) fail(`indenture ${id} not in the queue ${JSON.stringify(queue)}`);

// Charlie solves the challenge. Its seed: blake2_256("cutopia/hash-target" ‖ indenture ‖
// challenge ‖ hash of the block it opened in), unknown until that block was sealed.
const at = await api.at(submitted.block);
const challenge = (await at.query.challenge.challenges(challengeId)).unwrap();
const puzzle = challenge.puzzle.asHashTarget;
const targetSeed = blake2AsU8a(u8aConcat(
  stringToU8a('cutopia/hash-target'),
  api.createType('u64', id).toU8a(),
  api.createType('u64', challengeId).toU8a(),
  hexToU8a(submitted.block.toHex()),
));
const nonce = work(targetSeed, charlie.publicKey, puzzle.difficulty.toNumber());
const solved = await send(api.tx.challenge.solve(challengeId, nonce), charlie);
const lease = find(solved, 'indenture', 'SlotAwarded').data.lease.toNumber();

// Round 0's seed: blake2_256("cutopia/heartbeat" ‖ lease ‖ round ‖ hash of the award block).
const seed = blake2AsU8a(u8aConcat(
  stringToU8a('cutopia/heartbeat'),
  api.createType('u64', lease).toU8a(),
  api.createType('u32', 0).toU8a(),
  hexToU8a(solved.block.toHex()),
));
const l = (await (await api.at(solved.block)).query.challenge.leases(lease)).unwrap();
const beat = await send(api.tx.challenge.heartbeat(lease, 0, work(seed, charlie.publicKey, l.difficulty.toNumber())), charlie);
// A taken heartbeat is free; the last round completes the lease, and the chain ends it when
// the round's window closes: then results are due.
if (find(beat, 'transactionPayment', 'TransactionFeePaid').data.actualFee.toBigInt() !== 0n) {
  fail('a taken heartbeat was charged a fee');
}
for (let tries = 0; ; tries++) {
  const ind = (await api.query.indenture.indentures(id)).unwrap();
  if (ind.status.type === 'Reporting') break;
  if (tries > 60) fail(`results never became due (status ${ind.status.type})`);
  await new Promise((r) => setTimeout(r, 1000));
}

const result = blake2AsU8a(stringToU8a('hello from the miner'));
// The seal binds indenture, slot (0), miner, result and a salt kept secret until the reveal.
const salt = blake2AsU8a(stringToU8a(`charlie's secret for ${id}`));
const seal = blake2AsU8a(
  u8aConcat(
    stringToU8a('cutopia/result'),
    api.createType('u64', id).toU8a(),
    api.createType('u32', 0).toU8a(),
    charlie.publicKey,
    result,
    salt,
  ),
);
await send(api.tx.indenture.commitResult(id, seal), charlie);
await send(api.tx.indenture.revealResult(id, result, salt), charlie);
const accepted = await send(api.tx.escrow.accept(id), alice);
const record = find(accepted, 'indenture', 'CiRecorded').data.record;
const status = record.status.type;
const settledMs = Date.now() - started;

const after = await Promise.all(parties.map(free));
const delta = (i) => after[i] - before[i];
const fee = (k) => fees.get(k.address) ?? 0n;
const exchangeFee = incentive * 5n / 100n;
const escrowFee = incentive / 100n;
const toMiner = record.paidToMiners.toBigInt();
const refunded = record.refunded.toBigInt();
if (delta(0) !== -(incentive - refunded + exchangeFee + escrowFee) - fee(alice)) fail(`buyer moved ${delta(0)}`);
if (delta(1) !== toMiner - fee(charlie)) fail(`miner moved ${delta(1)}, paid ${toMiner}`);
if (delta(2) !== escrowFee) fail(`escrow operator moved ${delta(2)}`);
if (delta(3) !== exchangeFee) fail(`exchange moved ${delta(3)}`);
if (toMiner + refunded !== incentive) fail('paid + refunded != incentive');

const got = await provider.send('indenture_get', [id]);
if (got?.record?.status !== 'Settled') fail(`indenture_get: ${JSON.stringify(got)}`);

console.log(JSON.stringify({ id, status, paidToMiners: toMiner.toString(), submitToSettledMs: settledMs }));
clearTimeout(timer);
await api.disconnect();
process.exit(0);
