#!/usr/bin/env bash
# Issue 10's relying-app figures, on loopback only, with Tessera (SQLite) and bench/Tessera.RelyingApp (Tessera.AspNetCore
# as a user would use it, a service client with the scopes introspect and revocations):
#   1. requests per second of the app's GET /authenticated (RequireAuthorization, a Bearer token whose verdict comes from
#      the app's cache under the revocation stream's lease) against the same tiny JSON endpoint without authentication,
#      GET /anonymous, with wrk, interleaved; target: authenticated >= 0.9 x anonymous. Interleaved with them, the floor:
#      GET /authenticated of a second copy of the app whose scheme does no work at all (--Bench:FloorHandler=true), the
#      most any handler can serve behind ASP.NET Core's authentication and authorization middleware;
#   2. from Tessera's revoking call returning to the app refusing the session and closing its WebSocket, over
#      REVOCATIONS revocations (bench/Tessera.RelyingLatency); target: p99 < 100 ms, no request accepted after the call
#      returned.
# See docs/performance.md ("Relying apps").
#
#   bench/relying/run.sh                              # 2 rounds of 15 s per endpoint, then 1000 revocations
#   ROUNDS=4 REVOCATIONS=2000 bench/relying/run.sh
#   PHASES=latency bench/relying/run.sh               # only the revocations (or PHASES=throughput)
#
# Knobs: WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (15s), WRK_WARMUP (5s), ROUNDS (2), PORT (first port tried,
# 5191; Tessera and the app take the first two free ones), REVOCATIONS (1000), REVOCATION_WARMUP (50), PHASES
# ("throughput latency"), OUT (a file for the raw revocation samples, CSV; none by default).
#
# Installs wrk with apt-get when it is missing (needs root). Publishes the server, the app and the latency tool in Release
# into a temporary directory (the source tree's bin/obj are not touched), starts Tessera and the app on free loopback
# ports with a temporary data directory, and stops and removes all of it on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-32}
duration=${WRK_DURATION:-15s}
warmup=${WRK_WARMUP:-5s}
rounds=${ROUNDS:-2}
first_port=${PORT:-5191}
revocations=${REVOCATIONS:-1000}
revocation_warmup=${REVOCATION_WARMUP:-50}
phases=${PHASES:-throughput latency}
out=${OUT:-}

BENCH_NAME=run.sh
# shellcheck source=../common.sh
source "$root/bench/common.sh"
check_knobs "$duration" "$warmup" "$rounds" "$threads" "$connections" "$first_port" "$revocations" "$revocation_warmup"
(( threads >= 1 && connections >= threads )) || { echo "run.sh: WRK_CONNECTIONS must be >= WRK_THREADS >= 1" >&2; exit 2; }
(( first_port >= 1024 && first_port <= 65000 )) || { echo "run.sh: PORT is 1024..65000" >&2; exit 2; }
(( revocations >= 1 && revocations <= 100000 )) || { echo "run.sh: REVOCATIONS is 1..100000" >&2; exit 2; }
(( revocation_warmup <= 10000 )) || { echo "run.sh: REVOCATION_WARMUP is 0..10000" >&2; exit 2; }
run_throughput=false run_latency=false
for phase in $phases; do
  case "$phase" in
    throughput) run_throughput=true ;;
    latency) run_latency=true ;;
    *) echo "run.sh: PHASES lists 'throughput' and/or 'latency', not '$phase'" >&2; exit 2 ;;
  esac
