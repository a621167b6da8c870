"""Report what your buyer program does to ticketsim, as JSON lines on fd 3.

ticketsim hands a program its setup in TICKETSIM_* environment variables and
reads its events from the file descriptor named by TICKETSIM_EVENTS_FD. Run
without ticketsim (no such variable), every method here still works and
writes nothing, so the same program runs alone.

    from ticketsim_buyer import Buyer

    b = Buyer()
    b.wait_for_start()
    for _ in range(b.attempts):
        with b.purchase() as p:
            count = read_the_count()
            p.read(count)
            if count == 0:
                p.sold_out()
            else:
                write_the_count(count - 1)
                p.ok(seat=count)

Each outcome (p.ok, p.sold_out, p.fail) is written when it is called: under
a lock, call it inside the lock, right after the write, so that it is
stamped where the write happened.

Standard library only, Python 3.9 or later.
"""

import contextlib
import json
import os
import time

__all__ = ["Buyer", "Purchase"]


def _short(error):
    """Error text short enough that its line stays under 4096 bytes, and
    UTF-8 (a file name read with surrogateescape may hold lone surrogates,
    which no JSON reader takes)."""
    text = str(error)[:1000]
    return text.encode("utf-8", "replace").decode("utf-8")


def _count(value):
    """`value` as a count ticketsim takes (a whole number in int64), or
    None: a read of "" or None found no count."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if -(2**63) <= value < 2**63 else None


def _int_env(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Buyer:
    """One buyer: its settings from the environment and its event writer.

    Attributes: attempts (purchases to try), buyer (this copy's number),
    buyers (how many copies), seed, store ("file", "shm" or "sqlite"),
    db (the store's path).
    """

    def __init__(self):
        self.attempts = _int_env("TICKETSIM_ATTEMPTS", 1)
        self.buyer = _int_env("TICKETSIM_BUYER", 0)
        self.buyers = _int_env("TICKETSIM_BUYERS", 1)
        self.seed = _int_env("TICKETSIM_SEED", 0)
        self.store = os.environ.get("TICKETSIM_STORE", "file")
        self.db = os.environ.get("TICKETSIM_DB", "db.txt")
        self._events_fd = _int_env("TICKETSIM_EVENTS_FD", None)
        self._start_fd = _int_env("TICKETSIM_START_FD", None)

    def wait_for_start(self):
        """Block until ticketsim releases all copies together (fd 4 EOF)."""
        if self._start_fd is None:
            return
        while os.read(self._start_fd, 4096):
            pass
        os.close(self._start_fd)
        self._start_fd = None

    def write(self, type_, f, **fields):
        """Write one event line, stamped now, in a single write(2)."""
        if self._events_fd is None:
            return
        event = {"type": type_, "f": f}
        event.update(fields)
        event["t"] = time.monotonic_ns()
        line = json.dumps(event, separators=(",", ":")) + "\n"
        os.write(self._events_fd, line.encode("utf-8"))

    def purchase(self):
        """A context manager for one purchase: `with b.purchase() as p:`."""
        return Purchase(self)

    def query(self, value):
        """Report a read of the count made outside any purchase."""
        self._read(value)

    def _read(self, value):
        """Report a read: of `value` if it is a whole number, else a read
        that found no count (None, "", text): a torn read."""
        count = _count(value)
        if count is None:
            self.write("fail", "read", error=_short(f"not a count: {value!r}"))
        else:
            self.write("ok", "read", value=count)

    @contextlib.contextmanager
    def locked(self, lock, name=None):
        """Hold `lock` for the block, reporting lock and unlock events.

        `lock` is any object with acquire() and release() (a
        multiprocessing.Lock, a threading.Lock, your own adapter), or a pair
        (acquire, release) of callables. `name` tells several locks apart.
        """
        if isinstance(lock, tuple):
            acquire, release = lock
        else:
            acquire, release = lock.acquire, lock.release
        extra = {} if name is None else {"lock": name}
        self.write("invoke", "lock", **extra)
        acquire()
        # Stamped after acquiring: the hold begins only now.
        self.write("ok", "lock", **extra)
        try:
            yield lock
        finally:
            # Stamped before releasing: once released, another buyer may
            # take the lock and stamp its own hold before this line.
            self.write("ok", "unlock", **extra)
            release()


class Purchase:
    """One purchase. Say how it ended with ok(), sold_out() or fail(), each
    written when called: call it where the purchase ends (right after the
    write, inside the lock).

    Leaving the block without saying (or by an exception before saying)
    reports the outcome as unknown ("info"); an exception is raised again.
    """

    def __init__(self, buyer):
        self._buyer = buyer
        self._told = False

    def __enter__(self):
        self._buyer.write("invoke", "buy")
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._told:
            return False
        if exc_type is not None:
            error = _short(f"{exc_type.__name__}: {exc}")
            self._buyer.write("info", "buy", error=error)
        else:
            self._buyer.write("info", "buy", error="no outcome given")
        return False  # never swallow the exception

    def _tell(self, type_, **fields):
        if self._told:
            raise RuntimeError("this purchase's outcome was already given")
        self._told = True
        self._buyer.write(type_, "buy", **fields)

    def ok(self, seat=None, read=None):
        """The ticket was bought; seat is the count read before writing.
        A seat or read that is not a whole number is left out."""
        fields = {}
        if _count(seat) is not None:
            fields["seat"] = seat
        if _count(read) is not None:
            fields["read"] = read
        self._tell("ok", **fields)

    def sold_out(self):
        """There was no ticket left."""
        self._tell("fail", error="sold out")

    def fail(self, error):
        """The purchase failed and did not happen (error: why)."""
        self._tell("fail", error=_short(error))

    def read(self, value):
        """Report the count this purchase read. A value that is not a whole
        number (None, "", text) is reported as a read that found no count:
        a torn read."""
        self._buyer._read(value)

    def read_failed(self, error):
        """Report a read that found no count (an empty or garbled file)."""
        self._buyer.write("fail", "read", error=_short(error))
