#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the test suites: Debian's server binaries, a fresh cluster in a temporary
# directory, listening on a free loopback port (and a Unix socket inside that directory), fsync on.
#
#   eval "$(eng/postgres.sh start)"        # prints the two exports below, on stdout only
#   ... TESSERA_TEST_POSTGRES="Host=127.0.0.1;Port=<port>;Username=tessera;Password=tessera;Database=tessera"
#   ... TESSERA_TEST_POSTGRES_DIR=<dir>
#   eng/postgres.sh stop "$TESSERA_TEST_POSTGRES_DIR"
#   eng/postgres.sh install                # only makes sure the server binaries are there
#
# TESSERA_TEST_POSTGRES_SETTINGS adds server settings, e.g. "-c autovacuum_naptime=1" to have autovacuum workers
# connect to the test databases all the time (how the drop race below was reproduced).
#
# The role 'tessera' (password 'tessera') owns the database 'tessera' and may create databases: the tests make
# one per test. It is also in pg_signal_backend, so that its DROP DATABASE ... WITH (FORCE) may end an autovacuum
# worker that happens to be connected to the database (without it the drop fails with 42501 now and then). Authentication is 'trust' on the socket and on 127.0.0.1, which is fine for a server that lives
# in a temporary directory and listens on loopback only.
#
# Installs the Debian package 'postgresql' when the binaries are missing (CI runs as root; elsewhere sudo is used
# when there). initdb refuses to run as root, so as root the cluster belongs to the 'postgres' user.
# Quiet on success: everything but the exports goes to stderr, and only when something fails (with the logs).
# Calling start again while the printed TESSERA_TEST_POSTGRES_DIR still runs a server prints the same exports.
set -euo pipefail

readonly VERSION=15
readonly ROLE=tessera
readonly PASSWORD=tessera
readonly DATABASE=tessera

say() { printf '%s\n' "$*" >&2; }

bin_dir() {
  if [ -x "/usr/lib/postgresql/$VERSION/bin/initdb" ]; then
    printf '/usr/lib/postgresql/%s/bin\n' "$VERSION"
    return 0
  fi
  return 1
}

