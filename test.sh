#!/usr/bin/env bash
# Install everything the tests need, then run them all. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null; then   # the browser tests drive Debian's Chromium
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/hongtu sites validate
.venv/bin/python -m pytest "$@"