done
$run_throughput || $run_latency || { echo "run.sh: PHASES is empty" >&2; exit 2; }
if [[ -n "$out" ]]; then
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
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-relying.XXXXXX")
server_pid="" app_pid="" floor_pid=""
cleanup() {
  local status=$?
  stop_process "$floor_pid"
  stop_process "$app_pid"
  stop_process "$server_pid"
  if [[ $status -ne 0 ]]; then
    for log_file in server app floor; do
      if [[ -f "$work/$log_file.log" ]]; then
        echo "--- last lines of the $log_file log ---" >&2
        tail -n 30 "$work/$log_file.log" >&2 || true
      fi
    done
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -----------------------------------------------------------------------------------------------------
log "publishing src/Tessera.Server, bench/Tessera.RelyingApp$($run_latency && echo ' and bench/Tessera.RelyingLatency') (Release) into $work"
publish() { # project output
  dotnet publish "$root/$1" -c Release -o "$work/$2" --artifacts-path "$work/build" -nologo -v quiet > "$work/publish-$2.log" 2>&1 \
    || { cat "$work/publish-$2.log" >&2; exit 1; }
}
publish src/Tessera.Server/Tessera.Server.csproj server
publish bench/Tessera.RelyingApp/Tessera.RelyingApp.csproj app
if $run_latency; then
  publish bench/Tessera.RelyingLatency/Tessera.RelyingLatency.csproj tool
fi

# --- Tessera on a free loopback port ----------------------------------------------------------------------------
wait_for() { # url pid what
  for attempt in $(seq 1 120); do
    if curl -fsS -o /dev/null --max-time 2 "$1" 2> /dev/null; then return 0; fi
    kill -0 "$2" 2> /dev/null || { echo "run.sh: $3 exited during start-up" >&2; exit 1; }
    (( attempt < 120 )) || { echo "run.sh: $1 did not answer within 60 s" >&2; exit 1; }
    sleep 0.5
  done
}

tessera_port=$(free_port "$first_port")
tessera="http://127.0.0.1:$tessera_port"
admin_email="bench-admin@example.test"
admin_password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$work/data"
log "starting Tessera on $tessera"
# Password hashing is on no measured path: 1,000 iterations make the latency phase's 1,000+ sign-ins quick.
(
  cd "$work"
  exec dotnet "$work/server/Tessera.Server.dll" \
    --urls "$tessera" \
    --Tessera:DataDirectory="$work/data" \
    --Tessera:Bootstrap:AdminEmail="$admin_email" \
    --Tessera:Bootstrap:AdminPassword="$admin_password" \
    --Tessera:Passwords:HashIterations=1000 \
    --Tessera:RateLimiting:LoginPerIpPerMinute=100000 \
    --Tessera:RateLimiting:RegistrationsPerIpPerHour=100000 \
    --Logging:LogLevel:Default=Warning
) > "$work/server.log" 2>&1 &
server_pid=$!
wait_for "$tessera/healthz" "$server_pid" Tessera

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
login=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\",\"device\":{\"name\":\"bench\",\"platform\":\"api\"}}" \
  "$tessera/v1/auth/login")
admin_token=$(printf '%s' "$login" | json_field token)
[[ -n "$admin_token" ]] || { echo "run.sh: no token in the admin's login answer: $login" >&2; exit 1; }

# The app's service client, created through the admin API as an admin would.
client=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' -H "Authorization: Bearer $admin_token" \
  -d '{"name":"relying app bench","scopes":["introspect","revocations"]}' "$tessera/v1/admin/clients")
client_id=$(printf '%s' "$client" | json_field id)
client_secret=$(printf '%s' "$client" | json_field secret)
[[ -n "$client_id" && -n "$client_secret" ]] || { echo "run.sh: no client id or secret in the answer: $client" >&2; exit 1; }

# --- the app on the next free port (its secret in the environment, out of `ps`) ------------------------------------
app_port=$(free_port $((tessera_port + 1)))
app="http://127.0.0.1:$app_port"
log "starting the relying app on $app"
(
  cd "$work"
  export Tessera__Authority="$tessera" Tessera__ClientId="$client_id" Tessera__ClientSecret="$client_secret"
  exec dotnet "$work/app/Tessera.RelyingApp.dll" --urls "$app" --Logging:LogLevel:Default=Warning
) > "$work/app.log" 2>&1 &
app_pid=$!
wait_for "$app/anonymous" "$app_pid" "the app"

# The app follows the revocation stream: without it every request would be asked of Tessera.
# The sum of a counter's or gauge's series in Tessera's /metrics (Prometheus text: name{labels} value).
metric() { curl -fsS --max-time 5 "$tessera/metrics" | awk -v name="$1" '{ n = $1; sub(/\{.*/, "", n) } n == name { sum += $2 } END { printf "%d\n", sum }'; }
for attempt in $(seq 1 100); do
  streams=$(metric tessera_revocation_streams_open)
  [[ "${streams:-0}" != 0 ]] && break
  (( attempt < 100 )) || { echo "run.sh: the app opened no revocation stream within 10 s" >&2; exit 1; }
  sleep 0.1
