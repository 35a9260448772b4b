# Sourced by dev.sh and bench.sh: makes `corepack pnpm` work without a prompt and gives turbo a
# `pnpm` on PATH (corepack's shim in a temp dir), without touching the system.
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0

pnpm_cmd=(corepack pnpm)
if ! "${pnpm_cmd[@]}" --version >/dev/null 2>&1; then
  # Some registries/mirrors fail corepack's signature check; the pinned version in
  # package.json#packageManager still decides what runs.
  echo "corepack could not verify pnpm's signature here; retrying with COREPACK_INTEGRITY_KEYS=0" >&2
  export COREPACK_INTEGRITY_KEYS=0
  "${pnpm_cmd[@]}" --version >/dev/null
fi

shim_dir="$(mktemp -d)"
trap 'rm -rf "$shim_dir"' EXIT
corepack enable --install-directory "$shim_dir" pnpm
export PATH="$shim_dir:$PATH"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
