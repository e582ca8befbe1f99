#!/usr/bin/env bash
# respawn.sh COMMAND [ARGS...]: run COMMAND, and run it again 2 s after it exits, for ever.
# `make run`'s process manager (honcho) never restarts a process that exits: a Celery worker
# that died left the console with nothing to build until someone noticed. SIGTERM and SIGINT
# (honcho's stop, Ctrl-C) are passed on to COMMAND and end the loop.
set -u
child=0
stop() {
  trap - TERM INT
  if [ "$child" -ne 0 ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child"
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
