// Bad forms are refused in the browser with the reason, before anything is signed (the
// account's nonce does not move); the market lists an open indenture and filters it; a chain
// error after signing is shown in words.
import fs from 'node:fs';
import { serve, browser, open, shot, chainApi, waitText, fail, inBlock, rpcProxy } from './lib.mjs';

const timer = setTimeout(() => fail('timed out after 180 s'), 180_000);
const { api, dev } = await chainApi();
const module = fs.readFileSync(process.env.MODULE);
const site = await serve();
const b = await browser();
const { page } = await open(b, site.url, 'buy');
await page.getByTestId('account').selectOption(dev.alice.address);
const nonce = async () => (await api.rpc.system.accountNextIndex(dev.alice.address)).toNumber();
const before = await nonce();

async function refused(name, fill, reason) {
  await fill();
  await page.getByTestId('submit').click();
  await waitText(page, 'form-errors', reason, 10_000);
  await shot(page, `refused-${name}`);
  console.log(`refused before signing: ${name}`);
}
const upload = (buffer) => page.getByTestId('module').setInputFiles({ name: 'task.wasm', mimeType: 'application/wasm', buffer });

await refused('incentive-below-minimum', async () => {
  await upload(module);
  await page.getByTestId('exchange').selectOption(dev.bob.address);
  await page.getByTestId('escrow').selectOption(dev.charlie.address);
  await page.getByTestId('duration').fill('1000');
  await page.getByTestId('incentive').fill('0.000000000000000001');
}, /incentive is below the minimum/);
await refused('module-too-large', async () => {
  await page.getByTestId('incentive').fill('2');
  await upload(Buffer.concat([module, Buffer.alloc(5000)]));
}, /at most 4096 bytes/);
await refused('no-exchange', async () => {
  await upload(module);
  await page.getByTestId('exchange').selectOption('');
}, /pick an exchange/);
await refused('public-ip-for-a-batch-module', async () => {
  await page.getByTestId('exchange').selectOption(dev.bob.address);
  await page.getByTestId('public-ip').selectOption('PerNode');
}, /public IP is for a service from a container image/);
await page.getByTestId('public-ip').selectOption('None');
// A form the chain would take, but no registered miner could: said before signing (Dave,
// the only miner, has no GPU and runs no images).
await upload(module);
await page.getByTestId('escrow').selectOption(dev.charlie.address);
await page.getByTestId('duration').fill('10');
await page.getByTestId('incentive').fill('2');
await page.getByTestId('gpus').fill('1');
await waitText(page, 'no-takers', /No registered miner offers Wasm work/, 10_000);
await page.getByTestId('gpus').fill('0');
await page.getByTestId('no-takers').waitFor({ state: 'detached', timeout: 10_000 });
console.log('no miner could take it: said before signing');
if ((await nonce()) !== before) fail('a refused form reached the chain');

// An indenture no miner can take (a GPU nobody has) stays open. A second page shows it over
// a stalled connection (its new heads held back), so it still offers Cancel after Alice
// cancelled it elsewhere: the cancel it signs then fails on chain, and it says why.
const spec = {
  task: { Inline: '0x' + module.toString('hex') }, taskType: 'Batch', executor: 'Wasm',
  resources: { cpuMillicores: 1000, memoryMib: 64, storageGib: 0, gpus: 1 }, nodes: 1, publicIp: 'None',
  duration: 10, incentive: 2n * 10n ** 18n, priority: 0, minReputation: 0,
  exchange: dev.bob.address, escrowOperator: dev.charlie.address, challenge: 'HashTarget', replicas: 1, sshKey: null,
};
const events = await inBlock(api, api.tx.indenture.submit(spec), dev.alice);
const id = events.find((e) => e.section === 'indenture' && e.method === 'Submitted').data.id.toNumber();
// The market lists it live; the filters the chain applies (a miner without a GPU cannot take
// it) and the kind filter hide it.
const market = (await open(b, site.url, 'market')).page;
const row = market.getByTestId(`queue-${id}`);
await row.waitFor({ timeout: 30_000 });
await shot(market, 'market-queue');
await market.getByTestId('gpu-filter').fill('0');
await row.waitFor({ state: 'detached', timeout: 30_000 });
await market.getByTestId('gpu-filter').fill('1');
await row.waitFor({ timeout: 30_000 });
await market.getByTestId('kind-filter').selectOption('Service');
await row.waitFor({ state: 'detached', timeout: 30_000 });
console.log('market: listed, hidden by the GPU and kind filters');
await market.close();

let stalled = false;
const proxy = await rpcProxy({ held: () => stalled });
const stale = (await open(b, site.url, `indenture/${id}`, proxy.url)).page;
await stale.getByTestId('account').selectOption(dev.alice.address);
await stale.getByTestId('cancel').waitFor({ timeout: 30_000 });
stalled = true;
await inBlock(api, api.tx.indenture.cancel(id), dev.alice);
await stale.getByTestId('cancel').click();
await new Promise((r) => setTimeout(r, 500));
stalled = false;
proxy.release();
const shown = await waitText(stale, 'action-error', /Cancel: indenture\.\w+: \w+/, 30_000);
console.log(`chain error shown: ${shown}`);
await shot(stale, 'chain-error-in-words');
console.log(JSON.stringify({ ok: true, shown }));
clearTimeout(timer);
await b.close();
site.server.close();
proxy.close();
await api.disconnect();
