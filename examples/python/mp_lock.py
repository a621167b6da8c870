#!/usr/bin/env python3
"""A buyer whose lock protects nothing: a multiprocessing.Lock of its own.

Each copy is started separately, so each makes its own Lock and is always
alone in it. Copies still read the same count and sell tickets twice, and
ticketsim sees two buyers holding "the" lock at once: a lock overlap.
A multiprocessing.Lock excludes only the processes that share it: ones made
by multiprocessing from the parent that created the lock.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "helpers", "python"))
from ticketsim_buyer import Buyer  # noqa: E402


def buy_one(b, lock, think_s):
    """One purchase under this copy's own lock. Returns what happened."""
    with b.purchase() as p, b.locked(lock):
        try:
            with open(b.db) as f:
                count = json.load(f)["count"]
        except ValueError as e:  # caught another buyer's write half done
            p.read_failed(e)
            p.fail("torn read")
            return "torn read"
        p.read(count)
        if count <= 0:
            p.sold_out()
            return "sold out"
        time.sleep(think_s)
        with open(b.db, "w") as f:
            json.dump({"count": count - 1}, f)
        p.ok(seat=count)
        return f"bought seat {count}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--think-ms", type=float, default=30)
    args = parser.parse_args()
    b = Buyer()
    lock = multiprocessing.Lock()  # this copy's alone: excludes no one
    b.wait_for_start()
    for _ in range(b.attempts):
        print(buy_one(b, lock, args.think_ms / 1000), flush=True)


if __name__ == "__main__":
    main()
