#!/usr/bin/env bash
# Serve intake on one machine: a mail catcher (unless MAIL_SERVER is set), the delivery
# worker and gunicorn. Ctrl-C stops all three. Called by `make run` after setup.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
CATCHER_PORT=${CATCHER_PORT:-8025}
if [ -f .env ]; then set -a; . ./.env; set +a; fi

pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop EXIT INT TERM

if [ -z "${MAIL_SERVER:-}" ]; then
  "$BIN/flask" --app wsgi intake mailcatcher --port "$CATCHER_PORT" &
  pids+=($!)
  export MAIL_SERVER=127.0.0.1 MAIL_PORT=$CATCHER_PORT MAIL_USE_TLS=false
  echo "No MAIL_SERVER is set, so every email is saved as a .eml file in instance/mail/."
fi
"$BIN/flask" --app wsgi intake worker &
pids+=($!)
"$BIN/gunicorn" --config gunicorn.conf.py --bind "$HOST:$PORT" --workers 2 wsgi:app &
pids+=($!)
# When any of them ends, stop the others: a server without its worker loses no mail,
# but it would quietly stop sending it.
wait -n
