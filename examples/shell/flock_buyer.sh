#!/bin/sh
# A buyer in POSIX sh: flock(1) on db.lock around read-think-write of db.txt.
# Usage: flock_buyer.sh [--think-ms N]   (default: no think)
set -eu
. "$(dirname "$0")/../../helpers/shell/ticketsim_buyer.sh"

think_ms=0
if [ "${1:-}" = --think-ms ]; then think_ms=$2; fi
think=$(printf '%d.%03d' $((think_ms / 1000)) $((think_ms % 1000)))
db=${TICKETSIM_DB:-db.txt}
attempts=${TICKETSIM_ATTEMPTS:-1}

exec 9>>db.lock    # fd 9 stays open on the lock file for the whole run
ts_wait_for_start
i=0
while [ "$i" -lt "$attempts" ]; do
  i=$((i + 1))
  ts_invoke_buy
  ts_lock_wait
  flock 9          # wait for the exclusive lock
  ts_locked
  # db.txt is {"count": N}: keep the digits.
  count=$(tr -cd '0-9' < "$db")
  ts_read "$count"
  # Each outcome is told inside the lock, right after the write: where it
  # happened. Told after `flock -u`, it would lie after the hold.
  if [ "$count" -le 0 ]; then
    ts_sold_out
    ts_unlock
    flock -u 9
    echo "sold out"
    continue
  fi
  [ "$think_ms" = 0 ] || sleep "$think"
  printf '{"count": %d}\n' $((count - 1)) > "$db"
  ts_ok_buy "$count"
  ts_unlock
  flock -u 9
  echo "bought seat $count"
done
