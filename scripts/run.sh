#!/usr/bin/env bash
# Starts the web server, a Celery worker and Celery beat; stops all three on Ctrl-C.
set -euo pipefail
port="${1:-8000}"
py=.venv/bin/python
mkdir -p var
$py -m celery -A portal worker --loglevel=INFO --concurrency=2 >var/worker.log 2>&1 &
worker=$!
$py -m celery -A portal beat --loglevel=INFO >var/beat.log 2>&1 &
beat=$!
trap 'kill $worker $beat 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
echo
echo "  Portal:  http://127.0.0.1:${port}/"
echo "  Admin:   http://127.0.0.1:${port}/admin/"
$py manage.py demo_credentials
echo "  Celery worker and beat are running (logs in var/worker.log, var/beat.log)."
echo
$py manage.py runserver "127.0.0.1:${port}"
