#!/usr/bin/env bash
# Install everything the tests need, then run them all. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
missing=()
command -v chromium >/dev/null || missing+=(chromium)                  # the browser tests drive Debian's Chromium
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)   # Debian ships venv's pip separately
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/hongtu sites validate
.venv/bin/python -m pytest "$@"
