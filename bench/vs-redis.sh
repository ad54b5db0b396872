#!/usr/bin/env bash
# RingDB vs Redis on this machine, in one run: the same connections, requests in flight and
# 100-byte values. Redis runs with appendonly yes / appendfsync everysec; RingDB runs in its
# durable default (commitlog_sync: group) and in periodic mode, with a 64 MB row cache.
# Redis acknowledges a SET before its fsync with everysec, so one more row compares durable writes
# with a second Redis that fsyncs before it replies (appendfsync always), the same guarantee.
# Reads run twice on both sides: the first pass after the writes (RingDB's row cache still
# cold) and a second, warm pass; both are printed. Prints ops/s and the ratios.
#
# Usage: bench/vs-redis.sh [connections=4] [in_flight=64] [operations=200000]
set -euo pipefail
connections=${1:-4}
in_flight=${2:-64}
operations=${3:-200000}
keys=100000
cd "$(dirname "$0")/.."
ringdb=./build/ringdb
[ -x "$ringdb" ] || { echo "build first: make build" >&2; exit 1; }
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
work=$(mktemp -d -t ringdb-vs-redis-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

pipeline=$(( (in_flight + connections - 1) / connections ))
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync everysec \
  --save "" --daemonize no --logfile "$work/redis.log" &
pids+=($!)
wait_port "$redis_port"
redis_rps() {  # $1 = set|get
  redis-benchmark -p "$redis_port" -c "$connections" -P "$pipeline" -d 100 -r "$keys" -n "$operations" -t "$1" --csv \
    | awk -F'","' 'NR==2 {print $2}'
}
redis_set=$(redis_rps set)
redis_get_first=$(redis_rps get)
redis_get=$(redis_rps get)

always_port=$(free_port)
mkdir -p "$work/always"
redis-server --port "$always_port" --bind 127.0.0.1 --dir "$work/always" --appendonly yes \
  --appendfsync always --save "" --daemonize no --logfile "$work/always/redis.log" &
always_pid=$!
pids+=($always_pid)
wait_port "$always_port"
redis_set_always=$(redis-benchmark -p "$always_port" -c "$connections" -P "$pipeline" -d 100 -r "$keys" \
  -n "$operations" -t set --csv | awk -F'","' 'NR==2 {print $2}')
kill -TERM "$always_pid"; wait "$always_pid" 2>/dev/null || true

ringdb_rps() {  # $1 = group|periodic; prints "write read"
  local dir="$work/ringdb-$1" port
  port=$(free_port)
  mkdir -p "$dir"
  # Redis serves from memory; ringdb gets a row cache big enough for the key set (64 MB).
  printf 'commitlog_sync: %s\ncommitlog_sync_period_in_ms: 1000\nrow_cache_size_in_mb: 64\n' "$1" > "$dir/ringdb.yaml"
  "$ringdb" server --config "$dir/ringdb.yaml" --data-dir "$dir" --cql-port "$port" --log-level warn &
  local pid=$!
  wait_port "$port"
  local w r1 r2
  w=$("$ringdb" stress write --port "$port" -c "$connections" -i "$in_flight" -n "$operations" --keys "$keys" \
      | awk '/^RESULT/ {split($3, a, "="); print a[2]}')
  r1=$("$ringdb" stress read --port "$port" -c "$connections" -i "$in_flight" -n "$operations" --keys "$keys" \
      | awk '/^RESULT/ {split($3, a, "="); print a[2]}')
  r2=$("$ringdb" stress read --port "$port" -c "$connections" -i "$in_flight" -n "$operations" --keys "$keys" \
      | awk '/^RESULT/ {split($3, a, "="); print a[2]}')
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "$w $r1 $r2"
}
read -r durable_write durable_read_first durable_read < <(ringdb_rps group)
read -r periodic_write periodic_read_first periodic_read < <(ringdb_rps periodic)

echo "connections=$connections in_flight=$in_flight (redis pipeline $pipeline per connection) operations=$operations values=100B keys=$keys"
printf '%-40s %12s %12s %8s\n' "" "ringdb op/s" "redis op/s" "ratio"
row() { printf '%-40s %12.0f %12.0f %8.2f\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN {print a / b}')"; }
row "write (durable) vs SET" "$durable_write" "$redis_set"
row "write (durable) vs SET, fsync always" "$durable_write" "$redis_set_always"
row "read  (durable) vs GET, first pass" "$durable_read_first" "$redis_get_first"
row "read  (durable) vs GET, warm" "$durable_read" "$redis_get"
row "write (periodic) vs SET" "$periodic_write" "$redis_set"
row "read  (periodic) vs GET, first pass" "$periodic_read_first" "$redis_get_first"
row "read  (periodic) vs GET, warm" "$periodic_read" "$redis_get"
