#!/usr/bin/env bash
# Factoring solver vs PARI/GP's factorint on the same balanced semiprimes, same machine.
# Prints a table of median (and worst) solve times per size. Installs pari-gp if missing.
# Usage: scripts/bench-factor.sh [COUNT per size, default 15] [SEED, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
count=${1:-15}
seed=${2:-1}
sizes="48 64 80 96 112 128 144 160"
if ! command -v gp >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get install -y -qq pari-gp >/dev/null
fi
cargo build -q -p cutopia-factor --example bench
bench="$CARGO_TARGET_DIR/debug/examples/bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" gen "$seed" "$count" $sizes >"$work/semiprimes.txt"
"$bench" time "$work/semiprimes.txt" >"$work/ours.txt"
# PARI/GP: each number factored repeatedly until 20 ms have passed, as the Rust side does.
cat >"$work/pari.gp" <<GP
default(parisize, 200000000);
L = readvec("$work/numbers.gp");
{
my(res = Map());
for (i = 1, #L,
	my(b = L[i][1], n = L[i][2], t0 = getabstime(), reps = 0);
	while (reps == 0 || getabstime() - t0 < 20, factorint(n); reps++);
	my(ms = (getabstime() - t0) * 1.0 / reps);
	my(v); if (mapisdefined(res, b, &v), v = concat(v, ms), v = [ms]); mapput(res, b, v));
my(keys = Vec(res));
foreach (keys, k,
	my(v = vecsort(mapget(res, k)));
	printf("%d %.4f %.4f\n", k, v[#v \ 2 + 1], v[#v]));
}
GP
awk '{print "[" $1 ", " $2 "]"}' "$work/semiprimes.txt" >"$work/numbers.gp"
gp -q -f "$work/pari.gp" </dev/null 2>/dev/null | sed '/^$/d' >"$work/pari.txt"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "Factoring balanced semiprimes: median (worst) ms over $count numbers per size"
echo "machine: $cpu, $(nproc) cores; PARI/GP $(echo 'print(version())' | gp -q -f | tr -d '[]' | tr ',' '.')"
printf "| %4s | %16s | %16s | %7s |\n" bits cutopia-factor "PARI factorint" speedup
printf "|-----:|-----------------:|-----------------:|--------:|\n"
join "$work/ours.txt" "$work/pari.txt" | while read -r bits om ow pm pw; do
	printf "| %4s | %7.3f (%6.2f) | %7.3f (%6.2f) | %6.2fx |\n" "$bits" "$om" "$ow" "$pm" "$pw" "$(echo "$pm / $om" | bc -l)"
done

# Whole processes at 96 bits, start-up included: the miner's `cutopia miner factor N` (the
# debug build miners run) against `gp -q` reading `factorint(N)`, each number once per round.
cargo build -q -p plexus --bin cutopia
cutopia="$CARGO_TARGET_DIR/debug/cutopia"
grep '^96 ' "$work/semiprimes.txt" | cut -d' ' -f2 >"$work/n96.txt"
"$cutopia" miner factor "$(head -1 "$work/n96.txt")" >/dev/null # page the binary in once
median_ms() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for round in 1 2 3; do
	while read -r n; do
		t0=$(date +%s%N)
		"$cutopia" miner factor "$n" >/dev/null
		t1=$(date +%s%N)
		gp -q <<<"factorint($n)" >/dev/null
		t2=$(date +%s%N)
		echo "$(((t1 - t0) / 1000)) $(((t2 - t1) / 1000))" >>"$work/whole.txt"
	done <"$work/n96.txt"
done
ours=$(cut -d' ' -f1 "$work/whole.txt" | median_ms)
theirs=$(cut -d' ' -f2 "$work/whole.txt" | median_ms)
echo
echo "Whole process at 96 bits, median of $(wc -l <"$work/whole.txt") runs:"
printf "| %-28s | %9s |\n" command "median ms"
printf "|------------------------------|----------:|\n"
printf "| %-28s | %9.2f |\n" "cutopia miner factor N" "$(echo "$ours / 1000" | bc -l)" "gp -q, factorint(N)" "$(echo "$theirs / 1000" | bc -l)"
