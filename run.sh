#!/usr/bin/env bash
# Install Hongtu and run it: the web planner at http://127.0.0.1:8000 on the shipped sites.db,
# and the Telegram bot too when TELEGRAM_BOT_TOKEN is set.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/hongtu up "$@"
