#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster on 127.0.0.1, then remove it.
# The command sees INTAKE_TEST_DATABASE_URL (an empty database "intake_test").
# Installs Debian's postgresql package first if no server binaries are found (needs root).
set -euo pipefail

find_pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
PGBIN=$(find_pgbin)
if [ -z "$PGBIN" ]; then
  echo "with-postgres: installing Debian's postgresql package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(find_pgbin)
fi

DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$DIR"
  AS=(runuser -u postgres --)
else
  AS=()
fi

stop() {
  (cd / && "${AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
  rm -rf "$DIR"
}
trap stop EXIT
# The postgres user may not enter the caller's folder (mktemp makes it 0700): start from /.
HERE=$PWD
cd /

"${AS[@]}" "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >/dev/null
# Tests: durability off makes the suite faster. Benchmarks set PG_DURABLE=1 to keep
# PostgreSQL's defaults (fsync, synchronous_commit), as a deployment would.
OPTIONS="-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200"
if [ "${PG_DURABLE:-0}" != 1 ]; then
  OPTIONS="$OPTIONS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 -o "$OPTIONS" start >/dev/null
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres intake_test

cd "$HERE"
export INTAKE_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/intake_test"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
"$@"
