#!/usr/bin/env bash
# What `pnpm bench` (and `npm run bench`) runs: build what the benchmarks import, then run the
# harness. Works from a fresh clone after install; arguments go to the harness:
#   pnpm bench                     every benchmark, writes tooling/bench/RESULTS.md
#   pnpm bench -- gateway-load     one benchmark (the others' last results are kept)
#   pnpm bench -- --smoke          seconds-long sizes, RESULTS.md untouched
set -euo pipefail
cd "$(dirname "$0")/../.."
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0

pnpm_cmd=(corepack pnpm)
if ! "${pnpm_cmd[@]}" --version >/dev/null 2>&1; then
  # Some registries/mirrors fail corepack's signature check; the pinned version in
  # package.json#packageManager still decides what runs.
  echo "corepack could not verify pnpm's signature here; retrying with COREPACK_INTEGRITY_KEYS=0" >&2
  export COREPACK_INTEGRITY_KEYS=0
  "${pnpm_cmd[@]}" --version >/dev/null
fi

# turbo looks for a `pnpm` binary on PATH: give it corepack's shim without touching the system.
shim_dir="$(mktemp -d)"
trap 'rm -rf "$shim_dir"' EXIT
corepack enable --install-directory "$shim_dir" pnpm
export PATH="$shim_dir:$PATH"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

if [ ! -d node_modules ]; then
  "${pnpm_cmd[@]}" install --frozen-lockfile --reporter=append-only
fi

# The harness and every workspace package it imports (turbo skips what is already built).
"${pnpm_cmd[@]}" exec turbo run build --filter=@easel/bench... --output-logs=errors-only

# pnpm passes a literal "--" through; the harness ignores it.
exec node tooling/bench/dist/run.js "$@"
