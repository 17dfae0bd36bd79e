"""Blueprint row 21, "CloudTrail Event": an API call -> CloudTrail -> EventBridge rule -> SNS alert,
with the measured alert delay.

Every sensitive IAM call raises one alert on each of the topic's subscriptions (email and the
ticket queue), the attacker's burst included; other calls raise none. The delay from the call
to the alert is CloudTrail's delivery delay (an assumption, see the blueprint) plus about a
second of EventBridge and SNS. Nothing is lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Results, Simulation, load_spec

SENSITIVE = ("CreateAccessKey", "AttachUserPolicy")


class Watched:
    def __init__(self) -> None:
        arch = load_spec("cloudtrail-alert")
        self.end = arch.simulate.duration or 0.0
        sim = Simulation(arch)
        trail = sim.components["trail"]
        self.calls: list[tuple[float, str]] = []
        handle = trail.handle

        def record(req: Any, op: str, done: Any, arg: Any = None) -> None:
            self.calls.append((sim.engine.now, "?"))
            n = len(trail.holding)
            handle(req, op, done, arg)
            if len(trail.holding) > n:  # this call's event is on its way to the bus
                self.calls[-1] = (sim.engine.now, "sensitive")

        trail.handle = record
        self.res: Results = sim.run()


@pytest.fixture(scope="module")
def run() -> Watched:
    return Watched()


@pytest.mark.python_only
def test_every_sensitive_call_raises_one_alert_per_subscription(run: Watched) -> None:
    r = run.res
    trail = r.component("trail")
    sensitive = [t for t, k in run.calls if k == "sensitive"]
    assert trail["recorded"] == len(run.calls) > 13_000
    assert len(sensitive) == trail["events_sent"] + trail["pending"] > 400
    assert trail["unmatched"] == len(run.calls) - len(sensitive)  # other calls raise nothing
    email, tickets = r.component("security-alerts")["subscriptions"]
    assert email["matched"] == tickets["matched"] == trail["events_sent"]
    assert email["delivered"] == tickets["delivered"] == trail["events_sent"]
    assert r.component("alert-tickets")["delivered"] == trail["events_sent"]
    m = r["messages"]
    assert m["published"] == 2 * trail["events_sent"] + trail["pending"]
    assert m["lost"] == 0 and m["dead_lettered"] == 0 and m["duplicates"] == 0


@pytest.mark.python_only
def test_the_attackers_burst_raises_its_alerts_too(run: Watched) -> None:
    burst = [t for t, k in run.calls if k == "sensitive" and 20 * 60 <= t < 25 * 60]
    # the attacker's ~1 call/s plus the admins' 1 % of 5/s, for 5 minutes
    assert len(burst) == pytest.approx(300 * (1.0 + 0.05), rel=0.15)
    email = run.res.component("security-alerts")["subscriptions"][0]
    assert email["failed_attempts"] > 5 and email["attempts"] == email["delivered"] + email["failed_attempts"]


@pytest.mark.python_only
def test_the_alert_delay_is_cloudtrails_delivery_delay_plus_about_a_second(run: Watched) -> None:
    delivery = run.res.component("trail")["delivery_delay_ms"]
    email = run.res.component("security-alerts")["subscriptions"][0]["end_to_end_ms"]
    tickets = run.res.component("alert-tickets")["end_to_end_ms"]
    # CloudTrail's delay is lognormal(median=30s, p99=3m) (an assumption: no aws-facts row)
    assert delivery["p50"] == pytest.approx(30_000, rel=0.15) and 100_000 < delivery["p99"] < 300_000
    assert 0 < tickets["mean"] - delivery["mean"] < 1_000  # + EventBridge and SNS: well under a second
    # 5 % of email attempts fail and are retried 10 s later [aws-facts §7]: about 0.5 s more on average
    assert 200 < email["mean"] - tickets["mean"] < 1_500
