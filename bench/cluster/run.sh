#!/usr/bin/env bash
# Issue 3's cluster figures, on loopback only:
#   1. requests per second of GET /v1/auth/session on node A of a 3-node cluster (PostgreSQL + Redis, B and C
#      running) against a single node on the SQLite default, with wrk, interleaved; target: cluster >= 0.8 x single;
#   2. the time from a revoke on node A to rejection on nodes B and C and to session.revoked on a stream connected to
#      C, over REVOCATIONS revocations (bench/Tessera.RevocationLatency); targets: p99 < 10 ms and < 50 ms.
# See docs/performance.md ("Cluster (issue 3)").
#
#   bench/cluster/run.sh                              # 2 rounds of 15 s per node, then 1000 revocations
#   ROUNDS=4 REVOCATIONS=2000 bench/cluster/run.sh
#   PHASES=latency bench/cluster/run.sh               # only the revocations (or PHASES=throughput)
#
# Knobs: WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (15s), WRK_WARMUP (5s), ROUNDS (2), PORT (first port
# tried, 5281), REVOCATIONS (1000), REVOCATION_WARMUP (50), VIA (user: DELETE /v1/sessions/{id} from another session
# of the user; admin: DELETE /v1/admin/users/{id}/sessions/{id}; psql: a separate psql process deactivates the user
# in the database, issue 9), PHASES ("throughput latency"), OUT (where the raw
# revocation samples go, CSV; default ./cluster-revocations-<time>.csv), PG_SYNCHRONOUS_COMMIT (on; off only to see
# how much of a revoke is PostgreSQL's WAL flush at commit: it is not a setting to run Tessera with), POLL_PAUSE_US (0:
# the pollers on B and C check back to back; a pause between checks shows what their own load costs the revoke),
# PG_LOG_STATEMENTS (0; 1 logs every statement's server-side duration during phase 2 and summarises them by kind, which
# times the PostgreSQL part of a revoke, at some cost to the run), SERVER_ENV (runtime settings for the four servers,
# e.g. "DOTNET_TieredPGO=0"), PUBLISH_ARGS (more `dotnet publish` arguments for the server, e.g.
# "-r linux-x64 --self-contained false -p:PublishReadyToRun=true").
#
# Installs wrk with apt-get when it is missing (needs root); eng/postgres.sh and eng/redis.sh install PostgreSQL 15
# and Redis the same way. Starts a throwaway PostgreSQL and Redis, publishes the server and the latency tool in
# Release into a temporary directory (the source tree's bin/obj are not touched), starts four servers on free
# loopback ports with temporary data directories, and stops and removes all of it on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-32}
duration=${WRK_DURATION:-15s}
warmup=${WRK_WARMUP:-5s}
rounds=${ROUNDS:-2}
first_port=${PORT:-5281}
revocations=${REVOCATIONS:-1000}
revocation_warmup=${REVOCATION_WARMUP:-50}
via=${VIA:-user}
phases=${PHASES:-throughput latency}
synchronous_commit=${PG_SYNCHRONOUS_COMMIT:-on}
poll_pause=${POLL_PAUSE_US:-0}
log_statements=${PG_LOG_STATEMENTS:-0}
out=${OUT:-$PWD/cluster-revocations-$(date +%Y%m%d-%H%M%S).csv}
read -r -a server_env <<< "${SERVER_ENV:-}"
read -r -a publish_args <<< "${PUBLISH_ARGS:-}"

BENCH_NAME=run.sh
# shellcheck source=../common.sh
source "$root/bench/common.sh"
check_knobs "$duration" "$warmup" "$rounds" "$threads" "$connections" "$first_port" "$revocations" "$revocation_warmup" "$poll_pause"
(( threads >= 1 && connections >= threads )) || { echo "run.sh: WRK_CONNECTIONS must be >= WRK_THREADS >= 1" >&2; exit 2; }
(( first_port >= 1024 && first_port <= 65000 )) || { echo "run.sh: PORT is 1024..65000" >&2; exit 2; }
(( revocations >= 1 && revocations <= 100000 )) || { echo "run.sh: REVOCATIONS is 1..100000" >&2; exit 2; }
(( revocation_warmup <= 10000 )) || { echo "run.sh: REVOCATION_WARMUP is 0..10000" >&2; exit 2; }
(( poll_pause <= 1000000 )) || { echo "run.sh: POLL_PAUSE_US is 0..1000000" >&2; exit 2; }
[[ "$log_statements" == 0 || "$log_statements" == 1 ]] || { echo "run.sh: PG_LOG_STATEMENTS is 0 or 1" >&2; exit 2; }
[[ "$via" == user || "$via" == admin || "$via" == psql ]] || { echo "run.sh: VIA is 'user', 'admin' or 'psql', not '$via'" >&2; exit 2; }
[[ "$synchronous_commit" == on || "$synchronous_commit" == off ]] \
  || { echo "run.sh: PG_SYNCHRONOUS_COMMIT is 'on' or 'off', not '$synchronous_commit'" >&2; exit 2; }
