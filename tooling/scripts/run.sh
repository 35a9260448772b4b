#!/usr/bin/env bash
# What the root package.json scripts run (`npm run build|typecheck|lint|format|pack:cli`) on a machine
# with only Node, npm and corepack: pnpm through corepack, the workspace installed once, then the
# command with the workspace's binaries (turbo, biome) and a `pnpm` on PATH for turbo.
#   bash tooling/scripts/run.sh turbo run build
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=pnpm-env.sh
source tooling/scripts/pnpm-env.sh

if [ ! -d node_modules/.pnpm ]; then
  "${pnpm_cmd[@]}" install --frozen-lockfile --reporter=append-only
fi

# Not `exec`: pnpm-env.sh removes its temp shim directory on exit.
status=0
"${pnpm_cmd[@]}" exec "$@" || status=$?
exit "$status"
