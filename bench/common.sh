# Shared by the benchmark scripts (sourced, not run): checking their knobs, logging, installing wrk, wrk summaries, free-port checks.

# Checks the knobs the scripts share and exits 2 with the reason when one cannot work: wrk's durations (WRK_DURATION,
# WRK_WARMUP: 1s..120s), ROUNDS (1..10), and that every other value given is a whole number.
#   check_knobs "$duration" "$warmup" "$rounds" "$threads" "$connections" "$first_port" ...
check_knobs() {
  local duration=$1 warmup=$2 rounds=$3 value
  shift 2
  for value in "$@"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "${BENCH_NAME:-bench}: '$value' is not a whole number" >&2; exit 2; }
  done
  for value in "$duration" "$warmup"; do
    [[ "$value" =~ ^[0-9]+s$ ]] && (( ${value%s} >= 1 && ${value%s} <= 120 )) \
      || { echo "${BENCH_NAME:-bench}: durations are 1s..120s, not '$value'" >&2; exit 2; }
  done
  (( rounds >= 1 && rounds <= 10 )) || { echo "${BENCH_NAME:-bench}: ROUNDS is 1..10" >&2; exit 2; }
}

log() { printf '[%s %(%H:%M:%S)T] %s\n' "${BENCH_NAME:-bench}" -1 "$*" >&2; }

# Installs wrk with apt-get when it is missing (needs root), and checks that curl is there.
ensure_wrk() {
  if ! command -v wrk > /dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
      echo "${BENCH_NAME:-bench}: wrk is missing; install it (apt-get install -y wrk) or run as root" >&2
      exit 1
    fi
    log "installing wrk"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk > /dev/null 2>&1; then
      apt-get update -q > /dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk > /dev/null
    fi
  fi
  command -v curl > /dev/null || { echo "${BENCH_NAME:-bench}: curl is needed" >&2; exit 1; }
}

# Requests per second of a wrk report saved as $work/<name>.txt.
rps_of() { awk '/^Requests\/sec:/ { print $2 }' "$work/$1.txt"; }

# The per-round table of two interleaved wrk series (reports $work/<base>-<round>.txt and $work/<other>-<round>.txt,
# for rounds 1..$rounds) and the ratio other/base of their means, which it also leaves in $ratio.
#   ratio_table base other "base rps" "other rps"
ratio_table() {
  local base=$1 other=$2 base_sum=0 other_sum=0 round b o
  printf '%-7s %14s %14s %8s\n' round "$3" "$4" ratio
  for round in $(seq 1 "$rounds"); do
    b=$(rps_of "$base-$round") o=$(rps_of "$other-$round")
    printf '%-7s %14s %14s %8s\n' "$round" "$b" "$o" "$(awk -v o="$o" -v b="$b" 'BEGIN { printf "%.3f", o / b }')"
    base_sum=$(awk -v a="$base_sum" -v x="$b" 'BEGIN { print a + x }')
    other_sum=$(awk -v a="$other_sum" -v x="$o" 'BEGIN { print a + x }')
  done
  ratio=$(awk -v o="$other_sum" -v b="$base_sum" 'BEGIN { printf "%.3f", o / b }')
  printf '%-7s %14.2f %14.2f %8s\n' mean "$(awk -v a="$base_sum" -v n="$rounds" 'BEGIN { print a / n }')" \
    "$(awk -v a="$other_sum" -v n="$rounds" 'BEGIN { print a / n }')" "$ratio"
}

# stop_process PID: asks a process the script started to stop (SIGTERM), gives it 10 s, then kills it, and reaps it.
# Nothing for an empty PID or a process that is gone.
stop_process() {
  local pid=$1
  if [[ -n "$pid" ]] && kill -0 "$pid" 2> /dev/null; then
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
  fi
  [[ -n "$pid" ]] && { wait "$pid" 2> /dev/null || true; }
  return 0
}

# show_log_tail FILE WHAT: the last lines of a server's log on standard error, after a failed run.
show_log_tail() {
  if [[ -f "$1" ]]; then
    echo "--- last lines of the $2 log ---" >&2
    tail -n 30 "$1" >&2 || true
  fi
}

# True when something listens on 127.0.0.1:$1.
port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# free_port FIRST: prints the first loopback port from FIRST on that nothing listens on (of 50); fails when none is.
free_port() {
  local port=$1
  while port_in_use "$port"; do
    port=$((port + 1))
    (( port < $1 + 50 )) || { echo "${BENCH_NAME:-bench}: no free port in $1..$port" >&2; return 1; }
  done
  echo "$port"
}

# publish PROJECT NAME [ARGS...]: `dotnet publish` of PROJECT (a path from the repository's root) in Release into
# $work/NAME, building under $work/build (the source tree's bin/obj are not touched); prints the build's log and exits
# on failure. Needs $root and $work.
publish() {
  local project=$1 name=$2
  shift 2
  dotnet publish "$root/$project" -c Release -o "$work/$name" --artifacts-path "$work/build" -nologo -v quiet "$@" \
    > "$work/publish-$name.log" 2>&1 || { cat "$work/publish-$name.log" >&2; echo "${BENCH_NAME:-bench}: publishing $project failed" >&2; exit 1; }
}

# one_server_workspace NAME: for a script that runs one server at a time. Makes $work (a temporary directory) and
# $server_pid (empty), and on exit stops the server in $server_pid, shows the tail of $work/server.log after a failure,
# and removes $work; Ctrl-C and TERM exit through the same clean-up.
one_server_workspace() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-$1.XXXXXX")
  server_pid=""
  trap one_server_cleanup EXIT
  trap 'exit 130' INT TERM
}

one_server_cleanup() {
  local status=$?
  stop_process "$server_pid"
  [[ $status -ne 0 ]] && show_log_tail "$work/server.log" server
  rm -rf "$work"
  exit $status
}
