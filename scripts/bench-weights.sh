#!/usr/bin/env bash
# Generates the runtime's weights for the project's pallets with `cutopia-node benchmark pallet`
# and prints each call's base weight next to balances.transfer_keep_alive, measured the same
# way on the same machine.
#
#   scripts/bench-weights.sh                 all of the project's pallets
#   scripts/bench-weights.sh pallet_escrow   only some
#   STEPS=50 REPEAT=20 scripts/bench-weights.sh
#
# Output: runtime/src/weights/<pallet>.rs (commit them) and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

pallets=("$@")
((${#pallets[@]})) || pallets=(pallet_bridge pallet_challenge pallet_escrow pallet_indenture pallet_repchain
	frame_system_extensions)
steps=${STEPS:-20}
repeat=${REPEAT:-10}

scripts/setup.sh
# An optimised node: a debug one over-estimates execution about 30×, and those weights would
# price every call (and cap every block) as if the chain were that slow.
cargo build --release -p cutopia-node
node="$CARGO_TARGET_DIR/release/cutopia-node"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

bench() { # pallet extrinsic output
	"$node" benchmark pallet --chain dev --pallet "$1" --extrinsic "$2" \
		--steps "$steps" --repeat "$repeat" --wasm-execution compiled \
		--header scripts/weights-header.txt --output "$3" >"$out/$1.log" 2>&1 ||
		{ cat "$out/$1.log" >&2; exit 1; }
}

bench pallet_balances transfer_keep_alive "$out/pallet_balances.rs"
for p in "${pallets[@]}"; do
	bench "$p" '*' "runtime/src/weights/$p.rs"
	# The extensions' weights implement frame_system's trait, not a pallet's of that name.
	[ "$p" = frame_system_extensions ] && sed -i \
		's/frame_system_extensions::WeightInfo for WeightInfo<T>/frame_system::ExtensionsWeightInfo for WeightInfo<T>/' \
		"runtime/src/weights/$p.rs"
	echo "bench-weights: wrote runtime/src/weights/$p.rs" >&2
done

python3 - "$out/pallet_balances.rs" "${pallets[@]/#/runtime/src/weights/}" <<'PY'
import re, sys
rows = []
for path in sys.argv[1:]:
    path = path if path.endswith('.rs') else path + '.rs'
    src = open(path).read()
    pallet = path.rsplit('/', 1)[-1][:-3]
    for m in re.finditer(r'fn (\w+)\(([^)]*)\) -> Weight \{(.*?)\n\t\}', src, re.S):
        name, args, body = m.groups()
        base = re.search(r'Weight::from_parts\((\d[\d_]*), \d+\)', body)
        ref = int(base.group(1).replace('_', '')) if base else 0
        pov = sum(int(x.replace('_', '')) for x in re.findall(r'Weight::from_parts\(0, (\d[\d_]*)\)\)\n', body))
        reads = sum(int(x) for x in re.findall(r'reads\((\d+)', body))
        writes = sum(int(x) for x in re.findall(r'writes\((\d+)', body))
        comps = ', '.join(a.split(':')[0].strip() for a in args.split(',') if a.strip())
        rows.append((pallet, name, comps, ref / 1e6, pov, reads, writes))
# ParityDbWeight: a read costs 8 µs, a write 50 µs of ref_time.
print(f"{'pallet':18} {'call':22} {'comp.':6} {'exec µs':>8} {'reads':>5} {'writes':>6} {'total µs':>9} {'proof B':>8}")
for p, n, c, r, v, rd, wr in rows:
    print(f"{p:18} {n:22} {c:6} {r:8.1f} {rd:5} {wr:6} {r + 8 * rd + 50 * wr:9.1f} {v:8}")
print("exec: measured execution with every component at its lowest value; total adds the reads and\n"
      "writes at ParityDB's cost. Per-component slopes are in runtime/src/weights/*.rs.")
PY
