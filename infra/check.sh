#!/usr/bin/env bash
# Builds and lints infra/ with the Bicep CLI restored from NuGet (infra/tools/bicep-cli.csproj).
# Fails on any error or linter warning. Quiet on success except one summary line.
#   bash infra/check.sh                 # what CI runs
#   bash infra/check.sh --api-versions  # also flag API versions older than two years
set -euo pipefail

infra="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bicep_version=0.49.2
log="$(mktemp)"
out="$(mktemp -d)"
trap 'rm -rf "$log" "$out"' EXIT

fail() {
  echo "infra/check.sh: $1" >&2
  cat "$log" >&2
  exit 1
}

dotnet restore "$infra/tools/bicep-cli.csproj" --nologo -v quiet >"$log" 2>&1 \
  || fail "restoring Azure.Bicep.CommandLine.linux-x64 $bicep_version from NuGet failed"

packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
bicep="$packages/azure.bicep.commandline.linux-x64/$bicep_version/tools/bicep"
[[ -f "$bicep" ]] || fail "bicep not found at $bicep after restore"
chmod +x "$bicep"

config=()
if [[ "${1:-}" == "--api-versions" ]]; then
  printf '%s\n' '{"analyzers":{"core":{"rules":{"use-recent-api-versions":{"level":"warning"}}}}}' >"$out/bicepconfig.json"
  config=(--config "$out/bicepconfig.json")
fi

# The param file reads the two signing keys from the environment at build time. Placeholders
# of the right length let it compile here; they never leave this process.
export IMFUNCTIONS_JWT_SECRET="check-only-placeholder-not-a-secret-0001"
export IMFUNCTIONS_TOKEN_SECRET="check-only-placeholder-not-a-secret-0002"

# The Bicep CLI exits 0 on warnings, so any diagnostic output at all counts as a failure.
run() {
  if ! "$bicep" "$@" "${config[@]}" >"$log" 2>&1 || [[ -s "$log" ]]; then
    fail "bicep $1 ${2#"$infra/"} reported:"
  fi
}

run build "$infra/main.bicep" --outfile "$out/main.json"
run lint "$infra/main.bicep"
run build-params "$infra/main.dev.bicepparam" --outfile "$out/main.dev.parameters.json"
run lint "$infra/main.dev.bicepparam"

modules=$(find "$infra/modules" -name '*.bicep' | wc -l)
echo "infra: bicep $bicep_version build + lint clean (main.bicep, $modules modules, main.dev.bicepparam)"
