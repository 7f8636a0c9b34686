#!/usr/bin/env bash
# Issue 9's figures for a single node on the SQLite default, on loopback only:
#   1. the cost of the change watcher to GET /v1/auth/session: requests per second of this tree's server against the
#      same server built from BASE (default: where this tree left main, `git merge-base HEAD main`, which has no
#      watcher and nothing else of this tree), both running, wrk interleaved;
#      target: this tree >= 0.97 x BASE;
#   2. the time from a change written by a separate sqlite3 process (UPDATE users SET status = 'deactivated') to the
#      first refused check and to session.revoked on an open stream, over CHANGES changes
#      (bench/Tessera.RevocationLatency --via sqlite3); target: p99 < 10 ms.
# See docs/performance.md ("Direct changes to the database (issue 9)").
#
#   bench/sqlite/run.sh                              # 3 rounds of 15 s per server, then 300 changes
#   PHASES=latency CHANGES=500 bench/sqlite/run.sh
#
# Knobs: WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (15s), WRK_WARMUP (5s), ROUNDS (3), PORT (5381), BASE
# (a git revision of this repository to compare with), CHANGES (300), CHANGE_WARMUP (20), PHASES
# ("throughput latency"), POLL_PAUSE_US (0: the two pollers check back to back; 1000 paces them, less load from the
# observer), OUT (raw samples, CSV; default ./sqlite-changes-<time>.csv).
#
# Needs wrk and sqlite3 (installed with apt-get when missing, as root). Publishes both servers and the latency tool in
# Release into a temporary directory (BASE from `git archive`; the source tree's bin/obj are not touched), starts them
# on free loopback ports with temporary data directories, and removes all of it on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-32}
duration=${WRK_DURATION:-15s}
warmup=${WRK_WARMUP:-5s}
rounds=${ROUNDS:-3}
first_port=${PORT:-5381}
base_rev=${BASE:-$(git -C "$root" merge-base HEAD main 2> /dev/null || echo main)}
changes=${CHANGES:-300}
change_warmup=${CHANGE_WARMUP:-20}
phases=${PHASES:-throughput latency}
poll_pause=${POLL_PAUSE_US:-0}
out=${OUT:-$PWD/sqlite-changes-$(date +%Y%m%d-%H%M%S).csv}

BENCH_NAME=run.sh
# shellcheck source=../common.sh
source "$root/bench/common.sh"
check_knobs "$duration" "$warmup" "$rounds" "$threads" "$connections" "$first_port" "$changes" "$change_warmup" "$poll_pause"
(( changes >= 1 && changes <= 100000 )) || { echo "run.sh: CHANGES is 1..100000" >&2; exit 2; }
run_throughput=false run_latency=false
for phase in $phases; do
  case "$phase" in
    throughput) run_throughput=true ;;
    latency) run_latency=true ;;
    *) echo "run.sh: PHASES lists 'throughput' and/or 'latency', not '$phase'" >&2; exit 2 ;;
  esac
done
$run_throughput || $run_latency || { echo "run.sh: PHASES is empty" >&2; exit 2; }
git -C "$root" rev-parse --verify -q "$base_rev^{commit}" > /dev/null || { echo "run.sh: BASE '$base_rev' is not a revision" >&2; exit 2; }

ensure_wrk
bash "$root/eng/debian-packages.sh" sqlite3 sqlite3 > /dev/null

