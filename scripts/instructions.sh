#!/usr/bin/env bash
# Instructions per iteration of the engine and codec benches' scenarios,
# counted by callgrind: repeatable whatever else the machine is doing, so
# before and after can be compared on a busy machine.
# Usage: scripts/instructions.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
bench_bin() {
    cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]==sys.argv[1] and m.get("executable"): print(m["executable"])' "$1" | tail -1
}
count() {
    local out
    out=$(mktemp)
    COUNT="$2:$3" valgrind --tool=callgrind --callgrind-out-file="$out" "$1" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
per_iteration() {
    local base total
    base=$(count "$1" "$2" 0)
    total=$(count "$1" "$2" "$n")
    echo "$3 $2: $(( (total - base) / n )) instructions per iteration ($n iterations)"
}
engine=$(bench_bin engine)
for s in pass fail submit; do per_iteration "$engine" "$s" engine; done
codec=$(bench_bin codec)
for s in CEB311-order.xml CEB411-payment.xml CEB511-waybill.xml CEB621-inventory.xml quick-xml; do
    per_iteration "$codec" "$s" codec
done
