#!/usr/bin/env bash
# What `npm start` and `npm test` run on a machine that has only Node, npm and corepack:
# install pnpm through corepack (no prompt), install the workspace, build, then run.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=pnpm-env.sh
source tooling/scripts/pnpm-env.sh

"${pnpm_cmd[@]}" install --frozen-lockfile --reporter=append-only

case "${1:-}" in
  demo)
    shift
    "${pnpm_cmd[@]}" exec turbo run build --filter=@easel/cli... --output-logs=errors-only
    node apps/cli/dist/bin.js demo "$@"
    ;;
  test)
    shift
    status=0
    node tooling/scripts/check-manifests.mjs || status=$?
    node tooling/scripts/check-outside-root.mjs || status=$?
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