install_postgres() {
  if bin_dir >/dev/null; then
    return 0
  fi

  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      say "PostgreSQL $VERSION is missing and this is not root: install the Debian package 'postgresql'."
      exit 1
    fi
  fi

  local log
  log="$(mktemp)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends postgresql; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "Installing the Debian package 'postgresql' failed (output above)."
    exit 1
  fi
  rm -f "$log"
  # The package may start a system-wide cluster on 5432 where there is an init system; the suites never use it.
  if ! bin_dir >/dev/null; then
    say "The Debian package 'postgresql' installed, but /usr/lib/postgresql/$VERSION/bin/initdb is not there:"
    ls -d /usr/lib/postgresql/*/bin >&2 2>/dev/null || true
    say "this script wants PostgreSQL $VERSION (Debian 12's)."
    exit 1
  fi
}

# Runs a server binary as the cluster's owner: 'postgres' when this is root, this user otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  # Asks the kernel for a free loopback port; falls back to probing upward from 54320.
  if command -v python3 >/dev/null 2>&1; then
    python3 - <<'EOF' 2>/dev/null && return 0
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
  fi
  local port=54320
  while ss -Htln "sport = :$port" 2>/dev/null | grep -q .; do
    port=$((port + 1))
  done
  printf '%s\n' "$port"
}

exports() {
  local dir="$1" port="$2"
  printf 'export TESSERA_TEST_POSTGRES="Host=127.0.0.1;Port=%s;Username=%s;Password=%s;Database=%s"\n' "$port" "$ROLE" "$PASSWORD" "$DATABASE"
  printf 'export TESSERA_TEST_POSTGRES_DIR=%s\n' "$dir"
}

# fail <dir> <message> <log>...: says what failed, shows the logs that tell why, removes the directory, exits 1.
fail() {
  local dir="$1" message="$2"
  shift 2
  say "eng/postgres.sh: $message"
  local file
  for file in "$@"; do
    if [ -s "$file" ]; then
      say "---- $file"
      cat "$file" >&2
    fi
  done
  stop_dir "$dir"
  exit 1
}

running() {
  local dir="$1" bin
  bin="$(bin_dir)" || return 1
  [ -f "$dir/data/postmaster.pid" ] && [ -f "$dir/port" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
  # Already started by an earlier call in this shell: say the same again.
  local existing="${TESSERA_TEST_POSTGRES_DIR:-}"
  if [ -n "$existing" ] && [[ "$existing" == */tessera-postgres.* ]] && running "$existing"; then
    exports "$existing" "$(cat "$existing/port")"
    return 0
  fi

  install_postgres
  local bin dir port attempt
  bin="$(bin_dir)"
  # /tmp, not $TMPDIR: the 'postgres' user must be able to reach the directory.
  dir="$(mktemp -d /tmp/tessera-postgres.XXXXXX)"
  chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
  fi

  # UTF8 and the C locale: the store asks for the case rules it needs (ICU) itself, whatever the database's locale.
  if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth=trust >"$dir/initdb.log" 2>&1; then
    fail "$dir" "initdb failed" "$dir/initdb.log"
  fi

  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -p $port -h 127.0.0.1 -c fsync=on -c max_connections=200 ${TESSERA_TEST_POSTGRES_SETTINGS:-}" start >>"$dir/setup.log" 2>&1; then
      printf '%s\n' "$port" >"$dir/port"
      break
    fi
    # The port was taken between the probe and the start: try another.
    port=""
    as_owner "$bin/pg_ctl" -D "$dir/data" stop -m immediate >>"$dir/setup.log" 2>&1 || true
  done
  if [ -z "$port" ]; then
    fail "$dir" "the server did not start (5 attempts)" "$dir/setup.log" "$dir/server.log"
  fi

  if ! as_owner "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" \
    -c "GRANT pg_signal_backend TO $ROLE" \
    -c "CREATE DATABASE $DATABASE OWNER $ROLE" >>"$dir/setup.log" 2>&1; then
    fail "$dir" "creating the role and database '$ROLE' failed" "$dir/setup.log" "$dir/server.log"
  fi
  if ! as_owner "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U "$ROLE" -d "$DATABASE" -v ON_ERROR_STOP=1 \
    -c "SELECT 1" >>"$dir/setup.log" 2>&1; then
    fail "$dir" "the server does not answer on 127.0.0.1:$port as '$ROLE'" "$dir/setup.log" "$dir/server.log"
  fi

  exports "$dir" "$port"
}

stop_dir() {
  local dir="$1" bin
  if [ -d "$dir/data" ] && bin="$(bin_dir)"; then
    if [ -f "$dir/data/postmaster.pid" ]; then
      if ! as_owner "$bin/pg_ctl" -D "$dir/data" stop -m fast -w -t 60 >/dev/null 2>&1; then
        # Not stopping in time (or already gone): make sure no postmaster outlives its directory.
        local pid
        pid="$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
          say "eng/postgres.sh: the server in $dir did not stop within 60 s: killing it"
          kill -9 "$pid" 2>/dev/null || true
        fi
      fi
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  install) install_postgres ;;
  start) start ;;
  stop)
    if [ -z "${2:-}" ]; then
      say "usage: $0 stop <dir printed by start as TESSERA_TEST_POSTGRES_DIR>"
      exit 2
    fi
    case "$2" in
      */tessera-postgres.*) stop_dir "$2" ;;
      *) say "refusing to stop and remove '$2': not a directory made by '$0 start'"; exit 2 ;;
    esac
    ;;
  *)
    say "usage: $0 start | stop <dir> | install"
    exit 2
    ;;
esac
