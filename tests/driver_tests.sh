#!/usr/bin/env bash
# Starts a ringdb node on a free loopback port with a fresh data directory, runs the Python and
# Node.js driver tests against it, then stops it with SIGTERM. Usage: driver_tests.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "${1:?usage: driver_tests.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
data=$(mktemp -d -t ringdb-driver-XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build_dir/ringdb" server --data-dir "$data" --cql-port "$port" --log-level warn > "$data/server.log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then break; fi
  sleep 0.1
done
export RINGDB_HOST=127.0.0.1 RINGDB_PORT=$port
echo "== Python driver ($(/usr/bin/python3 -c 'import cassandra; print(cassandra.__version__)')) against port $port"
/usr/bin/python3 "$here/python/test_driver.py"
echo "== Node.js driver against port $port"
(cd "$here/node" && node --test)
if ! kill -0 "$server" 2>/dev/null; then
  echo "the server died during the tests:"; cat "$data/server.log"; exit 1
fi
echo "== Durability through the Python driver (SIGKILL and restart)"
RINGDB_BINARY="$build_dir/ringdb" /usr/bin/python3 "$here/python/test_durability.py"
