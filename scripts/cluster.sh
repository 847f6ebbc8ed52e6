#!/usr/bin/env bash
# npm run cluster -- up|down|status. down uses the harness already built, when there is one, so a
# broken build never keeps a running cluster from being taken down.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = down ] && [ -f build/e2e/harness/cli.js ]; then
  exec node build/e2e/harness/cli.js down
fi
npm run build --silent && npm run bundle --silent && npm run build:all --silent
exec node build/e2e/harness/cli.js "$@"
