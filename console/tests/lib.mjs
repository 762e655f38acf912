// Shared by the console's browser tests: serves the built console, drives Debian's Chromium
// through playwright-core, connects to the node with @polkadot/api for the checks, and saves a
// screenshot of each step. Environment: RPC (ws://… of a dev node), SHOTS (screenshot folder),
// CHROMIUM (default /usr/bin/chromium).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { WebSocketServer, WebSocket } from 'ws';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const dist = path.join(here, '..', 'dist');
export const rpc = process.env.RPC ?? 'ws://127.0.0.1:9944';
const shots = process.env.SHOTS ?? path.join(here, '..', 'test-output');

export function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

// Serves `dist/` on a free loopback port, as any static web server would.
export function serve() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.join(dist, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, server })));
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page of the console at `route`, connected to `node`; resolves once it shows the chain's
// best block, with the time that took.
export async function open(b, site, route, node = rpc, query = '') {
  const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => fail(`uncaught error in the page: ${e.message}`));
  const start = Date.now();
  await page.goto(`${site}/?rpc=${encodeURIComponent(node)}${query}#/${route}`);
  await page.getByTestId('best').waitFor({ timeout: 60_000 });
  return { page, loadMs: Date.now() - start };
}

export async function shot(page, name) {
  fs.mkdirSync(shots, { recursive: true });
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

export async function chainApi(node = rpc) {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(node), noInitWarn: true, throwOnConnect: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = Object.fromEntries(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'].map((n) => [n.toLowerCase(), keyring.addFromUri(`//${n}`)]));
  return { api, dev };
}

// Resolves once `tx` is in a best block; rejects with the module error's name.
export function inBlock(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, ({ status, dispatchError, events }) => {
      if (dispatchError) {
        const m = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : null;
        reject(new Error(m ? `${m.section}.${m.name}` : dispatchError.toString()));
      } else if (status.isInBlock) resolve(events.map((e) => e.event));
    }).catch(reject);
  });
}


export async function waitText(page, testId, re, timeout = 120_000) {
  const loc = page.getByTestId(testId);
  await loc.filter({ hasText: re }).first().waitFor({ timeout }).catch(async () => {
    const now = (await loc.count()) ? await loc.first().innerText() : '(absent)';
    await shot(page, `failed-${testId}`).catch(() => {});
    fail(`${testId} never matched ${re} (shows: ${now})`);
  });
  return (await loc.first().innerText()).trim();
}

export function sizeOfDist() {
  const dir = path.join(dist, 'assets');
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

// A JSON-RPC WebSocket proxy to the node for a page to connect through: `rewrite(message,
// request)` may change what the node answers; while `held()` is true, subscription
// notifications (new heads, storage changes) wait, as on a stalled connection, while
// answers to calls and transaction status updates pass.
export function rpcProxy({ rewrite = (m) => m, held = () => false } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const waiting = [];
  wss.on('connection', (client) => {
    const node = new WebSocket(rpc);
    const asked = new Map();
    const queue = [];
    node.on('open', () => queue.splice(0).forEach((m) => node.send(m)));
    client.on('message', (data) => {
      const text = data.toString();
      const m = JSON.parse(text);
      asked.set(m.id, m);
      node.readyState === WebSocket.OPEN ? node.send(text) : queue.push(text);
    });
    node.on('message', (data) => {
      const m = JSON.parse(data.toString());
      const request = asked.get(m.id);
      asked.delete(m.id);
      const out = JSON.stringify(rewrite(m, request));
      if (m.method && m.method !== 'author_extrinsicUpdate' && held()) waiting.push(() => client.send(out));
      else client.send(out);
    });
    client.on('close', () => node.close());
    node.on('close', () => client.close());
  });
  return new Promise((resolve) =>
    wss.on('listening', () =>
      resolve({
        url: `ws://127.0.0.1:${wss.address().port}`,
        release: () => waiting.splice(0).forEach((send) => send()),
        close: () => wss.close(),
      }),
    ),
  );
}
