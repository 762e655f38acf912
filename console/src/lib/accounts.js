// Signers: the dev accounts on a development chain, and browser-extension accounts
// (polkadot.js extension and compatible wallets) anywhere.
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const DEV = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

export async function accountsFor(isDev, extension) {
  const list = [];
  if (isDev) {
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    for (const name of DEV) {
      const pair = keyring.addFromUri(`//${name}`, { name });
      list.push({ address: pair.address, name: `${name} (dev)`, pair });
    }
  }
  return list.concat(extension);
}

// Asks the installed extensions for their accounts; each signs through its own injector.
export async function extensionAccounts() {
  const { web3Enable, web3Accounts, web3FromSource } = await import('@polkadot/extension-dapp');
  const found = await web3Enable('CuTopia Console');
  if (!found.length) throw new Error('no browser extension allowed access (install polkadot.js or a compatible wallet)');
  const accounts = await web3Accounts({ ss58Format: 42 });
  return Promise.all(
    accounts.map(async (a) => ({
      address: a.address,
      name: `${a.meta.name ?? a.address.slice(0, 8)} (${a.meta.source})`,
      signer: (await web3FromSource(a.meta.source)).signer,
    })),
  );
}
