/* Report what a C buyer program does to ticketsim, as JSON lines on fd 3.
 *
 * Header only, C99 (also compiles as C++). Call ts_init() once; without
 * TICKETSIM_EVENTS_FD in the environment every ts_ call below writes nothing,
 * so the same program runs alone.
 *
 *   ts_init();
 *   ts_wait_for_start();
 *   for (long i = 0; i < ts_attempts; ++i) {
 *     ts_invoke_buy();
 *     long long seat = take_a_ticket();   // your code
 *     if (seat > 0) ts_ok_buy(seat); else ts_sold_out();
 *   }
 *
 * Each event is one line built in a stack buffer and written with a single
 * write(2), so lines of different processes never interleave. Its "t" is
 * CLOCK_MONOTONIC in nanoseconds.
 */
#ifndef TICKETSIM_BUYER_H_
#define TICKETSIM_BUYER_H_

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Settings from the environment, filled in by ts_init(). */
static long ts_attempts = 1; /* purchases to try (TICKETSIM_ATTEMPTS) */
static long ts_buyer = 0;    /* this copy's number (TICKETSIM_BUYER) */
static long ts_buyers = 1;   /* how many copies (TICKETSIM_BUYERS) */
static long ts_seed = 0;     /* TICKETSIM_SEED */
static const char* ts_store = "file"; /* "file", "shm" or "sqlite" */
static const char* ts_db = "db.txt";  /* the store's path (TICKETSIM_DB) */
static int ts_events_fd = -1;         /* -1: write no events */
static int ts_start_fd = -1;          /* -1: no start barrier */

static inline long ts_env_long_(const char* name, long fallback) {
  const char* value = getenv(name);
  return value != NULL && *value != '\0' ? strtol(value, NULL, 10) : fallback;
}

/* Reads the TICKETSIM_* variables into the ts_ settings above. */
static inline void ts_init(void) {
  const char* value;
  ts_attempts = ts_env_long_("TICKETSIM_ATTEMPTS", 1);
  ts_buyer = ts_env_long_("TICKETSIM_BUYER", 0);
  ts_buyers = ts_env_long_("TICKETSIM_BUYERS", 1);
  ts_seed = ts_env_long_("TICKETSIM_SEED", 0);
  if ((value = getenv("TICKETSIM_STORE")) != NULL) ts_store = value;
  if ((value = getenv("TICKETSIM_DB")) != NULL) ts_db = value;
  ts_events_fd = (int)ts_env_long_("TICKETSIM_EVENTS_FD", -1);
  ts_start_fd = (int)ts_env_long_("TICKETSIM_START_FD", -1);
}

/* Blocks until ticketsim releases all copies together (EOF on fd 4). */
static inline void ts_wait_for_start(void) {
  char buffer[256];
  ssize_t got;
  if (ts_start_fd < 0) return;
  do {
    got = read(ts_start_fd, buffer, sizeof buffer);
  } while (got > 0 || (got < 0 && errno == EINTR));
  close(ts_start_fd);
  ts_start_fd = -1;
}

static inline long long ts_now_ns_(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* Writes `{"type":TYPE,"f":F<fields>,"t":now}` with one write(2); `fields`
 * is either empty or starts with a comma. */
static inline void ts_emit_(const char* type, const char* f,
                            const char* fields) {
  char line[4096];
  int length;
  if (ts_events_fd < 0) return;
  length = snprintf(line, sizeof line,
                    "{\"type\":\"%s\",\"f\":\"%s\"%s,\"t\":%lld}\n", type, f,
                    fields, ts_now_ns_());
  if (length <= 0 || length >= (int)sizeof line) return;
  while (write(ts_events_fd, line, (size_t)length) < 0 && errno == EINTR) {
  }
}

/* Copies `text` into `out` as a JSON string (quotes included), cut short
 * if needed so it fits in `size` bytes. */
static inline void ts_json_string_(const char* text, char* out, size_t size) {
  size_t at = 0;
  out[at++] = '"';
  for (; *text != '\0' && at + 8 < size; ++text) {
    unsigned char c = (unsigned char)*text;
    if (c == '"' || c == '\\') {
      out[at++] = '\\';
      out[at++] = (char)c;
    } else if (c == '\n') {
      out[at++] = '\\';
      out[at++] = 'n';
    } else if (c < 0x20) {
      at += (size_t)snprintf(out + at, size - at, "\\u%04x", c);
    } else {
      out[at++] = (char)c;
    }
  }
  out[at++] = '"';
  out[at] = '\0';
}

/* A purchase begins. */
static inline void ts_invoke_buy(void) { ts_emit_("invoke", "buy", ""); }

/* The purchase succeeded; seat = the count read before decrementing. */
static inline void ts_ok_buy(long long seat) {
  char fields[64];
  snprintf(fields, sizeof fields, ",\"seat\":%lld", seat);
  ts_emit_("ok", "buy", fields);
}

/* The purchase found no ticket left. */
static inline void ts_sold_out(void) {
  ts_emit_("fail", "buy", ",\"error\":\"sold out\"");
}

/* The purchase failed and did not happen; `error` says why. */
static inline void ts_fail(const char* error) {
  char text[1024];
  char fields[1100];
  ts_json_string_(error, text, sizeof text);
  snprintf(fields, sizeof fields, ",\"error\":%s", text);
  ts_emit_("fail", "buy", fields);
}

/* The purchase's outcome is unknown. */
static inline void ts_info(void) {
  ts_emit_("info", "buy", ",\"error\":\"unknown outcome\"");
}

/* A read of the count (inside a purchase: its read; outside: a query). */
static inline void ts_read(long long value) {
  char fields[64];
  snprintf(fields, sizeof fields, ",\"value\":%lld", value);
  ts_emit_("ok", "read", fields);
}

/* About to ask for the lock. */
static inline void ts_lock_wait(void) { ts_emit_("invoke", "lock", ""); }

/* Call right AFTER acquiring the lock: the hold begins now. */
static inline void ts_locked(void) { ts_emit_("ok", "lock", ""); }

/* Call right BEFORE releasing the lock: once it is released, another buyer
 * may take it and report its hold before this line would be stamped. */
static inline void ts_unlock(void) { ts_emit_("ok", "unlock", ""); }

#endif /* TICKETSIM_BUYER_H_ */
