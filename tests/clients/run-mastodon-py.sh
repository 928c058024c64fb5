#!/usr/bin/env bash
# Runs tests/clients/mastodon_py_flow.py (Mastodon.py from PyPI, pinned) against a real
# `tidings` process on loopback. Uses SQLite unless TIDINGS_TEST_DATABASE_URL names a
# PostgreSQL server (then a fresh database is created there and dropped after).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
MASTODON_PY_VERSION="2.3.3"

cargo build --quiet --bin tidings
bin="$root/target/debug/tidings"

venv="$root/target/client-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "Mastodon.py==$MASTODON_PY_VERSION"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
db_url="sqlite://$work/tidings.db"
pg_db=""
if [ -n "${TIDINGS_TEST_DATABASE_URL:-}" ]; then
  pg_db="tidings_client_$port"
  psql "$TIDINGS_TEST_DATABASE_URL" -qc "CREATE DATABASE $pg_db"
  db_url="${TIDINGS_TEST_DATABASE_URL%/*}/$pg_db"
fi
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$pg_db" ] && psql "$TIDINGS_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

args=(--data-dir "$work" --database-url "$db_url" --domain "localhost:$port" --listen "127.0.0.1:$port")
echo "a long test password" | TIDINGS_LOG=warn "$bin" "${args[@]}" user create newsMNC
TIDINGS_LOG=warn "$bin" "${args[@]}" serve > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/instance" > /dev/null && break
  sleep 0.1
done

if ! "$venv/bin/python" tests/clients/mastodon_py_flow.py "http://localhost:$port" newsMNC "a long test password"; then
  echo "--- server log"; cat "$work/server.log"
  exit 1
fi
