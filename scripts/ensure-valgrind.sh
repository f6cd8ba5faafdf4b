#!/usr/bin/env bash
# Prints the path of valgrind (for the in-process benches' instruction counts under callgrind),
# installing Debian's `valgrind` with apt-get when it is missing. Idempotent; parallel callers
# wait on one lock, so only one installs. Run by `filterbench bench` / `cargo bench` before the
# callgrind count (bench/src/perf/callgrind.rs); without valgrind the counts are left out.
#
#   FILTERBENCH_VALGRIND=/path/to/valgrind   use that binary, install nothing
set -euo pipefail

if [ -n "${FILTERBENCH_VALGRIND:-}" ]; then
    if [ -x "$FILTERBENCH_VALGRIND" ] || command -v "$FILTERBENCH_VALGRIND" >/dev/null 2>&1; then
        command -v "$FILTERBENCH_VALGRIND"
        exit 0
    fi
    echo "ensure-valgrind: FILTERBENCH_VALGRIND=$FILTERBENCH_VALGRIND is not an executable" >&2
    exit 1
fi

have() { command -v valgrind >/dev/null 2>&1; }

if ! have; then
    if [ "$(id -u)" != 0 ]; then
        echo "ensure-valgrind: valgrind is not installed and this is not root: run" \
            "'apt-get install --no-install-recommends valgrind' as root," \
            "or set FILTERBENCH_VALGRIND to a valgrind binary" >&2
        exit 1
    fi
    lock="${TMPDIR:-/tmp}/filterbench-ensure-valgrind.lock"
    exec 9>"$lock"
    # Another run may be installing right now: wait for it.
    if ! flock -w 900 9; then
        echo "ensure-valgrind: timed out waiting for $lock" >&2
        exit 1
    fi
    if ! have; then
        export DEBIAN_FRONTEND=noninteractive
        apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
        apt_install() { "${apt[@]}" install valgrind >&2; }
        echo "ensure-valgrind: installing Debian's valgrind with apt-get" >&2
        # The package lists may be missing or stale on a fresh machine: update once, retry.
        if ! apt_install; then
            apt-get -o DPkg::Lock::Timeout=600 -q update >&2 && apt_install || {
                echo "ensure-valgrind: 'apt-get install valgrind' failed (output above);" \
                    "set FILTERBENCH_VALGRIND to use another valgrind" >&2
                exit 1
            }
        fi
    fi
fi
command -v valgrind
