#!/usr/bin/env bash
# What `pnpm bench` (and `npm run bench`) runs: build what the benchmarks import, then run the
# harness. Works from a fresh clone after install; arguments go to the harness:
#   pnpm bench                     every benchmark, writes tooling/bench/RESULTS.md
#   pnpm bench -- gateway-load     one benchmark (the others' last results are kept)
#   pnpm bench -- --smoke          seconds-long sizes, RESULTS.md untouched
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=pnpm-env.sh
source tooling/scripts/pnpm-env.sh

if [ ! -d node_modules ]; then
  "${pnpm_cmd[@]}" install --frozen-lockfile --reporter=append-only
fi

# The harness and every workspace package it imports (turbo skips what is already built).
"${pnpm_cmd[@]}" exec turbo run build --filter=@easel/bench... --output-logs=errors-only

# pnpm passes a literal "--" through; the harness ignores it.
exec node tooling/bench/dist/run.js "$@"
