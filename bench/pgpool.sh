#!/usr/bin/env bash
# Refresh throughput of one node on PostgreSQL for each pool size given,
# each on a fresh database: the measurement behind --db-max-conns' default.
#   go build -o /tmp/gatehouse ./cmd/gatehouse && go build -o /tmp/loadgen ./bench/cmd/loadgen
#   BIN=/tmp/gatehouse LOADGEN=/tmp/loadgen bash bench/pgpool.sh 4 8 16 32 32 16 8 4
set -u
BIN=${BIN:-/tmp/gatehouse} LOADGEN=${LOADGEN:-/tmp/loadgen}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
export GATEHOUSE_SECRET=pool-measure-master-secret-with-enough-entropy-01
export GATEHOUSE_BOOTSTRAP_CLIENT_ID=poolbenchclient000000000000000000
export GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=pool-bench-secret-with-enough-entropy-0123456789
for n in "$@"; do
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS gh_pool" -c "CREATE DATABASE gh_pool"
  "$BIN" serve --addr 127.0.0.1:18090 --database "$PG/gh_pool?sslmode=disable" --db-max-conns "$n" \
    --password-hash bcrypt --log-level warn >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18090/healthz >/dev/null && break; sleep 0.1; done
  echo "== pool $n"
  "$LOADGEN" -url http://127.0.0.1:18090 -hash bcrypt -grant refresh -c 16 -d 5s | grep -E 'ok/s|throughput /'
  kill "$pid"; wait "$pid" 2>/dev/null
done
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS gh_pool"
