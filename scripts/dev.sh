#!/usr/bin/env bash
# Starts a CuTopia development chain: Alice authors and finalizes, dev accounts are endowed,
# RPC on ws://127.0.0.1:9944. Installs what is missing and builds what is needed first.
#
#   scripts/dev.sh                 keep the chain under $CUTOPIA_BASE_PATH
#                                  (default ~/.local/share/cutopia/dev)
#   scripts/dev.sh --tmp           throw-away chain in a temporary directory
#   scripts/dev.sh --release       use an optimised build (a second full build, ~2x longer)
#   scripts/dev.sh --purge         delete the kept chain first
#   scripts/dev.sh -- ARGS...      pass ARGS to cutopia-node (e.g. -- --sealing instant)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

tmp=0 release=0 purge=0 extra=()
while (($#)); do
	case "$1" in
	--tmp) tmp=1 ;;
	--release) release=1 ;;
	--purge) purge=1 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "dev.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

scripts/setup.sh
if ((release)); then
	cargo build --release --workspace
	bin="$CARGO_TARGET_DIR/release/cutopia-node"
else
	# The debug workspace build is the one the tests use, so this reuses what they compiled.
	cargo build --workspace
	bin="$CARGO_TARGET_DIR/debug/cutopia-node"
fi

base="${CUTOPIA_BASE_PATH:-$HOME/.local/share/cutopia/dev}"
if ((tmp)); then
	where=(--tmp)
else
	if ((purge)); then "$bin" purge-chain --dev --base-path "$base" -y; fi
	mkdir -p "$base"
	where=(--base-path "$base")
	echo "dev.sh: chain state kept in $base (scripts/dev.sh --purge to start over)" >&2
fi
# Copy-on-write instantiation (the default) seals a memfd, which some kernels (seen on the
# project's Firecracker VMs) refuse now and then with EBUSY, stopping the node at start.
strategy=(--wasmtime-instantiation-strategy pooling)
for a in "${extra[@]}"; do
	case "$a" in --wasmtime-instantiation-strategy*) strategy=() ;; esac
done
exec "$bin" --dev "${where[@]}" --rpc-port 9944 "${strategy[@]}" "${extra[@]}"
