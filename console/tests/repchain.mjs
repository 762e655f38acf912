// The RepChain page recomputes a miner's record hash chain in the browser (MINER has
// records); served through a proxy that alters one byte of one record, the page flags it.
import { serve, browser, open, shot, chainApi, waitText, fail, rpcProxy } from './lib.mjs';

const timer = setTimeout(() => fail('timed out after 120 s'), 120_000);
const { api } = await chainApi();
const miner = process.env.MINER;
const prefix = api.query.repChain.recentRecords.keyPrefix();
await api.disconnect();

// Through a proxy to the node, the low byte of the newest record's `at` block (the 36th byte
// from the end: a u32, then the record's 32-byte root) changes in every value of a
// `RepChain::RecentRecords` key, however it was asked for.
let altered = 0;
const tamper = (hex) => {
  const i = hex.length - 72;
  altered++;
  return hex.slice(0, i) + (parseInt(hex.slice(i, i + 2), 16) ^ 0x01).toString(16).padStart(2, '0') + hex.slice(i + 2);
};
const ours = (key) => String(key).startsWith(prefix);
const rewrite = (m, request) => {
  if (request?.method === 'state_getStorage' && ours(request.params?.[0]) && typeof m.result === 'string') m.result = tamper(m.result);
  const changes = [...(Array.isArray(m.result) ? m.result : []), m.params?.result].flatMap((r) => r?.changes ?? []);
  for (const c of changes) if (ours(c[0]) && typeof c[1] === 'string') c[1] = tamper(c[1]);
  return m;
};

const site = await serve();
const b = await browser();
const honest = await open(b, site.url, `repchain/${miner}`);
const ok = await waitText(honest.page, 'chain-ok', /Record chain verified/, 30_000);
console.log(ok);
await shot(honest.page, 'repchain-verified');

const proxy = await rpcProxy({ rewrite });
const tampered = await open(b, site.url, `repchain/${miner}`, proxy.url);
const bad = await waitText(tampered.page, 'chain-bad', /Tampered history: record \d+'s hash link does not match/, 30_000);
if (!altered) fail('the proxy altered nothing');
console.log(bad);
await shot(tampered.page, 'repchain-tampered');
console.log(JSON.stringify({ ok: true }));
clearTimeout(timer);
await b.close();
site.server.close();
proxy.close();
