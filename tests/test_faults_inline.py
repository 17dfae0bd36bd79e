"""Component.handle decides error faults inline and makes a _Faulted only to hold a request for
a latency fault: the results must be those of a _Faulted for every request."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin import component
from cloudtwin.component import Component, _Faulted

SPEC = """
name: overlap
components:
  web: {type: ec2, count: 4, handler: [{cpu: exp(5ms)}, {call: db.query, retries: 1}]}
  db: {type: rds, engine: postgres, instance_class: db.m5.large}
workloads:
  u: {entry: web, rate: 80/s}
faults:
  - {at: 1m, errors: db, rate: 0.3, duration: 3m}
  - {at: 2m, latency: db, add: 150ms, duration: 2m}
  - {at: 3m, errors: db, rate: 0.5, duration: 2m}
simulate: {duration: 6m}
"""


def _reference(self: Component, req: Any, op: str, done: Any, arg: Any = None) -> None:
    if self.injected:
        _Faulted(self, req, op, done, arg).go()
    else:
        self.serve(req, op, done, arg)


@pytest.mark.python_only
def test_inline_error_faults_match_a_faulted_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    made = [0]
    init = _Faulted.__init__

    def counted(self: _Faulted, *a: Any) -> None:
        made[0] += 1
        init(self, *a)

    monkeypatch.setattr(_Faulted, "__init__", counted)
    fast = cloudtwin.Simulation(cloudtwin.parse_spec(SPEC)).run().data
    inline_made = made[0]
    monkeypatch.setattr(component.Component, "handle", _reference)
    made[0] = 0
    ref = cloudtwin.Simulation(cloudtwin.parse_spec(SPEC)).run().data
    for r in (fast, ref):
        r.pop("wall_s", None)
    assert fast == ref
    db = ref["components"]["db"]
    assert db["errors"] > 1000  # the error faults were drawn
    # a _Faulted per request under a fault in the reference; inline, only while latency is added
    assert made[0] > inline_made > 0
