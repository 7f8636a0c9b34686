#!/usr/bin/env bash
# Installs Debian packages that a suite or benchmark needs, unless what it needs is already there:
#
#   eng/debian-packages.sh <command or absolute path that must exist> <package>...
#   eng/debian-packages.sh /usr/bin/chromium chromium fonts-liberation   # the web console's Playwright suite
#   eng/debian-packages.sh sqlite3 sqlite3                               # the direct-change tests and benchmark
#
# The Playwright suite launches /usr/bin/chromium itself and never runs `playwright install` (no browser downloads).
# CI runs this as root; elsewhere it uses sudo when it is available.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <command or path> <package>..." >&2
  exit 2
fi

needed=$1
shift
if { [[ $needed == /* ]] && [ -x "$needed" ]; } || { [[ $needed != /* ]] && command -v "$needed" >/dev/null 2>&1; }; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "$needed is missing and this is not root: install the Debian package(s) $*." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "$@"
