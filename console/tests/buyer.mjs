// A buyer in the browser: submits an indenture from the form (a Wasm module uploaded from
// MODULE), sees it awarded and leased, fetches the result from the miner and checks it
// against the chain (and refuses other bytes from a lying endpoint), accepts, rates; the
// balance shown is the chain's to the unit.
import fs from 'node:fs';
import http from 'node:http';
import { serve, browser, open, shot, chainApi, waitText, fail, sizeOfDist, rpcProxy } from './lib.mjs';

const timer = setTimeout(() => fail('timed out after 300 s'), 300_000);
const { api, dev } = await chainApi();
const site = await serve();
const b = await browser();
const { page, loadMs } = await open(b, site.url, 'buy');
console.log(`METRIC console_load_ms ${loadMs}`);
const assets = sizeOfDist();
console.log(`METRIC console_assets_bytes ${assets}`);
// The budget in docs/BENCHMARKS.md: what the browser downloads before the first page.
if (assets > 1_300_000) fail(`the console's assets are ${assets} bytes, over the 1,300,000-byte budget`);

// The dev accounts are offered on a dev chain; Alice is the first.
await page.getByTestId('account').selectOption(dev.alice.address);
await page.getByTestId('module').setInputFiles({ name: 'hello.wasm', mimeType: 'application/wasm', buffer: fs.readFileSync(process.env.MODULE) });
await page.getByTestId('duration').fill('10');
await page.getByTestId('exchange').selectOption(dev.bob.address);
await page.getByTestId('escrow').selectOption(dev.charlie.address);
await page.getByTestId('pricing').waitFor();
await page.getByTestId('incentive').fill('2');
await waitText(page, 'held', /2\.12 CU/, 10_000);
await shot(page, 'buy-form');
const submittedAt = Date.now();
await page.getByTestId('submit').click();
const msg = await waitText(page, 'submitted', /Indenture \d+ submitted/, 60_000);
const id = Number(msg.match(/Indenture (\d+)/)[1]);
console.log(`indenture ${id} submitted`);

await page.getByTestId('submitted').getByRole('link').click();
await waitText(page, 'status', /Leased|Reporting|Reported/, 120_000);
await page.getByTestId('slots').waitFor();
await shot(page, 'indenture-leased');
await waitText(page, 'status', /Reported/, 180_000);
console.log(`METRIC console_submit_to_result_s ${((Date.now() - submittedAt) / 1000).toFixed(1)}`);
// A miner serving other bytes than the agreed result is not believed: the same page, through
// a proxy that points the slot's endpoint (same length) at a server of wrong bytes.
const info = (await api.call.indentureApi.get(id)).unwrap().asActive;
const real = new TextDecoder().decode(info.slots[0][1].access.unwrap().endpoint.toU8a(true));
let liar;
let fake;
do {
  liar?.close();
  liar = http.createServer((_, res) => res.writeHead(200, { 'access-control-allow-origin': '*' }).end('not the result\n'));
  await new Promise((r) => liar.listen(0, '127.0.0.1', r));
  fake = `127.0.0.1:${liar.address().port}`;
} while (fake.length !== real.length);
const hex = (t) => Buffer.from(t).toString('hex');
const redirect = await rpcProxy({
  rewrite: (m) => (typeof m.result === 'string' && m.result.includes(hex(real)) ? { ...m, result: m.result.replaceAll(hex(real), hex(fake)) } : m),
});
const lied = (await open(b, site.url, `indenture/${id}`, redirect.url)).page;
await lied.getByTestId('fetch-result').click();
await waitText(lied, 'result-error', /hash to 0x[0-9a-f]{64}, not the result hash/, 30_000);
await shot(lied, 'indenture-result-mismatch');
await lied.close();
redirect.close();
liar.close();

await page.getByTestId('fetch-result').click();
await waitText(page, 'result-ok', /SHA-256 matches the result hash on chain/, 30_000);
const text = await page.getByTestId('result-text').innerText();
if (!text.includes('hello from a cutopia miner')) fail(`result shown: ${text}`);
await shot(page, 'indenture-result');

await page.getByTestId('accept').click();
await waitText(page, 'status', /Settled/, 60_000);
await page.getByTestId('record').waitFor();
const rec = await api.call.indentureApi.get(id);
if (rec.isNone || !rec.unwrap().isEnded || rec.unwrap().asEnded.status.type !== 'Settled') fail(`chain says ${rec.toString()}`);
await page.getByTestId('rating').first().selectOption('4');
await page.getByTestId('rate').first().click();
await page.getByTestId('rated').waitFor({ timeout: 30_000 });
await shot(page, 'indenture-settled-rated');

// The balance in the header is the chain's free balance, to the unit.
const deadline = Date.now() + 15_000;
for (;;) {
  const free = (await api.query.system.account(dev.alice.address)).data.free.toBigInt().toString();
  const shown = await page.getByTestId('balance').getAttribute('data-value');
  if (shown === free) break;
  if (Date.now() > deadline) fail(`balance shown ${shown}, chain ${free}`);
  await new Promise((r) => setTimeout(r, 500));
}
const ratings = (await api.query.repChain.recentRecords(rec.unwrap().asEnded.sellers[0])).filter(([r]) => r.outcome.type === 'Rated');
if (!ratings.some(([r]) => r.rating.unwrapOr(0).toNumber() === 4)) fail('no rating of 4 in the miner\'s RepChain history');
// The miners' page says how each miner runs work: the agent offers Wasm (no image tier).
const miners = (await open(b, site.url, 'participants')).page;
await waitText(miners, 'executors', /^Wasm$/, 30_000);
await miners.close();
console.log(JSON.stringify({ ok: true, id, loadMs }));
clearTimeout(timer);
await b.close();
site.server.close();
await api.disconnect();
