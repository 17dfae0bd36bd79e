"""No live object of a blueprint keeps more instance attributes in its ``__dict__`` than
CPython 3.11 shares between instances (issue 17).

An instance's attribute values sit in a compact array while its class's shared key table has
room (29 names on 3.11); past that the instance gets a full dict of its own, and every
``self.x`` on it, read or write, takes a slower path (about 1.6x the time of an access,
``benchmarks/attributes.py``). Components with many attributes therefore declare ``__slots__``
for what they set; this test fails when a class grows past the limit again.
"""

from __future__ import annotations

import gc
import sys

import pytest
from pydantic import BaseModel

from cloudtwin import Simulation, load_spec
from cloudtwin.blueprints import names

SHARED_KEYS = 29  # the most attribute names a 3.11 instance keeps in its shared-key layout


def _crowded(name: str) -> dict[str, int]:
    spec = load_spec(name)
    sim_spec = spec.simulate.model_copy(update={"duration": 20.0, "requests": None})
    sim = Simulation(spec.model_copy(update={"simulate": sim_spec}))
    sim.run()
    out: dict[str, int] = {}
    for o in gc.get_objects():
        t = type(o)
        if isinstance(o, (type, BaseModel)) or not str(getattr(t, "__module__", "")).startswith("cloudtwin"):
            continue
        d = getattr(o, "__dict__", None)
        if isinstance(d, dict) and len(d) > SHARED_KEYS:
            key = f"{t.__module__}.{t.__qualname__}"
            out[key] = max(out.get(key, 0), len(d))
    del sim
    return out


@pytest.mark.slow
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the shared-key limit measured is CPython 3.11's")
def test_no_blueprint_object_outgrows_the_shared_key_layout() -> None:
    crowded: dict[str, int] = {}
    for name in names():
        for key, n in _crowded(name).items():
            crowded[key] = max(crowded.get(key, 0), n)
    assert crowded == {}, f"instances past {SHARED_KEYS} attributes in __dict__ (give the class __slots__): {crowded}"


@pytest.mark.python_only
def test_a_slotted_component_still_takes_a_handle_set_on_the_instance() -> None:
    """A wrapper (a fault, a security group) replaces ``handle`` on one instance: the
    ``__dict__`` the base class gives still takes it, and the slots hold the rest."""
    from cloudtwin.services.sqs import SQS

    assert "requests" in SQS.__slots__ and "__dict__" not in SQS.__slots__
    spec = load_spec("fan-out")
    sim = Simulation(spec)
    queue = next(c for c in sim.components.values() if isinstance(c, SQS))
    calls: list[str] = []
    queue.handle = lambda req, op, done, arg=None: calls.append(op)  # type: ignore[method-assign]
    queue.handle(None, "send", None)
    assert calls == ["send"] and "handle" in vars(queue) and "requests" not in vars(queue)
