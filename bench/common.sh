# Shared by the benchmark scripts (sourced, not run): logging, installing wrk, and free-port checks.

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

# True when something listens on 127.0.0.1:$1.
port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
