#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium, installing Debian's `chromium` (and the DejaVu
# fonts its pages are laid out with) with apt-get when it is missing. Idempotent; parallel callers
# wait on one lock, so only one installs. Used by the reports crate's browser test.
#
#   CHROMIUM_BIN=/path/to/chrome   use that binary, install nothing
set -euo pipefail

if [ -n "${CHROMIUM_BIN:-}" ]; then
    if [ -x "$CHROMIUM_BIN" ] || command -v "$CHROMIUM_BIN" >/dev/null 2>&1; then
        command -v "$CHROMIUM_BIN"
        exit 0
    fi
    echo "ensure-chromium: CHROMIUM_BIN=$CHROMIUM_BIN is not an executable" >&2
    exit 1
fi

font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
have() { command -v chromium >/dev/null 2>&1 && [ -f "$font" ]; }

if ! have; then
    if [ "$(id -u)" != 0 ]; then
        echo "ensure-chromium: Chromium is not installed and this is not root: run" \
            "'apt-get install --no-install-recommends chromium fonts-dejavu-core' as root," \
            "or set CHROMIUM_BIN to a Chromium binary" >&2
        exit 1
    fi
    lock="${TMPDIR:-/tmp}/filterbench-ensure-chromium.lock"
    exec 9>"$lock"
    # Another test may be installing right now: wait for it (apt takes a minute or two).
    if ! flock -w 900 9; then
        echo "ensure-chromium: timed out waiting for $lock" >&2
        exit 1
    fi
    if ! have; then
        export DEBIAN_FRONTEND=noninteractive
        apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
        apt_install() { "${apt[@]}" install chromium fonts-dejavu-core >&2; }
        echo "ensure-chromium: installing Debian's chromium with apt-get" >&2
        # The package lists may be missing or stale on a fresh machine: update once, retry.
        if ! apt_install; then
            apt-get -o DPkg::Lock::Timeout=600 -q update >&2 && apt_install || {
                echo "ensure-chromium: 'apt-get install chromium fonts-dejavu-core' failed" \
                    "(output above); set CHROMIUM_BIN to use another Chromium" >&2
                exit 1
            }
        fi
    fi
fi
command -v chromium
