// Development tool for the Ethereum side of the bridge (anvil or any node with funded keys).
//
//   node scripts/dev.mjs deploy  <rpc>                             deploys CuToken and the vault
//   node scripts/dev.mjs deposit <rpc> <vault> <recipient 0x…32 bytes> <amount base units>
//   node scripts/dev.mjs deposit-many <rpc> <vault> <recipient> <amount> <count>   load test
//   node scripts/dev.mjs clone-deposit <rpc> <nonce> <recipient> <amount>   attack: fake event
//   node scripts/dev.mjs release <rpc> <vault> <nonce> <to> <amount> <sig>…
//   node scripts/dev.mjs refund  <rpc> <vault> <nonce> <chain account 0x…32 bytes> <amount> <sig>…
//   node scripts/dev.mjs balance <rpc> <vault> <address>
//
// Uses anvil's well-known account 0 (override with DEPLOYER_KEY) as deployer and depositor.
// `deploy` as the account's first two transactions puts the vault where the dev chain's genesis
// expects it (0xe7f1…0512); relayers are anvil accounts 1–3 with threshold 2 and set id 0, as
// in the dev chain's genesis. Prints one JSON line.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifact = (name) => {
  const path = join(root, 'contracts', 'out', `${name}.json`);
  if (!existsSync(path)) fail(`${path} is missing: compile the contracts first (npm run build in bridge/)`);
  return JSON.parse(readFileSync(path, 'utf8'));
};
const KEY = process.env.DEPLOYER_KEY ?? '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const RELAYERS = [
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
];
const CU = 10n ** 18n;

const [cmd, rpc, ...rest] = process.argv.slice(2);
const fail = (msg) => {
  console.error(`dev.mjs: ${msg}`);
  process.exit(1);
};
if (!cmd || !rpc) fail('usage: dev.mjs deploy|deposit|release|balance <rpc> …');
const provider = new ethers.JsonRpcProvider(rpc, undefined, { cacheTimeout: -1, pollingInterval: 100 });
const wallet = new ethers.Wallet(KEY, provider);
const vaultAt = (a) => new ethers.Contract(a, artifact('CuBridgeVault').abi, wallet);

try {
  if (cmd === 'deploy') {
    const t = artifact('CuToken');
    const token = await new ethers.ContractFactory(t.abi, t.bytecode, wallet).deploy(1_000_000_000n * CU);
    await token.waitForDeployment();
    const v = artifact('CuBridgeVault');
    const vault = await new ethers.ContractFactory(v.abi, v.bytecode, wallet).deploy(
      // Daily release cap: the chain's mint cap (1,000,000 CU a day). Largest deposit: the cap
      // less the chain's undelayed allowance (100,000 CU), so that a waiting one always finds
      // room.
      await token.getAddress(), RELAYERS, 2, 0, 1_000_000n * CU, 900_000n * CU, wallet.address);
    await vault.waitForDeployment();
    console.log(JSON.stringify({ token: await token.getAddress(), vault: await vault.getAddress() }));
  } else if (cmd === 'deposit') {
    const [vaultAddr, recipient, amount] = rest;
    const vault = vaultAt(vaultAddr);
    const token = new ethers.Contract(await vault.token(), artifact('CuToken').abi, wallet);
    await (await token.approve(vaultAddr, BigInt(amount))).wait();
    const receipt = await (await vault.deposit(recipient, BigInt(amount))).wait();
    const ev = receipt.logs.map((l) => { try { return vault.interface.parseLog(l); } catch { return null; } }).find((e) => e?.name === 'Deposited');
    console.log(JSON.stringify({ nonce: Number(ev.args.nonce), block: receipt.blockNumber, tx: receipt.hash }));
  } else if (cmd === 'deposit-many') {
    // Load generator: `count` deposits of `amount` each, sent back to back with explicit nonces
    // (one approval for all), then waits for every receipt.
    const [vaultAddr, recipient, amount, count] = rest;
    const vault = vaultAt(vaultAddr);
    const token = new ethers.Contract(await vault.token(), artifact('CuToken').abi, wallet);
    const n = Number(count);
    await (await token.approve(vaultAddr, BigInt(amount) * BigInt(n))).wait();
    let nonce = await provider.getTransactionCount(wallet.address, 'pending');
    const sent = [];
    for (let i = 0; i < n; i++) {
      sent.push(await vault.deposit(recipient, BigInt(amount), { nonce: nonce++, gasLimit: 200_000n }));
    }
    const receipts = await Promise.all(sent.map((tx) => tx.wait()));
    if (receipts.some((r) => r.status !== 1)) fail('a deposit reverted');
    console.log(JSON.stringify({ deposits: n, first_block: receipts[0].blockNumber, last_block: receipts[n - 1].blockNumber }));
  } else if (cmd === 'clone-deposit') {
    // Attack: deploy a clone contract and emit a `Deposited` for `nonce` from it, no tokens.
    const [nonce, recipient, amount] = rest;
    const c = artifact('CloneVault');
    const clone = await new ethers.ContractFactory(c.abi, c.bytecode, wallet).deploy();
    await clone.waitForDeployment();
    const receipt = await (await clone.fakeDeposit(BigInt(nonce), recipient, BigInt(amount))).wait();
    console.log(JSON.stringify({ clone: await clone.getAddress(), block: receipt.blockNumber }));
  } else if (cmd === 'release') {
    const [vaultAddr, nonce, to, amount, ...sigs] = rest;
    const receipt = await (await vaultAt(vaultAddr).release(BigInt(nonce), to, BigInt(amount), sigs)).wait();
    console.log(JSON.stringify({ released: true, block: receipt.blockNumber }));
  } else if (cmd === 'refund') {
    // A withdrawal the chain asked to refund: the vault voids it and emits a deposit of its
    // amount (from the vault itself) to the owner's chain account.
    const [vaultAddr, nonce, owner, amount, ...sigs] = rest;
    const vault = vaultAt(vaultAddr);
    const receipt = await (await vault.refund(BigInt(nonce), owner, BigInt(amount), sigs)).wait();
    const ev = receipt.logs.map((l) => { try { return vault.interface.parseLog(l); } catch { return null; } }).find((e) => e?.name === 'Refunded');
    console.log(JSON.stringify({ refunded: true, deposit: Number(ev.args.depositNonce), block: receipt.blockNumber }));
  } else if (cmd === 'balance') {
    const [vaultAddr, who] = rest;
    const token = new ethers.Contract(await vaultAt(vaultAddr).token(), artifact('CuToken').abi, provider);
    console.log(JSON.stringify({ balance: (await token.balanceOf(who)).toString() }));
  } else {
    fail(`unknown command ${cmd}`);
  }
} catch (e) {
  fail(e.shortMessage ?? e.message);
}
// Exit rather than `provider.destroy()`: ethers may still have receipt polls in flight after
// every wait resolved, and destroying the provider rejects them, which crashed the script
// after it had printed its result (seen under load in `deposit-many`). Writes to a pipe are
// synchronous on Linux, so the printed line is out.
process.exit(0);
