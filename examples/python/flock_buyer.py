#!/usr/bin/env python3
"""A buyer that holds a file lock (flock on db.lock) around read-think-write.

The kernel lets one process at a time hold an exclusive flock on a file, so
copies take turns: no ticket is sold twice.
"""

import argparse
import fcntl
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "helpers", "python"))
from ticketsim_buyer import Buyer  # noqa: E402


class FileLock:
    """flock() on a file, with the acquire()/release() that b.locked() calls."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self):
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self):
        fcntl.flock(self.fd, fcntl.LOCK_UN)


def buy_one(b, lock, think_s):
    """One purchase under the lock. Returns what happened."""
    with b.purchase() as p, b.locked(lock):
        with open(b.db) as f:
            count = json.load(f)["count"]
        p.read(count)
        if count <= 0:
            p.sold_out()
            return "sold out"
        time.sleep(think_s)  # the others wait for the lock meanwhile
        with open(b.db, "w") as f:
            json.dump({"count": count - 1}, f)
        p.ok(seat=count)
        return f"bought seat {count}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--think-ms", type=float, default=30)
    args = parser.parse_args()
    b = Buyer()
    lock = FileLock("db.lock")
    b.wait_for_start()
    for _ in range(b.attempts):
        print(buy_one(b, lock, args.think_ms / 1000), flush=True)


if __name__ == "__main__":
    main()
