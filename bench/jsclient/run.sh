#!/usr/bin/env bash
# Issue 12's browser figure, on loopback only: from "Sign out all devices" returning to a page that uses the JavaScript
# client (clients/js: SessionWatcher on EventSource with Tessera's cookie, in Debian's headless Chromium) firing
# sessionended. Target: p99 < 200 ms over at least 100 runs. See docs/performance.md ("JavaScript client").
#
#   bench/jsclient/run.sh                 # 10 warm-up runs, then 200 measured
#   RUNS=500 bench/jsclient/run.sh
#
# Knobs: RUNS (200), WARMUP (10), PORT (first port tried, 5291), OUT (a file for the raw samples, CSV; none by default).
# Needs /usr/bin/chromium (eng/debian-packages.sh /usr/bin/chromium chromium fonts-liberation). Publishes the server and
# the tool in Release into a temporary directory, starts Tessera on a free loopback port with a temporary data directory,
# and stops and removes all of it on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${RUNS:-200}
warmup=${WARMUP:-10}
first_port=${PORT:-5291}
out=${OUT:-}

BENCH_NAME=jsclient/run.sh
# shellcheck source=../common.sh
source "$root/bench/common.sh"
for value in "$runs" "$warmup" "$first_port"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "run.sh: '$value' is not a whole number" >&2; exit 2; }
done
(( runs >= 1 && runs <= 100000 )) || { echo "run.sh: RUNS is 1..100000" >&2; exit 2; }
[[ -x /usr/bin/chromium ]] || { echo "run.sh: /usr/bin/chromium is missing: bash eng/debian-packages.sh /usr/bin/chromium chromium fonts-liberation" >&2; exit 1; }
command -v curl > /dev/null || { echo "run.sh: curl is needed" >&2; exit 1; }
if [[ -n "$out" ]]; then
  out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
fi

one_server_workspace jsclient

log "publishing src/Tessera.Server and bench/Tessera.JsClientLatency (Release) into $work"
publish src/Tessera.Server/Tessera.Server.csproj server
publish bench/Tessera.JsClientLatency/Tessera.JsClientLatency.csproj tool

port=$(free_port "$first_port")
tessera="http://127.0.0.1:$port"
mkdir -p "$work/data"
log "starting Tessera on $tessera"
# Password hashing is on no measured path: 1,000 iterations make the runs' sign-ins quick.
(
  cd "$work"
  exec dotnet "$work/server/Tessera.Server.dll" --urls "$tessera" --Tessera:DataDirectory="$work/data" \
    --Tessera:Passwords:HashIterations=1000 --Tessera:RateLimiting:LoginPerIpPerMinute=100000 \
    --Tessera:RateLimiting:RegistrationsPerIpPerHour=100000 --Logging:LogLevel:Default=Warning
) > "$work/server.log" 2>&1 &
server_pid=$!
for attempt in $(seq 1 120); do
  curl -fsS -o /dev/null --max-time 2 "$tessera/healthz" 2> /dev/null && break
  kill -0 "$server_pid" 2> /dev/null || { echo "run.sh: Tessera exited during start-up" >&2; exit 1; }
  (( attempt < 120 )) || { echo "run.sh: Tessera did not answer within 60 s" >&2; exit 1; }
  sleep 0.5
done

log "measuring $runs runs after $warmup warm-up runs"
args=(--tessera "$tessera" --client-dir "$root/clients/js" --runs "$runs" --warmup "$warmup")
[[ -n "$out" ]] && args+=(--out "$out")
dotnet "$work/tool/Tessera.JsClientLatency.dll" "${args[@]}"
