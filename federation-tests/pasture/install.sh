#!/usr/bin/env bash
# Installs fediverse-pasture for the federation tests (exact versions in requirements.txt)
# into federation-tests/pasture/.venv. Needs Python 3.11 or newer with venv and pip.
# `--if-missing` (used by the tests on first use) does nothing when it is installed. One
# install at a time: concurrent runs wait on .install.lock (flock, util-linux).
set -euo pipefail
cd "$(dirname "$0")"
exec 9>.install.lock
flock 9
if [ "${1:-}" = "--if-missing" ] && [ -x .venv/bin/python ] \
  && .venv/bin/python -c 'import fediverse_pasture' 2>/dev/null; then
  exit 0
fi
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "fediverse-pasture needs Python 3.11 or newer"'
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
