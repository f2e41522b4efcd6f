#!/usr/bin/env bash
# Builds the Azure Functions package: artifacts/imfunctions.zip, the flat app root the host expects.
#   host.json                 the repo's host.json (customHandler -> bin/ImFunctions.Local)
#   <function>/function.json  one folder per functions/<name>/function.json
#   bin/                      the handler, self-contained for linux-x64, executable bit kept
# Prints the zip's path on stdout; progress and errors go to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/functions/ImFunctions.Local/ImFunctions.Local.csproj"
zip_path="$root/artifacts/imfunctions.zip"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
app="$work/app"
mkdir -p "$app/bin" "$root/artifacts"

# Intermediate files go to a private artifacts path, so this publish never shares obj/ with a
# build running in the work tree at the same time.
echo "package: dotnet publish (Release, linux-x64, self-contained)" >&2
if ! dotnet publish "$project" -c Release -r linux-x64 --self-contained \
    --artifacts-path "$work/build" -o "$app/bin" --nologo >"$work/publish.log" 2>&1; then
  cat "$work/publish.log" >&2
  echo "package: dotnet publish failed" >&2
  exit 1
fi

# Local-only files must never reach Azure, whatever the project starts copying to its output.
find "$app/bin" \( -name local.settings.json -o -name dev-secrets.json -o -name '*.db' \
  -o -name '*.db-shm' -o -name '*.db-wal' \) -type f -printf 'package: dropped bin/%P\n' -delete >&2
find "$app/bin" \( -name data -o -name node_modules \) -type d -prune \
  -printf 'package: dropped bin/%P/\n' -exec rm -rf {} + >&2

cp "$root/host.json" "$app/host.json"

count=0
for dir in "$root"/functions/*/; do
  name="$(basename "$dir")"
  [[ -f "$dir/function.json" ]] || continue # functions/ImFunctions.Local is the project, not a function
  mkdir -p "$app/$name"
  cp "$dir/function.json" "$app/$name/function.json"
  count=$((count + 1))
done
[[ $count -gt 0 ]] || { echo "package: no functions/<name>/function.json found" >&2; exit 1; }

# The host starts whatever host.json names; fail here rather than at cold start in Azure.
handler="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["customHandler"]["description"]["defaultExecutablePath"])' "$app/host.json")"
if [[ ! -f "$app/$handler" ]]; then
  cat "$work/publish.log" >&2
  echo "package: host.json names $handler, which publish did not produce; bin/ holds:" >&2
  ls "$app/bin" | head -20 >&2
  exit 1
fi
chmod +x "$app/$handler"

# Python's zipfile stores each file's unix mode (external attributes), so +x survives.
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

echo "package: $count functions, handler $handler, $(du -h "$zip_path" | cut -f1)" >&2
echo "$zip_path"
