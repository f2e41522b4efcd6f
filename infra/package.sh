#!/usr/bin/env bash
# Builds the Azure Functions package: artifacts/imfunctions.zip, the published isolated worker as Functions
# deploys it (one-deploy / zip deploy): host.json, functions.metadata, worker.config.json and the worker's
# assemblies at the zip's root. Framework-dependent: Flex Consumption's dotnet-isolated stack brings the runtime.
# Prints the zip's path on stdout; progress and errors go to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/functions/ImFunctions.Functions/ImFunctions.Functions.csproj"
zip_path="$root/artifacts/imfunctions.zip"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
app="$work/app"
mkdir -p "$app" "$root/artifacts"

# Intermediate files go to a private artifacts path, so this publish never shares obj/ with a
# build running in the work tree at the same time.
echo "package: dotnet publish (Release, linux-x64, framework-dependent)" >&2
if ! dotnet publish "$project" -c Release -r linux-x64 --self-contained false \
    --artifacts-path "$work/build" -o "$app" --nologo >"$work/publish.log" 2>&1; then
  cat "$work/publish.log" >&2
  echo "package: dotnet publish failed" >&2
  exit 1
fi

# Local-only files must never reach Azure, whatever the project starts copying to its output.
find "$app" \( -name local.settings.json -o -name dev-secrets.json -o -name '*.db' \
  -o -name '*.db-shm' -o -name '*.db-wal' \) -type f -printf 'package: dropped %P\n' -delete >&2
find "$app" \( -name data -o -name node_modules \) -type d -prune \
  -printf 'package: dropped %P/\n' -exec rm -rf {} + >&2

# The host indexes functions from these two files; fail here rather than at cold start in Azure.
for required in host.json functions.metadata worker.config.json; do
  [[ -f "$app/$required" ]] || { cat "$work/publish.log" >&2; echo "package: publish produced no $required" >&2; exit 1; }
done

rm -f "$zip_path"
python3 - "$app" "$zip_path" <<'PY'
import os, sys, zipfile
app, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for folder, dirs, files in os.walk(app):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, app), strict_timestamps=False)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
PY

count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$app/functions.metadata")
echo "package: $count functions, $(du -h "$zip_path" | cut -f1)" >&2
echo "$zip_path"
