#!/usr/bin/env bash
# The kill -9 test (tests/it/crash.rs) at scale: the real daemon, release
# build, killed with SIGKILL N times at random moments while it takes the
# files of many order sets, restarted each time, then checked (every file
# once, every document stored once, every passing set forwarded once, the
# quota ledger, the failing sets' receipts).
#
# Usage: scripts/crash-test.sh [N]     N kill points (default 200)
# Environment: CRASH_SETS (default 3 N, at least 60, at most 9999) and
# CRASH_SEED (default: from the clock) are passed on; a failed run prints
# the seed that repeats it.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-200}"
case "$kills" in
    '' | *[!0-9]*) echo "usage: $0 [N]   (N kill points, a number)" >&2; exit 2 ;;
esac
sets="${CRASH_SETS:-$(( kills * 3 ))}"
(( sets < 60 )) && sets=60
(( sets > 9999 )) && sets=9999
seed="${CRASH_SEED:-$(date +%s%N)}"

echo "Building the release test binary..."
cargo test --release --locked --test it --no-run

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "Running: CRASH_KILLS=$kills CRASH_SETS=$sets CRASH_SEED=$seed cargo test --release --test it crash -- --nocapture"
t0=$(date +%s)
status=0
CRASH_KILLS="$kills" CRASH_SETS="$sets" CRASH_SEED="$seed" \
    cargo test --release --locked --test it crash -- --nocapture 2>&1 | tee "$log" || status=$?
secs=$(( $(date +%s) - t0 ))

summary=$(grep -m1 '^crash summary:' "$log" || true)
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$summary"; }
echo
echo "== crash test (kill -9) =="
echo "commit:   $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src tests || echo ' (with local changes)')"
echo "machine:  $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
echo "seed:     $seed"
if [ "$status" -eq 0 ] && [ -n "$summary" ]; then
    echo "outcome:  pass"
    echo "kills:    $(field kills): $(field effect_kills) right after a flushed batch's first effect, $(field forward_kills) amid forwards, the rest on a timer; $(field busy_kills) left claimed files in a TempBox"
    echo "files:    $(field files) ($(field dropped_while_down) dropped while the daemon was down)"
    echo "sets:     $(field sets): $(field passed) passed, $(field failed) failed; $(field forwarded) documents forwarded"
    echo "duration: ${secs} s (the test itself: $(field secs) s)"
else
    echo "outcome:  FAIL (exit $status); CRASH_SEED=$seed repeats the run"
    echo "duration: ${secs} s"
    exit 1
fi
