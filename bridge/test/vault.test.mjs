// CuToken and CuBridgeVault against a real anvil on a free loopback port: deposits, releases
// and every contract-side attack case of shared/spec/BRIDGE.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifact = (name) => JSON.parse(readFileSync(join(root, 'contracts', 'out', `${name}.json`), 'utf8'));

// anvil's well-known keys (mnemonic "test test … junk"): 0 deploys, 1–3 are the dev relayers.
const KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
];
const CU = 10n ** 18n;
const TYPES = {
  Withdrawal: [
    { name: 'setId', type: 'uint64' },
    { name: 'nonce', type: 'uint64' },
    { name: 'recipient', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
};

let anvil, provider, deployer, relayers, token, vault, vaultAddr, chainId;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

before(async () => {
  const port = await freePort();
  anvil = spawn(join(root, 'node_modules', '.bin', 'anvil'), ['--port', String(port), '--silent'], { stdio: 'ignore' });
  // No request cache: nonces must be read fresh after every mined transaction.
  provider = new ethers.JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, {
    staticNetwork: true, cacheTimeout: -1, pollingInterval: 50,
  });
  for (let i = 0; ; i++) {
    try {
      await provider.getBlockNumber();
      break;
    } catch (e) {
      if (i > 200) throw new Error(`anvil did not start: ${e.message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  chainId = (await provider.getNetwork()).chainId;
  [deployer, ...relayers] = KEYS.map((k) => new ethers.Wallet(k, provider));
  const t = artifact('CuToken');
  token = await new ethers.ContractFactory(t.abi, t.bytecode, deployer).deploy(1_000_000n * CU);
  await token.waitForDeployment();
  const v = artifact('CuBridgeVault');
  const addrs = await Promise.all(relayers.map((r) => r.getAddress()));
  vault = await new ethers.ContractFactory(v.abi, v.bytecode, deployer).deploy(
    await token.getAddress(), addrs, 2, 0, 1_000n * CU, 10_000n * CU, await deployer.getAddress());
  await vault.waitForDeployment();
  vaultAddr = await vault.getAddress();
});

after(() => {
  provider?.destroy();
  anvil?.kill();
});

const domain = (overrides = {}) => ({ name: 'CuBridgeVault', version: '1', chainId, verifyingContract: vaultAddr, ...overrides });
const sign = (signer, value, dom = domain()) => signer.signTypedData(dom, TYPES, value);
/// Signatures of `signers` sorted by signer address, as the vault requires.
async function sorted(signers, value, dom) {
  const sigs = await Promise.all(signers.map(async (s) => ({ a: BigInt(await s.getAddress()), sig: await sign(s, value, dom) })));
  return sigs.sort((x, y) => (x.a < y.a ? -1 : 1)).map((x) => x.sig);
}
const recipient32 = '0x' + '11'.repeat(32);

/// Asserts `p` reverts with the vault's custom error `names` (one name or a list of them).
/// A signature over other data recovers to some random address, so it fails as `NotRelayer`,
/// or as `SignersNotSorted` when that address sorts before the previous signer.
async function reverts(p, names, what = names) {
  const list = [names].flat();
  await assert.rejects(p, (e) => {
    const data = e.data ?? e.info?.error?.data;
    const ok = typeof data === 'string' && list.some((n) => data.startsWith(vault.interface.getError(n).selector));
    assert.ok(ok, `${what}: expected ${list.join(' or ')}, got ${e.shortMessage ?? e.message}`);
    return true;
  });
}
const FOREIGN = ['NotRelayer', 'SignersNotSorted'];

async function fundVault(amount) {
  await (await token.approve(vaultAddr, amount)).wait();
  return (await vault.deposit(recipient32, amount)).wait();
}

test('the dev deployment lands where the dev chain genesis expects it', async () => {
  // Deployed by account 0 as its first two transactions: the addresses the dev chain's
  // genesis names (CuToken at nonce 0, the vault at nonce 1).
  assert.equal((await token.getAddress()).toLowerCase(), '0x5fbdb2315678afecb367f032d93f642f64180aa3');
  assert.equal(vaultAddr.toLowerCase(), '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512');
});

test('the vault computes the same EIP-712 digest as the chain', async () => {
  const value = { setId: 0n, nonce: 7n, recipient: '0x' + '22'.repeat(20), amount: 1000n };
  assert.equal(await vault.withdrawalDigest(7n, value.recipient, 1000n), ethers.TypedDataEncoder.hash(domain(), TYPES, value));
  // The fixed vector pallet-bridge asserts too (chain 31337, vault 0xaa…aa, set 1).
  const fixed = ethers.TypedDataEncoder.hash(
    { name: 'CuBridgeVault', version: '1', chainId: 31337, verifyingContract: '0x' + 'aa'.repeat(20) },
    TYPES, { setId: 1, nonce: 7, recipient: '0x' + '22'.repeat(20), amount: 1000 });
  assert.equal(fixed, '0x2534c3348e8dc1dba5b978f1830c6806ccd08beb2a586249b57c12d9aca3c822');
});

test('deposits emit increasing nonces with the measured amount', async () => {
  const r1 = await fundVault(5n * CU);
  const r2 = await fundVault(3n * CU + 1n);
  const evs = [r1, r2].map((r) => vault.interface.parseLog(r.logs.find((l) => l.address === vaultAddr)));
  assert.deepEqual(evs.map((e) => [e.name, e.args.nonce, e.args.amount, e.args.recipient]), [
    ['Deposited', 0n, 5n * CU, recipient32],
    ['Deposited', 1n, 3n * CU + 1n, recipient32],
  ]);
  assert.equal(await token.balanceOf(vaultAddr), 8n * CU + 1n);
});

test('zero, dust, above-u128 amounts and a zero recipient are refused', async () => {
  await (await token.approve(vaultAddr, 10n ** 40n)).wait();
  await reverts(vault.deposit(ethers.ZeroHash, CU), 'ZeroRecipient');
  // A 20-byte (Ethereum-style) recipient is not a bytes32: refused before anything is sent.
  await assert.rejects(vault.deposit('0x' + '11'.repeat(20), CU), /invalid BytesLike|bytes32|value/i);
  await reverts(vault.deposit(recipient32, 0), 'BadAmount');
  await reverts(vault.deposit(recipient32, 10n ** 12n - 1n), 'BadAmount');
  // More than u128 (and more than the supply): the transfer or the bound refuses it.
  // (The deployer holds less than that: the token refuses the transfer first.)
  await assert.rejects(vault.deposit(recipient32, 2n ** 128n));
});

test('a padded 20-byte recipient is refused by the contract itself', async () => {
  await (await token.approve(vaultAddr, CU)).wait();
  // As a bytes32 the client library passes it: only the contract can refuse it.
  const padded = ethers.zeroPadValue(await deployer.getAddress(), 32);
  await reverts(vault.deposit(padded, CU), 'AddressRecipient');
});

test('no deposit is larger than maxDeposit, which only the owner sets', async () => {
  await (await token.approve(vaultAddr, 10_001n * CU)).wait();
  await reverts(vault.deposit(recipient32, 10_001n * CU), 'OverMaxDeposit');
  await reverts(vault.connect(relayers[0]).setMaxDeposit(20_000n * CU), 'NotOwner');
  assert.equal(await vault.maxDeposit(), 10_000n * CU);
});

test('an amount above u128 is refused by the contract, not only by the token', async () => {
  // A token with more than 2^128 base units and a vault with no deposit maximum, so that only
  // the vault's u128 bound stands between the deposit and a chain that could not mint it.
  const t = artifact('CuToken');
  const big = await new ethers.ContractFactory(t.abi, t.bytecode, deployer).deploy(2n ** 130n);
  await big.waitForDeployment();
  const v = artifact('CuBridgeVault');
  const addrs = await Promise.all(relayers.map((r) => r.getAddress()));
  const other = await new ethers.ContractFactory(v.abi, v.bytecode, deployer).deploy(
    await big.getAddress(), addrs, 2, 0, 1_000n * CU, ethers.MaxUint256, await deployer.getAddress());
  await other.waitForDeployment();
  await (await big.approve(await other.getAddress(), 2n ** 129n)).wait();
  await reverts(other.deposit(recipient32, 2n ** 128n), 'BadAmount');
  await (await other.deposit(recipient32, 2n ** 128n - 1n)).wait();
});

test('a timelock owner is the escape hatch: unpausing waits for its delay', async () => {
  const v = artifact('CuBridgeVault');
  const addrs = await Promise.all(relayers.map((r) => r.getAddress()));
  const me = await deployer.getAddress();
  const guarded = await new ethers.ContractFactory(v.abi, v.bytecode, deployer).deploy(
    await token.getAddress(), addrs, 2, 0, 1_000n * CU, 10_000n * CU, me);
  await guarded.waitForDeployment();
  const tl = artifact('OwnerTimelock');
  const DELAY = 3_600n;
  const timelock = await new ethers.ContractFactory(tl.abi, tl.bytecode, deployer).deploy(DELAY, [me], [me], ethers.ZeroAddress);
  await timelock.waitForDeployment();
  await (await guarded.pause()).wait();
  await (await guarded.transferOwnership(await timelock.getAddress())).wait();
  await assert.rejects(guarded.unpause(), /NotOwner|revert/);
  const data = guarded.interface.encodeFunctionData('unpause');
  const target = await guarded.getAddress();
  const salt = ethers.ZeroHash;
  await (await timelock.schedule(target, 0, data, ethers.ZeroHash, salt, DELAY)).wait();
  await assert.rejects(timelock.execute(target, 0, data, ethers.ZeroHash, salt), /TimelockUnexpectedOperationState|revert/);
  assert.equal(await guarded.paused(), true);
  await provider.send('evm_increaseTime', [Number(DELAY)]);
  await provider.send('evm_mine', []);
  await (await timelock.execute(target, 0, data, ethers.ZeroHash, salt)).wait();
  assert.equal(await guarded.paused(), false);
});

test('a release with a threshold of sorted relayer signatures pays once', async () => {
  const to = ethers.Wallet.createRandom().address;
  const value = { setId: 0n, nonce: 100n, recipient: to, amount: 2n * CU };
  const sigs = await sorted(relayers.slice(0, 2), value);
  await (await vault.release(100n, to, 2n * CU, sigs)).wait();
  assert.equal(await token.balanceOf(to), 2n * CU);
  await reverts(vault.release(100n, to, 2n * CU, sigs), 'AlreadyReleased');
});

test('bad signatures on release revert', async () => {
  const to = ethers.Wallet.createRandom().address;
  const value = { setId: 0n, nonce: 200n, recipient: to, amount: CU };
  const good = await sorted(relayers.slice(0, 2), value);
  const outsider = ethers.Wallet.createRandom();
  const cases = {
    'too few': [[good[0]], 'TooFewSignatures'],
    'duplicated signer': [[good[0], good[0]], 'SignersNotSorted'],
    'unsorted': [[good[1], good[0]], 'SignersNotSorted'],
    'non-member': [await sorted([relayers[0], outsider], value), FOREIGN],
    'wrong chain': [await sorted(relayers.slice(0, 2), value, domain({ chainId: 1n })), FOREIGN],
    'wrong vault': [await sorted(relayers.slice(0, 2), value, domain({ verifyingContract: await token.getAddress() })), FOREIGN],
    'expired set': [await sorted(relayers.slice(0, 2), { ...value, setId: 5n }), FOREIGN],
    'other amount': [await sorted(relayers.slice(0, 2), { ...value, amount: 2n * CU }), FOREIGN],
    'malformed': [[good[0], '0x1234'], 'ECDSAInvalidSignatureLength'],
  };
  for (const [name, [sigs, errors]] of Object.entries(cases)) {
    await reverts(vault.release(200n, to, CU, sigs), errors, name);
  }
  // High-s twin of a valid signature (same signer, malleated): ECDSA refuses it.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const sig = ethers.Signature.from(good[0]);
  const twin = ethers.concat([sig.r, ethers.toBeHex(n - BigInt(sig.s), 32), sig.v === 27 ? '0x1c' : '0x1b']);
  await reverts(vault.release(200n, to, CU, [twin, twin]), 'ECDSAInvalidSignatureS');
  assert.equal(await token.balanceOf(to), 0n);
});

test('release refuses a zero recipient and amounts out of bounds, even when signed', async () => {
  // Signed by a threshold, so only the bound check can stop each one.
  const cases = [
    ['zero recipient', ethers.ZeroAddress, CU, 'ZeroRecipient'],
    ['zero amount', ethers.Wallet.createRandom().address, 0n, 'BadAmount'],
    ['dust', ethers.Wallet.createRandom().address, 10n ** 12n - 1n, 'BadAmount'],
    ['above u128', ethers.Wallet.createRandom().address, 2n ** 128n, 'BadAmount'],
  ];
  let nonce = 250n;
  for (const [name, to, amount, error] of cases) {
    const sigs = await sorted(relayers.slice(0, 2), { setId: 0n, nonce, recipient: to, amount });
    await reverts(vault.release(nonce, to, amount, sigs), error, name);
    assert.equal(await vault.released(nonce), false, name);
    nonce += 1n;
  }
});

test('the daily cap bounds what a threshold can release', async () => {
  await fundVault(2_000n * CU);
  const to = ethers.Wallet.createRandom().address;
  const value = { setId: 0n, nonce: 300n, recipient: to, amount: 1_001n * CU };
  await reverts(vault.release(300n, to, 1_001n * CU, await sorted(relayers.slice(0, 2), value)), 'OverDailyCap');
});

test('the daily cap is a sliding window: no second cap right after midnight', async () => {
  // A vault of its own (cap 100 CU), so the other tests' releases do not count.
  const v = artifact('CuBridgeVault');
  const addrs = await Promise.all(relayers.map((r) => r.getAddress()));
  const capped = await new ethers.ContractFactory(v.abi, v.bytecode, deployer).deploy(
    await token.getAddress(), addrs, 2, 0, 100n * CU, 10_000n * CU, await deployer.getAddress());
  await capped.waitForDeployment();
  const at = await capped.getAddress();
  await (await token.transfer(at, 300n * CU)).wait();
  const dom = domain({ verifyingContract: at });
  const release = async (nonce, amount) => {
    const to = ethers.Wallet.createRandom().address;
    const sigs = await sorted(relayers.slice(0, 2), { setId: 0n, nonce, recipient: to, amount }, dom);
    return capped.release(nonce, to, amount, sigs);
  };
  const DAY = 86_400;
  const now = (await provider.getBlock('latest')).timestamp;
  const midnight = (Math.floor(now / DAY) + 1) * DAY;
  const mineAt = (t) => provider.send('evm_setNextBlockTimestamp', [t]);
  // The whole cap a minute before midnight, then a minute after: with a calendar-day cap the
  // second would pass (2× the cap in two minutes).
  await mineAt(midnight - 60);
  await (await release(1n, 100n * CU)).wait();
  await mineAt(midnight + 60);
  await assert.rejects(release(2n, CU), (e) => {
    const data = e.data ?? e.info?.error?.data;
    assert.ok(data?.startsWith(capped.interface.getError('OverDailyCap').selector), e.shortMessage ?? e.message);
    return true;
  });
  // 23 hours after the first release's hour began, it leaves the window.
  await mineAt(midnight + 23 * 3_600 - 1);
  await provider.send('evm_mine', []);
  assert.equal(await capped.releasedInWindow(), 100n * CU);
  await mineAt(midnight + 23 * 3_600);
  await (await release(3n, 100n * CU)).wait();
  assert.equal(await capped.releasedInWindow(), 100n * CU);
});

test('a withdrawal is either released or refunded to the chain, never both', async () => {
  const REFUND = { Refund: [
    { name: 'setId', type: 'uint64' }, { name: 'nonce', type: 'uint64' },
    { name: 'recipient', type: 'bytes32' }, { name: 'amount', type: 'uint256' },
  ] };
  const signRefund = async (value) => {
    const sigs = await Promise.all(relayers.slice(0, 2).map(async (r) => ({
      a: BigInt(await r.getAddress()), sig: await r.signTypedData(domain(), REFUND, value) })));
    return sigs.sort((x, y) => (x.a < y.a ? -1 : 1)).map((x) => x.sig);
  };
  const owner = '0x' + '42'.repeat(32);
  const value = { setId: 0n, nonce: 600n, recipient: owner, amount: 3n * CU };
  const sigs = await signRefund(value);
  assert.equal(await vault.refundDigest(600n, owner, 3n * CU),
    ethers.TypedDataEncoder.hash(domain(), REFUND, value), 'the chain signs this digest');
  // Bad refunds: too few, another recipient, a padded address.
  await reverts(vault.refund(600n, owner, 3n * CU, sigs.slice(0, 1)), 'TooFewSignatures');
  await reverts(vault.refund(600n, '0x' + '43'.repeat(32), 3n * CU, sigs), FOREIGN);
  await reverts(vault.refund(600n, ethers.zeroPadValue(relayers[0].address, 32), 3n * CU, sigs), 'AddressRecipient');
  // Paused, a refund still goes: no token leaves the vault.
  await (await vault.pause()).wait();
  const balance = await token.balanceOf(vaultAddr);
  const nonce = await vault.depositNonce();
  const receipt = await (await vault.refund(600n, owner, 3n * CU, sigs)).wait();
  await (await vault.unpause()).wait();
  assert.equal(await token.balanceOf(vaultAddr), balance);
  const events = receipt.logs.map((l) => vault.interface.parseLog(l)).map((e) => [e.name, ...e.args]);
  assert.deepEqual(events, [
    ['Deposited', nonce, vaultAddr, owner, 3n * CU],
    ['Refunded', 600n, nonce, owner, 3n * CU],
  ]);
  await reverts(vault.refund(600n, owner, 3n * CU, sigs), 'AlreadyReleased');
  // …and the withdrawal can no longer be released.
  const to = ethers.Wallet.createRandom().address;
  const release = { setId: 0n, nonce: 600n, recipient: to, amount: 3n * CU };
  await reverts(vault.release(600n, to, 3n * CU, await sorted(relayers.slice(0, 2), release)), 'AlreadyReleased');
  // A released withdrawal cannot be refunded.
  const paid = { setId: 0n, nonce: 601n, recipient: to, amount: CU };
  await (await vault.release(601n, to, CU, await sorted(relayers.slice(0, 2), paid))).wait();
  await reverts(vault.refund(601n, owner, CU, await signRefund({ ...value, nonce: 601n, amount: CU })), 'AlreadyReleased');
});

test('paused: nothing moves; unpaused by the owner only', async () => {
  const guardian = deployer;
  await (await vault.connect(guardian).pause()).wait();
  await reverts(vault.deposit(recipient32, CU), 'IsPaused');
  const to = ethers.Wallet.createRandom().address;
  const value = { setId: 0n, nonce: 400n, recipient: to, amount: CU };
  const sigs = await sorted(relayers.slice(0, 2), value);
  await reverts(vault.release(400n, to, CU, sigs), 'IsPaused');
  await reverts(vault.connect(relayers[0]).unpause(), 'NotOwner');
  await (await vault.unpause()).wait();
  await (await vault.release(400n, to, CU, sigs)).wait();
  assert.equal(await token.balanceOf(to), CU);
});

test('relayer sets follow the threshold rule and old sets stop signing', async () => {
  const addrs = await Promise.all(relayers.map((r) => r.getAddress()));
  await reverts(vault.setRelayers([], 0, 1), 'BadRelayerSet');
  await reverts(vault.setRelayers(addrs, 1, 1), 'BadThreshold');
  await reverts(vault.setRelayers(addrs, 4, 1), 'BadThreshold');
  await reverts(vault.setRelayers([addrs[0], addrs[0]], 2, 1), 'BadRelayerSet');
  await reverts(vault.setRelayers(addrs, 2, 0), 'StaleSetId');
  await reverts(vault.connect(relayers[0]).setRelayers(addrs, 2, 1), 'NotOwner');
  // Relayer 3 leaves: set 1 is relayers 1 and 2, threshold 2.
  const to = ethers.Wallet.createRandom().address;
  const old = await sorted([relayers[0], relayers[2]], { setId: 0n, nonce: 500n, recipient: to, amount: CU });
  await (await vault.setRelayers(addrs.slice(0, 2), 2, 1)).wait();
  await reverts(vault.release(500n, to, CU, old), FOREIGN);
  const fresh = await sorted(relayers.slice(0, 2), { setId: 1n, nonce: 500n, recipient: to, amount: CU });
  await (await vault.release(500n, to, CU, fresh)).wait();
  assert.equal(await token.balanceOf(to), CU);
});