run_throughput=false run_latency=false
for phase in $phases; do
  case "$phase" in
    throughput) run_throughput=true ;;
    latency) run_latency=true ;;
    *) echo "run.sh: PHASES lists 'throughput' and/or 'latency', not '$phase'" >&2; exit 2 ;;
  esac
done
$run_throughput || $run_latency || { echo "run.sh: PHASES is empty" >&2; exit 2; }
if $run_latency; then
  out_dir=$(dirname "$out")
  [[ -d "$out_dir" && -w "$out_dir" ]] || { echo "run.sh: OUT's directory '$out_dir' is not a writable directory" >&2; exit 2; }
  out="$(cd "$out_dir" && pwd)/$(basename "$out")"
fi

# --- tools -----------------------------------------------------------------------------------------------------
if $run_throughput; then
  ensure_wrk
fi
command -v curl > /dev/null || { echo "run.sh: curl is needed" >&2; exit 1; }

# --- workspace and clean-up ------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-cluster-bench.XXXXXX")
names=()            # single A B C, in start order
declare -A pids=()  # name -> pid
declare -A bases=() # name -> http://127.0.0.1:port
pg_dir="" redis_dir=""
cleanup() {
  local status=$?
  trap - INT TERM
  local name
  for name in "${names[@]}"; do
    [[ -n "${pids[$name]:-}" ]] && stop_process "${pids[$name]}"
  done
  if [[ $status -ne 0 ]]; then
    for name in "${names[@]}"; do
      if [[ -f "$work/$name/server.log" ]]; then
        echo "--- last lines of node $name's log ---" >&2
        tail -n 20 "$work/$name/server.log" >&2 || true
      fi
    done
  fi
  [[ -n "$redis_dir" ]] && { "$root/eng/redis.sh" stop "$redis_dir" > /dev/null 2>&1 || true; }
  [[ -n "$pg_dir" ]] && { "$root/eng/postgres.sh" stop "$pg_dir" > /dev/null 2>&1 || true; }
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(nproc) CPU(s); load before: $(uptime)"

# --- PostgreSQL and Redis ----------------------------------------------------------------------------------------
# The scripts print exports on stdout; read them without eval-ing anything else, and remember the directories first.
log "starting a throwaway PostgreSQL and Redis"
pg_exports=$("$root/eng/postgres.sh" start)
pg_dir=$(printf '%s\n' "$pg_exports" | sed -n 's/^export TESSERA_TEST_POSTGRES_DIR=//p')
pg=$(printf '%s\n' "$pg_exports" | sed -n 's/^export TESSERA_TEST_POSTGRES="\(.*\)"$/\1/p')
[[ -n "$pg_dir" && -n "$pg" ]] || { echo "run.sh: eng/postgres.sh start printed no exports" >&2; exit 1; }
redis_exports=$("$root/eng/redis.sh" start)
redis_dir=$(printf '%s\n' "$redis_exports" | sed -n 's/^export TESSERA_TEST_REDIS_DIR=//p')
redis=$(printf '%s\n' "$redis_exports" | sed -n 's/^export TESSERA_TEST_REDIS=//p')
[[ -n "$redis_dir" && -n "$redis" ]] || { echo "run.sh: eng/redis.sh start printed no exports" >&2; exit 1; }
pg_port=$(printf '%s' "$pg" | sed -n 's/.*Port=\([0-9]*\).*/\1/p')
redis_port=${redis##*:}
log "PostgreSQL on 127.0.0.1:$pg_port, Redis on $redis"

# Superuser statements for the figures below (trust on loopback in this throwaway cluster).
pg_super() { psql -X -q -t -A -h 127.0.0.1 -p "$pg_port" -U postgres -d tessera -v ON_ERROR_STOP=1 -c "$1"; }
redis_cli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
# Timing WAL I/O costs two clock reads per write and sync; it lets phase 2 say how long a commit waits for the disk.
pg_super "ALTER SYSTEM SET track_wal_io_timing = on" > /dev/null
pg_super "ALTER SYSTEM SET synchronous_commit = $synchronous_commit" > /dev/null
pg_super "SELECT pg_reload_conf()" > /dev/null
log "PostgreSQL: fsync $(pg_super 'SHOW fsync'), synchronous_commit $(pg_super 'SHOW synchronous_commit'), wal_sync_method $(pg_super 'SHOW wal_sync_method')"

# --- build -----------------------------------------------------------------------------------------------------
log "publishing src/Tessera.Server and bench/Tessera.RevocationLatency (Release) into $work ${publish_args[*]:-}"
dotnet publish "$root/src/Tessera.Server/Tessera.Server.csproj" -c Release -o "$work/server" \
  --artifacts-path "$work/build" -nologo -v quiet "${publish_args[@]}" > "$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; exit 1; }
if $run_latency; then
  dotnet publish "$root/bench/Tessera.RevocationLatency/Tessera.RevocationLatency.csproj" -c Release -o "$work/tool" \
    --artifacts-path "$work/build" -nologo -v quiet > "$work/publish-tool.log" 2>&1 \
    || { cat "$work/publish-tool.log" >&2; exit 1; }
fi

# --- four servers on free loopback ports --------------------------------------------------------------------------
next_port=$first_port
take_port() { # sets port to the next free one (not in a subshell: next_port must advance)
  while port_in_use "$next_port"; do
    next_port=$((next_port + 1))
    (( next_port < first_port + 100 )) || { echo "run.sh: no free port in $first_port..$next_port" >&2; exit 1; }
  done
  port=$next_port
  next_port=$((next_port + 1))
}

admin_email="bench-admin@example.test"
admin_password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# start_node NAME [KEY=VALUE...]: everything is configured by environment variables (Tessera__...), which keeps the
# connection strings and the admin password out of `ps`; nothing Tessera-related is inherited from this shell.
start_node() {
  local name=$1 port
  shift
  take_port
  bases[$name]="http://127.0.0.1:$port"
  mkdir -p "$work/$name/data"
  (
    while read -r variable; do unset "$variable"; done < <(compgen -e | grep -E '^(Tessera__|ASPNETCORE_|DOTNET_ENVIRONMENT)' || true)
    export Tessera__DataDirectory="$work/$name/data"
    export Tessera__Bootstrap__AdminEmail="$admin_email"
    export Tessera__Bootstrap__AdminPassword="$admin_password"
    export Tessera__RateLimiting__LoginPerIpPerMinute=100000
    export Tessera__RateLimiting__RegistrationsPerIpPerHour=100000
    export Logging__LogLevel__Default=Warning
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    local assignment
    for assignment in "${server_env[@]}" "$@"; do export "${assignment?}"; done
    cd "$work/$name"
    # /readyz is polled until Healthy and each answer that is not would be logged; the category has dots, which an
    # environment variable name cannot.
    exec dotnet "$work/server/Tessera.Server.dll" --urls "${bases[$name]}" \
      --Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks=Critical
  ) > "$work/$name/server.log" 2>&1 &
  pids[$name]=$!
  names+=("$name")
  log "node $name: ${bases[$name]} (pid ${pids[$name]})"
}

wait_ready() { # name: /readyz says Healthy (a cluster node: store and Redis reachable, and its fence trusts)
  local name=$1 body=""
  for attempt in $(seq 1 240); do
    body=$(curl -s --max-time 2 "${bases[$name]}/readyz" 2> /dev/null || true)
    [[ "$body" == Healthy ]] && return 0
    kill -0 "${pids[$name]}" 2> /dev/null || { echo "run.sh: node $name exited during start-up" >&2; exit 1; }
    (( attempt < 240 )) || { echo "run.sh: node $name was not Healthy within 120 s (last /readyz: '$body')" >&2; exit 1; }
    sleep 0.5
  done
}

log "starting the single node (SQLite) and cluster nodes A, B, C (PostgreSQL + Redis) ${SERVER_ENV:-}"
start_node single
for name in A B C; do
  start_node "$name" Tessera__Storage__Provider=postgres "Tessera__Storage__ConnectionString=$pg" \
    "Tessera__Redis__Configuration=$redis" "Tessera__Redis__NodeId=$name"
done
for name in "${names[@]}"; do wait_ready "$name"; done
log "all four nodes Healthy"

login() { # name -> token on stdout
  local name=$1 answer token
  answer=$(curl -fsS --max-time 30 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\",\"device\":{\"name\":\"wrk\",\"platform\":\"api\"}}" \
    "${bases[$name]}/v1/auth/login")
  token=$(printf '%s' "$answer" | sed -n 's/.*"token":"\([A-Za-z0-9_-]*\)".*/\1/p')
  [[ -n "$token" ]] || { echo "run.sh: no token in node $name's login answer: $answer" >&2; exit 1; }
  printf '%s' "$token"
}

metric_lines() { # name regex: matching Prometheus samples of a node, prefixed by its name
  curl -fsS --max-time 5 "${bases[$1]}/metrics" | grep -E "^($2)" | sed "s/^/$1 /" || true
}

status=0

# --- phase 1: throughput ---------------------------------------------------------------------------------------
if $run_throughput; then
  for name in single A; do
    token=$(login "$name")
    (umask 077; printf '%s\n' "$token" > "$work/token-$name")
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" "${bases[$name]}/v1/auth/session")
    [[ "$code" == 200 ]] || { echo "run.sh: GET /v1/auth/session on $name answered $code" >&2; exit 1; }
  done

  run_wrk() { # label node seconds-string
    local label=$1 name=$2 length=$3
    TESSERA_TOKEN_FILE="$work/token-$name" timeout $(( ${length%s} + 30 )) \
      wrk -t"$threads" -c"$connections" -d"$length" --timeout 2s --latency -s "$root/bench/wrk/session.lua" \
      "${bases[$name]}/v1/auth/session" > "$work/$label.txt" 2>&1 \
      || { cat "$work/$label.txt" >&2; echo "run.sh: wrk failed ($label)" >&2; exit 1; }
    if grep -qE 'Non-2xx|Socket errors' "$work/$label.txt"; then
      cat "$work/$label.txt" >&2
      echo "run.sh: $label had errors or non-2xx answers; the figures would be meaningless" >&2
      exit 1
    fi
  }

  log "phase 1: warming up ($warmup each)"
  run_wrk warmup-single single "$warmup"
  run_wrk warmup-A A "$warmup"

  echo "=== phase 1: GET /v1/auth/session, single node (SQLite) against cluster node A (PostgreSQL + Redis, B and C running)"
  echo "wrk -t$threads -c$connections -d$duration --timeout 2s --latency -s bench/wrk/session.lua, $rounds round(s), $(nproc) CPU(s) shared by wrk and every server"
  echo "load before: $(uptime)"
  for round in $(seq 1 "$rounds"); do
    # Alternate which node goes first, so that drift in the machine's load does not favour one of them.
    if (( round % 2 == 1 )); then order=(single A); else order=(A single); fi
    for name in "${order[@]}"; do
      log "round $round: $name"
      run_wrk "$name-$round" "$name" "$duration"
      echo
      echo "=== round $round: $([[ $name == single ]] && echo 'single node' || echo 'cluster node A') ==="
      cat "$work/$name-$round.txt"
    done
  done
  echo "load after: $(uptime)"

  echo
  echo "=== phase 1 summary ==="
  ratio_table single A "single rps" "cluster A rps"
  echo "server counters after the runs (every check should be a cache hit; A trusted its cache throughout):"
  for name in single A; do
    metric_lines "$name" 'tessera_session_(cache_(hits|misses)_total|checks_total|cache_trusted)|tessera_node_fences_total' | sed 's/^/  /'
  done
  if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.8) }'; then
    echo "target (cluster node >= 0.8 x single node): met (ratio $ratio)"
  else
    echo "target (cluster node >= 0.8 x single node): MISSED (ratio $ratio)"
  fi
