#!/usr/bin/env python3
"""A client of `ticketsim serve`'s box office: buys N tickets, one request
each, on one keep-alive connection (so the box office counts it as one
buyer), and prints what it was told.

    python3 box_office_client.py http://127.0.0.1:8080/ 5

Exit 0 when every purchase got an answer (a seat, or sold out); 1 if a
request failed.
"""

import http.client
import json
import sys
import urllib.parse


def main():
    if len(sys.argv) != 3:
        print("usage: box_office_client.py URL PURCHASES", file=sys.stderr)
        return 2
    url = urllib.parse.urlsplit(sys.argv[1])
    purchases = int(sys.argv[2])
    path = "/buy" + ("?" + url.query if url.query else "")
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    failed = 0
    for _ in range(purchases):
        connection.request("POST", path)
        reply = connection.getresponse()
        body = json.loads(reply.read())
        if reply.status == 200:
            print(f"seat {body['seat']}")
        elif reply.status == 409:
            print("sold out")
        else:
            print(f"not sold: {body.get('failed', reply.status)}")
            failed += 1
    connection.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
