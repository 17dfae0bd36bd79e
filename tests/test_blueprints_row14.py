"""Blueprint row 14, "Microservice": a synchronous REST chain against the same services behind a queue.

Both blueprints have the same faults: the orders service fails 2 % of its work on its own, and
payments answers 5xx from minute 10 to minute 20 of a 30-minute run.

microservices-sync: every user request during the outage fails (the outage cascades through
orders and the front to the user), and over the run the user's availability is the product of
the tiers' availabilities, each measured where its failures start (0.98 x 2/3 = 0.653), well
below the weakest tier's. Orders' retries recover nothing and triple the load on payments.

microservices-async: the user sees no error at all; the queue's backlog grows by the outage's
orders and drains within minutes of recovery; nothing is lost or dead-lettered. A redrive
budget shorter than the outage (visibility 30 s x 5 receives) dead-letters the outage's orders.
The price of the queue: its backlog is retried against the failing payments service each
visibility timeout, about 3x the failed calls of the synchronous chain.
"""

from __future__ import annotations

import pytest

from cloudtwin import Results, Simulation, load_spec

SYNC, ASYNC = "microservices-sync", "microservices-async"
RATE = 25.0  # orders per second in both blueprints
OUT0, OUT1, END = 10, 20, 30  # the payments outage, in minutes, and the run's end


def _share(errors: list[float], requests: list[float], minutes: range) -> float:
    return sum(errors[m] for m in minutes) / sum(requests[m] for m in minutes)


@pytest.fixture(scope="module")
def sync() -> Results:
    return Simulation(load_spec(SYNC)).run()


@pytest.fixture(scope="module")
def asyn() -> Results:
    return Simulation(load_spec(ASYNC)).run()


# ---- microservices-sync -----------------------------------------------------------------------
def test_the_payments_outage_cascades_to_every_user_request(sync: Results) -> None:
    s = sync["series"]["workloads"]["users"]
    err, req = s["errors"], s["requests"]
    assert len(req) == END
    inside = _share(err, req, range(OUT0 + 1, OUT1))  # whole minutes inside the outage
    assert inside == 1.0
    assert _share(err, req, range(OUT0, OUT0 + 1)) > 0.98  # requests still in flight at 10:00 succeed
    outside = _share(err, req, range(0, OUT0)), _share(err, req, range(OUT1 + 1, END))
    assert all(0.01 < x < 0.03 for x in outside)  # only orders' own 2 %
    users = sync.workload("users")
    share = (OUT1 - OUT0) / END
    # user-visible errors = the outage window's share + orders' 2 % of the rest
    assert 1 - users["availability"] == pytest.approx(share + 0.02 * (1 - share), abs=0.006)
    assert users["errors"]["server_error"] == users["failed"]
    # every tier above payments fails the same requests: the failure travels up the chain
    c = sync["components"]
    assert c["web-lb"]["errors"] == users["failed"]
    assert c["web"]["errors"] >= c["orders-lb"]["errors"] - 5 >= c["orders"]["errors"] > 0.3 * users["requests"]


def test_the_chain_multiplies_the_tiers_availabilities(sync: Results) -> None:
    c = sync["components"]
    # Each tier's own availability, counting only the failures that start in it. The front does
    # not retry, so each failed orders-lb request is one failed front request; orders' only
    # fallible step is the payments call, so each failed orders request is one payments failure.
    front = 1 - (c["web-lb"]["errors"] - c["orders-lb"]["errors"]) / c["web-lb"]["requests"]
    orders = 1 - (c["orders-lb"]["errors"] - c["orders"]["errors"]) / c["orders-lb"]["requests"]
    payments = 1 - c["orders"]["errors"] / c["orders"]["requests"]  # as orders sees it, retries included
    assert front == pytest.approx(1.0, abs=2e-4)
    assert orders == pytest.approx(0.98, abs=0.003)  # its own 2 % bug
    assert payments == pytest.approx(2 / 3, abs=0.006)  # up 20 of 30 minutes
    user = sync.workload("users")["availability"]
    assert user == pytest.approx(front * orders * payments, abs=0.001)
    assert user == pytest.approx(0.98 * 2 / 3, abs=0.006)  # what the spec's faults predict
    assert user < min(front, orders, payments) - 0.01  # worse than the weakest link


