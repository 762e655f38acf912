// The console's shared, reactive state: the chain connection and the connected account.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { accountsFor } from './accounts.js';

const params = new URLSearchParams(location.search);
export const DEFAULT_RPC = 'ws://127.0.0.1:9944';
// CU has 18 decimals on both sides of the bridge; a node saying otherwise is not believed.
const DECIMALS = 18;

export const chain = $state({
  url: params.get('rpc') ?? localStorage.getItem('cutopia.rpc') ?? DEFAULT_RPC,
  api: null,
  status: 'connecting',
  error: '',
  name: '',
  isDev: false,
  best: 0,
  finalized: 0,
  decimals: DECIMALS,
  warning: '',
  symbol: 'CU',
  blockMs: 6000,
});

export const wallet = $state({ accounts: [], address: '', free: null, reserved: null });

let unsubs = [];

// `remember`: only a node the user typed in the header becomes the default for later visits;
// a `?rpc=` link does not.
export async function connect(url = chain.url, remember = false) {
  unsubs.forEach((u) => u());
  unsubs = [];
  if (chain.api) await chain.api.disconnect().catch(() => {});
  Object.assign(chain, { url, api: null, status: 'connecting', error: '' });
  try {
    const api = await ApiPromise.create({ provider: new WsProvider(url, 2500), noInitWarn: true, throwOnConnect: true });
    const [name, type, props] = await Promise.all([api.rpc.system.chain(), api.rpc.system.chainType(), api.rpc.system.properties()]);
    chain.name = name.toString();
    chain.isDev = type.isDevelopment || type.isLocal;
    const decimals = props.tokenDecimals.isSome ? props.tokenDecimals.unwrap()[0].toNumber() : DECIMALS;
    chain.warning = decimals === DECIMALS ? '' : `this node reports ${decimals} token decimals; CU has ${DECIMALS}: it is not a CuTopia node, or not an honest one`;
    chain.symbol = props.tokenSymbol.isSome ? props.tokenSymbol.unwrap()[0].toString() : 'CU';
    const slot = api.consts.aura?.slotDuration ?? api.consts.timestamp?.minimumPeriod?.muln(2);
    if (slot) chain.blockMs = slot.toNumber();
    unsubs.push(await api.rpc.chain.subscribeNewHeads((h) => (chain.best = h.number.toNumber())));
    unsubs.push(await api.rpc.chain.subscribeFinalizedHeads((h) => (chain.finalized = h.number.toNumber())));
    if (remember) localStorage.setItem('cutopia.rpc', url);
    wallet.accounts = await accountsFor(chain.isDev, []);
    if (!wallet.accounts.some((a) => a.address === wallet.address)) {
      wallet.address = localStorage.getItem('cutopia.account') ?? wallet.accounts[0]?.address ?? '';
      if (!wallet.accounts.some((a) => a.address === wallet.address)) wallet.address = wallet.accounts[0]?.address ?? '';
    }
    chain.api = api;
    chain.status = 'connected';
    watchBalance();
  } catch (e) {
    chain.status = 'error';
    chain.error = `cannot connect to ${url}: ${e.message ?? e}`;
  }
}

let balanceUnsub = null;
export async function watchBalance() {
  balanceUnsub?.();
  balanceUnsub = null;
  wallet.free = wallet.reserved = null;
  if (!chain.api || !wallet.address) return;
  localStorage.setItem('cutopia.account', wallet.address);
  balanceUnsub = await chain.api.query.system.account(wallet.address, ({ data }) => {
    wallet.free = data.free.toBigInt();
    wallet.reserved = data.reserved.toBigInt();
  });
}

// Runs `read(current)` now, on every new best block, and whenever what it reads before its
// first `await` changes; returns a function that runs it again. Reads overlap when the node is
// slow: `current()` turns false once a newer read has started, and a read checks it before
// showing what it got, so an older answer never replaces a newer one. Call it while a
// component initialises (it creates an effect).
export function everyBlock(read) {
  let seq = 0;
  const again = () => {
    const mine = ++seq;
    return read(() => mine === seq);
  };
  $effect(() => {
    chain.best;
    again();
  });
  return again;
}

export function selectedAccount() {
  return wallet.accounts.find((a) => a.address === wallet.address) ?? null;
}
