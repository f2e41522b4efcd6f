#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (php-cli, a JDK and Go from apt when
# missing, the pinned npm peers under tests/node, the SDK's npm packages under clients/js, Debian's chromium and
# ejabberd, the Bicep CLI from NuGet), checks infra/, runs every NUnit test, then the SDK and web chat tests
# (node's test runner, against the built local host), and ends with one line counting both:
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

echo "== clients/js: SDK and web chat (npm ci, tsc, esbuild into functions/ImFunctions.Local/webchat)"
client_failed=0
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && npm run --silent build:web) || client_failed=1
if [[ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]]; then
  echo "== chromium (Debian's, for the web chat's browser tests)"
  apt-get -o DPkg::Lock::Timeout=300 install -y -q chromium >/dev/null \
    || { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null && apt-get -o DPkg::Lock::Timeout=300 install -y -q chromium >/dev/null; } \
    || echo "tests/run.sh: could not install chromium; the browser tests will fail saying so" >&2
fi

# The bench's smoke test (BenchSmokeTests) runs its ejabberd scenario: Debian's ejabberd and its SQLite driver, with
# the package's own service left stopped (bench/ImFunctions.Bench/ejabberd/install.sh).
if ! bash bench/ImFunctions.Bench/ejabberd/install.sh; then
  echo "tests/run.sh: could not install ejabberd; the bench smoke test will fail saying so" >&2
fi

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

echo "== clients/js tests (node --test: SDK against the local host, web chat in chromium)"
node_tap="$results/clients-js.tap"
(cd clients/js && IMF_APP_DLL="$(pwd)/../../functions/ImFunctions.Local/bin/Release/net10.0/ImFunctions.Local.dll" \
  node --test --test-concurrency=1 --test-timeout=180000 \
    --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$node_tap" test/)
node_status=$?
# node's TAP ends with '# pass N', '# fail N', '# todo N', ... for the whole run. No test is marked todo; should one
# be, it is reported with the skipped ones rather than counted as passed.
tap_count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$node_tap" 2>/dev/null | tail -1; }
node_passed=$(tap_count pass); node_failed=$(tap_count fail); node_todo=$(tap_count todo); node_skipped=$(tap_count skipped)
if [[ -z "$node_passed" || -z "$node_failed" ]]; then
  echo "tests/run.sh: the clients/js tests wrote no summary" >&2
  node_passed=0; node_failed=1
fi
(( client_failed )) && node_failed=$((node_failed + 1))
(( node_status != 0 && node_failed == 0 )) && node_failed=1
echo "clients/js: $node_passed passed, $node_failed failed, $(( ${node_todo:-0} + ${node_skipped:-0} )) skipped"
passed=$((passed + node_passed)); failed=$((failed + node_failed)); skipped=$((skipped + ${node_todo:-0} + ${node_skipped:-0}))
line="$passed passed, $failed failed"
(( skipped > 0 )) && line="$line, $skipped skipped"
echo "$line"
(( test_status == 0 && infra_failed == 0 && node_failed == 0 && total > 0 )) || exit 1
