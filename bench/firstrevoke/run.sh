#!/usr/bin/env bash
# Issue 15: the first revoke-all of a process against the later ones. Revoke-all of a user with 1,000 sessions takes
# 10-15 ms on a warm node, but the first call of a process runs its path cold (JIT, Dapper's readers, the first
# serialization). For each variant this starts a fresh server on a copy of one seeded SQLite store (bench/Tessera.ScaleSeed:
# USERS x 5 sessions, and big users of 1,000 sessions each), checks one big user's session, revokes all of its sessions
# (POST /v1/sessions/revoke-all), five users in turn, and prints each call's time with the server's own split of it
# (the write transaction to its commit, and the publish to this node's handlers, from /metrics).
#
#   bench/firstrevoke/run.sh                                   # default, ReadyToRun, default, ReadyToRun
#   VARIANTS="default pgo-off:DOTNET_TieredPGO=0" bench/firstrevoke/run.sh
#
# Knobs: VARIANTS ("default r2r default r2r"; a variant is default, r2r (published with -r linux-x64
# -p:PublishReadyToRun=true), or NAME:VAR=VALUE... with runtime settings, NAME starting with r2r for the ReadyToRun
# build), CALLS (5 per process), USERS (2000), PORT (5401, first port tried).
# Publishes into a temporary directory (the source tree's bin/obj are not touched) and removes it on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
variants=${VARIANTS:-default r2r default r2r}
calls=${CALLS:-5}
users=${USERS:-2000}
first_port=${PORT:-5401}

BENCH_NAME=firstrevoke
# shellcheck source=../common.sh
source "$root/bench/common.sh"
for value in "$calls" "$users" "$first_port"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "firstrevoke: '$value' is not a whole number" >&2; exit 2; }
done
(( calls >= 1 && calls <= 20 )) || { echo "firstrevoke: CALLS is 1..20" >&2; exit 2; }
read -r -a variant_list <<< "$variants"
big_users=$(( ${#variant_list[@]} * calls ))
command -v curl > /dev/null || { echo "firstrevoke: curl is needed" >&2; exit 1; }

one_server_workspace firstrevoke

log "publishing src/Tessera.Server (as is and ReadyToRun) and bench/Tessera.ScaleSeed into $work"
publish src/Tessera.Server/Tessera.Server.csproj server
[[ " ${variant_list[*]} " == *" r2r"* ]] && publish src/Tessera.Server/Tessera.Server.csproj server-r2r -r linux-x64 --self-contained false -p:PublishReadyToRun=true
publish bench/Tessera.ScaleSeed/Tessera.ScaleSeed.csproj seed

log "seeding $users users x 5 sessions and $big_users users x 1,000 sessions"
mkdir -p "$work/seeded" "$work/tokens"
dotnet "$work/seed/Tessera.ScaleSeed.dll" --data "$work/seeded" --out "$work/tokens" --users "$users" --sessions 5 \
  --big-users "$big_users" --big-sessions 1000 > /dev/null

echo "## First revoke-all of a process: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores"
echo
echo "| variant | call 1 (store, publish) | calls 2..$calls (ms) | load |"
echo "|---|---|---|---|"
seconds_sum() { curl -fsS --max-time 5 "$base/metrics" | awk -v m="$1" '$1 ~ "^"m"_seconds_sum" { printf "%.1f", $2 * 1000 }'; }
user=0
for variant in "${variant_list[@]}"; do
  name=${variant%%:*} build=server settings=()
  [[ $name == r2r* ]] && build=server-r2r
  [[ $variant == *:* ]] && read -r -a settings <<< "${variant#*:}"
  rm -rf "$work/data" && cp -r "$work/seeded" "$work/data"
  port=$(free_port "$first_port")
  base="http://127.0.0.1:$port"
  (cd "$work" && exec env "${settings[@]}" dotnet "$work/$build/Tessera.Server.dll" --urls "$base" \
    --Tessera:DataDirectory="$work/data" --Logging:LogLevel:Default=Warning) > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2> /dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null --max-time 2 "$base/readyz" || { echo "firstrevoke: the server did not start" >&2; exit 1; }
  sleep 2 # past start-up's own work
  first="" later=()
  for call in $(seq 1 "$calls"); do
    user=$((user + 1))
    token=$(sed -n "${user}p" "$work/tokens/big-tokens.txt")
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/v1/auth/session"
    result=$(curl -sS -o /dev/null -X POST -H "Authorization: Bearer $token" -w '%{http_code} %{time_total}' "$base/v1/sessions/revoke-all")
    [[ ${result% *} == 200 ]] || { echo "firstrevoke: revoke-all answered ${result% *}" >&2; exit 1; }
    ms=$(awk -v s="${result#* }" 'BEGIN { printf "%.1f", s * 1000 }')
    if (( call == 1 )); then
      first="$ms ($(seconds_sum tessera_access_change_store), $(seconds_sum tessera_access_change_publish))"
    else
      later+=("$ms")
    fi
  done
  echo "| $variant | $first | ${later[*]} | $(cut -d' ' -f1 /proc/loadavg) |"
  stop_process "$server_pid"
  server_pid=""
done
