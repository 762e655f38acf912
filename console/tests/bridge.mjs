// The bridge page after anvil and the relayers ran a deposit (DEPOSIT) and a withdrawal
// (WITHDRAWAL): the deposit shows minted, the withdrawal signed by the threshold, and the
// vault's token balance, read from Ethereum (ETH), covers the chain's bridged supply.
import { serve, browser, open, shot, waitText, fail } from './lib.mjs';

const timer = setTimeout(() => fail('timed out after 90 s'), 90_000);
const site = await serve();
const b = await browser();
const { page } = await open(b, site.url, 'bridge', undefined, `&eth=${encodeURIComponent(process.env.ETH)}`);
await waitText(page, `deposit-${process.env.DEPOSIT}`, /minted/, 30_000);
await waitText(page, `withdrawal-${process.env.WITHDRAWAL}`, /ready to release/, 30_000);
const vault = await waitText(page, 'vault-balance', /covers the bridged supply/, 30_000);
console.log(vault);
await shot(page, 'bridge');
console.log(JSON.stringify({ ok: true }));
clearTimeout(timer);
await b.close();
site.server.close();
