#!/usr/bin/env bash
# respawn.sh COMMAND [ARGS...]: run COMMAND, and run it again 2 s after it exits, for ever.
# `make run`'s process manager (honcho) never restarts a process that exits: a Celery worker
# that died left the console with nothing to build until someone noticed. SIGTERM and SIGINT
# (honcho's stop, Ctrl-C) are passed on to COMMAND and end the loop.
set -u
child=0
stop() {
  trap - TERM INT
  # Every background job, not only "$child": a signal that lands between starting the command
  # and storing its pid found child=0 and left the command running on its own (seen under load).
  local running
  running=$(jobs -p)
  if [ -n "$running" ]; then
    # shellcheck disable=SC2086  # one pid per word
    kill -TERM $running 2>/dev/null
    wait
  fi
  exit 0
}
trap stop TERM INT
while true; do
  "$@" &
  child=$!
  wait "$child"
  status=$?
  echo "respawn: $1 exited with status $status; starting it again in 2 s" >&2
  sleep 2 &
  wait $!
done
