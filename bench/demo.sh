#!/usr/bin/env bash
# A container's whole life, as `make demo` shows it. Uses $MYDOCKER_ROOT.
set -euo pipefail
name="demo-$$"
step() { printf '\n$ %s\n' "$*"; "$@"; }
step mydocker images
step mydocker run -d --name "$name" --network none busybox sh -c 'echo hello from $(hostname); exec sleep 3600'
step mydocker ps
sleep 0.3
step mydocker logs "$name"
printf '\n$ mydocker rm %s    # refused: it is running\n' "$name"
if mydocker rm "$name"; then echo "unexpected: rm of a running container worked"; exit 1; fi
step mydocker stop -t 1 "$name"
step mydocker ps -a
step mydocker rm "$name"
printf '\n$ mydocker run --rm busybox sh -c "exit 3"; echo $?\n'
set +e; mydocker run --rm --network none busybox sh -c 'exit 3'; code=$?; set -e
echo "$code"
[ "$code" = 3 ] || { echo "expected exit code 3"; exit 1; }
step mydocker replay --check
printf '\nThe log of %s, with plain SQL:\n' "$name"
sqlite3 -header -column "${MYDOCKER_ROOT:-/var/lib/mydocker}/mydocker.db" \
  "SELECT version, type, time, json_extract(actor, '\$.command') AS command FROM events
   WHERE stream_id = (SELECT stream_id FROM events WHERE type = 'create'
                      AND json_extract(payload, '\$.name') = '$name') ORDER BY version"
