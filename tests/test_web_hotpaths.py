"""The per-request shortcuts of the web path (issue 17): each gives what the plain path gives.

- a Histogram's buffer of C doubles (``array("d")``) and the plain list a compiled consumer
  gets from :meth:`Histogram.plain_buffer` bucket, sum and order the same values alike;
- a cross-zone-off load balancer's memo of each client address's node hash, cleared when
  full, picks the same node as hashing the address every time;
- a workload's retries counted on the request (``Request.tries``) still stop at ``retries``.
"""

from __future__ import annotations

import textwrap
from array import array

import numpy as np
import pytest

import cloudtwin
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.services import elb_routing
from cloudtwin.simulation import Simulation


def test_a_double_buffer_and_a_list_buffer_fold_into_the_same_histogram() -> None:
    xs = np.random.default_rng(7).lognormal(-4.0, 1.0, 3 * BATCH + 123).tolist() + [0.0, 1e-12, 5.0]
    a, b = Histogram(), Histogram()
    assert isinstance(a.buffer, array)
    lst = b.plain_buffer()
    assert lst is b.buffer and isinstance(lst, list)
    for x in xs:
        for h, buf in ((a, a.buffer), (b, lst)):
            buf.append(x)  # the inlined record(), as the hot paths write it
            if len(buf) >= BATCH:
                h.flush()
    assert a.to_state() == b.to_state()
    assert a.count == b.count == len(xs)
    assert a.quantiles((0.5, 0.99)) == b.quantiles((0.5, 0.99))


def test_plain_buffer_keeps_the_values_not_yet_folded() -> None:
    h, ref = Histogram(), Histogram()
    for x in (0.5, 0.25, 2.0):
        h.record(x)
        ref.record(x)
    buf = h.plain_buffer()
    assert buf == [0.5, 0.25, 2.0]
    buf.append(1.0)
    ref.record(1.0)
    assert h.to_state() == ref.to_state()
    h.reset()
    assert h.buffer is buf and buf == [] and h.count == 0


def test_a_nan_still_fails_the_flush() -> None:
    h = Histogram()
    h.record(float("nan"))
    with pytest.raises(ValueError, match="finite"):
        h.flush()


NLB_SPEC = """
name: nlb-hash
zones: [a, b, c]
components:
  lb: {type: nlb, targets: app}
  app: {type: ec2, count: 3, zones: [a, b, c], handler: [{cpu: exp(2ms)}]}
workloads:
  users: {entry: lb, rate: 300/s, clients: 500}
faults:
  - {at: 60s, az_outage: b, duration: 60s}
simulate: {duration: 240s, seed: 3}
"""


def test_the_node_hash_memo_cleared_when_full_routes_as_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    arch = cloudtwin.parse_spec(textwrap.dedent(NLB_SPEC))
    full = Simulation(arch).run()
    monkeypatch.setattr(elb_routing, "HASH_MEMO_MAX", 7)  # cleared every 7 new addresses
    sim = Simulation(arch)
    tiny = sim.run()
    assert len(sim.components["lb"].ip_hash) <= 7  # type: ignore[attr-defined]
    assert tiny.deterministic_json() == full.deterministic_json()
    served = full["components"]["app"]["requests"]
    assert served > 60_000  # every request went through the memo (or past it)


RETRY_SPEC = """
name: retry-count
components:
  app: {type: ec2, count: 1, handler: [{cpu: 1ms}]}
workloads:
  users: {entry: app, rate: 50/s, retries: 3, backoff: 10ms}
faults:
  - {at: 30s, errors: app, rate: 1.0, duration: 30s}
simulate: {duration: 90s, seed: 1}
"""


def test_retries_counted_on_the_request_stop_at_the_limit() -> None:
    r = Simulation(cloudtwin.parse_spec(textwrap.dedent(RETRY_SPEC))).run()
    w = r["workloads"]["users"]
    failed = w["errors"]["server_error"]
    assert failed > 1000  # the 30 s of errors: every request sent then fails after its retries
    # each failed request was resent exactly 3 times; the rest needed none (no errors outside the fault)
    edge = w["retries"] - 3 * failed
    assert 0 <= edge <= 3 * 10  # requests straddling the fault's start and end
    assert w["requests"] == w["succeeded"] + w["failed"] + w["in_flight"]