# --- workspace and clean-up ------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-sqlite-bench.XXXXXX")
declare -A pids=()
cleanup() {
  local status=$? name pid
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    stop_process "$pid"
    [[ $status -ne 0 ]] && show_log_tail "$work/$name.log" "$name server"
  done
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(nproc) CPU(s); load before: $(uptime)"

# --- build -----------------------------------------------------------------------------------------------------
publish() { # project output-dir log-name
  dotnet publish "$1" -c Release -o "$2" --artifacts-path "$work/build-$3" -nologo -v quiet > "$work/publish-$3.log" 2>&1 \
    || { cat "$work/publish-$3.log" >&2; exit 1; }
}
log "publishing this tree's server and latency tool (Release) into $work"
publish "$root/src/Tessera.Server/Tessera.Server.csproj" "$work/watcher" watcher
$run_latency && publish "$root/bench/Tessera.RevocationLatency/Tessera.RevocationLatency.csproj" "$work/tool" tool
if $run_throughput; then
  log "publishing the server of $base_rev ($(git -C "$root" rev-parse --short "$base_rev")) for comparison"
  mkdir -p "$work/base-src"
  git -C "$root" archive "$base_rev" | tar -x -C "$work/base-src"
  publish "$work/base-src/src/Tessera.Server/Tessera.Server.csproj" "$work/base" base
fi

# --- servers ---------------------------------------------------------------------------------------------------
admin_email="bench-admin@example.test"
admin_password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=$first_port
declare -A bases=() tokens=()
start_server() { # name
  local name=$1
  while port_in_use "$port"; do
    port=$((port + 1))
    (( port < first_port + 50 )) || { echo "run.sh: no free port in $first_port..$port" >&2; exit 1; }
  done
  bases[$name]="http://127.0.0.1:$port"
  port=$((port + 1))
  mkdir -p "$work/data-$name"
  (
    cd "$work"
    exec dotnet "$work/$name/Tessera.Server.dll" \
      --urls "${bases[$name]}" \
      --Tessera:DataDirectory="$work/data-$name" \
      --Tessera:Bootstrap:AdminEmail="$admin_email" \
      --Tessera:Bootstrap:AdminPassword="$admin_password" \
      --Tessera:RateLimiting:LoginPerIpPerMinute=100000 \
      --Logging:LogLevel:Default=Warning
  ) > "$work/$name.log" 2>&1 &
  pids[$name]=$!
  for attempt in $(seq 1 120); do
    if curl -fsS -o /dev/null --max-time 2 "${bases[$name]}/healthz" 2> /dev/null; then break; fi
    kill -0 "${pids[$name]}" 2> /dev/null || { echo "run.sh: the $name server exited during start-up" >&2; exit 1; }
    (( attempt < 120 )) || { echo "run.sh: /healthz of $name did not answer within 60 s" >&2; exit 1; }
    sleep 0.5
  done
  local login
  login=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\",\"device\":{\"name\":\"wrk\",\"platform\":\"api\"}}" \
    "${bases[$name]}/v1/auth/login")
  tokens[$name]=$(printf '%s' "$login" | sed -n 's/.*"token":"\([A-Za-z0-9_-]*\)".*/\1/p')
  [[ -n "${tokens[$name]}" ]] || { echo "run.sh: no token in the login answer of $name: $login" >&2; exit 1; }
  log "$name server on ${bases[$name]}"
}
start_server watcher
$run_throughput && start_server base

# --- phase 1: throughput ---------------------------------------------------------------------------------------
run_wrk() { # report-name server length
  local name=$1 server=$2 length=$3
  (umask 077; printf '%s\n' "${tokens[$server]}" > "$work/token-$server")
  TESSERA_TOKEN_FILE="$work/token-$server" timeout $(( ${length%s} + 30 )) \
    wrk -t"$threads" -c"$connections" -d"$length" --timeout 2s --latency -s "$root/bench/wrk/session.lua" \
    "${bases[$server]}/v1/auth/session" > "$work/$name.txt" 2>&1 \
    || { cat "$work/$name.txt" >&2; echo "run.sh: wrk failed ($name)" >&2; exit 1; }
  if grep -qE 'Non-2xx|Socket errors' "$work/$name.txt"; then
    cat "$work/$name.txt" >&2
    echo "run.sh: $name had errors or non-2xx answers; the figures would be meaningless" >&2
    exit 1
  fi
}
status=0
if $run_throughput; then
  echo "=== phase 1: GET /v1/auth/session, $base_rev (no watcher) against this tree (watcher), interleaved"
  echo "wrk -t$threads -c$connections -d$duration, $rounds round(s), $(nproc) CPU(s) shared by wrk and both servers; load before: $(uptime)"
  run_wrk warmup-base base "$warmup"
  run_wrk warmup-watcher watcher "$warmup"
  for round in $(seq 1 "$rounds"); do
    # Alternate which server goes first, so that drift in the machine's load does not favour one of them.
    if (( round % 2 == 1 )); then order=(base watcher); else order=(watcher base); fi
    for name in "${order[@]}"; do run_wrk "$name-$round" "$name" "$duration"; done
  done
  ratio_table base watcher "$base_rev rps" "watcher rps"
  echo "load after: $(uptime)"
  if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.97) }'; then
    echo "target (watcher >= 0.97 x $base_rev): met (ratio $ratio)"
  else
    echo "target (watcher >= 0.97 x $base_rev): MISSED (ratio $ratio)"
  fi
  # The comparison server is not needed any more; phase 2 runs alone.
  kill -TERM "${pids[base]}" 2> /dev/null || true
  wait "${pids[base]}" 2> /dev/null || true
  unset 'pids[base]'
fi

# --- phase 2: external change -> refusal -------------------------------------------------------------------------
if $run_latency; then
  echo
  echo "=== phase 2: a separate sqlite3 process deactivates a user; its session is checked by two pollers (pause ${poll_pause} µs) and has a stream open ($changes changes after $change_warmup warm-up)"
  echo "load before: $(uptime)"
  url=${bases[watcher]}
  TESSERA_ADMIN_PASSWORD="$admin_password" dotnet "$work/tool/Tessera.RevocationLatency.dll" \
    --a "$url" --b "$url" --c "$url" --admin-email "$admin_email" \
    --count "$changes" --warmup "$change_warmup" --via sqlite3 --database "$work/data-watcher/tessera.db" --out "$out" --poll-pause-us "$poll_pause" \
    || status=$?
  echo "load after: $(uptime)"
  echo "change_log rows now: $(sqlite3 "$work/data-watcher/tessera.db" 'SELECT count(*) FROM change_log')"
  log "raw samples: $out"
fi

log "load at the end: $(uptime)"
exit $status
