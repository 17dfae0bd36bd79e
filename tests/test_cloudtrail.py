"""CloudTrail: API calls become EventBridge events after the delivery delay; S3 uploads become
"Object Created" events; unmatched calls publish nothing; best-effort loss is named."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec

TRAIL = """
name: trail
components:
  app:
    type: ec2
    handler:
      - cpu: 5ms
      - call: trail.record
        message: {attributes: {eventName: {CreateUser: 0.1, ListUsers: 0.9}}}
  trail: {type: cloudtrail, bus: bus, service: iam, delivery_delay: 90s}
  bus:
    type: eventbridge
    rules:
      - name: new-users
        pattern: {source: [aws.iam], detail-type: [AWS API Call via CloudTrail],
                  detail: {eventSource: [iam.amazonaws.com], eventName: [CreateUser]}}
        targets: [{target: alerts}]
  alerts: {type: sqs}
workloads:
  ops: {entry: app, rate: 10/s}
simulate: {duration: 10m}
"""


def run(text: str) -> Any:
    return Simulation(parse_spec(text)).run()


@pytest.mark.python_only
def test_an_api_call_reaches_the_rule_after_the_delivery_delay() -> None:
    sim = Simulation(parse_spec(TRAIL))
    delays: list[float] = []
    push = sim.components["alerts"].push
    sim.components["alerts"].push = lambda m: (delays.append(sim.engine.now - m.t0), push(m))[1]
    res = sim.run()
    trail = res.component("trail")
    calls = res.workload("ops")["requests"]
    assert trail["recorded"] == calls > 5000
    # 10 % of the calls match; the others publish nothing
    assert trail["unmatched"] / calls == pytest.approx(0.9, abs=0.02)
    assert res["messages"]["published"] == trail["recorded"] - trail["unmatched"]
    # the hop from the app (cross-AZ 0-0.5 ms), then exactly 90 s, then EventBridge's delivery latency
    assert delays and all(90.0 < d < 90.0 + 3.0 for d in delays)
    assert trail["delivery_delay_ms"]["p50"] == pytest.approx(90_000, rel=0.01)
    # calls in the last 90 s are still on their way
    assert trail["pending"] == pytest.approx(90 * 10 * 0.1, rel=0.35)
    assert res["messages"]["lost"] == 0


def test_the_default_delay_is_the_documented_assumption() -> None:
    res = run(TRAIL.replace(", delivery_delay: 90s", "").replace("duration: 10m", "duration: 30m"))
    d = res.component("trail")["delivery_delay_ms"]
    assert d["p50"] == pytest.approx(30_000, rel=0.1) and 100_000 < d["p99"] < 260_000  # lognormal 30 s, 3 min


def test_best_effort_loss_is_counted_under_its_cause() -> None:
    res = run(TRAIL.replace("delivery_delay: 90s", "delivery_delay: 1s, best_effort_loss: 0.2"))
    trail, m = res.component("trail"), res["messages"]
    assert m["lost_by_cause"] == {"cloudtrail_best_effort": trail["dropped_best_effort"]}
    assert trail["dropped_best_effort"] / (trail["events_sent"] + trail["dropped_best_effort"]) == pytest.approx(
        0.2, abs=0.05)


@pytest.mark.python_only
def test_an_event_carries_the_cloudtrail_fields() -> None:
    sim = Simulation(parse_spec(TRAIL))
    seen: list[dict[str, Any]] = []
    push = sim.components["alerts"].push
    sim.components["alerts"].push = lambda m: (seen.append(m.attrs), push(m))[1]
    sim.run()
    assert seen[0] == {"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail",
                       "detail.eventSource": "iam.amazonaws.com", "detail.eventName": "CreateUser"}


UPLOADS = """
name: uploads
components:
  photos: {type: s3, events: bus}
  bus:
    type: eventbridge
    rules:
      - name: jpegs
        pattern: {source: [aws.s3], detail-type: [Object Created],
                  detail: {bucket: {name: [photos]}, object: {key: [{prefix: img/}]}}}
        targets: [{target: q}]
  q: {type: sqs}
workloads:
  users:
    entry: photos
    rate: 20/s
    message: {size: 3MB, attributes: {object.key: {img/a.jpg: 0.7, doc/b.pdf: 0.3}}}
simulate: {duration: 5m}
"""


@pytest.mark.python_only
def test_an_upload_publishes_an_object_created_event_with_its_bucket_and_size() -> None:
    sim = Simulation(parse_spec(UPLOADS.replace("object.key", "detail.object.key")))
    seen: list[Any] = []
    push = sim.components["q"].push
    sim.components["q"].push = lambda m: (seen.append(m), push(m))[1]
    res = sim.run()
    s3 = res.component("photos")
    assert s3["puts"] == res.workload("users")["requests"] > 5000
    assert s3["events_unmatched"] / s3["puts"] == pytest.approx(0.3, abs=0.03)  # the PDFs match no rule
    attrs = seen[0].attrs
    assert attrs["detail.bucket.name"] == "photos" and attrs["detail.object.size"] == 3e6
    assert seen[0].size == 1024  # the event is metadata, not the 3 MB object
    assert res["messages"]["lost"] == 0


def test_s3_puts_above_3500_per_second_are_throttled() -> None:
    res = run(UPLOADS.replace("rate: 20/s", "rate: 5000/s").replace("duration: 5m", "duration: 20s"))
    w = res.workload("users")
    accepted = 3500 * 20 + 3500  # the rate, plus a burst of one second's worth
    s3 = res.component("photos")
    assert s3["puts"] == pytest.approx(accepted, rel=0.001) and s3["throttled"] > 25_000
    assert 0 <= s3["throttled"] - w["errors"]["throttled"] <= w["in_flight"]  # the last replies are on their way


@pytest.mark.parametrize("edit, path, needle", [
    (("bus: bus, service: iam", "bus: alerts, service: iam"), "components.trail.bus", "expected eventbridge"),
    (("service: iam", "service: IAM!"), "components.trail.service", "should match pattern"),
    (("call: trail.record", "call: trail.delete"), "components.app.handler[1].call", "no operation 'delete'"),
])
def test_bad_trails_are_spec_errors(edit: tuple[str, str], path: str, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(TRAIL.replace(*edit, 1), file="t.yaml")
    assert any(i.path == path and needle in i.message and i.line > 0 for i in e.value.issues), e.value.issues
