#!/usr/bin/env bash
# Regenerates plexus/metadata/cutopia.scale (metadata V16 of the native runtime), from which
# the plexus SDK's typed client is generated. Run it after changing a pallet's calls, events,
# storage or types; `cargo test -p cutopia-runtime` fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p plexus/metadata
# `--workspace`, as the tests and the node build it: features are unified across the
# workspace (the node turns on runtime-benchmarks), and they change the metadata. The crates
# generated from the metadata (plexus, the relayer and the e2e tests using them) are left out:
# with the old metadata they may not compile, and they add no runtime features.
UPDATE_METADATA=1 cargo test --workspace --exclude plexus --exclude cutopia-bridge \
	--exclude cutopia-e2e --lib -- \
	--quiet --exact tests::plexus_metadata_matches_the_runtime
echo "wrote plexus/metadata/cutopia.scale ($(stat -c %s plexus/metadata/cutopia.scale) bytes)"
