#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (php-cli, a JDK and Go from apt when
# missing, the pinned npm peers under tests/node, the Bicep CLI from NuGet), checks infra/, runs every NUnit test, and ends with one line:
#   N passed, N failed[, N skipped]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in dotnet node npm; do
  command -v "$tool" >/dev/null || { echo "tests/run.sh: '$tool' is not on PATH; install it (.NET 10 SDK, Node.js 20+ with npm) and run again." >&2; exit 2; }
done

# The legacy-backend snippet tests run php, java and go (python3 and node are assumed present).
missing=()
command -v php >/dev/null || missing+=(php-cli)
command -v java >/dev/null || missing+=(default-jdk-headless)
command -v go >/dev/null || missing+=(golang-go)
if (( ${#missing[@]} > 0 )); then
  echo "== apt-get install ${missing[*]} (for the legacy-backend snippets)"
  sudo_=""; [[ $(id -u) -ne 0 ]] && sudo_="sudo"
  ($sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "tests/run.sh: could not install ${missing[*]}; the snippet tests for them will fail saying so." >&2
fi

echo "== npm peers (tests/node, pinned by package-lock.json)"
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 2; }

echo "== infra/ (bicep build + lint)"
infra_failed=0
bash infra/check.sh || infra_failed=1

echo "== dotnet test"
results="$(pwd)/artifacts/test-results"
rm -rf "$results"
dotnet test ImFunctions.sln -c Release --nologo --logger "trx;LogFileName=results.trx" --results-directory "$results"
test_status=$?

counters=$(grep -ho '<Counters [^>]*>' "$results"/*.trx 2>/dev/null | head -1)
count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
total=$(count total); passed=$(count passed); failed=$(count failed); executed=$(count executed)
if [[ -z "$counters" ]]; then
  echo "tests/run.sh: no test results were written (build failure?)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
failed=$((failed + infra_failed))
skipped=$((total - executed))
line="$passed passed, $failed failed"
(( skipped > 0 )) && line="$line, $skipped skipped"
echo "$line"
(( test_status == 0 && infra_failed == 0 && total > 0 )) || exit 1
