#!/usr/bin/env bash
# A throwaway Redis for the test suites: Debian's redis-server on a free loopback port in a temporary directory,
# with no persistence.
#
#   eval "$(eng/redis.sh start)"          # prints the two exports below, on stdout only
#   ... TESSERA_TEST_REDIS=127.0.0.1:<port>, TESSERA_TEST_REDIS_DIR=<dir> ...
#   eng/redis.sh stop "$TESSERA_TEST_REDIS_DIR"
#   eng/redis.sh install                  # only makes sure redis-server is there
#
# Installs the Debian package when redis-server is missing (CI runs as root; elsewhere sudo is used when there).
# Everything but the exports goes to stderr, so that `eval` sees only them.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }

install_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi

  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      say "redis-server is missing and this is not root: install the Debian package 'redis-server'."
      exit 1
    fi
  fi

  say "Installing redis-server (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update >&2
  "${as_root[@]}" apt-get install -y --no-install-recommends redis-server redis-tools >&2
  # The package starts a system-wide instance on 6379 where there is an init system; the suites never use it.
}

free_port() {
  # Asks the kernel for a free loopback port.
  python3 - <<'EOF' 2>/dev/null || shuf -i 20000-60000 -n 1
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  install_redis
  local dir port attempt
  dir="$(mktemp -d "${TMPDIR:-/tmp}/tessera-redis.XXXXXX")"
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2; then
      local waited=0
      while [ "$waited" -lt 100 ]; do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
          printf 'export TESSERA_TEST_REDIS=127.0.0.1:%s\n' "$port"
          printf 'export TESSERA_TEST_REDIS_DIR=%s\n' "$dir"
          return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
      done
    fi
    # The port was taken between the probe and the start, or the server did not answer: try another.
    stop_dir "$dir" keep
    say "redis-server did not answer on port $port (attempt $attempt); see $dir/redis.log"
  done
  cat "$dir/redis.log" >&2 2>/dev/null || true
  rm -rf "$dir"
  say "could not start redis-server"
  exit 1
}

stop_dir() {
  local dir="$1" keep="${2:-}"
  if [ -f "$dir/redis.pid" ]; then
    local pid
    pid="$(cat "$dir/redis.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      local waited=0
      while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
        sleep 0.1
        waited=$((waited + 1))
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/redis.pid"
  fi
  if [ -z "$keep" ]; then
    rm -rf "$dir"
  fi
}

case "${1:-}" in
  install) install_redis ;;
  start) start ;;
  stop)
    if [ -z "${2:-}" ]; then
      say "usage: $0 stop <dir printed by start as TESSERA_TEST_REDIS_DIR>"
      exit 2
    fi
    case "$2" in
      */tessera-redis.*) stop_dir "$2" ;;
      *) say "refusing to stop and remove '$2': not a directory made by '$0 start'"; exit 2 ;;
    esac
    ;;
  *)
    say "usage: $0 start | stop <dir> | install"
    exit 2
    ;;
esac
