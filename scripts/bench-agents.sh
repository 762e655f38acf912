#!/usr/bin/env bash
# An agent's JSON-RPC calls per block, alone and with 1,000 indentures of others on the chain
# (issue 13, item 6): builds the release node (as scripts/bench-tps.sh) and the `cutopia`
# CLI, then runs tests/js/bench-agents.mjs, which starts a fresh `--dev --tmp` node, a miner
# and an exchange agent, and prints one table. Results: docs/BENCHMARKS.md, "Agents".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
if [ ! -d tests/js/node_modules/@polkadot/api ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; then
	(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build --release -p cutopia-node
# Calls are counted, not timed: the debug CLI the tests build measures the same.
cargo build -p plexus --bin cutopia
node tests/js/bench-agents.mjs "$CARGO_TARGET_DIR/release/cutopia-node" "$CARGO_TARGET_DIR/debug/cutopia"
