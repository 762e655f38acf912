// The console's shared, reactive state: the chain connection and the connected account.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { accountsFor } from './accounts.js';

const params = new URLSearchParams(location.search);

export const chain = $state({
  url: params.get('rpc') ?? localStorage.getItem('cutopia.rpc') ?? 'ws://127.0.0.1:9944',
  api: null,
  status: 'connecting',
  error: '',
  name: '',
  isDev: false,
  best: 0,
  finalized: 0,
  decimals: 18,
  symbol: 'CU',
  blockMs: 6000,
});

export const wallet = $state({ accounts: [], address: '', free: null, reserved: null });

let unsubs = [];

export async function connect(url = chain.url) {
  unsubs.forEach((u) => u());
  unsubs = [];
  if (chain.api) await chain.api.disconnect().catch(() => {});
  Object.assign(chain, { url, api: null, status: 'connecting', error: '' });
  try {
    const api = await ApiPromise.create({ provider: new WsProvider(url, 2500), noInitWarn: true, throwOnConnect: true });
    const [name, type, props] = await Promise.all([api.rpc.system.chain(), api.rpc.system.chainType(), api.rpc.system.properties()]);
    chain.name = name.toString();
    chain.isDev = type.isDevelopment || type.isLocal;
    chain.decimals = props.tokenDecimals.isSome ? props.tokenDecimals.unwrap()[0].toNumber() : 18;
    chain.symbol = props.tokenSymbol.isSome ? props.tokenSymbol.unwrap()[0].toString() : 'CU';
    const slot = api.consts.aura?.slotDuration ?? api.consts.timestamp?.minimumPeriod?.muln(2);
    if (slot) chain.blockMs = slot.toNumber();
    unsubs.push(await api.rpc.chain.subscribeNewHeads((h) => (chain.best = h.number.toNumber())));
    unsubs.push(await api.rpc.chain.subscribeFinalizedHeads((h) => (chain.finalized = h.number.toNumber())));
    localStorage.setItem('cutopia.rpc', url);
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

export function selectedAccount() {
  return wallet.accounts.find((a) => a.address === wallet.address) ?? null;
}
