# shellcheck shell=sh
# Local defaults for `make run`, the runbooks' management commands and the Makefile's tools.
# Sourced from the checkout's root (`. scripts/env.sh`), not executed; bash, zsh and sh alike.
# Production deployments set every variable themselves (.env.example).
#
# For each variable below the shell's own value wins, then the local env file's (./.env, or
# $SEQUENCER_DOTENV: the file `make run` keeps its secrets in, which Django reads for every
# other variable), then the local default. So an operator who puts DATABASE_URL in .env gets
# that database here too, not the default beside it.
_sequencer_cr="$(printf '\r')"
_sequencer_default() {  # NAME DEFAULT
  eval "_sequencer_set=\${$1+x}"
  if [ -n "$_sequencer_set" ]; then
    export "$1"
    return 0
  fi
  _sequencer_value="$2"
  _sequencer_file="${SEQUENCER_DOTENV-.env}"
  if [ -n "$_sequencer_file" ] && [ -r "$_sequencer_file" ]; then
    while IFS= read -r _sequencer_line || [ -n "$_sequencer_line" ]; do
      _sequencer_line="${_sequencer_line%"$_sequencer_cr"}"  # a file saved with CRLF line ends
      _sequencer_line="${_sequencer_line#export }"
      if [ "${_sequencer_line%%=*}" = "$1" ]; then
        _sequencer_value="${_sequencer_line#*=}"
        case "$_sequencer_value" in
          \"*\") _sequencer_value="${_sequencer_value#\"}"; _sequencer_value="${_sequencer_value%\"}" ;;
          \'*\') _sequencer_value="${_sequencer_value#\'}"; _sequencer_value="${_sequencer_value%\'}" ;;
        esac
        # no break: the last line that sets it wins, as Django's reader (django-environ) takes it
      fi
    done < "$_sequencer_file"
  fi
  export "$1=$_sequencer_value"
}
_sequencer_default DATABASE_URL "postgres://postgres@127.0.0.1:5432/sequencer"
_sequencer_default REDIS_URL "redis://127.0.0.1:6379/0"
_sequencer_default SEQUENCER_ENV "development"
unset -f _sequencer_default
unset _sequencer_set _sequencer_value _sequencer_file _sequencer_line _sequencer_cr
