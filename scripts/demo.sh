#!/usr/bin/env bash
# The main job: set up, then paper-trade the example SMA crossover on the shipped SPY minute bars with
# quotes (2013-10-07..11, regular hours) at 3000x real time through the live path (asyncio runtime,
# simulated broker, SQLite journal). No account, no network. Extra arguments go to `workbench paper`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/workbench paper --speed 3000 "$@"
