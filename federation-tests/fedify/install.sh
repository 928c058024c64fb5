#!/usr/bin/env bash
# Installs the Fedify peer of the federation tests (pinned in package-lock.json) into
# federation-tests/fedify/node_modules. Needs Node.js 20 or newer and npm.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
