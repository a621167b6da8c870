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
#ifndef TICKETSIM_HELPERS_C_TICKETSIM_BUYER_H_
#define TICKETSIM_HELPERS_C_TICKETSIM_BUYER_H_

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

/* CLOCK_MONOTONIC in nanoseconds. <time.h> declares clock_gettime only if
 * the first system header a file includes already saw POSIX asked for; a
 * file compiled with -std=c99 that included one before this header did not,
 * and no later #define can ask again. There the call is declared here,
 * under a name of its own bound to the C library's clock_gettime, with
 * Linux's CLOCK_MONOTONIC (1) and the layout of its struct timespec. */
#ifdef CLOCK_MONOTONIC
static inline long long ts_now_ns_(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}
#else
struct ts_timespec_ {
  time_t tv_sec;
  long tv_nsec;
};
extern int ts_clock_gettime_(int clock,
                             struct ts_timespec_* now) __asm__("clock_gettime");
static inline long long ts_now_ns_(void) {
  struct ts_timespec_ now;
  ts_clock_gettime_(1 /* CLOCK_MONOTONIC */, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}
#endif

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

/* The length of the well-formed UTF-8 character at `s` (1 to 4), or 0 if
 * none starts there: ticketsim refuses a line that is not UTF-8. */
static inline size_t ts_utf8_length_(const unsigned char* s) {
  size_t n, i;
  if (s[0] < 0x80) return 1;
  n = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
      : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
      : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                     : 0;
  for (i = 1; i < n; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
  }
  /* No overlong forms, no surrogates, nothing above U+10FFFF. */
  if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
      (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F)) {
    return 0;
  }
  return n;
}

/* Copies `text` into `out` as a JSON string (quotes included), cut short
 * if needed so it fits in `size` bytes; a byte that is not part of a
 * UTF-8 character becomes '?'. */
static inline void ts_json_string_(const char* text, char* out, size_t size) {
  const unsigned char* c = (const unsigned char*)text;
  size_t at = 0, n;
  out[at++] = '"';
  while (*c != '\0' && at + 8 < size) {
    if (*c == '"' || *c == '\\') {
      out[at++] = '\\';
      out[at++] = (char)*c++;
    } else if (*c == '\n') {
      out[at++] = '\\';
      out[at++] = 'n';
      ++c;
    } else if (*c < 0x20) {
      at += (size_t)snprintf(out + at, size - at, "\\u%04x", *c++);
    } else if ((n = ts_utf8_length_(c)) == 0) {
      out[at++] = '?';
      ++c;
    } else {
      memcpy(out + at, c, n);
      at += n;
      c += n;
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

/* A read that found no count (an empty or half-written file, text that is
 * not a number): a torn read. `error` says what it found. */
static inline void ts_read_failed(const char* error) {
  char text[1024];
  char fields[1100];
  ts_json_string_(error, text, sizeof text);
  snprintf(fields, sizeof fields, ",\"error\":%s", text);
  ts_emit_("fail", "read", fields);
}

/* About to ask for the lock. */
static inline void ts_lock_wait(void) { ts_emit_("invoke", "lock", ""); }

/* Call right AFTER acquiring the lock: the hold begins now. */
static inline void ts_locked(void) { ts_emit_("ok", "lock", ""); }

/* Call right BEFORE releasing the lock: once it is released, another buyer
 * may take it and report its hold before this line would be stamped. */
static inline void ts_unlock(void) { ts_emit_("ok", "unlock", ""); }

#endif /* TICKETSIM_HELPERS_C_TICKETSIM_BUYER_H_ */
