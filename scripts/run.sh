#!/usr/bin/env bash
# Starts the web server, a Celery worker and Celery beat; stops all three on Ctrl-C.
set -euo pipefail
port="${1:-8000}"
# Links in e-mails (also those the worker sends) point at this server unless told otherwise.
export SITE_URL="${SITE_URL:-http://127.0.0.1:${port}}"
py=.venv/bin/python
mkdir -p var
$py -m celery -A portal worker --loglevel=INFO --concurrency=2 >var/worker.log 2>&1 &
worker=$!
$py -m celery -A portal beat --loglevel=INFO >var/beat.log 2>&1 &
beat=$!
stop() {
  trap - EXIT INT TERM
  kill -TERM "$worker" "$beat" 2>/dev/null || true
  # A worker whose pool children already got the signal (Ctrl-C reaches the whole
  # process group) can hang in its warm shutdown. Tasks are acknowledged late, so a
  # hard stop after a grace period loses nothing: they are delivered again.
  for _ in $(seq 1 10); do
    kill -0 "$worker" 2>/dev/null || kill -0 "$beat" 2>/dev/null || break
    sleep 1
  done
  kill -KILL "$worker" "$beat" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM
echo
echo "  Portal:  http://127.0.0.1:${port}/"
echo "  Admin:   http://127.0.0.1:${port}/admin/"
$py manage.py demo_credentials
echo "  Celery worker and beat are running (logs in var/worker.log, var/beat.log)."
echo
$py manage.py runserver "127.0.0.1:${port}"
