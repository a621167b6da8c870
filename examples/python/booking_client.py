#!/usr/bin/env python3
"""A booking client: each run makes one purchase, then exits.

Exit 0 and print the seat when a ticket was bought; exit 3 and print
"sold out" when there was none. The file lock on db.lock makes each run's
read-and-write one step for the other runs.
"""

import fcntl
import json
import sys


def main():
    with open("db.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        with open("db.txt") as f:
            count = json.load(f)["count"]
        if count <= 0:
            print("sold out")
            return 3
        with open("db.txt", "w") as f:
            json.dump({"count": count - 1}, f)
    print(f"seat {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
