#!/usr/bin/env bash
# The app on the Cosmos DB store, against the local Cosmos-compatible server, in one command:
#   bash tests/node/run-local-cosmos.sh            # server + app on http://127.0.0.1:7071
#   bash tests/node/run-local-cosmos.sh --server   # only the server; prints the settings for your own `dotnet run`
# COSMOS_PORT picks the server's port (default 8081; 0 = any free one). The server keeps everything in memory:
# its data is gone when this script stops (Ctrl+C stops the app and the server).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

for tool in node npm dotnet; do
  command -v "$tool" >/dev/null || { echo "run-local-cosmos.sh: '$tool' is not on PATH; install the .NET 10 SDK and Node.js 20+ with npm." >&2; exit 2; }
done
[[ -f "$here/node_modules/.package-lock.json" ]] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

log="$(mktemp)"
node "$here/cosmos-server.js" --port "${COSMOS_PORT:-8081}" --host 127.0.0.1 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q '^cosmos-server ready at ' "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
endpoint="$(sed -n 's/^cosmos-server ready at //p' "$log")"
[[ -n "$endpoint" ]] || { echo "run-local-cosmos.sh: the server did not start" >&2; cat "$log" >&2; exit 1; }

# The local server ignores keys (any base64 string will do) and has a self-signed certificate.
export Storage__Provider=cosmos
export Cosmos__Endpoint="$endpoint"
export Cosmos__Key="dGhlLWxvY2FsLXNlcnZlci1pZ25vcmVzLWtleXM="
export Cosmos__TrustLocalCertificate=true
echo "Cosmos-compatible server at $endpoint. App settings:"
env | grep -E '^(Storage__Provider|Cosmos__)' | sort | sed 's/^/  /'

if [[ "${1:-}" == "--server" ]]; then
  echo "Run the app with them in another terminal, e.g.:"
  echo "  Storage__Provider=cosmos Cosmos__Endpoint=$endpoint Cosmos__Key=$Cosmos__Key Cosmos__TrustLocalCertificate=true dotnet run --project functions/ImFunctions.Local"
  echo "Ctrl+C stops the server."
  wait "$server"
else
  cd "$root" && dotnet run --project functions/ImFunctions.Local
fi