done
log "the app follows Tessera's revocation stream ($streams open)"

# --- phase 1: throughput ----------------------------------------------------------------------------------------
if $run_throughput; then
  # The floor: the same app with a scheme that does nothing (bench/Tessera.RelyingApp/Program.cs, FloorHandler).
  floor_port=$(free_port $((app_port + 1)))
  floor="http://127.0.0.1:$floor_port"
  log "starting the floor app (no authentication work) on $floor"
  (
    cd "$work"
    exec dotnet "$work/app/Tessera.RelyingApp.dll" --urls "$floor" --Bench:FloorHandler=true --Logging:LogLevel:Default=Warning
  ) > "$work/floor.log" 2>&1 &
  floor_pid=$!
  wait_for "$floor/anonymous" "$floor_pid" "the floor app"

  # A user signs in at Tessera; the app sees only the Bearer token.
  curl -fsS -o /dev/null --max-time 10 -H 'Content-Type: application/json' \
    -d '{"email":"ada@bench.test","password":"correct-horse-battery","displayName":"Ada"}' "$tessera/v1/auth/register"
  login=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -d '{"email":"ada@bench.test","password":"correct-horse-battery","device":{"name":"wrk","platform":"api"}}' "$tessera/v1/auth/login")
  token=$(printf '%s' "$login" | json_field token)
  [[ -n "$token" ]] || { echo "run.sh: no token in the user's login answer: $login" >&2; exit 1; }
  token_file="$work/token"
  (umask 077; printf '%s\n' "$token" > "$token_file")
  export TESSERA_TOKEN_FILE="$token_file"

  status_anonymous=$(curl -s -o "$work/anonymous.json" -w '%{http_code}' --max-time 5 "$app/anonymous")
  status_authenticated=$(curl -s -o "$work/authenticated.json" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" "$app/authenticated")
  status_refused=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$app/authenticated")
  status_floor=$(curl -s -o "$work/floor.json" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" "$floor/authenticated")
  [[ "$status_anonymous" == 200 ]] || { echo "run.sh: GET /anonymous answered $status_anonymous" >&2; exit 1; }
  [[ "$status_authenticated" == 200 ]] || { echo "run.sh: GET /authenticated answered $status_authenticated" >&2; exit 1; }
  [[ "$status_refused" == 401 ]] || { echo "run.sh: GET /authenticated without a token answered $status_refused, not 401" >&2; exit 1; }
  [[ "$status_floor" == 200 ]] || { echo "run.sh: the floor app's GET /authenticated answered $status_floor" >&2; exit 1; }
  cmp -s "$work/anonymous.json" "$work/authenticated.json" && cmp -s "$work/anonymous.json" "$work/floor.json" \
    || { echo "run.sh: the endpoints answer different bodies" >&2; exit 1; }
  log "both endpoints answer $(cat "$work/anonymous.json") ($(wc -c < "$work/anonymous.json") bytes)"

  run_wrk() { # name seconds-string url [script]
    local name=$1 length=$2 url=$3 script=${4:-}
    local args=(-t"$threads" -c"$connections" -d"$length" --timeout 2s --latency)
    [[ -n "$script" ]] && args+=(-s "$script")
    timeout $(( ${length%s} + 30 )) wrk "${args[@]}" "$url" > "$work/$name.txt" 2>&1 \
      || { cat "$work/$name.txt" >&2; echo "run.sh: wrk failed ($name)" >&2; exit 1; }
    if grep -qE 'Non-2xx|Socket errors' "$work/$name.txt"; then
      cat "$work/$name.txt" >&2
      echo "run.sh: $name had errors or non-2xx answers; the figures would be meaningless" >&2
      exit 1
    fi
  }
  requests_of() { awk '/ requests in / { print $1 }' "$work/$1.txt"; }

  # Tessera's session checks count every introspection the app makes: with the cache serving, they stay flat while wrk
  # sends hundreds of thousands of authenticated requests.
  log "warming up ($warmup each)"
  run_wrk warmup-anonymous "$warmup" "$app/anonymous"
  run_wrk warmup-floor "$warmup" "$floor/authenticated" "$root/bench/wrk/session.lua"
  checks_before=$(metric tessera_session_checks_total)
  run_wrk warmup-authenticated "$warmup" "$app/authenticated" "$root/bench/wrk/session.lua"
  checks_after=$(metric tessera_session_checks_total)
  warm_requests=$(requests_of warmup-authenticated)
  warm_checks=$(( checks_after - checks_before ))
  log "warm-up: $warm_requests authenticated requests, $warm_checks session checks at Tessera"
  (( warm_checks * 100 <= warm_requests )) \
    || { echo "run.sh: Tessera was asked $warm_checks times for $warm_requests requests: the app's cache is not serving" >&2; exit 1; }

  echo "wrk -t$threads -c$connections -d$duration --timeout 2s --latency, $rounds round(s), app $app, floor app $floor, Tessera $tessera, $(nproc) CPU(s) shared by wrk, the apps and Tessera"
  checks_total=0 requests_total=0
  endpoints=(anonymous authenticated floor)
  for round in $(seq 1 "$rounds"); do
    # Rotate which endpoint goes first, so that drift in the machine's load does not favour one of them.
    order=()
    for i in 0 1 2; do order+=("${endpoints[$(( (round - 1 + i) % 3 ))]}"); done
    for name in "${order[@]}"; do
      case $name in
        authenticated)
          checks_before=$(metric tessera_session_checks_total)
          run_wrk "$name-$round" "$duration" "$app/authenticated" "$root/bench/wrk/session.lua"
          checks_after=$(metric tessera_session_checks_total)
          checks_total=$(( checks_total + checks_after - checks_before ))
          requests_total=$(( requests_total + $(requests_of "$name-$round") ))
          label="GET /authenticated" ;;
        floor)
          run_wrk "$name-$round" "$duration" "$floor/authenticated" "$root/bench/wrk/session.lua"
          label="GET /authenticated of the floor app" ;;
        *)
          run_wrk "$name-$round" "$duration" "$app/anonymous"
          label="GET /anonymous" ;;
      esac
      echo
      echo "=== round $round: $label ==="
      cat "$work/$name-$round.txt"
    done
  done
