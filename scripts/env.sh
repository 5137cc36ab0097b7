# shellcheck shell=bash
# Local defaults for `make run` and `make test`; any variable already set wins.
# Sourced, not executed. Production deployments set every variable themselves (.env.example).
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sequencer}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export SEQUENCER_ENV="${SEQUENCER_ENV:-development}"
