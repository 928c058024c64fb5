#!/usr/bin/env bash
# Installs the Fedify peer of the federation tests (pinned in package-lock.json) into
# federation-tests/fedify/node_modules. Needs Node.js 20 or newer and npm.
# `--if-missing` (used by the tests on first use) does nothing when it is installed. One
# install at a time: concurrent runs wait on .install.lock (flock, util-linux).
set -euo pipefail
cd "$(dirname "$0")"
exec 9>.install.lock
flock 9
if [ "${1:-}" = "--if-missing" ] && [ -f node_modules/@fedify/fedify/package.json ]; then
  exit 0
fi
npm ci --no-audit --no-fund
