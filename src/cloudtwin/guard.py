"""Filters in front of a component's ``handle``: what sits between a caller and a service
without being a hop of its own (a web ACL, a network ACL, a geo restriction).

:func:`install` replaces ``obj.handle`` on that one object (a component or an instance) by
a wrapper that asks the filter first. Nothing changes for objects without a filter, so a
spec without one runs exactly as before. A filter has:

* ``admit(req)``: None to let the request in, else the error kind the caller gets;
* ``answer(req, err)``: the error kind the caller gets for the reply (a filter on the way
  back, such as a stateless network ACL's outbound rules), or None to pass ``err`` on; only
  called when ``outbound`` is true;
* optionally ``admit_then(inner, req, op, done, arg)`` (a filter with no outbound check):
  ``admit`` and the wrapper's step in one, the request passed to ``inner`` or refused to
  ``done``; :func:`install` then binds it directly, one Python frame per request fewer.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from cloudtwin.request import Done, Request


class Filter(Protocol):
    outbound: bool

    def admit(self, req: Request) -> str | None: ...

    def answer(self, req: Request, err: str | None) -> str | None: ...


def back_through(flt: Filter, done: Done, req: Request, err: str | None) -> None:
    """A reply passing back through ``flt``: the caller's ``done`` gets ``flt.answer``'s verdict.
    Bound per request as ``partial(back_through, flt, done)`` (made in C: no Python frame to
    make it, one to call it)."""
    done(req, flt.answer(req, err))


def install(obj: Any, flt: Filter) -> None:
    """Put ``flt`` in front of ``obj.handle`` (outermost: the last installed is asked first).

    Whether replies pass back through the filter (``flt.outbound``, a class-level fact) is
    decided here, once, and ``flt.admit`` is bound once, so a request pays one wrapper call."""
    inner = obj.handle
    admit = flt.admit
    admit_then = getattr(flt, "admit_then", None)

    if admit_then is not None and not flt.outbound:
        # the filter passes the request on itself: admit_then(inner, req, op, done, arg), bound
        # with a partial (C-level), so a request pays the filter's one frame and no wrapper's
        obj.handle = partial(admit_then, inner)
        obj.accepts_bare = False
        return
    if flt.outbound:
        def handle(req: Request, op: str, done: Done, arg: Any = None) -> None:
            err = admit(req)
            if err is not None:
                done(req, err)
            else:
                inner(req, op, partial(back_through, flt, done), arg)
    else:
        def handle(req: Request, op: str, done: Done, arg: Any = None) -> None:
            err = admit(req)
            if err is not None:
                done(req, err)
            else:
                inner(req, op, done, arg)

    obj.handle = handle
    obj.accepts_bare = False  # a filter reads the request's source: workloads send whole requests
