"""Handler steps for the DSL: ``cpu``, ``sleep`` and ``call``, as the spec's step entries.

A duration may be the spec's text (``"exp(16ms)"``, ``"5ms"``), a number of seconds, or a
Python callable ``fn(rng) -> seconds`` drawing from the step's own random stream (a numpy
``Generator``), so a handler's cost can follow any model the user writes; the run stays
deterministic for a seed as long as ``fn`` draws only from ``rng``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cloudtwin.engine.sampling import Distribution, python_distribution

__all__ = ["call", "cpu", "sleep"]

Draw = Callable[[np.random.Generator], float]


def _duration(value: str | float | Draw | Distribution) -> Any:
    if callable(value) and not isinstance(value, Distribution):
        name = getattr(value, "__qualname__", None) or repr(value)
        return python_distribution(value, f"python:{name}")
    return value


def cpu(value: str | float | Draw) -> dict[str, Any]:
    """CPU time on the instance (a worker slot is held)."""
    return {"cpu": _duration(value)}


def sleep(value: str | float | Draw) -> dict[str, Any]:
    """Waiting without holding a worker slot (I/O, a third-party call not modelled)."""
    return {"sleep": _duration(value)}


def call(target: Any, op: str = "", **keys: Any) -> dict[str, Any]:
    """A synchronous call of another component (``op`` as the spec's ``target.op``); other keys
    are the call step's (``timeout``, ``retries``, ``key``, ``on_miss``...)."""
    from cloudtwin.dsl.model import Component

    name = target.name if isinstance(target, Component) else str(target)
    return {"call": f"{name}.{op}" if op else name, **keys}