fi

# --- phase 2: revocation latency ----------------------------------------------------------------------------------
latency_status=0
if $run_latency; then
  log "revocation latency: $revocations revocations after $revocation_warmup warm-up"
  tool_args=(--tessera "$tessera" --app "$app" --admin-email "$admin_email" --count "$revocations" --warmup "$revocation_warmup")
  [[ -n "$out" ]] && tool_args+=(--out "$out")
  TESSERA_ADMIN_PASSWORD="$admin_password" dotnet "$work/tool/Tessera.RelyingLatency.dll" "${tool_args[@]}" > "$work/latency.txt" \
    || latency_status=$?
  (( latency_status <= 1 )) || { cat "$work/latency.txt" >&2; echo "run.sh: the latency tool failed ($latency_status)" >&2; exit 1; }
fi

# --- summary ---------------------------------------------------------------------------------------------------
echo
echo "=== summary ==="
if $run_throughput; then
  ratio_table anonymous floor "anonymous rps" "floor rps"
  floor_ratio=$ratio
  echo
  ratio_table anonymous authenticated "anonymous rps" "authenticated rps"
  echo "Tessera's session checks (introspections) during the $requests_total measured authenticated requests: $checks_total"
  echo "the floor (a handler that does nothing): $floor_ratio x anonymous; Tessera.AspNetCore: $ratio x anonymous," \
    "$(awk -v r="$ratio" -v f="$floor_ratio" 'BEGIN { printf "%.3f", r / f }') x the floor"
  if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.9) }'; then
    echo "target (authenticated >= 0.9 x anonymous): met (ratio $ratio)"
  else
    echo "target (authenticated >= 0.9 x anonymous): MISSED (ratio $ratio)"
  fi
fi
if $run_latency; then
  $run_throughput && echo
  cat "$work/latency.txt"
fi
exit "$latency_status"
