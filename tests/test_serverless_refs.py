"""Answered serverless calls let go of their callers (issue 17).

API Gateway's integration timeout (29 s), a Lambda function's timeout and an SDK call's
timeout each keep a timer per request, and the timer keeps its object (the waiting call,
the invocation, the attempt) until it fires, long after most requests were answered. Once
answered, each object drops what it held of the request (the caller's request and reply
callback, the handler run, the user), so finished requests are freed at once instead of
piling up for the length of the timeout. These tests look at every object still waiting
in a timer at the end of a run.
"""

from __future__ import annotations

from typing import Any

from cloudtwin import Simulation, parse_spec
from cloudtwin.handler import Attempt
from cloudtwin.services.apigateway import _Call
from cloudtwin.services.lambda_runtime import Invocation

SPEC = """
name: refs
zones: [a, b]
components:
  api:
    type: apigateway
    api: rest
    integration: {target: fn, op: invoke}
  fn:
    type: lambda
    memory: 1024
    timeout: 5s
    handler:
      - cpu: 2ms
      - call: items.get
        timeout: 1s
        retries: 2
  items: {type: dynamodb, capacity: on_demand}
workloads:
  w: {entry: api, rate: 200/s}
simulate: {duration: 20s, seed: 3}
"""


def waiting(sim: Simulation) -> list[Any]:
    """The argument of every callback still waiting in one of the engine's timers."""
    return [e[3] for t in sim.engine._timers.values() for e in t._q]


def test_answered_calls_in_timers_hold_no_request() -> None:
    sim = Simulation(parse_spec(SPEC))
    res = sim.run()
    assert res.workload("w")["requests"] > 3000
    args = waiting(sim)
    calls = [a for a in args if isinstance(a, _Call)]
    invs = [a for a in args if isinstance(a, Invocation)]
    atts = [a for a in args if isinstance(a, Attempt)]
    # the last 20 s of requests wait in the 29 s timer, the last 5 s in the function's and
    # the last 1 s in the SDK's: thousands, hundreds and hundreds of objects
    assert len(calls) > 3000 and len(invs) > 500 and len(atts) > 100
    answered = [c for c in calls if not c.live]
    assert len(answered) > 0.95 * len(calls)
    assert all(c.req is None and c.done is None for c in answered)
    ended = [i for i in invs if not i.live]
    assert len(ended) > 0.9 * len(invs)
    assert all(i.req is None and i.done is None and i.user is None for i in ended)
    replied = [a for a in atts if not a.live]
    assert len(replied) > 0.9 * len(atts)
    assert all(a.run is None for a in replied)
    # the ones still waiting for their answer keep what they need to give it
    assert all(c.req is not None and c.done is not None for c in calls if c.live)
    assert all(a.run is not None for a in atts if a.live)
