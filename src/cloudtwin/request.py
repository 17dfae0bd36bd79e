"""Requests, clients and sessions: the things that flow through a simulation.

A :class:`Request` is one synchronous request from a workload. Components pass
it along and report back through a ``done(req, err)`` callback, where ``err`` is
``None`` on success or one of the failure kinds below. Nothing is kept per
request once it has finished: metrics are streamed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

# Failure kinds, exactly the keys of the results contract.
TIMEOUT: Final = "timeout"
THROTTLED: Final = "throttled"
UNAVAILABLE: Final = "unavailable"
REJECTED: Final = "rejected"
SERVER_ERROR: Final = "server_error"
SESSION_LOST: Final = "session_lost"
ERROR_KINDS = (TIMEOUT, THROTTLED, UNAVAILABLE, REJECTED, SERVER_ERROR, SESSION_LOST)

Done = Callable[["Request", str | None], None]


class Client:
    """One user agent: its IP, its resolver cache and its cookies."""

    __slots__ = ("ip", "dns", "cookies", "uid", "country", "tally")

    def __init__(self, ip: str, uid: int = -1, country: str = "", tally: Any = None) -> None:
        self.ip = ip
        self.uid = uid  # the user behind this agent (the workload's client number); -1 unknown
        self.country = country  # ISO 3166 alpha-2 of its address ("" unknown): WAF geo match
        self.tally = tally  # where a block counts it (cloudtwin.origins.Tally: legitimate or attacker)
        self.dns: dict[str, tuple[float, Any]] = {}  # name -> (expires_at, resolved address)
        self.cookies: dict[str, Any] = {}  # load balancer name -> sticky target


class Session:
    """A user's visit: ``remaining`` requests separated by think time."""

    __slots__ = ("sid", "client", "remaining", "home", "has_state", "lost", "mode", "store", "cookie_ok")

    def __init__(self, sid: int, client: Client, remaining: int, mode: str, store: Any = None,
                 cookie_ok: bool = True) -> None:
        self.sid = sid
        self.client = client
        self.remaining = remaining
        self.mode = mode  # where the state lives: instance | elasticache | cookie | none
        self.store = store  # the cache component for mode elasticache
        self.cookie_ok = cookie_ok  # False when the cookie is over the 4 KB browsers keep
        self.home: Any = None  # the instance holding in-memory state, if any
        self.has_state = False
        self.lost = False


class Request:
    """One synchronous request, from the workload's point of view. :func:`new_request` makes
    one as ``Request(t0, client, session)`` does, cheaper (the workloads' arrival paths). The
    defaults make a blank one: what ``Request.__new__`` gives when compiled (it runs
    ``__init__``), before the fields are set."""

    # ``tries``: a workload's resends of it so far (an SDK's retries), set on the first resend
    # only and read with getattr(req, "tries", 0), so a request that is never retried pays nothing
    __slots__ = ("t0", "client", "session", "finished", "via", "user", "tries")
    tries: int

    def __init__(self, t0: float = 0.0, client: Client | None = None, session: Session | None = None) -> None:
        self.t0 = t0
        self.client = client
        self.session = session
        self.finished: bool | str = False  # True when answered, TIMED_OUT when the client gave up
        self.via: Any = None  # a proxy in front (CloudFront, ALB) whose IP the next hop sees
        # who the request acts for: (caller's user id, id of the user whose data it addresses),
        # set by an authenticated workload or a sign-up; None when anonymous
        self.user: tuple[int, int] | None = None

    @property
    def src_ip(self) -> str:
        """The source IP the current hop sees: the proxy's, else the client's."""
        if self.via is not None:
            return str(self.via)
        return self.client.ip if self.client is not None else ""


_new: Final = Request.__new__  # object.__new__ interpreted; compiled, the class's own (__init__'s defaults)


def new_request(t0: float, client: Client | None, session: Session | None) -> Request:
    """``Request(t0, client, session)``, with the fields set here instead of by a Python
    ``__init__`` behind a class call (the dearer way, once per request). Keep in step with
    :meth:`Request.__init__` and with the copies inlined in
    :class:`cloudtwin.workloads.WorkloadRun` (``_arrive_client``, ``_go_client``,
    ``_next_in_session``)."""
    r: Request = _new(Request)
    r.t0 = t0
    r.client = client
    r.session = session
    r.finished = False
    r.via = None
    r.user = None
    return r


class Batch:
    """One call carrying ``n`` entries through a batch API (SendMessageBatch, PutRecords...):
    the service makes one API call of them and reports the entries that failed. ``arg`` is what
    one entry would have been called with (a message factory, a key); ``keys``, when given,
    draws each entry's own key instead."""

    __slots__ = ("n", "arg", "keys")

    def __init__(self, n: int, arg: Any, keys: Any = None) -> None:
        self.n = n
        self.arg = arg
        self.keys = keys

    def entry(self) -> Any:
        """What the next entry is called with."""
        return self.keys() if self.keys is not None else self.arg


class BatchStats:
    """A service's batch calls: how many, their entries, and the entries that failed."""

    __slots__ = ("calls", "entries", "failed")

    def __init__(self) -> None:
        self.calls = self.entries = self.failed = 0

    def record(self, n: int, failed: int) -> None:
        self.calls += 1
        self.entries += n
        self.failed += failed

    def stats(self) -> dict[str, int]:
        return {"calls": self.calls, "entries": self.entries, "failed_entries": self.failed}
