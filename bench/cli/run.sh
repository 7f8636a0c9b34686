#!/usr/bin/env bash
# Issue 14's figures: a bulk deactivation of USERS users (10,000), each with two sessions, through the `tessera` CLI
# against one node on the SQLite default, on loopback only:
#   1. end to end: `tessera users deactivate --from-file ids.txt --yes --json`, process start to exit; target < 60 s;
#   2. the server's own part: the time the CLI spent waiting on POST /v1/admin/users/bulk (its --json `seconds`);
#      target < 10 s;
#   3. then every one of the 2 x USERS session tokens is checked (GET /v1/auth/session): all must be refused (401);
#   4. revoke-all of one user with SESSIONS (1,000) sessions, answer to answer, by both routes (the admin's
#      DELETE /v1/admin/users/{id}/sessions and the user's POST /v1/sessions/revoke-all), ROUNDS (3) times each;
#      issue 15's target < 50 ms.
# See docs/performance.md ("Command line bulk (issue 14)").
#
#   bench/cli/run.sh
#   USERS=2000 bench/cli/run.sh
#
# Knobs: USERS (10000), PORT (5481), SETUP_THREADS (8: concurrent registrations and sign-ins while preparing),
# SESSIONS (1000), ROUNDS (3).
# Builds the server and the CLI in Release into a temporary directory, starts the server with a temporary data
# directory and a bootstrap admin (and fewer PBKDF2 rounds, so that preparing 30,000 sign-ins is quick: deactivation
# hashes nothing), and removes all of it on exit. Needs python3 for the preparation and the final check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
BENCH_NAME=cli
source "$root/bench/common.sh"

users=${USERS:-10000}
port=${PORT:-5481}
threads=${SETUP_THREADS:-8}
sessions=${SESSIONS:-1000}
rounds=${ROUNDS:-3}
check_knobs 1s 1s "$rounds" "$users" "$port" "$threads" "$sessions"
port_in_use "$port" && { echo "cli: port $port is in use" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "building the server and the CLI (Release)"
dotnet build "$root/src/Tessera.Server" -c Release -v quiet -o "$work/server" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
dotnet build "$root/src/Tessera.Cli" -c Release -v quiet -o "$work/cli" > "$work/build-cli.log" 2>&1 || { cat "$work/build-cli.log"; exit 1; }

url="http://127.0.0.1:$port"
admin=admin@bench.test password=bench-admin-password-1
(cd "$work" && exec dotnet "$work/server/Tessera.Server.dll" --urls "$url" \
  --Tessera:DataDirectory="$work/data" --Tessera:Bootstrap:AdminEmail=$admin --Tessera:Bootstrap:AdminPassword=$password \
  --Tessera:Passwords:HashIterations=1000 \
  --Tessera:RateLimiting:LoginPerIpPerMinute=10000000 --Tessera:RateLimiting:RegistrationsPerIpPerHour=10000000 \
  --Logging:LogLevel:Default=Warning > "$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 300); do curl -sf "$url/healthz" > /dev/null 2>&1 && break; sleep 0.1; done

log "preparing $users users with two sessions each ($threads at a time)"
python3 "$here/prepare.py" prepare "$url" "$users" "$threads" "$work/ids.txt" "$work/tokens.txt"

export TESSERA_CONFIG="$work/config.json"
echo "$password" | dotnet "$work/cli/tessera.dll" login --url "$url" --email "$admin" --password-stdin > /dev/null

log "deactivating $users users through the CLI"
start=$(date +%s.%N)
set +e
dotnet "$work/cli/tessera.dll" users deactivate --from-file "$work/ids.txt" --yes --json > "$work/result.json"
code=$?
set -e
end=$(date +%s.%N)

python3 - "$work/result.json" "$start" "$end" "$code" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
total = float(sys.argv[3]) - float(sys.argv[2])
print(f"exit code:            {sys.argv[4]}")
print(f"users done:           {result['counts']['done']}")
print(f"sessions ended:       {result['revokedSessions']}")
print(f"end to end:           {total:.1f} s (target < 60 s)")
print(f"checking (reads):     {result['seconds']['checking']:.1f} s")
print(f"bulk endpoint:        {result['seconds']['bulkRequests']:.1f} s (target < 10 s)")
PY

log "checking that all $((users * 2)) sessions are refused"
python3 "$here/prepare.py" check "$url" "$threads" "$work/tokens.txt"

log "revoke-all of one user with $sessions sessions ($rounds rounds per route)"
python3 "$here/prepare.py" revoke-all "$url" "$sessions" "$threads" "$rounds" "$admin" "$password"
