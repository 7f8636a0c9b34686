#!/usr/bin/env bash
# Installs Debian's sqlite3 shell when it is missing: the direct-change tests and the benchmark write to Tessera's
# database file from a separate sqlite3 process, the way an operator's console does.
# CI runs this as root; elsewhere it uses sudo when it is available.
set -euo pipefail

if command -v sqlite3 >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "sqlite3 is missing and this is not root: install the Debian package 'sqlite3'." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends sqlite3
sqlite3 --version
