"""cloudtwin: a digital twin for AWS architectures.

Describe an architecture (YAML or Python), simulate it under traffic and faults,
and read latency percentiles, availability, lost sessions and messages, and the
bill it would run up, before anything is deployed::

    import cloudtwin
    arch = cloudtwin.load_spec("simple-web-app")        # a file, or a built-in blueprint
    results = cloudtwin.Simulation(arch, seed=1).run()
    print(results.workload("shoppers")["availability"])
"""

from cloudtwin.errors import CloudtwinError, InvariantViolation, Issue, RunRefused, SpecError
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


def run(spec: str, *, seed: int | None = None, duration: float | None = None,
        requests: int | None = None) -> Results:
    """Load ``spec`` (a path or a blueprint name) and simulate it."""
    return Simulation(load_spec(spec), seed=seed, duration=duration, requests=requests).run()
