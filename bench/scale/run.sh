#!/usr/bin/env bash
# Scale (issue 15): one node, SQLite, USERS x SESSIONS_PER_USER live sessions (200,000 x 5 = 1,000,000 by default).
# Seeds the store with bench/Tessera.ScaleSeed (the store's own code and migrations, the records a sign-in makes),
# then starts the published server on it and measures: start-up with a cold cache, the first minute's store load
# (wrk cycling through every token: each request a miss until the cache holds them all), the cache fill to the end,
# RSS and GC heap before and after, throughput with everything cached against the one-session case (interleaved
# rounds, the same wrk script on both sides), revoke-all of users with BIG_SESSIONS sessions, a bulk deactivation of
# BULK_USERS users (POST /v1/admin/users/bulk as the CLI sends it, timed from outside, then a sample of their tokens
# refused and of others' still holding: bulk.py), and the SQLite file size. POSTGRES=1 also seeds a PostgreSQL database
# (eng/postgres.sh) with the same rows and states its size and its biggest relations. See docs/performance.md,
# "Scale (issue 15)".
#
#   bench/scale/run.sh                          # about 10-15 minutes on a busy 2-core machine
#   USERS=20000 FILL_MAX=120 bench/scale/run.sh # 100,000 sessions, a quick look
#   POSTGRES=1 BULK_USERS=0 bench/scale/run.sh  # also the PostgreSQL database's size, without the bulk step
#
# knobs: USERS (200000), SESSIONS_PER_USER (5), BIG_USERS (3), BIG_SESSIONS (1000), FILL_MAX (seconds of wrk to fill
#        the cache, 600), WRK_THREADS (1), WRK_CONNECTIONS (32), WRK_DURATION (10s), WRK_WARMUP (5s), ROUNDS (2),
#        PORT (5201), POSTGRES (0), BULK_USERS (10000 users deactivated in bulk; 0 skips the step; at most half of
#        USERS), BULK_BATCH (100 users a request, the CLI's), BULK_SAMPLE (200 tokens checked on each side),
#        SERVER_ARGS (more server settings, e.g. "--Tessera:Sessions:ActivityFlushInterval=00:10:00" to see what the
#        write-behind of last-active costs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

users=${USERS:-200000}
per_user=${SESSIONS_PER_USER:-5}
big_users=${BIG_USERS:-3}
big_sessions=${BIG_SESSIONS:-1000}
fill_max=${FILL_MAX:-600}
threads=${WRK_THREADS:-1}
connections=${WRK_CONNECTIONS:-32}
duration=${WRK_DURATION:-10s}
warmup=${WRK_WARMUP:-5s}
rounds=${ROUNDS:-2}
first_port=${PORT:-5201}
postgres=${POSTGRES:-0}
bulk_users=${BULK_USERS:-10000}
bulk_batch=${BULK_BATCH:-100}
bulk_sample=${BULK_SAMPLE:-200}

BENCH_NAME=scale
# shellcheck source=../common.sh
source "$root/bench/common.sh"
check_knobs "$duration" "$warmup" "$rounds" "$threads" "$connections" "$first_port" "$users" "$per_user" "$big_users" \
  "$big_sessions" "$fill_max" "$postgres" "$bulk_users" "$bulk_batch" "$bulk_sample"
sessions=$((users * per_user))
if (( bulk_users > 0 )); then
  (( bulk_users * 2 <= users )) || { echo "scale: BULK_USERS is at most half of USERS ($users)" >&2; exit 2; }
  (( bulk_batch >= 1 && bulk_batch <= 1000 )) || { echo "scale: BULK_BATCH is 1..1000 (the endpoint's limit)" >&2; exit 2; }
  (( bulk_sample >= 1 )) || { echo "scale: BULK_SAMPLE is at least 1" >&2; exit 2; }
  command -v python3 > /dev/null || { echo "scale: the bulk step needs python3 (or BULK_USERS=0)" >&2; exit 1; }
fi
ensure_wrk

