// The chain's rules for a new indenture (pallet-indenture `do_submit`), checked in the browser
// before anything is signed, with the chain's own constants and pricing runtime API.
import { u8aToHex, isHex } from '@polkadot/util';
import { parseCU, fmtCU } from './chain.js';

const MAX_INLINE = 4096;
const MAX_URI = 256;
const MAX_ARGS = 16;
const MAX_ARG = 128;
const MAX_SSH_KEY = 512;
const enc = new TextEncoder();

const int = (v, name, errors) => {
  const s = String(v).trim();
  if (!/^\d+$/.test(s) || Number(s) > 4294967295) {
    errors.push(`${name} must be a whole number up to 4294967295`);
    return 0;
  }
  return Number(s);
};

// Parts-per-unit arithmetic as the runtime does it: `ceil(x · parts / denominator)`.
export const mulCeil = (x, parts, denominator) => (x * BigInt(parts) + BigInt(denominator) - 1n) / BigInt(denominator);
export const mulFloor = (x, parts, denominator) => (x * BigInt(parts)) / BigInt(denominator);

// What a service (exchange or escrow operator) asks, or null when it cannot take work.
export async function serviceFee(api, who, role) {
  if (!who) return null;
  const reg = await api.query.repChain.registrations(who, role);
  if (reg.isNone) return null;
  const r = reg.unwrap();
  if (r.unbondingUntil.isSome || !r.profile.isService) return null;
  return r.profile.asService.fee.toNumber();
}

// The chain's `Executor::serves`: each executor serves itself, and a microVM also serves
// batch work asking for a container (the same image behind a stronger boundary).
const serves = (offered, need, service) => offered === need || (!service && offered === 'MicroVm' && need === 'Container');

// Whether some registered miner, not leaving, could take `spec` (resources per node, an
// executor serving the one it names, a public address if it asks for one): not a rule of the chain (a miner may register later),
// but without one the escrow waits for the award deadline.
export function someMinerCouldTake(participants, spec) {
  const need = spec.resources;
  return participants.some((p) => {
    if (p.role !== 'Miner' || p.leaving || !p.reg.profile.isMiner) return false;
    const m = p.reg.profile.asMiner;
    const r = m.resources;
    return r.cpuMillicores.toNumber() >= need.cpuMillicores && r.memoryMib.toNumber() >= need.memoryMib
      && r.storageGib.toNumber() >= need.storageGib && r.gpus.toNumber() >= need.gpus
      && m.executors.some((e) => serves(e.toString(), spec.executor, spec.taskType === 'Service'))
      && (spec.publicIp === 'None' || m.addresses.toNumber() > 0);
  });
}

// Prices the resources: `{ units, indicative, minimum }` for all replicas.
export async function price(api, resources, nodes, duration, replicas) {
  const [units, indicative] = await api.call.indentureApi.indicativePrice(resources, nodes, duration);
  const all = indicative.toBigInt() * BigInt(replicas);
  const ratio = api.consts.indenture.minPriceRatio.toNumber();
  const floor = api.consts.indenture.minIncentive.toBigInt();
  const byRatio = mulCeil(all, ratio, 1_000_000);
  return { units: units.toNumber(), indicative: all, minimum: byRatio > floor ? byRatio : floor };
}

