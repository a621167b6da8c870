#!/usr/bin/env python3
"""A ticket rush in one program: ten processes buy from db.txt at once.

The parent makes one multiprocessing.Lock and starts the buyer processes,
which inherit it, so it excludes them from each other. Each buyer first
looks at how many tickets are left (without the lock: only a look), then
buys: inside the lock it reads the count, thinks, and writes count - 1.
With --no-lock every buyer reads the same count and they all buy the same
seat. The parent calls no join(): its own code ends once the buyers are
started (multiprocessing still waits for them as the interpreter exits).
"""

import argparse
import json
import multiprocessing
import os
import time


def say(text):
    """Print a line with one write, so lines of different buyers never mix."""
    os.write(1, (text + "\n").encode())


def get_count():
    """The tickets left in db.txt."""
    with open("db.txt") as f:
        return json.load(f)["count"]


def set_count(count):
    """Write the tickets left to db.txt.

    The new file is written beside it and renamed over it, so a look at the
    count never finds a half-written file.
    """
    temp = f"db.txt.{os.getpid()}"
    with open(temp, "w") as f:
        json.dump({"count": count}, f)
    os.replace(temp, "db.txt")


def buy(think_s):
    """Read the count, think, and take a ticket if there is one left."""
    count = get_count()
    time.sleep(think_s)  # deciding: everyone else can read the count now
    if count > 0:
        set_count(count - 1)
        say(f"bought a ticket (seat {count})")
    else:
        say("sold out")


def buyer(lock, think_s, use_lock):
    """One buyer process: a look at the count, then a purchase."""
    say(f"tickets left: {get_count()}")
    if use_lock:
        with lock:
            buy(think_s)
    else:
        buy(think_s)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--think-ms", type=float, default=50)
    parser.add_argument("--no-lock", action="store_true")
    args = parser.parse_args()
    lock = multiprocessing.Lock()
    for _ in range(args.processes):
        multiprocessing.Process(
            target=buyer, args=(lock, args.think_ms / 1000, not args.no_lock)
        ).start()


if __name__ == "__main__":
    main()
