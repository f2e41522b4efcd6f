#!/usr/bin/env bash
# The whole benchmark in one command: builds the app and the bench in Release, installs the peer (Debian's ejabberd)
# when missing, starts fresh app instances on loopback, and rewrites the results section of docs/benchmarks.md (plus
# docs/img/bench-*.png) with every target of issue 17 judged from this one run.
#
#   bash bench/run.sh                 # everything, SQLite store (about 29 minutes on 2 cores, 10 of them the soak)
#   bash bench/run.sh send limit      # only some scenarios: limit send pairs pairs-normal hot ejabberd groups connections soak reads store micro
#   bash bench/run.sh ejabberd        # the peer alone (stock SQLite, then WAL/NORMAL)
#   bash bench/run.sh --store cosmos  # against tests/node/cosmos-server.js
#   bash bench/run.sh --smoke         # a moment of everything, nothing written to docs/
set -euo pipefail
cd "$(dirname "$0")/.."

# 10k idle sockets need 10k descriptors in the app and as many again in the generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

out=(--out docs/benchmarks.md --plots docs/img --json artifacts/bench/results.json)
for arg in "$@"; do [[ "$arg" == "--smoke" ]] && out=(); done

# The ejabberd scenario's peer: Debian's ejabberd, installed when missing (root), its system service left stopped;
# the bench starts an instance of its own. Without it that scenario fails saying so; the others run regardless.
bash bench/ImFunctions.Bench/ejabberd/install.sh || echo "bench/run.sh: ejabberd could not be installed; the ejabberd scenario will fail" >&2

dotnet build bench/ImFunctions.Bench -c Release --nologo -v quiet

# On a machine shared with builds and tests, run the generator and the servers it starts ahead of them
# (root only; BENCH_NICE=0 to measure at normal priority). Other processes' CPU is still reported per step.
nice=()
if [[ "${BENCH_NICE:-1}" != 0 && $(id -u) == 0 ]]; then nice=(nice -n -10); fi
# The generator's thread pool does not spin while waiting for work: spinning took CPU from the server under test.
export DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
BENCH_COMMAND="bash bench/run.sh $*" exec "${nice[@]}" dotnet bench/ImFunctions.Bench/bin/Release/net10.0/ImFunctions.Bench.dll "${out[@]}" "$@"
