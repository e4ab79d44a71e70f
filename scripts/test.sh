#!/usr/bin/env bash
# The tests: set up, lint, then run the unit and integration tests and every notebook (nbval).
# As root (CI) it installs Debian's chromium (browser test) and postgresql (journal tests) if missing;
# without them those tests skip with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${need[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "warning: could not install ${need[*]}; the browser/PostgreSQL tests will skip with a reason" >&2
  fi
fi
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
exec .venv/bin/pytest -q -p no:cacheprovider --nbval-lax tests notebooks dashboards "$@"
