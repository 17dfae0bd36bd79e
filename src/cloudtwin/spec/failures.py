"""Random failures: instances and nodes that fail at random by a mean time between failures.

``failures: {asg: {mtbf: 2000h}, db: {mtbf: 8760h}}``: a key is a component type (every
component of that type) or a component's name (that one; it wins over its type). AWS publishes
no MTBF for its instances, so every value here is the user's assumption. What a failure does to
each type is in :mod:`cloudtwin.failures`.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from pydantic import Field

from cloudtwin.spec.base import Duration, Model

if TYPE_CHECKING:
    from cloudtwin.spec.schema import Architecture

Path = tuple[str | int, ...]
TYPES = ("ec2", "asg", "ecs", "rds", "aurora", "elasticache")  # the types whose instances can fail


class Failure(Model):
    """How often one instance (node, task) of a type or component fails, on average."""

    mtbf: Duration = Field(gt=0)


def check(arch: Architecture) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for key in arch.failures:
        path = ("failures", key)
        if key in comps:
            if comps[key].type not in TYPES:
                out.append((path, f"{key!r} is {comps[key].type}; instances fail only in {', '.join(TYPES)}"))
        elif key in TYPES:
            if not any(c.type == key for c in comps.values()):
                out.append((path, f"the spec has no {key} component"))
        else:
            close = difflib.get_close_matches(key, [*comps, *TYPES], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append((path, f"{key!r} is neither a component nor a type whose instances fail{hint} "
                        f"(types: {', '.join(TYPES)})"))
    return out


def mtbf_of(arch: Architecture, name: str) -> float | None:
    """The MTBF of component ``name``'s instances: its own entry, else its type's; None: none."""
    f = arch.failures.get(name) or arch.failures.get(arch.components[name].type)
    return None if f is None else f.mtbf
