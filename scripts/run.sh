#!/usr/bin/env bash
# `make run`: migrate, create the demo tenant and an API key, then run the web server, the
# Celery worker and beat in the foreground until Ctrl-C (which stops all three).
#
# Secrets live in a local env file (.env, or $SEQUENCER_DOTENV): a fresh SECRET_KEY, bootstrap
# admin key, payload encryption key and VES sequencer signing key are written on the first run
# and kept afterwards, so sealed payloads and signed receipts stay readable across restarts.
# Binds 127.0.0.1 unless HOST says otherwise (containers set HOST=0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PY=.venv/bin/python
export SEQUENCER_DOTENV="${SEQUENCER_DOTENV:-$PWD/.env}"
ENV_FILE="$SEQUENCER_DOTENV"

random_hex32() { $PY -c 'import os; print(os.urandom(32).hex())'; }
add_if_missing() {  # NAME VALUE MESSAGE
  if ! grep -q "^$1=" "$ENV_FILE"; then
    printf '%s=%s\n' "$1" "$2" >> "$ENV_FILE"
    echo "$3"
  fi
}

touch "$ENV_FILE"
chmod 600 "$ENV_FILE"
add_if_missing SECRET_KEY "$($PY -c 'import secrets; print(secrets.token_urlsafe(48))')" \
  "Wrote a new SECRET_KEY to $ENV_FILE."
add_if_missing BOOTSTRAP_ADMIN_API_KEY "$($PY -c 'import secrets; print("ss_admin" + secrets.token_urlsafe(32))')" \
  "Wrote a new BOOTSTRAP_ADMIN_API_KEY to $ENV_FILE."
# A database that already holds sealed payloads or signed checkpoints (a restore, a copy) was
# written with keys of its own: new ones under the same ids would leave its payloads unreadable
# (and seal new ones no ring of the old keys opens) and sign its log with another key, so the
# env file of the deployment that wrote it is needed (docs/operations.md, "Backups and restore").
database_holds() {  # SQL answering 1 when it does; no database or no tables yet: it does not
  psql "$DATABASE_URL" -tAc "$1" 2>/dev/null | grep -q 1
}
refuse_new_key() {  # NAME WHAT
  if ! grep -q "^$1=" "$ENV_FILE" && [ -z "${!1:-}" ]; then
    echo "$ENV_FILE has no $1, but the database at DATABASE_URL already holds $2. A new key would" \
      "not match them: put the env file (or the $1) of the deployment that wrote this database" \
      "in place and start again (docs/operations.md, \"Backups and restore\"). Nothing was changed." >&2
    exit 1
  fi
}
if database_holds "SELECT 1 FROM events WHERE payload_format <> 0 LIMIT 1"; then
  refuse_new_key PAYLOAD_ENCRYPTION_KEYS "payloads sealed at rest"
fi
if database_holds "SELECT 1 FROM log_checkpoints LIMIT 1"; then
  refuse_new_key VES_SEQUENCER_SIGNING_KEY "checkpoints signed by the sequencer's key"
fi
# Payload encryption at rest (docs/encryption.md): a local key, so dev stores sealed payloads too.
add_if_missing PAYLOAD_ENCRYPTION_KEYS "1:$(random_hex32)" "Added a local PAYLOAD_ENCRYPTION_KEYS to $ENV_FILE."
# Signed VES receipts, checkpoints and bundles (docs/ves.md): `ves verify --sequencer-key` checks them.
add_if_missing VES_SEQUENCER_SIGNING_KEY "$(random_hex32)" "Added a local VES_SEQUENCER_SIGNING_KEY to $ENV_FILE."
# The variables the service reads come from the file; the shell's own values still win.
SEQUENCER_KEY=$($PY - <<'PY'
import os

import environ

from ves.signing import public_key_from_seed

environ.Env.read_env(os.environ["SEQUENCER_DOTENV"], overwrite=False)
print(public_key_from_seed(bytes.fromhex(os.environ["VES_SEQUENCER_SIGNING_KEY"].removeprefix("0x"))).hex())
PY
)

export HOST="${HOST:-127.0.0.1}"
export PORT="${PORT:-8080}"
URL="http://$HOST:$PORT"
export WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-$((PORT + 1))}"
# Before anything changes (the demo key, a second worker and beat): a port in use is most often
# an earlier start still running, e.g. one whose terminal was killed, which leaves its children.
for port in "$PORT" "$WORKER_METRICS_PORT"; do
  if ! $PY -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2])))' "$HOST" "$port" 2>/dev/null; then
    echo "Port $port on $HOST is in use: is another make run (or its web, worker and beat, left by a killed terminal) still running? Stop it, or set PORT." >&2
    exit 1
  fi
