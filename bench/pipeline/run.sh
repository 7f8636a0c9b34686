#!/usr/bin/env bash
# Issue 15, part A: what Tessera's pipeline and session check cost next to a bare ASP.NET Core app, in one run.
# Two processes on loopback, both Release: bench/Tessera.BareApp (the default builder and MapGet("/hello"), nothing
# else) and Tessera.Server. wrk -t1 -c32 runs, interleaved round by round:
#   bare     GET  /hello on the bare app                      (the yardstick: 1)
#   hello    GET  /hello on Tessera (Tessera:Benchmarks:HelloEndpoint): the pipeline alone
#   session  GET  /v1/auth/session, Bearer, a cache hit       target >= 0.75 x bare
#   check    GET  /v1/auth/session/check, Bearer, 204         target >= 0.85 x bare (skipped if the server lacks it)
# and prints each series' ratio to bare. Then, unless START=0, the start-up curve: a fresh Tessera process, signed in
# as soon as /healthz answers, then wrk on /v1/auth/session in 1 s slices for START_SECONDS (10) seconds; each slice
# and the whole as a fraction of the steady rate measured above (target: the first 10 s within 80 % of it).
#
#   bench/pipeline/run.sh                                  # 15 s warm-up, 4 rounds of 6 s, then the start-up curve
#   ROUNDS=2 WRK_DURATION=4s START=0 bench/pipeline/run.sh # quicker, no start-up curve
#   PUBLISH_ARGS="-r linux-x64 --self-contained false -p:PublishReadyToRun=true" bench/pipeline/run.sh  # Tessera as ReadyToRun
#   SERVER_ENV="DOTNET_TieredPGO=0 DOTNET_TieredCompilation=0" bench/pipeline/run.sh  # runtime knobs for Tessera
#   SERIES="bare session" bench/pipeline/run.sh            # a subset (bare is always measured)
#   START_VARIANTS="default pgo-off:DOTNET_TieredPGO=0 r2r" bench/pipeline/run.sh  # start-up curves to compare
#   BEFORE=2cf8165 bench/pipeline/run.sh                   # also a Tessera built from that commit, in the same rounds:
#                                                          # series hello_before and session_before (a change's before/after)
#
# Both are published into a temporary directory (the source tree's bin/obj are not touched); everything started is
# stopped and removed on exit. Installs wrk with apt-get when it is missing (needs root).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

connections=${WRK_CONNECTIONS:-32}
duration=${WRK_DURATION:-6s}
warmup=${WRK_WARMUP:-15s}
rounds=${ROUNDS:-4}
first_port=${PORT:-5281}
start_curve=${START:-1}
start_seconds=${START_SECONDS:-10}
series=${SERIES:-"bare hello session check"}
before=${BEFORE:-}
read -r -a server_env <<< "${SERVER_ENV:-}"
read -r -a publish_args <<< "${PUBLISH_ARGS:-}"

BENCH_NAME=pipeline/run.sh
# shellcheck source=../common.sh
source "$root/bench/common.sh"
check_knobs "$duration" "$warmup" "$rounds" 1 "$connections" "$first_port" "$start_curve" "$start_seconds"

ensure_wrk

