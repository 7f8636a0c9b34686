#!/usr/bin/env bash
# Runs every Tessera test suite and ends with one line: "N passed, N failed".
# On a fresh machine it installs what the suites need first (CI runs it as root with CI=true).
set -uo pipefail
cd "$(dirname "$0")"

log() { printf '\n== %s\n' "$*"; }

# --- What the suites need on the machine -----------------------------------------------------------
need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "The .NET SDK (see global.json) is required: https://dot.net" >&2
    exit 2
  fi
}

need_dotnet
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Real servers for the suites that need them, each on a free loopback port in a temporary directory, installed
# from Debian's packages when missing (as root in CI), and stopped whatever happens.
stop_services() {
  [ -n "${TESSERA_TEST_POSTGRES_DIR:-}" ] && eng/postgres.sh stop "$TESSERA_TEST_POSTGRES_DIR" >/dev/null 2>&1
  [ -n "${TESSERA_TEST_REDIS_DIR:-}" ] && eng/redis.sh stop "$TESSERA_TEST_REDIS_DIR" >/dev/null 2>&1
  return 0
}
trap stop_services EXIT

log "Starting PostgreSQL and Redis, installing Chromium"
if ! postgres_env="$(eng/postgres.sh start)"; then
  echo "PostgreSQL could not be started (see above)."
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$postgres_env"
if ! redis_env="$(eng/redis.sh start)"; then
  echo "Redis could not be started (see above)."
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$redis_env"
# Chromium for the web console's browser suite; the sqlite3 shell for the tests that change the database file from
# another process, as an operator's console does; Node.js for the JavaScript client's tests (node --test); tmux, the
# real terminal the desktop sample's and the command line's tests drive.
if ! bash eng/debian-packages.sh /usr/bin/chromium chromium fonts-liberation || ! bash eng/debian-packages.sh sqlite3 sqlite3 \
  || ! bash eng/debian-packages.sh /usr/bin/node nodejs || ! bash eng/debian-packages.sh /usr/bin/tmux tmux; then
  echo "Chromium, sqlite3, Node.js or tmux could not be installed (see above)."
  echo "0 passed, 1 failed"
  exit 1
fi
export TESSERA_TEST_POSTGRES TESSERA_TEST_POSTGRES_DIR TESSERA_TEST_REDIS TESSERA_TEST_REDIS_DIR

# --- Build once ------------------------------------------------------------------------------------
log "Restoring and building"
if ! dotnet build Tessera.slnx -c Release -nologo -v quiet; then
  echo "0 passed, 1 failed"
  exit 1
fi

# --- Run each test project and add up its totals --------------------------------------------------
passed=0
failed=0
skipped=0
status=0
results_dir="$(pwd)/artifacts/test-results"
mkdir -p "$results_dir"

# add_totals NAME EXIT_CODE PASSED FAILED SKIPPED: one suite's counts into the run's. A suite that printed no totals, or
# that exited non-zero without counting a failure, counts as one failure.
add_totals() {
  local name=$1 code=$2 t_passed=$3 t_failed=$4 t_skipped=$5
  if [ -z "$t_passed" ] && [ -z "$t_failed" ]; then
    echo "!! $name printed no totals (exit code $code): counted as one failure"
    t_failed=1
  fi
  passed=$((passed + ${t_passed:-0}))
  failed=$((failed + ${t_failed:-0}))
  skipped=$((skipped + ${t_skipped:-0}))
  if [ "$code" -ne 0 ]; then
    status=1
    [ "${t_failed:-0}" -eq 0 ] && failed=$((failed + 1))
  fi
}

# last_count FILE REGEX: the number on the last line of FILE that matches REGEX (empty when none does).
last_count() { grep -E "$2" "$1" | tail -1 | grep -oE '[0-9]+' || true; }

# A suite that hangs must fail with its name, never hold the run without a word: Microsoft.Testing.Platform's own
# --timeout cancels the session (exit code 3, with what ran so far), and coreutils' timeout stops the whole process group
# a little later in case the cancel is not heard (a deadlock). TESSERA_TEST_SUITE_MINUTES changes the limit.
suite_minutes=${TESSERA_TEST_SUITE_MINUTES:-30}

# run_suite NAME OUTPUT_FILE DOTNET_TEST_ARGUMENTS...: one suite, its output into OUTPUT_FILE and its counts into the run's.
run_suite() {
  local name=$1 output_file=$2
  shift 2
  timeout --kill-after=30s "$((suite_minutes + 2))m" dotnet test "$@" -- --timeout "${suite_minutes}m" 2>&1 | tee "$output_file"
  local code=${PIPESTATUS[0]}
  if [ "$code" -eq 124 ] || [ "$code" -eq 137 ] || grep -q 'Canceling the test session' "$output_file"; then
    echo "!! $name did not finish within $suite_minutes minutes: it hung or was far too slow (see $output_file)"
  fi
  # Microsoft.Testing.Platform prints "total: N", "failed: N", "succeeded: N", "skipped: N" in its summary.
  add_totals "$name" "$code" "$(last_count "$output_file" '^\s*succeeded: [0-9]+')" \
    "$(last_count "$output_file" '^\s*failed: [0-9]+')" "$(last_count "$output_file" '^\s*skipped: [0-9]+')"
}

for project in tests/*/*.Tests.csproj; do
  name="$(basename "$project" .csproj)"
  log "$name"
  run_suite "$name" "$results_dir/$name.log" --project "$project" -c Release --no-build
done

# Tessera.Client targets net8.0 too. No .NET 8 runtime here: its suite (net10.0, it hosts the server) runs once more
# against the net8.0 build of the library, on .NET 10, so that the net8.0 build is at least executed (ClientBuildTests
# checks which build was loaded). It recompiles only the test project: 1 min 8 s to build and 26 s to run at a load
# average of 25 on 2 cores (2026-12-07); less on a quiet machine.
log "Tessera.Client.Tests against the net8.0 build of Tessera.Client"
if dotnet build tests/Tessera.Client.Tests -c Release -nologo -v quiet -p:TesseraClientTarget=net8.0; then
  run_suite Tessera.Client.Tests-net8.0 "$results_dir/Tessera.Client.Tests-net8.0.log" \
    --project tests/Tessera.Client.Tests -c Release --no-build -p:TesseraClientTarget=net8.0
else
  add_totals Tessera.Client.Tests-net8.0 1 "" ""  ""
fi

# --- The JavaScript client (clients/js): Node's own test runner against a Tessera process it starts from the build ------
log "clients/js (node --test)"
output_file="$results_dir/clients-js.log"
(cd clients/js && node --test --test-reporter=tap test/*.test.js) 2>&1 | tee "$output_file"
code=${PIPESTATUS[0]}
# The TAP reporter ends with "# pass N", "# fail N" and "# skipped N" (unindented: the whole run's totals).
add_totals clients/js "$code" "$(last_count "$output_file" '^# pass [0-9]+')" \
  "$(last_count "$output_file" '^# fail [0-9]+')" "$(last_count "$output_file" '^# skipped [0-9]+')"

echo
echo "($skipped skipped)"
# The last line: the totals of every suite, as CI reads them.
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