# --- workspace and clean-up ------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-scale.XXXXXX")
server_pid=""
pg_dir=""
cleanup() {
  local status=$?
  stop_process "$server_pid"
  [[ -n "$pg_dir" ]] && "$root/eng/postgres.sh" stop "$pg_dir" > /dev/null 2>&1 || true
  [[ $status -ne 0 ]] && show_log_tail "$work/server.log" server
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load() { awk '{ print $1 }' /proc/loadavg; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }

# --- build -----------------------------------------------------------------------------------------------------
log "publishing src/Tessera.Server and bench/Tessera.ScaleSeed (Release) into $work"
for project in src/Tessera.Server/Tessera.Server.csproj bench/Tessera.ScaleSeed/Tessera.ScaleSeed.csproj; do
  name=$(basename "$project" .csproj)
  dotnet publish "$root/$project" -c Release -o "$work/$name" --artifacts-path "$work/build" -nologo -v quiet \
    > "$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; exit 1; }
done

echo "## Scale run: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores"
echo "load at start: $(uptime | sed 's/.*load average/load average/')"
echo

# --- seed ------------------------------------------------------------------------------------------------------
mkdir -p "$work/data" "$work/tokens"
log "seeding $users users x $per_user sessions and $big_users users x $big_sessions sessions into SQLite"
seed_started=$(date +%s.%N)
dotnet "$work/Tessera.ScaleSeed/Tessera.ScaleSeed.dll" --data "$work/data" --out "$work/tokens" --users "$users" \
  --sessions "$per_user" --big-users "$big_users" --big-sessions "$big_sessions" | tee "$work/seed.txt"
db_bytes=$(du -cb "$work/data"/*.db* | awk 'END { print $1 }')
echo "SQLite files after seeding: $(mb "$db_bytes") MB ($(awk -v b="$db_bytes" -v n="$((sessions + big_users * big_sessions))" 'BEGIN { printf "%.0f", b / n }') bytes per session, users included); load $(load)"

if [[ "$postgres" == 1 ]]; then
  log "starting PostgreSQL and seeding the same rows"
  eval "$("$root/eng/postgres.sh" start)"
  pg_dir=$TESSERA_TEST_POSTGRES_DIR
  pg_port=$(sed -E 's/.*Port=([0-9]+).*/\1/' <<< "$TESSERA_TEST_POSTGRES")
  pg() { PGPASSWORD=tessera psql -h 127.0.0.1 -p "$pg_port" -U tessera -d tessera -v ON_ERROR_STOP=1 -X "$@"; }
  echo "PostgreSQL $(pg -Atc 'SHOW server_version')"
  dotnet "$work/Tessera.ScaleSeed/Tessera.ScaleSeed.dll" --postgres "$TESSERA_TEST_POSTGRES" --out "$work/pg-tokens" \
    --users "$users" --sessions "$per_user" --big-users "$big_users" --big-sessions "$big_sessions"
  # The whole database as its owner (the shared catalogs are the superuser's to vacuum, and say so: not shown).
  pg -q -c "SET client_min_messages = error" -c "VACUUM ANALYZE"
  pg_bytes=$(pg -Atc "SELECT pg_database_size(current_database())")
  echo "PostgreSQL database after seeding: $(mb "$pg_bytes") MB (pg_database_size, after VACUUM ANALYZE; $(awk -v b="$pg_bytes" -v n="$((sessions + big_users * big_sessions))" 'BEGIN { printf "%.0f", b / n }') bytes per session, users included); load $(load)"
  echo "biggest relations (MB), exact row counts:"
  pg -Atc "SELECT '| ' || c.relname || ' | ' || round(pg_table_size(c.oid) / 1e6, 1) || ' | ' || round(pg_indexes_size(c.oid) / 1e6, 1)
             || ' | ' || round(pg_total_relation_size(c.oid) / 1e6, 1) || ' | '
             || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text || ' |'
           FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'r'
           ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 5" \
    | { echo "| table | heap (with TOAST) | indexes | total | rows |"; echo "|---|---|---|---|---|"; cat; }
  echo "their indexes (MB):"
  pg -Atc "SELECT '| ' || relname || ' | ' || indexrelname || ' | ' || round(pg_relation_size(indexrelid) / 1e6, 1) || ' |'
           FROM pg_stat_user_indexes WHERE relname IN ('sessions', 'users')
           ORDER BY pg_relation_size(indexrelid) DESC" \
    | { echo "| table | index | size |"; echo "|---|---|---|"; cat; }
  "$root/eng/postgres.sh" stop "$pg_dir" > /dev/null 2>&1 || true
  pg_dir=""
fi
echo

# --- start the server on the seeded store, cold cache ----------------------------------------------------------------
port=$(free_port "$first_port")
base="http://127.0.0.1:$port"
log "starting the server on $base"
started=$(date +%s.%N)
(
  cd "$work"
  exec dotnet "$work/Tessera.Server/Tessera.Server.dll" \
    --urls "$base" \
    --Tessera:DataDirectory="$work/data" \
    --Tessera:Sessions:CacheCapacity="$((sessions + big_users * big_sessions))" \
    --Logging:LogLevel:Default=Warning \
    ${SERVER_ARGS:-}
) > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 1200); do
  if curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2> /dev/null; then break; fi
  kill -0 "$server_pid" 2> /dev/null || { echo "scale: the server exited during start-up" >&2; exit 1; }
  sleep 0.1
done
ready=$(date +%s.%N)

metric() { curl -fsS --max-time 10 "$base/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $2 } END { printf "%.0f", s }'; }
metric_exact() { curl -fsS --max-time 10 "$base/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $2 } END { printf "%.6f", s }'; }
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$server_pid/status"; }
memory_line() {
  echo "$1: RSS $(mb "$(rss)") MB, GC heap after the last collection $(mb "$(metric dotnet_gc_last_collection_heap_size_bytes)") MB, cache entries $(metric tessera_session_cache_entries), load $(load)"
}
echo "start-up to /readyz with $sessions sessions in the store, cold cache: $(awk -v a="$started" -v b="$ready" 'BEGIN { printf "%.2f", b - a }') s"
memory_line "after start-up"
rss_before=$(rss)
heap_before=$(metric dotnet_gc_last_collection_heap_size_bytes)
echo

tokens="$work/tokens/tokens.txt"
wrk_tokens() { # name duration start limit
  TESSERA_TOKENS_FILE="$tokens" TESSERA_TOKENS_START="$3" TESSERA_TOKENS_LIMIT="$4" TESSERA_TOKENS_THREADS="$threads" \
    wrk -t"$threads" -c"$connections" -d"$2" -s "$here/tokens.lua" "$base/v1/auth/session" > "$work/$1.txt"
  if grep -q "Non-2xx" "$work/$1.txt"; then
    echo "scale: $1 got answers other than 200:" >&2; cat "$work/$1.txt" >&2; exit 1
  fi
}
requests_of() { awk '/requests in/ { print $1 }' "$work/$1.txt"; }

# --- fill: the first minute, then on until every session is cached ------------------------------------------------
log "filling the cache: wrk through every token, first minute"
wrk_tokens fill-1 60s 0 0
offset=$(requests_of fill-1)
misses=$(metric tessera_session_cache_misses_total)
echo "first minute (cold cache, every request a new token): $(rps_of fill-1) req/s, $misses store reads, cache entries $(metric tessera_session_cache_entries); load $(load)"
memory_line "after the first minute"
fill_seconds=60
chunk=1
while (( $(metric tessera_session_cache_entries) < sessions && fill_seconds < fill_max )); do
  chunk=$((chunk + 1))
  wrk_tokens "fill-$chunk" 30s "$((offset % sessions))" 0
  offset=$((offset + $(requests_of "fill-$chunk")))
  fill_seconds=$((fill_seconds + 30))
  log "after ${fill_seconds}s of filling: $(metric tessera_session_cache_entries) cached, $(rps_of "fill-$chunk") req/s"
done
entries=$(metric tessera_session_cache_entries)
echo "filled to $entries cached sessions in ${fill_seconds} s of wrk ($offset requests)"
memory_line "after filling"
rss_after=$(rss)
heap_after=$(metric dotnet_gc_last_collection_heap_size_bytes)
added=$((entries > 0 ? entries : 1))
echo "per cached session: RSS +$(awk -v a="$rss_after" -v b="$rss_before" -v n="$added" 'BEGIN { printf "%.0f", (a - b) / n }') bytes, GC heap +$(awk -v a="$heap_after" -v b="$heap_before" -v n="$added" 'BEGIN { printf "%.0f", (a - b) / n }') bytes (heap after the last collection, not a forced one: see 'memory' in bench/Tessera.Benchmarks for the settled figure)"
echo

# --- throughput: everything cached against one session ------------------------------------------------------------
log "throughput: one session against all $entries, $rounds interleaved rounds of $duration after $warmup of warm-up"
wrk_tokens warm-one "$warmup" 0 1
wrk_tokens warm-all "$warmup" "$((offset % sessions))" 0
for round in $(seq 1 "$rounds"); do
  wrk_tokens "one-$round" "$duration" 0 1
  wrk_tokens "all-$round" "$duration" "$(( (offset + round * 100000) % sessions ))" 0
done
echo "GET /v1/auth/session, wrk -t$threads -c$connections, tokens.lua on both sides; load $(load)"
ratio_table one all "1 session req/s" "$entries req/s"
echo "all cached / one session: $ratio (target >= 0.9)"
hits_ratio=$(curl -fsS "$base/metrics" | awk '$1 ~ /^tessera_session_cache_hit_ratio/ { print $2 }')
echo "cache hit ratio since start: $hits_ratio; cache entries $(metric tessera_session_cache_entries)"
memory_line "after the throughput rounds"
echo

# --- revoke-all of a user with BIG_SESSIONS sessions --------------------------------------------------------------
log "revoke-all of $big_users users with $big_sessions sessions each"
echo "| user | sessions revoked | POST /v1/sessions/revoke-all (ms) | load |"
echo "|---|---|---|---|"
n=0
while read -r token; do
  n=$((n + 1))
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/v1/auth/session"
  result=$(curl -sS -X POST -H "Authorization: Bearer $token" -w ' %{http_code} %{time_total}' "$base/v1/sessions/revoke-all")
  read -r body code seconds <<< "$result"
  [[ "$code" == 200 ]] || { echo "scale: revoke-all answered $code: $body" >&2; exit 1; }
  echo "| big $n | $(sed -E 's/.*"revoked":([0-9]+).*/\1/' <<< "$body") | $(awk -v s="$seconds" 'BEGIN { printf "%.1f", s * 1000 }') | $(load) |"
  after=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/v1/auth/session")
  [[ "$after" == 401 ]] || { echo "scale: the revoked token answered $after" >&2; exit 1; }
done < "$work/tokens/big-tokens.txt"
echo

# --- bulk deactivation of BULK_USERS users, as the CLI sends it ------------------------------------------------------
if (( bulk_users > 0 )); then
  log "bulk deactivation of $bulk_users users ($((bulk_users * per_user)) sessions), $bulk_batch a request"
  # The seed's admin (no session until now); the token goes to bulk.py in a mode-600 file, not on a command line.
  login=$(curl -fsS --max-time 30 -H 'Content-Type: application/json' \
    -d '{"email":"admin@scale.example","password":"scale benchmark password"}' "$base/v1/auth/login")
  admin_token=$(printf '%s' "$login" | sed -n 's/.*"token":"\([A-Za-z0-9_-]*\)".*/\1/p')
  [[ -n "$admin_token" ]] || { echo "scale: no token in the admin's login answer: $login" >&2; exit 1; }
  (umask 077 && printf '%s\n' "$admin_token" > "$work/admin-token")
  echo "load before the bulk step: $(uptime | sed 's/.*load average/load average/')"
  # The server's own split (a batch's transaction to its commit, then its invalidations), summed over the step.
  store_before=$(metric_exact tessera_access_change_store_seconds_sum) publish_before=$(metric_exact tessera_access_change_publish_seconds_sum)
  python3 "$here/bulk.py" "$base" "$work/admin-token" "$work/tokens/user-ids.txt" "$tokens" "$per_user" "$bulk_users" \
    "$bulk_sample" "$bulk_batch"
  echo "of which in the server: $(awk -v a="$(metric_exact tessera_access_change_store_seconds_sum)" -v b="$store_before" 'BEGIN { printf "%.2f", a - b }') s in the store (each batch's transaction to its commit), $(awk -v a="$(metric_exact tessera_access_change_publish_seconds_sum)" -v b="$publish_before" 'BEGIN { printf "%.2f", a - b }') s publishing (invalidations)"
  echo "load after the bulk step: $(uptime | sed 's/.*load average/load average/')"
  echo
fi

db_bytes=$(du -cb "$work/data"/*.db* | awk 'END { print $1 }')
echo "SQLite files at the end: $(mb "$db_bytes") MB; load at the end: $(uptime | sed 's/.*load average/load average/')"
