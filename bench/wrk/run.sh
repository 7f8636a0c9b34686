#!/usr/bin/env bash
# Requests per second of GET /v1/auth/session (a Bearer session check answered from the node cache, plus the
# JSON "who am I" answer) and of POST /oauth2/introspect (a service client asking about the same token, RFC 7662)
# against a bare GET /hello served by the same Tessera.Server process, with wrk, on loopback only, interleaved.
# Targets: session >= 0.5 x hello (DESIGN.md promise 4), introspect >= 0.5 x hello (issue 10). See docs/performance.md.
#
#   bench/wrk/run.sh                 # 2 rounds of 15 s per endpoint, wrk -t2 -c32
#   ROUNDS=3 WRK_DURATION=20s bench/wrk/run.sh
#
# Installs wrk with apt-get when it is missing (needs root). Publishes the server in Release into a temporary
# directory (build output included, so the source tree's bin/obj are not touched), starts it on a free loopback
# port with a temporary data directory, signs in the bootstrap admin, and removes everything on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-32}
duration=${WRK_DURATION:-15s}
warmup=${WRK_WARMUP:-5s}
rounds=${ROUNDS:-2}
first_port=${PORT:-5181}

BENCH_NAME=run.sh
# shellcheck source=../common.sh
source "$root/bench/common.sh"
check_knobs "$duration" "$warmup" "$rounds" "$threads" "$connections" "$first_port"

# --- wrk -------------------------------------------------------------------------------------------------------
ensure_wrk

# --- workspace and clean-up ------------------------------------------------------------------------------------
one_server_workspace wrk

# --- build -----------------------------------------------------------------------------------------------------
log "publishing src/Tessera.Server (Release) into $work/server"
dotnet publish "$root/src/Tessera.Server/Tessera.Server.csproj" -c Release -o "$work/server" \
  --artifacts-path "$work/build" -nologo -v quiet > "$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; exit 1; }

# --- start the server on a free loopback port -------------------------------------------------------------------
port=$(free_port "$first_port")
base="http://127.0.0.1:$port"

admin_email="bench-admin@example.test"
admin_password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$work/data"
log "starting the server on $base"
(
  cd "$work"
  exec dotnet "$work/server/Tessera.Server.dll" \
    --urls "$base" \
    --Tessera:DataDirectory="$work/data" \
    --Tessera:Benchmarks:HelloEndpoint=true \
    --Tessera:Bootstrap:AdminEmail="$admin_email" \
    --Tessera:Bootstrap:AdminPassword="$admin_password" \
    --Tessera:RateLimiting:LoginPerIpPerMinute=100000 \
    --Tessera:RateLimiting:RegistrationsPerIpPerHour=100000 \
    --Logging:LogLevel:Default=Warning
) > "$work/server.log" 2>&1 &
server_pid=$!

for attempt in $(seq 1 120); do
  if curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2> /dev/null; then break; fi
  kill -0 "$server_pid" 2> /dev/null || { echo "run.sh: the server exited during start-up" >&2; exit 1; }
  (( attempt < 120 )) || { echo "run.sh: /healthz did not answer within 60 s" >&2; exit 1; }
  sleep 0.5
done

# --- sign in ---------------------------------------------------------------------------------------------------
login=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\",\"device\":{\"name\":\"wrk\",\"platform\":\"api\"}}" \
  "$base/v1/auth/login")
token=$(printf '%s' "$login" | sed -n 's/.*"token":"\([A-Za-z0-9_-]*\)".*/\1/p')
[[ -n "$token" ]] || { echo "run.sh: no token in the login answer: $login" >&2; exit 1; }
token_file="$work/token"
(umask 077; printf '%s\n' "$token" > "$token_file")
export TESSERA_TOKEN_FILE="$token_file"