done

dbname=$($PY -c 'import os, urllib.parse as u; print(u.urlparse(os.environ["DATABASE_URL"]).path.lstrip("/"))')
if ! psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
  psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$dbname\""
fi
$PY manage.py migrate --no-input -v 0

DEMO_TENANT=00000000-0000-0000-0000-000000000001
DEMO_STORE=00000000-0000-0000-0000-000000000001
$PY manage.py create_tenant --name "Demo tenant" --id "$DEMO_TENANT" --if-missing >/dev/null
# A new demo key each start; --replace revokes the one printed by the previous start.
KEY=$($PY manage.py create_api_key --tenant "$DEMO_TENANT" --name "demo (make run)" --permissions read,write,admin --replace)
# Operator admin: a demo staff login, password reset on every `make run`.
STAFF_PASSWORD=$($PY manage.py create_demo_staff --username admin)

cat <<INFO

  StateSet Sequencer is starting on $URL (web, Celery worker and beat; Ctrl-C stops all three)
  demo tenant   : $DEMO_TENANT
  demo store    : $DEMO_STORE   (any store id works; it is created on first write)
  API key       : $KEY   (shown once; read, write, admin on the demo tenant; each start revokes the last one)
  sequencer key : $SEQUENCER_KEY   (Ed25519 public key: ves verify bundle.json --sequencer-key …)
  secrets       : $ENV_FILE (SECRET_KEY, bootstrap admin key, payload and signing keys; kept across runs)

  curl -s -X POST $URL/api/v1/events/ingest \\
    -H "Authorization: ApiKey $KEY" -H 'Content-Type: application/json' \\
    -d '{"events":[{"event_id":"'"\$(python3 -c 'import uuid;print(uuid.uuid4())')"'","tenant_id":"$DEMO_TENANT","store_id":"$DEMO_STORE","entity_type":"order","entity_id":"order-1","event_type":"order.created","payload":{"total":42},"created_at":"2026-01-01T00:00:00Z"}]}'
  curl -s "$URL/api/v1/head?tenant_id=$DEMO_TENANT&store_id=$DEMO_STORE" -H "Authorization: ApiKey $KEY"
  curl -s "$URL/api/v1/entities/order/order-1/state?tenant_id=$DEMO_TENANT&store_id=$DEMO_STORE" -H "Authorization: ApiKey $KEY"

  operator admin : $URL/admin/   user: admin   password: $STAFF_PASSWORD
  metrics        : $URL/metrics (admin key)   worker: http://127.0.0.1:$WORKER_METRICS_PORT/metrics

INFO

mkdir -p var var/static
pids=()
cleanup() { trap - INT TERM EXIT; kill -TERM "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup INT TERM EXIT
# The worker and beat are started again when they exit on their own, as a process supervisor
# would (a Redis restart can crash the worker: docs/reliability.md); only the web ending, or
# Ctrl-C, stops the deployment. A TERM to the loop is passed on to its process, which shuts down
# as it would alone (the worker: its warm shutdown).
supervise() {  # NAME COMMAND...
  local name=$1 child=0 status
  shift
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
  while true; do
    "$@" &
    child=$!
    wait "$child" && status=0 || status=$?
    echo "[make run] the $name exited (status $status); starting it again in 2 s" >&2
    sleep 2 &
    wait $! || true
  done
}
# The worker's own /metrics (sequencer_project/worker_metrics.py): its pool children's files in a
# directory of its own, emptied first, as the web's is (docker/gunicorn.conf.py).
WORKER_METRICS_DIR="${TMPDIR:-/tmp}/sequencer-prometheus-worker-$PORT"
rm -rf "$WORKER_METRICS_DIR" && mkdir -p "$WORKER_METRICS_DIR"
# Named after the port, so two deployments on one host are two workers to Celery and to
# /health/detailed's worker_names (both were celery@<host>).
PROMETHEUS_MULTIPROC_DIR="$WORKER_METRICS_DIR" WORKER_METRICS_PORT="$WORKER_METRICS_PORT" \
  supervise worker .venv/bin/celery -A sequencer_project worker -Q commitments,projections,payments,maintenance \
  --concurrency 3 --loglevel WARNING -n "sequencer-$PORT@%h" &
pids+=($!)
supervise beat .venv/bin/celery -A sequencer_project beat --loglevel WARNING \
  --schedule "${CELERY_BEAT_SCHEDULE:-var/celerybeat-schedule}" &
pids+=($!)
bash scripts/web.sh &  # WEB_SERVER=granian for the Rust-backed server (docs/performance.md)
pids+=($!)
wait -n "${pids[@]}"
