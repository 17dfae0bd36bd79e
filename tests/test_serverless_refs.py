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


def slots(sim: Simulation) -> list[Any]:
    """What every entry still waiting in one of the engine's timers holds (None: a cancelled one)."""
    return [None if c is None else c[1] for t in sim.engine._timers.values() for c in t._cbs[t._g:]]


def test_answered_calls_in_timers_hold_no_request() -> None:
    sim = Simulation(parse_spec(SPEC))
    res = sim.run()
    assert res.workload("w")["requests"] > 3000
    held = slots(sim)
    # the last 20 s of requests wait in the 29 s timer, the last 5 s in the function's and
    # the last 1 s in the SDK's: thousands of slots, each still an event at its due time
    assert len(held) > 4000
    # an answer cancels its timeout: the timer lets go of the object (a cancelled head too:
    # its heap entry carries no argument)
    args = [a for a in held if a is not None]
    assert len(args) < 0.05 * len(held)
    calls = [a for a in args if isinstance(a, _Call)]
    invs = [a for a in args if isinstance(a, Invocation)]
    atts = [a for a in args if isinstance(a, Attempt)]
    assert len(calls) + len(invs) + len(atts) == len(args)
    # the ones still waiting for their answer keep what they need to give it
    assert all(c.req is not None and c.done is not None for c in calls if c.live)
    assert all(a.run is not None for a in atts if a.live)
    # and every answered object drops the caller's request, wherever it is still referenced
    assert all(c.req is None and c.done is None for c in calls if not c.live)
    assert all(i.req is None and i.done is None and i.user is None for i in invs if not i.live)
    assert all(a.run is None for a in atts if not a.live)
