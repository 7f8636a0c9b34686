#!/usr/bin/env bash
# Installs Debian's chromium for the web console's Playwright suite when it is missing.
# The suite launches /usr/bin/chromium itself; it never runs `playwright install` (no browser downloads).
# CI runs this as root; elsewhere it uses sudo when it is available.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "chromium is missing and this is not root: install the Debian package 'chromium'." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends chromium fonts-liberation
/usr/bin/chromium --version
