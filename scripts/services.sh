#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, starting them when they are down and
# installing them from Debian's packages when they are missing. Idempotent; used by
# `make run`, `make test` and .ci/run. Also installs promtool (Debian 'prometheus') for the
# alert-rule tests, wrk (Debian 'wrk') for the capacity load runs (`make loadtest
# ARGS=--capacity`) and PgBouncer (Debian 'pgbouncer'; only its binary: the tests start their own
# instance in transaction mode, docs/scaling.md "Connections").
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { echo "[services] $*"; }

pg_answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -h "$PG_HOST" -p "$PG_PORT" -q
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$PG_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$REDIS_PORT") 2>/dev/null
  fi
}

apt_install() {
  log "installing $* from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if $check; then log "$what is up"; return 0; fi
    sleep 0.5
  done
  log "$what did not come up"; return 1
}

ensure_postgres() {
  if pg_answers; then log "PostgreSQL is up"; return 0; fi
  local fresh=0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql postgresql-contrib
    fresh=1
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ "$fresh" -eq 1 ]; then
    # Local development and CI only: trust connections from this machine, as the dev box does.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    $SUDO sed -i -E 's/^(local|host)(\s+all\s+all\s+.*)\s(peer|scram-sha-256|md5)$/\1\2 trust/' "$hba"
    $SUDO sed -i -E 's/^(local\s+all\s+postgres\s+)peer$/\1trust/' "$hba"
  fi
  log "starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_answers
}

ensure_redis() {
  if redis_answers; then log "Redis is up"; return 0; fi
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  log "starting Redis"
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  wait_for Redis redis_answers
}

ensure_promtool() {
  # The alert-rule tests run `promtool check rules` / `promtool test rules`.
  command -v promtool >/dev/null 2>&1 && return 0
  apt_install prometheus
}

ensure_wrk() {
  # `python -m loadtest --capacity` drives the service with wrk (docs/performance.md).
  command -v wrk >/dev/null 2>&1 || apt_install wrk
}

ensure_pgbouncer() {
  # tests/sequencer_project/test_session_lock_guards.py runs a private PgBouncer in transaction
  # mode; the package's own service is not started here.
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
}

ensure_postgres
ensure_redis
ensure_promtool
ensure_wrk
ensure_pgbouncer
