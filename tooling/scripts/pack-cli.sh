#!/usr/bin/env bash
# What `npm run pack:cli` runs: builds the CLI and what it imports, bundles it into an installable
# tarball (tooling/scripts/pack-cli.mjs) and prints the tarball's path, alone, on stdout:
#   npm install -g "$(npm run --silent pack:cli)"
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=pnpm-env.sh
source tooling/scripts/pnpm-env.sh

# Progress goes to stderr: stdout is the path, for scripts.
"${pnpm_cmd[@]}" install --frozen-lockfile --reporter=append-only >&2
"${pnpm_cmd[@]}" exec turbo run build --filter=@easel/cli... --output-logs=errors-only >&2

status=0
node tooling/scripts/pack-cli.mjs "$@" || status=$?
exit "$status"
