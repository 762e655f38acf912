#!/usr/bin/env bash
# Regenerates plexus/metadata/cutopia.scale (metadata V16 of the native runtime), from which
# the plexus SDK's typed client is generated. Run it after changing a pallet's calls, events,
# storage or types; `cargo test -p cutopia-runtime` fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p plexus/metadata
UPDATE_METADATA=1 cargo test -p cutopia-runtime --lib plexus_metadata_matches_the_runtime -- --quiet
echo "wrote plexus/metadata/cutopia.scale ($(stat -c %s plexus/metadata/cutopia.scale) bytes)"
