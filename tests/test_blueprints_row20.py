"""Blueprint row 20, "Fan Out Pattern": SNS -> 3 SQS queues, each drained by its own function.

Every queue receives every published message, and the deliberately slow analytics consumer
does not slow billing or shipping: their end-to-end latencies (publish to processed) are the
same, draw for draw, as in a run where analytics keeps up.
"""

from __future__ import annotations

import pytest

from cloudtwin import Results, Simulation, load_spec

NAME = "fan-out"
QUEUES = ("billing", "shipping", "analytics")


def run_blueprint(fast_analytics: bool = False) -> Results:
    arch = load_spec(NAME)
    if fast_analytics:
        comps = dict(arch.components)
        fn = comps["analyse"]
        comps["analyse"] = fn.model_copy(update={
            "handler": comps["bill"].handler,
            "event_sources": [fn.event_sources[0].model_copy(update={"maximum_concurrency": None})]})
        arch = arch.model_copy(update={"components": comps})
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def slow() -> Results:
    return run_blueprint()


def test_every_queue_receives_every_message(slow: Results) -> None:
    topic = slow.component("orders")
    n = topic["publishes"]
    assert n > 20_000
    for sub, q in zip(topic["subscriptions"], QUEUES, strict=True):
        assert sub["target"] == q and sub["matched"] == n
        in_transit = n - sub["delivered"]  # published in the last ~100 ms, not yet delivered
        assert 0 <= in_transit <= 10 and slow.component(q)["sent"] == sub["delivered"]
    m = slow["messages"]
    assert m["published"] == 3 * n and m["lost"] == 0 and m["dead_lettered"] == 0 and m["expired"] == 0


def test_the_slow_consumer_backs_up_alone(slow: Results) -> None:
    e2e = {q: slow.component(q)["end_to_end_ms"] for q in QUEUES}
    assert e2e["billing"]["p99"] < 500 and e2e["shipping"]["p99"] < 500
    analytics = slow.component("analytics")
    assert analytics["visible"] > 10_000 and e2e["analytics"]["p50"] > 60_000
    # at most 2 batches of 10 x 300 ms at a time: about 6.7 messages/s of 20
    assert slow.component("analytics")["delivered"] == pytest.approx(20 * 60 * 20 / 3, rel=0.05)
    for q in ("billing", "shipping"):
        assert slow.component(q)["visible"] + slow.component(q)["in_flight"] < 20


def test_a_slow_consumer_does_not_slow_the_others(slow: Results) -> None:
    fast = run_blueprint(fast_analytics=True)
    assert fast.component("analytics")["end_to_end_ms"]["p99"] < 500
    for q in ("billing", "shipping"):
        assert fast.component(q)["end_to_end_ms"] == slow.component(q)["end_to_end_ms"]
        assert fast.component(q)["delivered"] == slow.component(q)["delivered"]