// Checks a form against the chain's rules. Returns `{ errors, spec, cost }`: `spec` is the
// `IndentureSpec` for `indenture.submit` when there are no errors.
export async function checkSpec(api, buyer, f) {
  const errors = [];
  const c = api.consts.indenture;
  let task = null;
  if (f.taskKind === 'inline') {
    const bytes = f.module;
    if (!bytes || !bytes.length) errors.push('choose a Wasm module to upload');
    else if (bytes.length > MAX_INLINE)
      errors.push(`the module is ${bytes.length} bytes; an inline module is at most ${MAX_INLINE} bytes (give a URI and hash instead)`);
    else task = { Inline: u8aToHex(bytes) };
  } else {
    const uri = String(f.uri ?? '').trim();
    const hash = String(f.hash ?? '').trim().toLowerCase();
    if (!uri) errors.push('give the URI the miners fetch the task from');
    else if (enc.encode(uri).length > MAX_URI) errors.push(`the URI is longer than ${MAX_URI} bytes`);
    else if (/[\s\x00-\x1f\x7f]/.test(uri)) errors.push('the URI has spaces or control characters');
    const h = hash.startsWith('0x') ? hash : `0x${hash}`;
    if (!isHex(h, 256)) errors.push('the hash must be the SHA-256 of the file: 64 hex digits');
    if (f.taskKind === 'container') {
      const args = String(f.command ?? '').split('\n').map((a) => a.trim()).filter((a) => a.length);
      if (!args.length) errors.push('a container task needs a command (its program, then one argument per line)');
      if (args.length > MAX_ARGS) errors.push(`at most ${MAX_ARGS} command arguments`);
      if (args.some((a) => enc.encode(a).length > MAX_ARG)) errors.push(`each argument is at most ${MAX_ARG} bytes`);
      task = { Container: { hash: h, uri, command: args } };
    } else task = { Wasm: { hash: h, uri } };
  }
  // A module runs in Wasm; an image in a container, or a microVM when the buyer asks for one.
  const executor = f.taskKind === 'container' ? (f.executor === 'MicroVm' ? 'MicroVm' : 'Container') : 'Wasm';
  if ((f.publicIp ?? 'None') !== 'None' && !(f.taskType === 'Service' && executor !== 'Wasm'))
    errors.push('a public IP is for a service from a container image: a batch task or a Wasm module has no port to reach');
  const resources = {
    cpuMillicores: int(f.cpu, 'CPU', errors),
    memoryMib: int(f.memory, 'memory', errors),
    storageGib: int(f.storage, 'storage', errors),
    gpus: int(f.gpus, 'GPUs', errors),
  };
  if (Object.values(resources).every((v) => v === 0)) errors.push('ask for some resources (CPU, memory, storage or GPUs)');
  const nodes = int(f.nodes, 'nodes', errors);
  const replicas = int(f.replicas, 'replicas', errors);
  const duration = int(f.duration, 'duration', errors);
  const priority = int(f.priority ?? 0, 'priority', errors);
  if (nodes < 1 || nodes > c.maxNodes.toNumber()) errors.push(`nodes must be 1 to ${c.maxNodes}`);
  if (replicas < 1 || replicas > c.maxReplicas.toNumber()) errors.push(`replicas must be 1 to ${c.maxReplicas}`);
  if (nodes * replicas > c.maxSlots.toNumber()) errors.push(`nodes × replicas is at most ${c.maxSlots}`);
  if (duration < 1 || duration > c.maxDuration.toNumber()) errors.push(`duration must be 1 to ${c.maxDuration} blocks`);
  if (priority > 255) errors.push('priority is 0 to 255');
  const minRep = Number(f.minReputation ?? 0);
  if (!(minRep >= 0 && minRep <= 100)) errors.push('minimum reputation is 0 to 100 %');
  const ssh = String(f.sshKey ?? '').trim();
  if (enc.encode(ssh).length > MAX_SSH_KEY) errors.push(`the SSH key is longer than ${MAX_SSH_KEY} bytes`);

  if (!f.exchange) errors.push('pick an exchange');
  if (!f.escrowOperator) errors.push('pick an escrow operator');
  if (f.exchange && f.exchange === buyer) errors.push('you cannot be the exchange of your own indenture');
  if (f.escrowOperator && f.escrowOperator === buyer) errors.push('you cannot be the escrow operator of your own indenture');
  const [exchangeFee, escrowFee] = await Promise.all([
    serviceFee(api, f.exchange, 'Exchange'),
    serviceFee(api, f.escrowOperator, 'EscrowOperator'),
  ]);
  if (f.exchange && exchangeFee === null) errors.push('that account is not a registered exchange taking work');
  if (f.escrowOperator && escrowFee === null) errors.push('that account is not a registered escrow operator taking work');

  let incentive = 0n;
  try {
    incentive = parseCU(f.incentive);
  } catch (e) {
    errors.push(`incentive: ${e.message}`);
  }
  let cost = null;
  if (!errors.some((e) => /nodes|replicas|duration|resources|whole number/.test(e))) {
    const p = await price(api, resources, nodes, duration, replicas);
    if (incentive < p.minimum) errors.push(`the incentive is below the minimum of ${fmtCU(p.minimum, 18)} for these resources`);
    const fees = mulFloor(incentive, exchangeFee ?? 0, 1_000_000) + mulFloor(incentive, escrowFee ?? 0, 1_000_000);
    cost = { ...p, incentive, fees, held: incentive + fees };
  }
  const [queue, open] = await Promise.all([api.query.indenture.queue(), buyer ? api.query.indenture.openOf(buyer) : null]);
  if (open !== null && open.toNumber() >= c.maxOpenPerBuyer.toNumber()) {
    errors.push(`you have ${open} indentures open, the most one buyer may: wait for one to be leased, or cancel one`);
  }
  // A full queue admits an offer whose premium over its own minimum (parts per million) beats
  // the lowest premium of the entries nobody has won a slot of (u64::MAX) by more than
  // OutbidMargin: that entry is evicted and refunded.
  const WON = (1n << 64n) - 1n;
  if (queue.length >= c.maxQueue.toNumber() && cost) {
    const open = queue.map(([, , premium]) => premium.toBigInt()).filter((p) => p !== WON);
    if (!open.length) {
      errors.push('the queue is full and a miner has started on every indenture in it: wait for a place');
    } else {
      const lowest = open.reduce((a, b) => (b < a ? b : a));
      const needed = lowest + mulCeil(lowest, c.outbidMargin.toNumber(), 1_000_000);
      if ((incentive * 1_000_000n) / (cost.minimum > 0n ? cost.minimum : 1n) <= needed) {
        const pay = (needed * cost.minimum) / 1_000_000n + 1n;
        errors.push(`the queue is full: offer more than ${fmtCU(pay, 18)} to take the place of its least generous open indenture`);
      }
    }
  }

  const spec = {
    task,
    taskType: f.taskType ?? 'Batch',
    executor,
    resources,
    nodes,
    publicIp: f.publicIp ?? 'None',
    duration,
    incentive,
    priority,
    minReputation: Math.round(minRep * 10_000),
    exchange: f.exchange,
    escrowOperator: f.escrowOperator,
    challenge: f.challenge ?? 'HashTarget',
    replicas,
    sshKey: ssh ? ssh : null,
  };
  return { errors, spec: errors.length ? null : spec, cost };
}

