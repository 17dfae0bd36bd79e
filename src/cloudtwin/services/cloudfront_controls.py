"""CloudFront's edge-wide controls: geo restriction (a viewer whose country the distribution's list
excludes gets 403) and invalidations (the matching behaviors' objects leave every edge cache).

A viewer whose country is unknown is served (assumption). Source: CloudFront Developer Guide,
georestrictions.html (not in aws-facts).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from cloudtwin.request import REJECTED, Done, Request

__all__ = ["geo_refused", "geo_setup", "invalidate"]


def geo_refused(cf: Any, req: Request, done: Done) -> bool:
    """Refuse ``req`` at distribution ``cf`` when its viewer's country is restricted; True if refused."""
    c = getattr(req, "client", None)  # a bare request (a start time) has none
    if c is None or not c.country:
        return False
    allowlist, codes = cf.geo
    if (c.country in codes) == allowlist:
        return False
    t = c.tally
    cf.geo_refused["attack" if t is not None and t.attacker else "legitimate"] += 1
    if t is not None:
        t.block(cf.geo_tally)  # "<name>.geo_restriction", built once
    cf.errors += 1
    done(req, REJECTED)
    return True


def geo_setup(g: Any) -> tuple[tuple[bool, frozenset[str]] | None, dict[str, int]]:
    """``(allowlist?, countries)`` of a ``geo_restriction`` (None: none), and the refusal counters."""
    geo = (g.type == "allowlist", frozenset(g.countries)) if g is not None else None
    return geo, {"attack": 0, "legitimate": 0}


def invalidate(cf: Any, paths: tuple[str, ...]) -> None:
    """Remove the matching behaviors' objects from every edge and the shield of distribution ``cf``."""
    cf.invalidation_paths += len(paths)
    for i, b in enumerate(cf.behaviors):
        if any(fnmatchcase(b.spec.path, p) for p in paths):
            for edge in cf.caches:
                cf.invalidated_objects += edge[i].drop_all()
            if cf.shields is not None:
                cf.shields[i].drop_all()
