#!/usr/bin/env bash
# `make run`: migrate, create the demo tenant and an API key, then run the web server, the
# Celery worker and beat in the foreground until Ctrl-C (which stops all three).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PY=.venv/bin/python

if [ ! -f .env ]; then
  secret=$($PY -c 'import secrets; print(secrets.token_urlsafe(48))')
  admin=$($PY -c 'import secrets; print("ss_admin" + secrets.token_urlsafe(32))')
  printf 'SECRET_KEY=%s\nBOOTSTRAP_ADMIN_API_KEY=%s\n' "$secret" "$admin" > .env
  echo "Wrote .env with a new SECRET_KEY and BOOTSTRAP_ADMIN_API_KEY."
fi
# Payload encryption at rest (docs/encryption.md): a local key, so dev stores sealed payloads too.
if ! grep -q '^PAYLOAD_ENCRYPTION_KEYS=' .env; then
  printf 'PAYLOAD_ENCRYPTION_KEYS=1:%s\n' "$($PY -c 'import os; print(os.urandom(32).hex())')" >> .env
  echo "Added a local PAYLOAD_ENCRYPTION_KEYS to .env."
fi

dbname=$($PY -c 'import os, urllib.parse as u; print(u.urlparse(os.environ["DATABASE_URL"]).path.lstrip("/"))')
if ! psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
  psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$dbname\""
fi
$PY manage.py migrate --no-input -v 0

DEMO_TENANT=00000000-0000-0000-0000-000000000001
DEMO_STORE=00000000-0000-0000-0000-000000000001
$PY manage.py create_tenant --name "Demo tenant" --id "$DEMO_TENANT" --if-missing >/dev/null
KEY=$($PY manage.py create_api_key --tenant "$DEMO_TENANT" --name "demo (make run)" --permissions read,write,admin)
PORT="${PORT:-8080}"
# Operator admin (issue 6): a demo staff login, password reset on every `make run`.
STAFF_PASSWORD=$($PY manage.py create_demo_staff --username admin)

cat <<INFO

  StateSet Sequencer is starting on http://127.0.0.1:$PORT
  demo tenant : $DEMO_TENANT
  demo store  : $DEMO_STORE   (any store id works; it is created on first write)
  API key     : $KEY   (shown once; read, write, admin on the demo tenant)

  curl -s -X POST http://127.0.0.1:$PORT/api/v1/events/ingest \\
    -H "Authorization: ApiKey $KEY" -H 'Content-Type: application/json' \\
    -d '{"events":[{"event_id":"'"\$(python3 -c 'import uuid;print(uuid.uuid4())')"'","tenant_id":"$DEMO_TENANT","store_id":"$DEMO_STORE","entity_type":"order","entity_id":"order-1","event_type":"order.created","payload":{"total":42},"created_at":"2026-01-01T00:00:00Z"}]}'
  curl -s "http://127.0.0.1:$PORT/api/v1/head?tenant_id=$DEMO_TENANT&store_id=$DEMO_STORE" -H "Authorization: ApiKey $KEY"
  curl -s "http://127.0.0.1:$PORT/api/v1/entities/order/order-1/state?tenant_id=$DEMO_TENANT&store_id=$DEMO_STORE" -H "Authorization: ApiKey $KEY"

  operator admin : http://127.0.0.1:$PORT/admin/   user: admin   password: $STAFF_PASSWORD

INFO

mkdir -p var var/static
pids=()
cleanup() { trap - INT TERM EXIT; kill -TERM "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup INT TERM EXIT
.venv/bin/celery -A sequencer_project worker -Q commitments,projections,payments,maintenance -c 1 --loglevel WARNING &
pids+=($!)
.venv/bin/celery -A sequencer_project beat --loglevel WARNING --schedule var/celerybeat-schedule &
pids+=($!)
PORT="$PORT" .venv/bin/gunicorn -c docker/gunicorn.conf.py sequencer_project.wsgi &
pids+=($!)
wait -n "${pids[@]}"
