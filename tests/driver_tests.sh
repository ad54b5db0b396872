#!/usr/bin/env bash
# Starts a ringdb node on a free loopback port with a fresh data directory, runs the Python and
# Node.js driver tests against it, then stops it with SIGTERM. Usage: driver_tests.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "${1:?usage: driver_tests.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
data=$(mktemp -d -t ringdb-driver-XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# With a row cache, so cached reads take the event loop's inline path (the durability test below
# runs a node without one).
printf 'row_cache_size_in_mb: 16\n' > "$data/ringdb.yaml"
"$build_dir/ringdb" server --config "$data/ringdb.yaml" --data-dir "$data" --cql-port "$port" --log-level warn > "$data/server.log" 2>&1 &
server=$!
cleanup() {
  [ -n "${server_stopped:-}" ] || kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
wait_port() {
  for _ in $(seq 1 100); do
    if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then return; fi
    sleep 0.1
  done
}
wait_port
export RINGDB_HOST=127.0.0.1 RINGDB_PORT=$port
echo "== Python driver ($(/usr/bin/python3 -c 'import cassandra; print(cassandra.__version__)')) against port $port"
/usr/bin/python3 "$here/python/test_driver.py"
echo "== Node.js driver against port $port"
(cd "$here/node" && node --test)
if ! kill -0 "$server" 2>/dev/null; then
  echo "the server died during the tests:"; cat "$data/server.log"; exit 1
fi

fail() { echo "FAILED: $*"; exit 1; }
# Matches read the output from a here-string: with pipefail, `echo | grep -q` fails when grep
# exits before echo has written everything.
echo "== ringdb cql (-e, -f, DESCRIBE, errors)"
out=$("$build_dir/ringdb" cql 127.0.0.1 "$port" -e "CREATE KEYSPACE shell_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}; CREATE TABLE shell_ks.t (k int PRIMARY KEY, v text); INSERT INTO shell_ks.t (k, v) VALUES (1, 'one'); SELECT * FROM shell_ks.t")
grep -q " 1 | one" <<< "$out" || fail "shell row output: $out"
grep -q "(1 rows)" <<< "$out" || fail "shell row count: $out"
printf 'USE shell_ks;\nSELECT v\n  FROM t\n  WHERE k = 1;\nDESCRIBE TABLE t\n' > "$data/script.cql"
out=$("$build_dir/ringdb" cql 127.0.0.1 "$port" -f "$data/script.cql")
grep -q "CREATE TABLE shell_ks.t" <<< "$out" || fail "DESCRIBE: $out"
grep -q " one" <<< "$out" || fail "multi-line statement: $out"
# DESCRIBE prints what re-creates what it describes: dropped and re-created from the output, it
# describes the same. Leaves the output in $described.
describe_round_trip() {  # $1 = what to DESCRIBE, $2 = the statement that drops it
  local first second
  first=$("$build_dir/ringdb" cql 127.0.0.1 "$port" -e "DESCRIBE $1")
  "$build_dir/ringdb" cql 127.0.0.1 "$port" -e "$2" > /dev/null
  printf '%s\n' "$first" > "$data/describe.cql"
  "$build_dir/ringdb" cql 127.0.0.1 "$port" -f "$data/describe.cql" > /dev/null || fail "DESCRIBE $1 output does not run: $first"
  second=$("$build_dir/ringdb" cql 127.0.0.1 "$port" -e "DESCRIBE $1")
  [ "$first" = "$second" ] || fail "DESCRIBE $1 after re-creating differs: $first /// $second"
  described=$first
}
# A table: quoted names, clustering order, every option.
"$build_dir/ringdb" cql 127.0.0.1 "$port" -e 'CREATE TABLE shell_ks."Mixed" ("K" int, c int, v text, s int static, PRIMARY KEY ("K", c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = '"'it''s'"' AND caching = {'"'keys'"': '"'NONE'"'} AND speculative_retry = '"'50ms'"'' > /dev/null
describe_round_trip 'TABLE shell_ks."Mixed"' 'DROP TABLE shell_ks."Mixed"'
grep -q 'CREATE TABLE shell_ks."Mixed"' <<< "$described" || fail "DESCRIBE quoted: $described"
grep -q "AND caching = {'keys': 'NONE', 'rows_per_partition': 'NONE'}" <<< "$described" || fail "DESCRIBE options: $described"
# A keyspace: each user type after the types it uses, then the tables and their indexes.
"$build_dir/ringdb" cql 127.0.0.1 "$port" -e "CREATE KEYSPACE shell_types WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}; CREATE TYPE shell_types.z_point (x int, y int); CREATE TYPE shell_types.a_shape (name text, corners list<frozen<z_point>>); CREATE TABLE shell_types.drawings (id int PRIMARY KEY, shape frozen<a_shape>, label text); CREATE INDEX ON shell_types.drawings (label)" > /dev/null
describe_round_trip 'KEYSPACE shell_types' 'DROP KEYSPACE shell_types'
grep -q 'CREATE TYPE shell_types.a_shape' <<< "$described" || fail "DESCRIBE KEYSPACE types: $described"
grep -q 'CREATE INDEX drawings_label_idx ON shell_types.drawings (label);' <<< "$described" || fail "DESCRIBE KEYSPACE indexes: $described"
if "$build_dir/ringdb" cql 127.0.0.1 "$port" -e "SELEC 1" > "$data/err.out"; then fail "a bad statement exited 0"; fi
grep -q "SyntaxException" "$data/err.out" || fail "syntax error message: $(cat "$data/err.out")"

echo "== ringdb stress (write then read, 20000 operations each)"
for workload in write read mixed; do
  out=$("$build_dir/ringdb" stress "$workload" --port "$port" -c 2 -i 16 -n 20000 --keys 5000)
  echo "$out" | grep -E "^(op rate|latency p99 )"
  grep -q "^RESULT workload=$workload .* errors=0 " <<< "$out" || fail "stress $workload: $out"
done
echo "== ringdb stress on a clustered table (500 rows, 10 per partition)"
for workload in write read; do
  out=$("$build_dir/ringdb" stress "$workload" --port "$port" -c 2 -i 16 -n 20000 --keys 500 \
    --rows-per-partition 10)
  grep -q "^RESULT workload=$workload .* errors=0 " <<< "$out" || fail "stress $workload: $out"
done
# 20000 writes over 500 rows leave none unwritten (the chance is below 1e-14), so every read finds
# its row.
grep -q "^reads found  : 20000 of 20000" <<< "$out" || fail "clustered reads: $out"
"$build_dir/ringdb" cql 127.0.0.1 "$port" -e "SELECT count(*) FROM stress.clustered" > "$data/clustered.out"
grep -qE "^ *500 *$" "$data/clustered.out" || fail "clustered rows: $(cat "$data/clustered.out")"

echo "== ringdb compact (partition and range tombstones past gc_grace_seconds)"
{
  echo "CREATE KEYSPACE compact_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};"
  echo "CREATE TABLE compact_ks.kv (k int PRIMARY KEY, v text) WITH gc_grace_seconds = 0;"
  echo "CREATE TABLE compact_ks.cl (k int, c int, v text, PRIMARY KEY (k, c)) WITH gc_grace_seconds = 0;"
  for i in $(seq 0 99); do
    echo "INSERT INTO compact_ks.kv (k, v) VALUES ($i, 'v$i');"
    echo "INSERT INTO compact_ks.cl (k, c, v) VALUES ($((i % 10)), $i, 'v$i');"
  done
  for i in $(seq 0 2 99); do echo "DELETE FROM compact_ks.kv WHERE k = $i;"; done
  for k in 0 2 4 6 8; do echo "DELETE FROM compact_ks.cl WHERE k = $k AND c > 5 AND c < 50;"; done
} > "$data/compact.cql"
"$build_dir/ringdb" cql 127.0.0.1 "$port" -f "$data/compact.cql" > /dev/null
if "$build_dir/ringdb" compact --data-dir "$data" 2> "$data/compact.err"; then
  fail "ringdb compact ran on the directory of a running node"
fi
grep -q "is a node running on it" "$data/compact.err" || fail "compact refusal: $(cat "$data/compact.err")"

echo "== SIGTERM drains and exits cleanly"
kill -TERM "$server"
rc=0; wait "$server" || rc=$?
[ "$rc" -eq 0 ] || fail "server exited with $rc after SIGTERM"
grep -q "stopped\|draining" "$data/server.log" || true
server_stopped=1

# 50 partition deletions and 5 range deletions, 22 clustered rows under them (2 cells each, as
# the 50 deleted rows of kv). A deletion is purgeable once gc_grace_seconds (0) have passed since
# the second it was made.
sleep 1.1
out=$("$build_dir/ringdb" compact --data-dir "$data")
echo "$out"
purged=$(sed -n 's/.*purged \([0-9]*\) tombstones.*/\1/p' <<< "$out")
[ "${purged:-0}" -ge 55 ] || fail "compact purged: $out"
"$build_dir/ringdb" server --config "$data/ringdb.yaml" --data-dir "$data" --cql-port "$port" --log-level warn >> "$data/server.log" 2>&1 &
server=$!; server_stopped=
wait_port
out=$("$build_dir/ringdb" cql 127.0.0.1 "$port" -e "SELECT count(*) FROM compact_ks.kv; SELECT count(*) FROM compact_ks.cl; SELECT k FROM compact_ks.kv WHERE k IN (0, 1, 2, 3)")
grep -qE "^ *50 *$" <<< "$out" || fail "kv rows after compact: $out"
grep -qE "^ *78 *$" <<< "$out" || fail "cl rows after compact: $out"
grep -q "(2 rows)" <<< "$out" || fail "deleted rows after compact: $out"
kill -TERM "$server"; wait "$server" || fail "server exited with an error after compact"
server_stopped=1
echo "== ringdb demo (small data set, exits after the queries)"
out=$("$build_dir/ringdb" demo --data-dir "$data/demo" --cql-port "$port" --events 3000 --exit)
grep -qE "Loaded [0-9]+ rows into keyspace demo .*\(0 errors\)" <<< "$out" || fail "demo load: $out"
grep -q "GROUP BY the partition key" <<< "$out" || fail "demo queries: $out"
grep -q "^error:" <<< "$out" && fail "a demo query failed: $out"

echo "== Durability through the Python driver (SIGKILL and restart)"
RINGDB_BINARY="$build_dir/ringdb" /usr/bin/python3 "$here/python/test_durability.py"
