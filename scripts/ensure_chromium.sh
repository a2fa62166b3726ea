#!/bin/sh
# Make sure headless Chromium is there for the browser tests and `make demo`: Debian's
# `chromium` package, installed with apt-get when missing (sudo only when not root). Windows
# and macOS: `python -m scripts.dev` finds Chrome or Edge there (docs/install.md).
# PREFLIGHT_CHROMIUM names another binary; PREFLIGHT_SKIP_BROWSER=1 skips the browser work.
set -eu
if [ "${PREFLIGHT_SKIP_BROWSER:-}" = "1" ]; then
    exit 0
fi
if [ -n "${PREFLIGHT_CHROMIUM:-}" ]; then
    [ -x "$PREFLIGHT_CHROMIUM" ] && exit 0
    echo "ensure_chromium: PREFLIGHT_CHROMIUM=$PREFLIGHT_CHROMIUM is not an executable" >&2
    exit 1
fi
if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
for other in chromium-browser google-chrome google-chrome-stable microsoft-edge; do
    if found=$(command -v "$other" 2>/dev/null); then
        echo "ensure_chromium: no chromium, but $found is there: set" \
             "PREFLIGHT_CHROMIUM=$found (or PREFLIGHT_SKIP_BROWSER=1)" >&2
        exit 1
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no chromium and no apt-get; install Chromium and set" \
         "PREFLIGHT_CHROMIUM=/path/to/chromium (or PREFLIGHT_SKIP_BROWSER=1)" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi
echo "ensure_chromium: installing Debian's chromium (apt-get install -y chromium)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
