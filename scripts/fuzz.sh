#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each, seeded from the
# project's own files (corpus, catalogue, examples, published results, manifests, policy), and
# prints the executions of each target and every crash with the file that reproduces it.
#
#   scripts/fuzz.sh SECONDS [TARGET...]     default: every target
#
# Exit 0 when no target found anything, 1 when one crashed, hung (-timeout) or went over the
# memory limit (-rss_limit_mb), 2 on bad usage or a failed build. Installs cargo-fuzz with
# `cargo install --locked` into target/tools (FILTERBENCH_TOOLS to choose another root) when it
# is not on PATH. Builds with the stable toolchain: `--sanitizer none` (libFuzzer's coverage
# instrumentation needs no nightly flag; AddressSanitizer would, and the code under test is safe
# Rust) and debug assertions on (integer overflow panics). The fuzz workspace builds into
# ${CARGO_TARGET_DIR:-target}/fuzz; inputs that found new coverage stay in fuzz/corpus/TARGET,
# crashes in fuzz/artifacts/TARGET. Reproduce one with
#   cargo fuzz run --sanitizer none -a TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail

usage() {
    echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
seconds=$1
shift
case "$seconds" in
'' | *[!0-9]*) usage ;;
esac
[ "$seconds" -ge 1 ] || usage

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_targets=(corpus_toml catalogue requests manifest report wasm_host)
if [ $# -gt 0 ]; then
    targets=("$@")
    for t in "${targets[@]}"; do
        case " ${all_targets[*]} " in
        *" $t "*) ;;
        *)
            echo "fuzz: no target $t (targets: ${all_targets[*]})" >&2
            exit 2
            ;;
        esac
    done
else
    targets=("${all_targets[@]}")
fi

# cargo-fuzz: on PATH, else installed once into the project's own tool root.
tools=${FILTERBENCH_TOOLS:-$root/target/tools}
if command -v cargo-fuzz >/dev/null 2>&1; then
    cargo_fuzz=(cargo fuzz)
else
    if [ ! -x "$tools/bin/cargo-fuzz" ]; then
        echo "fuzz: installing cargo-fuzz into $tools" >&2
        cargo install --locked --root "$tools" cargo-fuzz --version 0.13.1 >&2
    fi
    cargo_fuzz=("$tools/bin/cargo-fuzz" fuzz)
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/fuzz"
# The fuzz targets need none of the Wasm filters that bench/model's build script builds.
export FILTERBENCH_SKIP_WASM_BUILD=1
build_flags=(--sanitizer none --debug-assertions)

# The flags of a target: wasm_host needs the in-process harness (feature `wasm`).
flags_of() {
    if [ "$1" = wasm_host ]; then
        echo --features wasm
    fi
}
echo "fuzz: building ${targets[*]}" >&2
for t in "${targets[@]}"; do
    # shellcheck disable=SC2046 # the flags are words
    if ! "${cargo_fuzz[@]}" build "${build_flags[@]}" $(flags_of "$t") "$t" >&2; then
        echo "fuzz: the build of $t failed" >&2
        exit 2
    fi
done

# Seeds: the project's own inputs of each kind, copied fresh each run.
seeds=$(mktemp -d "${TMPDIR:-/tmp}/filterbench-fuzz-seeds.XXXXXX")
logs=$(mktemp -d "${TMPDIR:-/tmp}/filterbench-fuzz-logs.XXXXXX")
trap 'rm -rf "$seeds" "$logs"' EXIT
seed() { # seed TARGET FILE...
    local dir=$seeds/$1
    shift
    mkdir -p "$dir"
    local f
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | tr '/' '_')"
    done
    return 0
}
# A report input is files joined by NUL, each led by the byte that says which file it is
# (fuzz/fuzz_targets/report.rs): 0 bench summary, 1..3 verify envoy/in_process/deployed,
# 4 load/add_header, 5 load/passthrough, 6 failure, 7 swap, 8 policy.
report_seed() { # report_seed NAME (KIND FILE)...
    local out=$seeds/report/$1
    shift
    mkdir -p "$seeds/report"
    : >"$out"
    local first=1
    while [ $# -ge 2 ]; do
        if [ -f "$2" ]; then
            [ "$first" = 1 ] || printf '\0' >>"$out"
            # shellcheck disable=SC2059 # the kind byte, as an octal escape
            printf "\\$(printf '%03o' "$1")" >>"$out"
            cat "$2" >>"$out"
            first=0
        fi
        shift 2
    done
}
published=reports/published/results
seed corpus_toml bench/corpus/*.toml
seed catalogue bench/catalogue.toml
seed requests examples/own-filter/requests.jsonl
seed manifest examples/own-filter/envoyfilter.yaml
report_seed bench 0 "$published/bench/summary.json"
report_seed verify_envoy 1 "$published/verify/envoy.json"
report_seed verify_in_process 2 "$published/verify/in_process.json"
report_seed verify_deployed 3 "$published/verify/deployed.json"
report_seed load 4 "$published/load/add_header.json"
report_seed passthrough 5 "$published/load/passthrough.json"
report_seed failure 6 "$published/failure/strategy.json"
report_seed policy 8 reports/policy.toml
report_seed all 0 "$published/bench/summary.json" 1 "$published/verify/envoy.json" \
    2 "$published/verify/in_process.json" 3 "$published/verify/deployed.json" \
    4 "$published/load/add_header.json" 5 "$published/load/passthrough.json" \
    6 "$published/failure/strategy.json" 8 reports/policy.toml
mkdir -p "$seeds/wasm_host"
for t in "${targets[@]}"; do
    # Hand-written seeds (fuzz/seeds/TARGET: HAR files, manifests, guest programs).
    if [ -d "fuzz/seeds/$t" ]; then
        cp fuzz/seeds/"$t"/* "$seeds/$t/" 2>/dev/null || true
    fi
    mkdir -p "$seeds/$t" "fuzz/corpus/$t" "fuzz/artifacts/$t"
done

status=0
printf '%-12s %8s %12s  %s\n' target seconds executions result
for t in "${targets[@]}"; do
    log=$logs/$t.log
    # -timeout: one input taking longer is a hang; -rss_limit_mb: bounded memory (a single
    # allocation over it is reported too). The outer timeout bounds libFuzzer itself.
    set +e
    # shellcheck disable=SC2046 # the flags are words
    timeout --kill-after=30 $((seconds + 120)) \
        "${cargo_fuzz[@]}" run "${build_flags[@]}" $(flags_of "$t") "$t" "fuzz/corpus/$t" "$seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
        >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$runs" ] || runs=0
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ "$rc" = 0 ]; then
        printf '%-12s %8s %12s  %s\n' "$t" "$seconds" "$runs" "no crash"
    else
        status=1
        what=$(grep -m1 -E 'panicked at|ERROR: libFuzzer|out-of-memory|timeout after' "$log" || true)
        printf '%-12s %8s %12s  %s\n' "$t" "$seconds" "$runs" \
            "CRASH (exit $rc): ${artifact:-no artifact written}"
        [ -z "$what" ] || echo "    $what"
        echo "    --- last lines of the log ---"
        tail -n 25 "$log" | sed 's/^/    /'
    fi
done
exit "$status"
