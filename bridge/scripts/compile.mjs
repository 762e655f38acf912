// Compiles bridge/contracts/*.sol with the pinned solc (npm `solc`, see package.json) and
// writes bridge/contracts/out/<Name>.json with { abi, bytecode }. Fails on any error.
import solc from 'solc';
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const contracts = join(root, 'contracts');
const sources = {};
// contracts/test/ holds test-only contracts (attackers' contracts for the e2e tests).
for (const dir of ['', 'test']) {
  for (const f of readdirSync(join(contracts, dir)).filter((f) => f.endsWith('.sol'))) {
    const name = dir ? `${dir}/${f}` : f;
    sources[name] = { content: readFileSync(join(contracts, name), 'utf8') };
  }
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const findImports = (path) => {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') };
  } catch (e) {
    return { error: `cannot import ${path}: ${e.message}` };
  }
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
for (const e of out.errors ?? []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);
mkdirSync(join(contracts, 'out'), { recursive: true });
for (const [file, byName] of Object.entries(out.contracts)) {
  if (!sources[file]) continue;
  for (const [name, c] of Object.entries(byName)) {
    writeFileSync(
      join(contracts, 'out', `${name}.json`),
      JSON.stringify({ compiler: solc.version(), abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }, null, 1) + '\n',
    );
    console.log(`compiled ${name} (${c.evm.bytecode.object.length / 2} bytes) with solc ${solc.version()}`);
  }
}