work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-pipeline.XXXXXX")
server_pid="" bare_pid="" before_pid=""
cleanup() {
  local status=$?
  stop_process "$server_pid"
  stop_process "$bare_pid"
  stop_process "$before_pid"
  if [[ $status -ne 0 ]]; then
    show_log_tail "$work/server.log" server
    show_log_tail "$work/bare.log" "bare app"
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -----------------------------------------------------------------------------------------------------
log "publishing bench/Tessera.BareApp and src/Tessera.Server (Release) into $work ${publish_args[*]:-}"
dotnet publish "$root/bench/Tessera.BareApp/Tessera.BareApp.csproj" -c Release -o "$work/bare" \
  --artifacts-path "$work/build-bare" -nologo -v quiet > "$work/publish-bare.log" 2>&1 \
  || { cat "$work/publish-bare.log" >&2; exit 1; }
dotnet publish "$root/src/Tessera.Server/Tessera.Server.csproj" -c Release -o "$work/server" \
  --artifacts-path "$work/build" -nologo -v quiet "${publish_args[@]}" > "$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; exit 1; }
if [[ -n "$before" ]]; then
  log "publishing src/Tessera.Server as of $before (git archive) into $work/before"
  mkdir -p "$work/before-src"
  git -C "$root" archive "$before" | tar -x -C "$work/before-src"
  dotnet publish "$work/before-src/src/Tessera.Server/Tessera.Server.csproj" -c Release -o "$work/before" \
    --artifacts-path "$work/build-before" -nologo -v quiet > "$work/publish-before.log" 2>&1 \
    || { cat "$work/publish-before.log" >&2; exit 1; }
fi


wait_healthy() { # url pid what
  local attempt
  for attempt in $(seq 1 600); do
    if curl -fsS -o /dev/null --max-time 2 "$1" 2> /dev/null; then return 0; fi
    kill -0 "$2" 2> /dev/null || { echo "pipeline/run.sh: the $3 exited during start-up" >&2; exit 1; }
    (( attempt < 600 )) || { echo "pipeline/run.sh: $1 did not answer within 60 s" >&2; exit 1; }
    sleep 0.1
  done
}

admin_email="bench-admin@example.test"
admin_password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start_server() { # data-directory port [build]; sets server_pid and base
  local data=$1 port=$2 build=${3:-server}
  base="http://127.0.0.1:$port"
  mkdir -p "$data"
  (
    cd "$work"
    exec env "${server_env[@]}" dotnet "$work/$build/Tessera.Server.dll" \
      --urls "$base" \
      --Tessera:DataDirectory="$data" \
      --Tessera:Benchmarks:HelloEndpoint=true \
      --Tessera:Bootstrap:AdminEmail="$admin_email" \
      --Tessera:Bootstrap:AdminPassword="$admin_password" \
      --Tessera:RateLimiting:LoginPerIpPerMinute=100000 \
      --Logging:LogLevel:Default=Warning
  ) >> "$work/$build.log" 2>&1 &
  server_pid=$!
}

sign_in() { # [token-file]: writes the token to $work/token, or the file given
  local login token file=${1:-$work/token}
  login=$(curl -fsS --max-time 30 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\",\"device\":{\"name\":\"wrk\",\"platform\":\"api\"}}" \
    "$base/v1/auth/login")
  token=$(printf '%s' "$login" | sed -n 's/.*"token":"\([A-Za-z0-9_-]*\)".*/\1/p')
  [[ -n "$token" ]] || { echo "pipeline/run.sh: no token in the login answer: $login" >&2; exit 1; }
  (umask 077; printf '%s\n' "$token" > "$file")
}

# --- start both ------------------------------------------------------------------------------------------------
bare_port=$(free_port "$first_port")
bare_base="http://127.0.0.1:$bare_port"
log "starting the bare app on $bare_base"
(cd "$work" && exec dotnet "$work/bare/Tessera.BareApp.dll" --urls "$bare_base" --Logging:LogLevel:Default=Warning) > "$work/bare.log" 2>&1 &
bare_pid=$!
wait_healthy "$bare_base/hello" "$bare_pid" "bare app"

server_port=$(free_port $((bare_port + 1)))
log "starting Tessera on http://127.0.0.1:$server_port ${SERVER_ENV:-}"
start_server "$work/data" "$server_port"
wait_healthy "$base/healthz" "$server_pid" server
sign_in
if [[ -n "$before" ]]; then
  tessera_base=$base tessera_pid=$server_pid
  before_port=$(free_port $((server_port + 1)))
  log "starting Tessera as of $before on http://127.0.0.1:$before_port"
  start_server "$work/data-before" "$before_port" before
  before_pid=$server_pid before_base=$base
  wait_healthy "$before_base/healthz" "$before_pid" "server (before)"
  sign_in "$work/token-before"
  base=$tessera_base server_pid=$tessera_pid
  series="$series hello_before session_before"
fi

# Which series this server has; each answers as it should before anything is measured.
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
declare -A url script token_of
url[bare]="$bare_base/hello" script[bare]=""
if [[ -n "$before" ]]; then
  url[hello_before]="$before_base/hello" script[hello_before]=""
  url[session_before]="$before_base/v1/auth/session" script[session_before]="$root/bench/wrk/session.lua"
  token_of[session_before]="$work/token-before"
fi
url[hello]="$base/hello" script[hello]=""
url[session]="$base/v1/auth/session" script[session]="$root/bench/wrk/session.lua"
url[check]="$base/v1/auth/session/check" script[check]="$root/bench/wrk/session.lua"
bearer="Authorization: Bearer $(cat "$work/token")"
measured=(bare)
for name in $series; do
  [[ $name == bare ]] && continue
  [[ -n "${url[$name]:-}" ]] || { echo "pipeline/run.sh: unknown series '$name'" >&2; exit 2; }
  status=$(status_of -H "Authorization: Bearer $(cat "${token_of[$name]:-$work/token}")" "${url[$name]}")
  if [[ $name == check && $status == 404 ]]; then
    log "this server has no /v1/auth/session/check: the check series is skipped"
    continue
  fi
  [[ $status == 200 || ($name == check && $status == 204) ]] || { echo "pipeline/run.sh: ${url[$name]} answered $status" >&2; exit 1; }
  measured+=("$name")
done
log "GET /v1/auth/session: $(curl -s -o /dev/null -w '%{size_download}' -H "$bearer" "${url[session]}") bytes"

run_wrk() { # name length url [script]
  local name=$1 length=$2 target=$3 lua=${4:-}
  local args=(-t1 -c"$connections" -d"$length" --timeout 2s --latency)
  [[ -n "$lua" ]] && args+=(-s "$lua")
  local series_name=${name#warmup-}
  series_name=${series_name%-*}
  TESSERA_TOKEN_FILE=${token_of[$series_name]:-$work/token} timeout $(( ${length%s} + 30 )) wrk "${args[@]}" "$target" > "$work/$name.txt" 2>&1 \
    || { cat "$work/$name.txt" >&2; echo "pipeline/run.sh: wrk failed ($name)" >&2; exit 1; }
  if grep -qE 'Non-2xx|Socket errors' "$work/$name.txt"; then
    cat "$work/$name.txt" >&2
    echo "pipeline/run.sh: $name had errors or non-2xx answers; the figures would be meaningless" >&2
    exit 1
  fi
}

# --- warm-up: WRK_WARMUP on the bare app, the same split over Tessera's series -----------------------------------
tessera_series=$(( ${#measured[@]} - 1 ))
share=$(( ${warmup%s} / (tessera_series > 0 ? tessera_series : 1) ))
(( share >= 1 )) || share=1
log "warming up: $warmup on the bare app, ${share}s on each of Tessera's ${tessera_series} series"
for name in "${measured[@]}"; do
  [[ $name == bare ]] && length=$warmup || length="${share}s"
  run_wrk "warmup-$name" "$length" "${url[$name]}" "${script[$name]}"
done

# --- interleaved rounds ------------------------------------------------------------------------------------------
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "wrk -t1 -c$connections -d$duration --timeout 2s --latency, $rounds round(s), loopback, $(nproc) CPU(s) shared by wrk and both servers"
echo "load average before the rounds: $load_before"
for round in $(seq 1 "$rounds"); do
  # Rotate the order each round, so that drift in the machine's load does not favour one series.
  order=("${measured[@]:round % ${#measured[@]}}" "${measured[@]:0:round % ${#measured[@]}}")
  for name in "${order[@]}"; do
    run_wrk "$name-$round" "$duration" "${url[$name]}" "${script[$name]}"
    printf 'round %d %-8s %10s req/s  p50 %s  p99 %s\n' "$round" "$name" "$(rps_of "$name-$round")" \
      "$(awk '$1 == "50%" { print $2 }' "$work/$name-$round.txt")" "$(awk '$1 == "99%" { print $2 }' "$work/$name-$round.txt")"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

metrics=$(curl -fsS --max-time 5 "$base/metrics" | grep -E '^tessera_session_(cache_(hits|misses)_total|checks_total)' || true)

echo
echo "=== summary (ratios of the means; load average before $load_before, after $load_after) ==="
declare -A ratios
for name in "${measured[@]}"; do
  [[ $name == bare ]] && continue
  ratio_table bare "$name" "bare rps" "$name rps"
  ratios[$name]=$ratio
  echo
done
steady_session=$(awk -v n="$rounds" '{ s += $1 } END { printf "%.0f", s / n }' \
  <(for round in $(seq 1 "$rounds"); do rps_of "session-$round" 2> /dev/null || true; done))
echo "server counters after the rounds:"
printf '%s\n' "$metrics" | sed 's/^/  /'
verdict() { # series minimum
  [[ -n "${ratios[$1]:-}" ]] || return 0
  if awk -v r="${ratios[$1]}" -v m="$2" 'BEGIN { exit !(r >= m) }'; then
    echo "target ($1 >= $2 x bare): met (${ratios[$1]})"
  else
    echo "target ($1 >= $2 x bare): MISSED (${ratios[$1]})"
  fi
}
verdict session 0.75
verdict check 0.85
[[ -n "${ratios[hello]:-}" ]] && echo "Tessera /hello (the pipeline alone): ${ratios[hello]} x bare"
if [[ -n "$before" ]]; then
  for name in hello session; do
    echo
    echo "$name: this tree against $before, same rounds"
    ratio_table "${name}_before" "$name" "before rps" "after rps"
  done
fi

# --- start-up curves ---------------------------------------------------------------------------------------------
# One fresh process per variant (same data directory: the cache starts cold, the schema is there), signed in as soon
# as /healthz answers, then /v1/auth/session in 1 s slices. A variant is "name" or "name:VAR=value,VAR=value" (runtime
# knobs in its environment, on top of SERVER_ENV); "r2r" variants run the build published with ReadyToRun
# (-r linux-x64 -p:PublishReadyToRun=true), made only when START_VARIANTS names one.
start_curve() { # label build env...
  local label=$1 build=$2 second rps total=0 started ready_ms signed_in_ms first fraction
  shift 2
  stop_process "$server_pid"
  server_pid=""
  started=$(date +%s%N)
  server_env=("${base_env[@]}" "$@")
  start_server "$work/data" "$server_port" "$build"
  wait_healthy "$base/healthz" "$server_pid" server
  ready_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  sign_in
  signed_in_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  local slices=""
  for second in $(seq 1 "$start_seconds"); do
    run_wrk "start-$label-$second" 1s "${url[session]}" "${script[session]}"
    rps=$(rps_of "start-$label-$second")
    total=$(awk -v a="$total" -v x="$rps" 'BEGIN { print a + x }')
    slices+=" $(awk -v r="$rps" -v s="$steady_session" 'BEGIN { printf "%.2f", r / s }')"
  done
  first=$(awk -v t="$total" -v n="$start_seconds" 'BEGIN { printf "%.0f", t / n }')
  fraction=$(awk -v f="$first" -v s="$steady_session" 'BEGIN { printf "%.2f", f / s }')
  printf '%-34s ready %5d ms  signed in %5d ms  first %ds: %6s req/s = %s of steady  %s  per second:%s\n' \
    "$label" "$ready_ms" "$signed_in_ms" "$start_seconds" "$first" "$fraction" \
    "$(awk -v f="$fraction" 'BEGIN { print (f >= 0.8 ? "met" : "MISSED") }')" "$slices"
}

if [[ $start_curve == 1 && -n "${ratios[session]:-}" ]]; then
  variants=${START_VARIANTS:-"default"}
  base_env=("${server_env[@]}")
  if [[ $variants == *r2r* ]]; then
    log "publishing src/Tessera.Server with ReadyToRun into $work/server-r2r"
    dotnet publish "$root/src/Tessera.Server/Tessera.Server.csproj" -c Release -o "$work/server-r2r" -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true --artifacts-path "$work/build-r2r" -nologo -v quiet "${publish_args[@]}" > "$work/publish-r2r.log" 2>&1 \
      || { cat "$work/publish-r2r.log" >&2; exit 1; }
  fi
  echo
  echo "=== start-up: a fresh process per variant, /v1/auth/session in 1 s slices against the steady $steady_session req/s (target: the first ${start_seconds} s >= 0.80) ==="
  for variant in $variants; do
    name=${variant%%:*}
    knobs=()
    [[ $variant == *:* ]] && IFS=, read -r -a knobs <<< "${variant#*:}"
    build=server
    [[ $name == r2r* ]] && build=server-r2r
    start_curve "$variant" "$build" "${knobs[@]}"
  done
fi
