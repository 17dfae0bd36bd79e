"""Blueprint row 19, "Event Processing": the SQS redrive path and the Lambda async retry path.

SQS -> Lambda: a poison message is received exactly max_receive_count (5) times, 5
visibility timeouts (5 x 30 s) after it was sent, and then sits in the queue's DLQ.
SNS -> Lambda: a poison event is attempted 3 times (at 0, 1 min and 3 min) and then sits in
the function's DLQ. Every message is followed from its send to where it ends; nothing is lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Results, Simulation, load_spec

NAME = "event-processing"


class Watched:
    def __init__(self) -> None:
        arch = load_spec(NAME)
        self.end = arch.simulate.duration or 0.0
        sim = self.sim = Simulation(arch)
        c = sim.components
        self.orders: list[tuple[float, bool]] = []  # (sent at, poison)
        self.events: list[tuple[float, bool]] = []
        self.moved: list[tuple[float, int, float, bool]] = []  # (at, receives, enqueued, poison)
        self.failed: list[tuple[float, int, float, bool]] = []  # (at, attempts, published, poison)
        enter, push = c["orders"]._enter, c["send-notification"].push
        c["orders"]._enter = lambda m, d: (self.orders.append((m.enq, bool(m.attrs))), enter(m, d))[1]
        c["send-notification"].push = lambda m: (self.events.append((m.t0, bool(m.attrs))), push(m))[1]
        for dlq, log, count in (("orders-dlq", self.moved, "receives"), ("notifications-dlq", self.failed, "attempts")):
            take = c[dlq].take_dead

            def spy(m: Any, _take: Any = take, _log: Any = log, _count: str = count, **kw: Any) -> Any:
                enq = m.enq if _count == "receives" else m.t0
                _log.append((sim.engine.now, getattr(m, _count), enq, bool(m.attrs)))
                return _take(m, **kw)

            c[dlq].take_dead = spy
        self.res: Results = sim.run()


@pytest.fixture(scope="module")
def run() -> Watched:
    return Watched()


@pytest.mark.python_only
def test_a_poison_order_is_received_exactly_5_times_then_sits_in_the_dlq(run: Watched) -> None:
    poison = [t for t, p in run.orders if p]
    assert len(poison) > 30
    assert run.moved and all(r == 5 and p for _, r, _, p in run.moved)  # only poison, after 5 receives
    # 5 receives, each followed by a 30 s visibility timeout
    assert all(150.0 - 1e-6 <= t - enq <= 151.0 for t, _, enq, _ in run.moved)
    assert len(run.moved) == sum(1 for t in poison if t < run.end - 151)
    q, dlq = run.res.component("orders"), run.res.component("orders-dlq")
    assert q["dlq_receive_counts"] == {"5": len(run.moved)}
    assert dlq["visible"] == dlq["dead_letters_in"] == len(run.moved)


@pytest.mark.python_only
def test_a_failing_event_is_attempted_3_times_then_goes_to_the_functions_dlq(run: Watched) -> None:
    poison = [t for t, p in run.events if p]
    assert len(poison) > 30
    assert run.failed and all(a == 3 and p for _, a, _, p in run.failed)
    # attempts at 0, 1 min and 3 min [aws-facts §5]; each attempt takes a few hundred ms at most
    assert all(180.0 <= t - t0 <= 185.0 for t, _, t0, _ in run.failed)
    assert len(run.failed) == sum(1 for t in poison if t < run.end - 185)
    fn = run.res.component("send-notification")["async"]
    assert fn["failed_after_attempts"] == {"3": len(run.failed)} and fn["retries"] >= 2 * len(run.failed)
    assert run.res.component("notifications-dlq")["visible"] == len(run.failed)


@pytest.mark.python_only
def test_nothing_is_lost_and_good_messages_are_processed_once(run: Watched) -> None:
    m = run.res["messages"]
    assert m["lost"] == 0 and m["lost_by_cause"] == {} and m["expired"] == 0
    assert m["dead_lettered"] == len(run.moved) + len(run.failed)
    good = sum(1 for _, p in run.orders if not p) + sum(1 for _, p in run.events if not p)
    assert m["delivered"] >= good - 100  # the last seconds' messages are still in flight
    assert m["published"] == m["delivered"] + m["dead_lettered"] + m["in_flight"]
    assert m["duplicates"] < 0.001 * m["delivered"] + 10
    assert all(w["availability"] == 1.0 for w in run.res["workloads"].values())
