# Report what a shell buyer program does to ticketsim, as JSON lines on fd 3.
#
# POSIX sh; source it:  . "$(dirname "$0")/ticketsim_buyer.sh"
# Without TICKETSIM_EVENTS_FD in the environment every ts_ function writes
# nothing, so the same script runs alone. The lines carry no "t": a shell has
# no monotonic clock, so ticketsim stamps each line when it reads it. Each
# line is written by one printf, so lines of different processes never
# interleave.
#
# Whatever a function is given, the line it writes is valid JSON: a count
# that is not a whole number (an empty or half-written file read with tr)
# becomes a failed read, the torn read it is, never a broken line.

# Block until ticketsim releases all copies together (EOF on fd 4). The
# shell's own `read` waits on fd 4, not a child process, so that ticketsim
# sees this very process waiting at the barrier.
ts_wait_for_start() {
  if [ -n "${TICKETSIM_START_FD:-}" ]; then
    while read -r ts_line_ <&4; do :; done
    exec 4<&-
  fi
}

# ts_emit_ JSON: one line on fd 3.
ts_emit_() {
  if [ -n "${TICKETSIM_EVENTS_FD:-}" ]; then
    printf '%s\n' "$1" >&3
  fi
}

# ts_is_count_ TEXT: whether TEXT is a whole number ticketsim takes (an
# optional minus and 1 to 18 digits, no leading zero).
ts_is_count_() {
  [ "$1" = 0 ] && return 0
  ts_digits_=${1#-}
  case $ts_digits_ in
    '' | 0* | *[!0-9]*) return 1 ;;
  esac
  [ "${#ts_digits_}" -le 18 ]
}

# ts_string_ TEXT: TEXT as a JSON string (quotes included) in ts_json_,
# cut to 1000 bytes; control characters and bytes outside ASCII become
# spaces, backslashes and quotes are escaped.
ts_string_() {
  ts_json_=$(printf '%.1000s' "$1" | LC_ALL=C tr -c ' -~' '[ *]' |
    sed 's/\\/\\\\/g; s/"/\\"/g')
  ts_json_="\"$ts_json_\""
}

# A purchase begins.
ts_invoke_buy() { ts_emit_ '{"type":"invoke","f":"buy"}'; }

# ts_ok_buy [SEAT]: the purchase succeeded; SEAT = the count read before.
# Without a SEAT, or with one that is not a whole number, the sale is
# reported without a seat. Call it before ts_unlock: the write happened
# inside the lock.
ts_ok_buy() {
  if ts_is_count_ "${1:-}"; then
    ts_emit_ "{\"type\":\"ok\",\"f\":\"buy\",\"seat\":$1}"
  else
    ts_emit_ '{"type":"ok","f":"buy"}'
  fi
}

# The purchase found no ticket left.
ts_sold_out() { ts_emit_ '{"type":"fail","f":"buy","error":"sold out"}'; }

# ts_fail MESSAGE: the purchase failed and did not happen.
ts_fail() {
  ts_string_ "$1"
  ts_emit_ "{\"type\":\"fail\",\"f\":\"buy\",\"error\":$ts_json_}"
}

# ts_read VALUE: a read of the count (in a purchase: its read; else a
# query). A VALUE that is not a whole number (say "", from an empty file)
# is reported as the read that found no count: a torn read.
ts_read() {
  if ts_is_count_ "$1"; then
    ts_emit_ "{\"type\":\"ok\",\"f\":\"read\",\"value\":$1}"
  else
    ts_read_failed "not a count: \"$1\""
  fi
}

# ts_read_failed MESSAGE: a read that found no count (an empty or garbled
# file): a torn read.
ts_read_failed() {
  ts_string_ "$1"
  ts_emit_ "{\"type\":\"fail\",\"f\":\"read\",\"error\":$ts_json_}"
}

# About to ask for the lock.
ts_lock_wait() { ts_emit_ '{"type":"invoke","f":"lock"}'; }

# Right AFTER acquiring the lock.
ts_locked() { ts_emit_ '{"type":"ok","f":"lock"}'; }

# Right BEFORE releasing the lock (and after ts_ok_buy or ts_sold_out).
ts_unlock() { ts_emit_ '{"type":"ok","f":"unlock"}'; }
