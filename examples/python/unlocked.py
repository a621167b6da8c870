#!/usr/bin/env python3
"""A buyer with no lock: read the count, think, write count - 1.

Several copies started together all read the same count before any of them
writes it back, so tickets are sold twice: lost updates.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "helpers", "python"))
from ticketsim_buyer import Buyer  # noqa: E402


def buy_one(b, think_s):
    """One purchase: read, think, write. Returns what happened."""
    with b.purchase() as p:
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
        time.sleep(think_s)  # another buyer may read the same count now
        with open(b.db, "w") as f:
            json.dump({"count": count - 1}, f)
        p.ok(seat=count)
        return f"bought seat {count}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--think-ms", type=float, default=30)
    args = parser.parse_args()
    b = Buyer()
    b.wait_for_start()
    for _ in range(b.attempts):
        print(buy_one(b, args.think_ms / 1000), flush=True)


if __name__ == "__main__":
    main()
