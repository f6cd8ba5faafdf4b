#!/usr/bin/env bash
# Compares `loadgen run` with wrk on the same Envoy baseline listener, same connection count,
# same core, interleaved rounds in ABBA order (wrk, loadgen, loadgen, wrk, ...): closed-loop throughput and
# p50 latency, then open-loop rate accuracy. Loopback only.
#
#   bash loadgen/bench/wrk_compare.sh [ROUNDS] [SECONDS] [CONNECTIONS]
#
# Installs wrk from Debian's packages when it is missing (needs root). Envoy is pinned to the
# last CPU, wrk and loadgen to CPU 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECS=${2:-10}
CONNS=${3:-16}
NCPU=$(nproc)
ENVOY_CPU=$((NCPU - 1))

if ! command -v wrk >/dev/null; then
  echo "installing wrk (apt-get)..." >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
cargo build -q --release -p filterbench-loadgen --bin loadgen
LOADGEN=target/release/loadgen

# The baseline Envoy lives as long as this fifo stays open: if this script dies, Envoy goes too.
work=$(mktemp -d)
mkfifo "$work/stdin"
$LOADGEN envoy --pair add_header --variant base --workers 1 --cpus "$ENVOY_CPU" --max-secs 3600 \
  < "$work/stdin" > "$work/url" 2> "$work/envoy.err" &
ENVOY_PID=$!
exec 3> "$work/stdin"
trap 'exec 3>&-; wait $ENVOY_PID 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do [ -s "$work/url" ] && break; sleep 0.1; done
URL=$(awk '{print $1; exit}' "$work/url")
[ -n "$URL" ] || { cat "$work/envoy.err" >&2; exit 1; }
echo "baseline Envoy at $URL (Envoy on CPU $ENVOY_CPU; clients on CPU 0; $CONNS connections; ${SECS}s rounds)"

wrk_round() {
  taskset -c 0 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$URL" > "$work/wrk.txt"
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
  python3 - "$rps" "$p50" <<'PY'
import sys, re
rps, p50 = sys.argv[1], sys.argv[2]
m = re.match(r"([\d.]+)(us|ms|s)", p50)
us = float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
print(f"{float(rps):.1f} {us:.1f}")
PY
}

loadgen_round() {
  $LOADGEN run --url "$URL" -c "$CONNS" -d "$SECS" --threads 1 --cpus 0 --output json > "$work/lg.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.1f %.1f" % (r["throughput_rps"], r["latency_us"]["p50"]))' "$work/lg.json"
}

: > "$work/rounds"
for r in $(seq 1 "$ROUNDS"); do
  # ABBA order (wrk first on odd rounds, loadgen first on even ones): a machine whose speed drifts
  # during the run does not always favour the tool that runs first.
  if [ $((r % 2)) -eq 1 ]; then w=$(wrk_round); l=$(loadgen_round); else l=$(loadgen_round); w=$(wrk_round); fi
  echo "round $r: wrk $w | loadgen $l   (req/s p50us)"
  echo "$w $l" >> "$work/rounds"
done

# Open loop at half the closed-loop rate: the achieved rate must match the target.
TARGET=$(python3 -c 'import sys; rows=[l.split() for l in open(sys.argv[1])]; v=sorted(float(r[2]) for r in rows); print(int(v[len(v)//2]/2))' "$work/rounds")
$LOADGEN run --url "$URL" -c "$CONNS" -d "$SECS" --threads 1 --cpus 0 --rate "$TARGET" --output json > "$work/open.json"

python3 - "$work/rounds" "$work/open.json" "$TARGET" <<'PY'
import json, statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
wrk_rps = statistics.median(r[0] for r in rows); wrk_p50 = statistics.median(r[1] for r in rows)
lg_rps = statistics.median(r[2] for r in rows); lg_p50 = statistics.median(r[3] for r in rows)
o = json.load(open(sys.argv[2])); target = float(sys.argv[3])
achieved = o["responses"] / o["elapsed_s"]
print()
print(f"closed loop, medians of {len(rows)} rounds:")
print(f"  wrk      {wrk_rps:10.1f} req/s  p50 {wrk_p50:8.1f} us")
print(f"  loadgen  {lg_rps:10.1f} req/s  p50 {lg_p50:8.1f} us")
print(f"  loadgen/wrk throughput {lg_rps / wrk_rps:.3f}x (target >= 1.0), p50 {lg_p50 / wrk_p50:.3f}x (target within 10%)")
print(f"open loop: target {target:.0f} req/s, achieved {achieved:.1f} req/s ({(achieved / target - 1) * 100:+.2f}%, target within 1%), p99 {o['latency_us']['p99']} us")
PY
