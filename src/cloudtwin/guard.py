"""Filters in front of a component or an instance: what sits between a caller and a service
without being a hop of its own (a web ACL, a security group, a network ACL, a VPC's routes).

A filter is asked before the object it guards does anything with the request, and, if it
checks replies too, again on the way back. Nothing changes for objects without a filter, so
a spec without one runs exactly as before. A filter has:

* ``admit(req)``: None to let the request in, else the error kind the caller gets;
* ``answer(req, err)``: the error kind the caller gets for the reply (a filter on the way
  back, such as a stateless network ACL's outbound rules), or None to pass ``err`` on; only
  called when ``outbound`` is true.

On a component, :func:`install` puts the filter at the head of the component's ``injected``
steps as a ``SCREEN`` step: :meth:`Component.handle <cloudtwin.component.Component.handle>`
asks it before any injected fault, and every inline ``handle`` already sends a request to
``Component.handle`` while ``injected`` is not empty, so an unfiltered request pays nothing
and no object gets a ``handle`` of its own. In front of a fleet's instances the filters are
the fleet's ``screen_plan`` (:meth:`Fleet.screen <cloudtwin.services.fleet.Fleet.screen>`),
asked by :func:`through` from :meth:`Instance.handle
<cloudtwin.services.instance.Instance.handle>`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from cloudtwin.handler import SCREEN, CStep
from cloudtwin.request import Done, Request

if TYPE_CHECKING:
    from cloudtwin.component import Component


class Filter(Protocol):
    outbound: bool

    def admit(self, req: Request) -> str | None: ...

    def answer(self, req: Request, err: str | None) -> str | None: ...


def back_through(flt: Filter, done: Done, req: Request, err: str | None) -> None:
    """A reply passing back through ``flt``: the caller's ``done`` gets ``flt.answer``'s verdict.
    Bound per request as ``partial(back_through, flt, done)`` (made in C: no Python frame to
    make it, one to call it)."""
    done(req, flt.answer(req, err))


def install(obj: Component, flt: Component) -> None:
    """Put ``flt`` (a component with the :class:`Filter` protocol: a web ACL, a security group)
    in front of component ``obj`` (outermost: the last installed is asked first)."""
    st = CStep(SCREEN)
    st.target = flt
    obj.injected.insert(0, st)  # before every filter installed earlier and every injected fault
    obj.accepts_bare = False  # a filter reads the request's source: workloads send whole requests


def through(plan: tuple[tuple[Any, bool, Any], ...], inst: Any, req: Any, done: Done) -> Done | None:
    """Ask each filter of a fleet's ``screen_plan`` in order about ``req`` on its way to instance
    ``inst``: ``(check, per_instance, back)``, where ``check`` takes the instance too when
    ``per_instance`` (the VPC's routes: the instance's subnet) and ``back`` is the filter if
    replies pass back through it. Returns the ``done`` the instance answers (wrapped by each
    ``back``), or None when a filter refused the request (``done`` has had the error)."""
    for check, per_instance, back in plan:
        err = check(req, inst) if per_instance else check(req)
        if err is not None:
            done(req, err)
            return None
        if back is not None:
            done = partial(back_through, back, done)
    return done
