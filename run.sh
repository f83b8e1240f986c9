#!/usr/bin/env bash
# Install Hongtu and run it: the web planner at http://127.0.0.1:8000 on the shipped sites.db,
# and the Telegram bot too when TELEGRAM_BOT_TOKEN is set.
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -c 'import ensurepip' 2>/dev/null; then   # Debian ships venv's pip separately
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/hongtu up "$@"