def test_retries_recover_nothing_in_an_outage_and_triple_the_load_on_payments(sync: Results) -> None:
    c = sync["components"]
    failed_payments = c["orders"]["errors"]  # orders requests whose payment failed after 3 attempts
    attempts = c["payments-lb"]["errors"]  # the payment attempts answered 5xx
    assert attempts == pytest.approx(3 * failed_payments, rel=0.002)
    assert c["payments"]["errors"] == 0  # the 5xx come from the payments service, not its hosts


# ---- microservices-async ----------------------------------------------------------------------
def test_the_user_sees_no_error_during_the_outage(asyn: Results) -> None:
    users = asyn.workload("users")
    assert users["requests"] > 0.97 * RATE * END * 60
    assert users["failed"] == 0 and users["availability"] == 1.0
    assert sum(asyn["series"]["workloads"]["users"]["errors"]) == 0
    assert users["latency_ms"]["p99"] < 100  # the user waits for the queue, not for payments
    # the outage did happen behind the queue: each order in it failed 3 payment attempts at least
    assert asyn.component("payments-lb")["errors"] > 3 * RATE * (OUT1 - OUT0) * 60
    assert asyn.component("process-order")["event_sources"][0]["failed_messages"] > RATE * (OUT1 - OUT0) * 60


def test_the_backlog_grows_during_the_outage_and_drains_after_it(asyn: Results) -> None:
    q = asyn["series"]["components"]["orders"]
    backlog = [v + f for v, f in zip(q["visible"], q["in_flight"], strict=True)]  # at each minute's end
    # before: only orders' 2 % failures wait out their 2-minute visibility timeout (25/s x 2 % x 120 s)
    before = max(backlog[:OUT0])
    assert before < 150
    # during: every order of the outage stays in the queue, about 1,500 more each minute
    grow = [b - a for a, b in zip(backlog[OUT0 - 1:OUT1 - 1], backlog[OUT0:OUT1], strict=True)]
    assert all(0.85 * RATE * 60 < g < 1.15 * RATE * 60 for g in grow)
    assert backlog[OUT1 - 1] > 0.9 * RATE * 600
    # after: each failed order comes back within one visibility timeout (2 min) and succeeds
    assert max(backlog[OUT1 + 3:]) <= before
    e2e = asyn.component("orders")["end_to_end_ms"]
    assert e2e["max"] / 1000 < 600 + 2 * 120 + 10  # the longest wait: the outage + 2 timeouts


def test_nothing_is_lost_or_dead_lettered(asyn: Results) -> None:
    m = asyn["messages"]
    assert m["published"] == asyn.workload("users")["succeeded"]  # one message per accepted order
    assert m["lost"] == 0 and m["dead_lettered"] == 0 and m["expired"] == 0 and m["lost_by_cause"] == {}
    assert m["delivered"] == m["published"] - m["in_flight"]
    assert m["in_flight"] < 150  # orders' 2 % failures waiting for their next receive
    assert asyn.component("orders-dlq")["visible"] == 0


def test_a_redrive_budget_shorter_than_the_outage_dead_letters_its_orders(asyn: Results) -> None:
    # The same design with the queue's defaults: 30 s x 5 receives = 2.5 min of failures allowed.
    arch = load_spec(ASYNC)
    comps = dict(arch.components)
    comps["orders"] = comps["orders"].model_copy(update={"visibility_timeout": 30.0, "max_receive_count": 5})
    comps["process-order"] = comps["process-order"].model_copy(update={"timeout": 5.0})
    short = Simulation(arch.model_copy(update={"components": comps})).run()
    m = short["messages"]
    assert short.workload("users")["failed"] == 0  # the user still sees nothing...
    # ...but an order whose 5th receive (4 x 30 s after its 1st) still falls in the outage is
    # dead-lettered: those of the outage's first 8 minutes
    assert m["dead_lettered"] == pytest.approx(RATE * 8 * 60, rel=0.03)
    assert m["lost"] == 0 and m["delivered"] + m["dead_lettered"] + m["in_flight"] == m["published"]


def test_the_price_the_queue_retries_its_backlog_against_the_failing_service(sync: Results, asyn: Results) -> None:
    # Every waiting order is received again each visibility timeout (2 min) and fails 3 attempts,
    # so payments gets about 3x the failed calls of the synchronous chain during the outage.
    ratio = asyn.component("payments-lb")["errors"] / sync.component("payments-lb")["errors"]
    assert 2.5 < ratio < 3.5
