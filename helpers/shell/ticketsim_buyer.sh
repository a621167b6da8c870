# Report what a shell buyer program does to ticketsim, as JSON lines on fd 3.
#
# POSIX sh; source it:  . "$(dirname "$0")/ticketsim_buyer.sh"
# Without TICKETSIM_EVENTS_FD in the environment every ts_ function writes
# nothing, so the same script runs alone. The lines carry no "t": a shell has
# no monotonic clock, so ticketsim stamps each line when it reads it. Each
# line is written by one printf, so lines of different processes never
# interleave.

# Block until ticketsim releases all copies together (EOF on fd 4).
ts_wait_for_start() {
  if [ -n "${TICKETSIM_START_FD:-}" ]; then
    cat <&4 >/dev/null
    exec 4<&-
  fi
}

# ts_emit_ JSON: one line on fd 3.
ts_emit_() {
  if [ -n "${TICKETSIM_EVENTS_FD:-}" ]; then
    printf '%s\n' "$1" >&3
  fi
}

# A purchase begins.
ts_invoke_buy() { ts_emit_ '{"type":"invoke","f":"buy"}'; }

# ts_ok_buy SEAT: the purchase succeeded; SEAT = the count read before.
ts_ok_buy() { ts_emit_ "{\"type\":\"ok\",\"f\":\"buy\",\"seat\":$1}"; }

# The purchase found no ticket left.
ts_sold_out() { ts_emit_ '{"type":"fail","f":"buy","error":"sold out"}'; }

# ts_fail MESSAGE: the purchase failed and did not happen.
ts_fail() {
  # Control characters become spaces; backslashes and quotes are escaped.
  ts_message_=$(printf '%s' "$1" | tr '\001-\037' '[ *31]' |
    sed 's/\\/\\\\/g; s/"/\\"/g')
  ts_emit_ "{\"type\":\"fail\",\"f\":\"buy\",\"error\":\"$ts_message_\"}"
}

# ts_read VALUE: a read of the count (in a purchase: its read; else a query).
ts_read() { ts_emit_ "{\"type\":\"ok\",\"f\":\"read\",\"value\":$1}"; }

# About to ask for the lock.
ts_lock_wait() { ts_emit_ '{"type":"invoke","f":"lock"}'; }

# Right AFTER acquiring the lock.
ts_locked() { ts_emit_ '{"type":"ok","f":"lock"}'; }

# Right BEFORE releasing the lock.
ts_unlock() { ts_emit_ '{"type":"ok","f":"unlock"}'; }
