/* A C buyer on ticketsim's shared-memory store: TICKETSIM_DB names a file in
 * /dev/shm holding the count, a little-endian int64 at offset 0.
 *
 *   buyer                       compare-and-swap (correct)
 *   buyer --plain --think-ms N  load, think N ms, store count - 1 (loses
 *                               updates)
 *   buyer --no-events           write no events (to time the store alone)
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ticketsim_buyer.h"

/* Compare-and-swap: replace the count by count - 1 only if it still holds
 * what we read; if another buyer changed it meanwhile, read again. Returns
 * the seat (the count taken), or 0 when sold out. */
static int64_t take_atomic(int64_t* count) {
  int64_t seen = __atomic_load_n(count, __ATOMIC_SEQ_CST);
  while (seen > 0) {
    if (__atomic_compare_exchange_n(count, &seen, seen - 1, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
      return seen;
    }
    /* Failed: `seen` now holds the current count; try again with it. */
  }
  return 0;
}

/* Load, think, store: between the load and the store another buyer may
 * take the same ticket, and one of the two updates is lost. */
static int64_t take_plain(volatile int64_t* count, long think_ms) {
  int64_t seen = *count;
  if (seen <= 0) return 0;
  if (think_ms > 0) {
    struct timespec pause = {think_ms / 1000, (think_ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
  }
  *count = seen - 1;
  return seen;
}

int main(int argc, char** argv) {
  int plain = 0, events = 1;
  long think_ms = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--plain") == 0) {
      plain = 1;
    } else if (strcmp(argv[i], "--no-events") == 0) {
      events = 0;
    } else if (strcmp(argv[i], "--think-ms") == 0 && i + 1 < argc) {
      think_ms = atol(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--plain] [--think-ms N] [--no-events]\n",
              argv[0]);
      return 2;
    }
  }
  ts_init();
  if (!events) ts_events_fd = -1;
  if (strcmp(ts_store, "shm") != 0) {
    fprintf(stderr, "this buyer needs the shm store (TICKETSIM_STORE=shm)\n");
    return 2;
  }
  int fd = open(ts_db, O_RDWR);
  if (fd < 0) {
    perror(ts_db);
    return 1;
  }
  int64_t* count =
      mmap(NULL, sizeof *count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (count == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  close(fd);

  ts_wait_for_start();
  long sold = 0;
  for (long i = 0; i < ts_attempts; ++i) {
    ts_invoke_buy();
    int64_t seat = plain ? take_plain(count, think_ms) : take_atomic(count);
    if (seat > 0) {
      ts_ok_buy(seat);
      ++sold;
    } else {
      ts_sold_out();
    }
  }
  printf("buyer %ld bought %ld of %ld\n", ts_buyer, sold, ts_attempts);
  munmap(count, sizeof *count);
  return 0;
}
