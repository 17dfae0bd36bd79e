"""cloudtwin: a digital twin for AWS architectures.

Describe an architecture (YAML or Python), simulate it under traffic and faults,
and read latency percentiles, availability, lost sessions and messages, and the
bill it would run up, before anything is deployed::

    import cloudtwin
    arch = cloudtwin.load_spec("simple-web-app")        # a file, or a built-in blueprint
    results = cloudtwin.Simulation(arch, seed=1).run()
    print(results.workload("shoppers")["availability"])

The names below are imported on first use, so ``import cloudtwin`` (and the
command line's start-up) costs only what is used.
"""

from __future__ import annotations

import sys as _sys

if _sys.argv[:1] == ["-m"] or _sys.argv[:1] and _sys.argv[0].rsplit("/", 1)[-1] == "cloudtwin":
    # the command line is starting (python -m cloudtwin, or the cloudtwin script): a Ctrl-C before
    # cloudtwin.entry installs its handler ends the process quietly with 130, as it would after
    # the C module itself: ``signal`` imports ``enum``, long enough for an early Ctrl-C to land in
    import _signal  # type: ignore[import-not-found]  # no stub: the C half of signal
    import os as _os  # already loaded by the interpreter's start-up

    _signal.signal(_signal.SIGINT, lambda *_: _os._exit(130))

import importlib
from typing import TYPE_CHECKING, Any

from cloudtwin.compiled import extend as _extend
from cloudtwin.errors import CloudtwinError, InvariantViolation, Issue, RunRefused, SpecError

_extend(__path__, __name__)  # the compiled layer (make fast), when built and current: before any import of it

if TYPE_CHECKING:
    from cloudtwin.results import Results
    from cloudtwin.simulation import Simulation
    from cloudtwin.spec import Architecture, from_dict, load_spec, parse_spec

__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "CloudtwinError",
    "InvariantViolation",
    "Issue",
    "Results",
    "RunRefused",
    "Simulation",
    "SpecError",
    "__version__",
    "from_dict",
    "load_spec",
    "parse_spec",
    "run",
]

_LAZY = {
    "Results": "cloudtwin.results",
    "Simulation": "cloudtwin.simulation",
    "Architecture": "cloudtwin.spec",
    "from_dict": "cloudtwin.spec",
    "load_spec": "cloudtwin.spec",
    "parse_spec": "cloudtwin.spec",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cloudtwin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def run(spec: str, *, seed: int | None = None, duration: float | None = None,
        requests: int | None = None) -> Results:
    """Load ``spec`` (a path or a blueprint name) and simulate it."""
    from cloudtwin.simulation import Simulation
    from cloudtwin.spec import load_spec

    return Simulation(load_spec(spec), seed=seed, duration=duration, requests=requests).run()
