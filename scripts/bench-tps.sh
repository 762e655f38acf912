#!/usr/bin/env bash
# Throughput of the dev chain by kind of extrinsic (transfer, 1-slot and 16-slot submits,
# heartbeat answers, deposit attestations), measured in chain time on a release node with
# Aura's 3 s slots. Builds the release node (the one `scripts/bench-weights.sh` builds), then
# runs tests/js/bench-tps.mjs, which starts a fresh `--dev --tmp` node per kind and prints one
# table. Optional argument: the kinds, comma-separated (default: all).
# Results: docs/BENCHMARKS.md, "Throughput".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
if [ ! -d tests/js/node_modules/@polkadot/api ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; then
	(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build --release -p cutopia-node
node tests/js/bench-tps.mjs "$CARGO_TARGET_DIR/release/cutopia-node" "$@"
