#!/usr/bin/env bash
# Serve the platform on the embedded defaults: gunicorn for the web app, a Celery worker for images
# and models, and a small one (with beat) for beat's own work. Ctrl-C (or any child exiting) stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
export PYTHONPATH="$PWD/platform${PYTHONPATH:+:$PYTHONPATH}"
BIN=.venv/bin

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

"$BIN/celery" -A dermrelay worker -Q default,ingest,inference --concurrency 2 -n work@%h --loglevel INFO &
pids+=($!)
# -B: beat, whose reconcilers re-send what a crash or the broker lost, with a worker for its queue
# alone, so its passes never wait behind a model run.
"$BIN/celery" -A dermrelay worker -B -Q control --pool solo -n control@%h --loglevel INFO &
pids+=($!)
"$BIN/gunicorn" dermrelay.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 4 --access-logfile - &
pids+=($!)

cat <<MSG

  DermRelay is running at http://127.0.0.1:$PORT/
    API           http://127.0.0.1:$PORT/api/v1/
    API docs      http://127.0.0.1:$PORT/api/v1/docs/
    Admin         http://127.0.0.1:$PORT/admin/   (user: ops)
  Demo logins are listed above (seed_demo). Ctrl-C stops the web server and the worker.

MSG
wait -n "${pids[@]}"
