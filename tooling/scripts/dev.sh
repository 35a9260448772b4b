#!/usr/bin/env bash
# What `npm start` and `npm test` run on a machine that has only Node, npm and corepack:
# install pnpm through corepack (no prompt), install the workspace, build, then run.
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

"${pnpm_cmd[@]}" install --frozen-lockfile --reporter=append-only

case "${1:-}" in
  demo)
    shift
    "${pnpm_cmd[@]}" exec turbo run build --filter=@easel/cli... --output-logs=errors-only
    node apps/cli/dist/bin.js demo "$@"
    ;;
  test)
    shift
    node tooling/scripts/check-manifests.mjs
    status=0
    "${pnpm_cmd[@]}" exec turbo run build typecheck lint --concurrency=2 --continue "$@" || status=$?
    # One test suite at a time: each already runs its files in parallel, and the integration tests
    # (child processes, kill -9 timing, servers) stay honest on a 2-core machine.
    "${pnpm_cmd[@]}" exec turbo run test --concurrency=1 --continue "$@" || status=$?
    exit "$status"
    ;;
  *)
    echo "usage: dev.sh demo|test" >&2
    exit 2
    ;;
esac
