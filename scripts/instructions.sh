#!/usr/bin/env bash
# Instructions per iteration of the engine bench's scenarios, counted by
# callgrind: repeatable whatever else the machine is doing, so before and
# after can be compared on a busy machine. Usage: scripts/instructions.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
cargo bench --bench engine --no-run >/dev/null 2>&1
bin=$(cargo bench --bench engine --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="engine" and m.get("executable"): print(m["executable"])' | tail -1)
count() {
    local out
    out=$(mktemp)
    COUNT="$1:$2" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
for s in pass fail submit; do
    base=$(count "$s" 0)
    total=$(count "$s" "$n")
    echo "$s: $(( (total - base) / n )) instructions per iteration ($n iterations)"
done
