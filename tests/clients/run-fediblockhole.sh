#!/usr/bin/env bash
# Runs FediBlockHole (PyPI, pinned) against a real `tidings` process on loopback: it reads
# tests/clients/blocklist.csv (Mastodon's CSV) and pushes it through Mastodon's admin API
# (/api/v1/admin/domain_blocks) with an admin token; fediblockhole_flow.py and
# `tidings domain list` check that the blocks arrived. SQLite.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
FEDIBLOCKHOLE_VERSION="0.4.6"

cargo build --quiet --bin tidings
bin="$root/target/debug/tidings"

venv="$root/target/fediblockhole-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "fediblockhole==$FEDIBLOCKHOLE_VERSION"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

args=(--data-dir "$work" --database-url "sqlite://$work/tidings.db" --domain "localhost:$port" --listen "127.0.0.1:$port")
echo "a long test password" | TIDINGS_LOG=warn "$bin" "${args[@]}" user create boss --admin
# A block the list changes (suspend → silence): FediBlockHole updates it with PUT.
TIDINGS_LOG=warn "$bin" "${args[@]}" domain block loud.example --severity suspend
TIDINGS_LOG=warn "$bin" "${args[@]}" serve > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/instance" > /dev/null && break
  sleep 0.1
done

if ! "$venv/bin/python" tests/clients/fediblockhole_flow.py "http://localhost:$port" "localhost:$port" \
    boss "a long test password" "$root/tests/clients/blocklist.csv" "$work"; then
  echo "--- server log"; cat "$work/server.log"
  exit 1
fi

# The command line sees the same blocks.
list="$(TIDINGS_LOG=warn "$bin" "${args[@]}" domain list)"
expected='loud.example silence obfuscate public_comment="Harassment"
quiet.example noop reject_media
spam.example suspend reject_media reject_reports public_comment="Spam waves"'
if [ "$list" != "$expected" ]; then
  printf 'tidings domain list says:\n%s\nexpected:\n%s\n' "$list" "$expected"
  exit 1
fi
echo "tidings domain list agrees"
