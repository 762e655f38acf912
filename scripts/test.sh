#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, pallet tests and the end-to-end tests that
# start real cutopia-node processes (and polkadot.js) on free loopback ports.
# Installs what is missing first. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

scripts/setup.sh
# polkadot.js for the end-to-end tests, exactly as pinned by the lockfile.
if [ ! -d tests/js/node_modules/@polkadot/api ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; then
	(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
# solc, OpenZeppelin, ethers and anvil for the bridge contracts, pinned by their lockfile.
if [ ! -d bridge/node_modules/solc ] || [ bridge/package-lock.json -nt bridge/node_modules ]; then
	(cd bridge && npm ci --no-audit --no-fund --loglevel=error)
fi

# The console (Vite + Svelte) and its browser-test driver, pinned by its lockfile; its
# built files are what the browser tests load.
if [ ! -d console/node_modules/playwright-core ] || [ console/package-lock.json -nt console/node_modules ]; then
	(cd console && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd console && npm run --silent build -- --logLevel warn)

start=$(date +%s)
# Build exactly what `scripts/dev.sh` builds (same feature set, so nothing twice); the
# end-to-end tests run the cutopia-node binary this produces.
cargo build --workspace
# Two test threads: each end-to-end test runs nodes, and the machine has two cores.
# --nocapture shows the E2E-METRIC lines (block, finality and transfer times) of this run.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --lib --bins --tests "$@" -- --test-threads=2 --nocapture 2>&1 | tee "$log"
# The contracts: compiled by the pinned solc, tested against a real anvil.
(cd bridge && npm test --silent) 2>&1 | tee -a "$log"
passed=$(awk '/^test result:/ {p += $4} /^# pass / {p += $3} END {print p + 0}' "$log")
failed=$(awk '/^test result:/ {f += $6} /^# fail / {f += $3} END {print f + 0}' "$log")
echo "test.sh: all tests passed in $(($(date +%s) - start)) s"
echo "total: ${passed} passed, ${failed} failed"
