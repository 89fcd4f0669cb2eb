#!/usr/bin/env bash
# `make bench`: every figure of bench/RESULTS.md, measured side by side in one run, on
# SQLite and on a durable throwaway PostgreSQL. Loopback only; takes about half an hour.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$PWD/.venv/bin/python
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
COUNTS=${BENCH_COUNTS:-"100000 1000000"}
{
  echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -m)," \
    "$(. /etc/os-release; echo "$PRETTY_NAME"), Python $($PY -c 'import platform; print(platform.python_version())')."
  echo
  (cd bench && "$PY" serve.py && echo && "$PY" delivery.py && echo && "$PY" compose.py && echo)
  "$PY" bench/similarity.py && echo && "$PY" bench/grouping.py && echo
  "$PY" bench/tools.py && echo
  for count in $COUNTS; do "$PY" bench/inbox_pages.py --count "$count" 2>/dev/null; echo; done
  PG_DURABLE=1 scripts/with-postgres.sh bash -c "cd bench && '$PY' serve.py && echo && '$PY' delivery.py && echo"
  for count in $COUNTS; do
    PG_DURABLE=1 scripts/with-postgres.sh "$PY" bench/inbox_pages.py --count "$count" 2>/dev/null
    echo
  done
} | tee bench/latest.md
echo "Written to bench/latest.md; copy what matters into bench/RESULTS.md." >&2
