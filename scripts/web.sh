#!/usr/bin/env bash
# The web process: `sequencer_project.wsgi` under WEB_SERVER (gunicorn, the default, or granian).
#
# One launcher for `make run`, the container image, compose and the load tests, so each runs the
# server exactly as deployed. Both read the same variables: HOST, PORT, WEB_WORKERS (default: the
# cores), WEB_THREADS (8), WEB_TIMEOUT, WEB_GRACEFUL_TIMEOUT, WEB_NICE (10) (docker/gunicorn.conf.py resolves
# them; granian gets the resolved values). granian (Rust HTTP, WSGI on blocking threads) serves
# HTTP/1.1 and HTTP/2 (h2c with prior knowledge, or h2 with TLS in front); measured side by side
# in docs/performance.md ("Servers"). Metrics: both write prometheus_client's multiprocess files
# to PROMETHEUS_MULTIPROC_DIR, emptied at start.
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's venv when there is one (make run), else what PATH has (the container image).
tool() { if [ -x ".venv/bin/$1" ]; then echo ".venv/bin/$1"; else command -v "$1"; fi; }
PY="$(tool python)"
export HOST="${HOST:-0.0.0.0}" PORT="${PORT:-8080}"
APP="${WEB_APP:-sequencer_project.wsgi}"  # the load tests' anchor is another WSGI module
# The system checks refuse what must not serve (DEBUG or no payload key in production, settings
# that contradict each other; docs/operations.md, "System checks") before the server starts: an
# image started without a migrate step (which runs them too) would otherwise serve anyway.
# Without the metrics directory: the check is not a server process (its files would outlive it).
env -u PROMETHEUS_MULTIPROC_DIR "$PY" manage.py check --fail-level ERROR >/dev/null

case "${WEB_SERVER:-gunicorn}" in
  gunicorn)
    exec "$(tool gunicorn)" -c docker/gunicorn.conf.py "$APP"
    ;;
  granian)
    # The values docker/gunicorn.conf.py resolves from the environment, and its metrics directory.
    read -r workers threads graceful nice multiproc < <("$PY" - <<'PY'
import runpy
c = runpy.run_path("docker/gunicorn.conf.py")
import os
print(c["workers"], c["threads"], c["graceful_timeout"], c["nice"], os.environ["PROMETHEUS_MULTIPROC_DIR"])
PY
)
    export PROMETHEUS_MULTIPROC_DIR="$multiproc"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    # granian's own command line, after the objects its workers share are made (ADR 0038).
    exec nice -n "$nice" "$PY" -m sequencer_project.granian_main --interface wsgi --host "$HOST" --port "$PORT" \
      --workers "$workers" --blocking-threads "$threads" --http auto \
      --workers-kill-timeout "$graceful" --respawn-failed-workers \
      --log-level "${WEB_LOG_LEVEL:-info}" "$APP:application"
    ;;
  *)
    echo "WEB_SERVER must be gunicorn or granian, not '${WEB_SERVER}'" >&2
    exit 2
    ;;
esac
