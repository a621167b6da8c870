"""The threading lesson's counter, as the bench times it against ticketsim.

Two threads share a global count of tickets and each makes ATTEMPTS
purchases of one: read the global, and if a ticket is left, write it back
one lower (g_num -= 1), with no lock. Prints what is left; lost updates
leave more than 0.

Usage: python3 g_num.py [THREADS] [ATTEMPTS]
"""

import sys
import threading

g_num = 0


def buy(attempts):
    global g_num
    for _ in range(attempts):
        if g_num > 0:
            g_num -= 1


def main():
    global g_num
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    attempts = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    g_num = threads * attempts
    team = [threading.Thread(target=buy, args=(attempts,))
            for _ in range(threads)]
    for t in team:
        t.start()
    for t in team:
        t.join()
    print(f"g_num = {g_num} (0 if no update was lost)")


if __name__ == "__main__":
    main()