# A service client that may introspect, created through the admin API; its credentials as an HTTP Basic value.
client=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d '{"name":"wrk","scopes":["introspect"]}' "$base/v1/admin/clients")
client_id=$(printf '%s' "$client" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
client_secret=$(printf '%s' "$client" | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
[[ -n "$client_id" && -n "$client_secret" ]] || { echo "run.sh: no client id or secret in the answer: $client" >&2; exit 1; }
basic_file="$work/client-basic"
(umask 077; printf 'Basic %s\n' "$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)" > "$basic_file")
export TESSERA_CLIENT_BASIC_FILE="$basic_file"

status_hello=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/hello")
status_session=$(curl -s -o "$work/session.json" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" "$base/v1/auth/session")
[[ "$status_hello" == 200 ]] || { echo "run.sh: GET /hello answered $status_hello (is Tessera:Benchmarks:HelloEndpoint honoured?)" >&2; exit 1; }
[[ "$status_session" == 200 ]] || { echo "run.sh: GET /v1/auth/session answered $status_session" >&2; exit 1; }
introspection=$(curl -fsS --max-time 5 -H "Authorization: $(cat "$basic_file")" --data-urlencode "token=$token" "$base/oauth2/introspect")
[[ "$introspection" == *'"active":true'* ]] || { echo "run.sh: POST /oauth2/introspect answered $introspection" >&2; exit 1; }
log "GET /hello body: $(curl -s --max-time 5 "$base/hello") ($(curl -s -o /dev/null -w '%{size_download}' "$base/hello") bytes)"
log "GET /v1/auth/session body: $(wc -c < "$work/session.json") bytes"

# --- measure ---------------------------------------------------------------------------------------------------
run_wrk() { # name seconds-string path [script]
  local name=$1 length=$2 path=$3 script=${4:-}
  local args=(-t"$threads" -c"$connections" -d"$length" --timeout 2s --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  timeout $(( ${length%s} + 30 )) wrk "${args[@]}" "$base$path" > "$work/$name.txt" 2>&1 \
    || { cat "$work/$name.txt" >&2; echo "run.sh: wrk failed ($name)" >&2; exit 1; }
  if grep -qE 'Non-2xx|Socket errors' "$work/$name.txt"; then
    cat "$work/$name.txt" >&2
    echo "run.sh: $name had errors or non-2xx answers; the figures would be meaningless" >&2
    exit 1
  fi
}

log "warming up ($warmup each)"
run_wrk warmup-hello "$warmup" /hello
run_wrk warmup-session "$warmup" /v1/auth/session "$here/session.lua"
run_wrk warmup-introspect "$warmup" /oauth2/introspect "$here/introspect.lua"

echo "wrk -t$threads -c$connections -d$duration --timeout 2s --latency, $rounds round(s), $base, $(nproc) CPU(s) shared by wrk and the server"
for round in $(seq 1 "$rounds"); do
  # Rotate which endpoint goes first, so that drift in the machine's load does not favour one of them.
  case $(( round % 3 )) in
    1) order=(hello session introspect) ;;
    2) order=(session introspect hello) ;;
    0) order=(introspect hello session) ;;
  esac
  for name in "${order[@]}"; do
    case $name in
      hello) path=/hello script="" ;;
      session) path=/v1/auth/session script="$here/session.lua" ;;
      introspect) path=/oauth2/introspect script="$here/introspect.lua" ;;
    esac
    run_wrk "$name-$round" "$duration" "$path" "$script"
    echo
    echo "=== round $round: $([[ $name == introspect ]] && echo POST || echo GET) $path ==="
    cat "$work/$name-$round.txt"
  done
done

metrics=$(curl -fsS --max-time 5 "$base/metrics" | grep -E '^tessera_session_(cache_(hits|misses)_total|checks_total)' || true)

# --- summary ---------------------------------------------------------------------------------------------------
echo
echo "=== summary ==="
ratio_table hello session "hello rps" "session rps"
session_ratio=$ratio
echo
ratio_table hello introspect "hello rps" "introspect rps"
introspect_ratio=$ratio
echo "server counters after the runs:"
printf '%s\n' "$metrics" | sed 's/^/  /'
verdict() { # label ratio minimum
  if awk -v r="$2" -v m="$3" 'BEGIN { exit !(r >= m) }'; then echo "target ($1 >= $3 x hello): met (ratio $2)"; else echo "target ($1 >= $3 x hello): MISSED (ratio $2)"; fi
}
verdict session "$session_ratio" 0.5
verdict introspect "$introspect_ratio" 0.5