fi

# --- phase 2: revocation latency ----------------------------------------------------------------------------------
if $run_latency; then
  echo
  echo "=== phase 2: revoke on A, rejection on B and C, session.revoked on C ($revocations revocations after $revocation_warmup warm-up, via $via, PostgreSQL synchronous_commit $synchronous_commit, poll pause ${poll_pause} µs)"
  echo "load before: $(uptime)"
  cluster_metrics='tessera_bus_|tessera_node_fences_total|tessera_cluster_live_nodes|tessera_session_cache_trusted|tessera_shared_cache_lookups_total|tessera_session_revocations_total\{reason="revoked_by_(user|admin)"\}'
  for name in A B C; do metric_lines "$name" "$cluster_metrics"; done > "$work/metrics-before.txt"
  # Where the time of a revoke goes, from the servers' own counters: Redis's per-command statistics (reset here) and
  # PostgreSQL's WAL sync count and time (a COMMIT waits for one).
  redis_cli CONFIG RESETSTAT > /dev/null
  pg_super "SELECT pg_stat_reset_shared('wal')" > /dev/null
  if [[ "$log_statements" == 1 ]]; then
    pg_super "ALTER SYSTEM SET log_min_duration_statement = 0" > /dev/null
    pg_super "SELECT pg_reload_conf()" > /dev/null
    pg_log_from=$(( $(wc -l < "$pg_dir/server.log") + 1 ))
  fi
  pg_commits_before=$(pg_super "SELECT xact_commit FROM pg_stat_database WHERE datname = 'tessera'")
  via_database=""
  [[ "$via" == psql ]] && via_database="host=127.0.0.1 port=$pg_port user=postgres dbname=tessera"

  TESSERA_ADMIN_PASSWORD="$admin_password" dotnet "$work/tool/Tessera.RevocationLatency.dll" \
    --a "${bases[A]}" --b "${bases[B]}" --c "${bases[C]}" --admin-email "$admin_email" \
    --count "$revocations" --warmup "$revocation_warmup" --via "$via" --out "$out" --poll-pause-us "$poll_pause" \
    ${via_database:+--database "$via_database"} || status=$?
  echo "load after: $(uptime)"

  for name in A B C; do metric_lines "$name" "$cluster_metrics"; done > "$work/metrics-after.txt"
  echo
  echo "cluster counters (before -> after phase 2, warm-up and set-up included):"
  awk 'NR == FNR { before[$1 " " $2] = $3; next } { key = $1 " " $2; printf "  %-90s %12s -> %s\n", key, (key in before ? before[key] : "-"), $3 }' \
    "$work/metrics-before.txt" "$work/metrics-after.txt"
  echo
  echo "Redis per-command statistics during phase 2 (set-up and warm-up included; evalsha = the publish, ping and heartbeat scripts):"
  redis_cli INFO commandstats | tr -d '\r' | grep -E '^cmdstat_(evalsha|eval|publish|hset|time):' | sed 's/^/  /' || true
  redis_cli INFO latencystats | tr -d '\r' | grep -E '^latency_percentiles_usec_(evalsha|eval|publish):' | sed 's/^/  /' || true
  echo "PostgreSQL during phase 2 (set-up included):"
  pg_commits_after=$(pg_super "SELECT xact_commit FROM pg_stat_database WHERE datname = 'tessera'")
  echo "  transactions committed in the tessera database: $(( pg_commits_after - pg_commits_before ))"
  pg_super "SELECT 'WAL syncs: ' || wal_sync || ', sync time ' || round(wal_sync_time::numeric, 1) || ' ms, mean ' ||
              CASE WHEN wal_sync > 0 THEN round((wal_sync_time / wal_sync)::numeric, 3) ELSE 0 END || ' ms per sync; WAL writes: ' ||
              wal_write || ', write time ' || round(wal_write_time::numeric, 1) || ' ms' FROM pg_stat_wal" | sed 's/^/  /'
  if [[ "$log_statements" == 1 ]]; then
    pg_super "ALTER SYSTEM RESET log_min_duration_statement" > /dev/null
    pg_super "SELECT pg_reload_conf()" > /dev/null
    echo "PostgreSQL statements run 100 times or more during phase 2 (server-side ms, log_min_duration_statement; set-up included):"
    printf '  %-70s %7s %9s %9s %9s %9s\n' statement n mean p50 p99 max
    # "duration: 0.123 ms  execute <unnamed>: UPDATE sessions ..." -> kind and the first words of the SQL, then the time.
    tail -n +"$pg_log_from" "$pg_dir/server.log" \
      | sed -n 's/.*duration: \([0-9.]*\) ms  \([a-z]*\)[^:]*: \(.*\)$/\2 \3\t\1/p' \
      | awk -F '\t' '{ split($1, w, " "); key = w[1] " " w[2] " " w[3] " " w[4] " " w[5]; print key "\t" $2 }' \
      | sort -t "$(printf '\t')" -k1,1 -k2,2g \
      | awk -F '\t' '
          function flush() { if (n >= 100) printf "  %-70s %7d %9.3f %9.3f %9.3f %9.3f\n", key, n, sum / n, v[int((n + 1) / 2)], v[int(n * 0.99 + 0.999)], v[n] }
          $1 != key { flush(); key = $1; n = 0; sum = 0 }
          { v[++n] = $2; sum += $2 }
          END { flush() }'
  fi
  log "raw samples: $out"
fi

log "load at the end: $(uptime)"
exit $status
