// Connects to a CuTopia node with @polkadot/api, checks the token properties wallets read,
// sends a transfer_keep_alive from Alice to Charlie and waits until it is finalized.
// Usage: node transfer.mjs ws://127.0.0.1:9944
// Prints one JSON line with what it measured; exits non-zero with a message on any failure.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const fail = (msg) => {
  console.error(`transfer.mjs: ${msg}`);
  process.exit(1);
};
const timer = setTimeout(() => fail('timed out after 180 s'), 180_000);

const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true, throwOnConnect: true });
const props = api.registry.getChainProperties();
const symbol = props.tokenSymbol.unwrap()[0].toString();
const decimals = props.tokenDecimals.unwrap()[0].toNumber();
if (symbol !== 'CU') fail(`tokenSymbol is ${symbol}, expected CU`);
if (decimals !== 18) fail(`tokenDecimals is ${decimals}, expected 18`);
if (api.registry.chainDecimals[0] !== 18) fail('registry did not pick up 18 decimals');

const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const alice = keyring.addFromUri('//Alice');
const charlie = keyring.addFromUri('//Charlie');
const amount = 2n * 10n ** 18n + 12345n;

const before = (await api.query.system.account(charlie.address)).data.free.toBigInt();
const started = Date.now();
const finalizedHash = await new Promise((resolve, reject) => {
  api.tx.balances
    .transferKeepAlive(charlie.address, amount)
    .signAndSend(alice, ({ status, dispatchError }) => {
      if (dispatchError) {
        const err = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`transfer failed: ${err}`));
      } else if (status.isFinalized) {
        resolve(status.asFinalized);
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new Error(`transaction ${status.type}`));
      }
    })
    .catch(reject);
}).catch((e) => fail(e.message));

const atFinal = await api.at(finalizedHash);
const after = (await atFinal.query.system.account(charlie.address)).data.free.toBigInt();
if (after - before !== amount) fail(`Charlie gained ${after - before}, expected ${amount}`);
const header = await api.rpc.chain.getHeader(finalizedHash);

console.log(JSON.stringify({
  symbol, decimals, transferred: amount.toString(),
  finalizedBlock: header.number.toNumber(), submitToFinalizedMs: Date.now() - started,
}));
clearTimeout(timer);
await api.disconnect();
process.exit(0);
