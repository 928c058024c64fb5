#!/usr/bin/env bash
# Installs fediverse-pasture for the federation tests (exact versions in requirements.txt)
# into federation-tests/pasture/.venv. Needs Python 3.11 or newer with venv and pip.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "fediverse-pasture needs Python 3.11 or newer"'
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
