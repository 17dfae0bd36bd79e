"""EventBridge: event patterns, schedules (rate and cron), targets, retries with backoff, DLQs,
the PutEvents throttle and the invocation throttle, and bad input with file:line."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.spec.schedule import parse_schedule

BUS = """
name: eb
components:
  bus:
    type: eventbridge
    rules:
      - name: orders
        pattern: {source: [shop], detail: {kind: [order], amount: [{numeric: [">=", 100]}]}}
        targets: [{target: big}]
      - name: eu
        pattern: {source: [shop], detail: {market: [{prefix: eu-}], kind: [{anything-but: [refund]}]}}
        targets: [{target: eu}]
      - name: flagged
        pattern: {detail: {flag: [{exists: true}]}}
        targets: [{target: flagged}]
  big: {type: sqs}
  eu: {type: sqs}
  flagged: {type: sqs}
workloads:
  shop:
    entry: bus
    rate: 20/s
    message:
      attributes: {source: shop, kind: {order: 0.8, refund: 0.2}, amount: "uniform(0, 200)",
                   market: {eu-west-1: 0.5, us-east-1: 0.5}}
simulate: {duration: 2m}
"""


def sim_of(text: str, **kw: Any) -> Simulation:
    return Simulation(parse_spec(text), **kw)


def test_event_patterns_match_as_documented() -> None:
    bus = sim_of(BUS).components["bus"]
    ev = {"source": "shop", "detail.kind": "order", "detail.amount": 150.0, "detail.market": "eu-west-1"}
    assert bus.matching(ev) == 2  # orders and eu
    assert bus.matching({**ev, "detail.amount": 99.9}) == 1  # numeric range
    assert bus.matching({**ev, "detail.kind": "refund"}) == 0  # anything-but
    assert bus.matching({**ev, "detail.market": "us-east-1"}) == 1  # prefix
    assert bus.matching({**ev, "source": "other"}) == 0
    assert bus.matching({"detail.flag": False}) == 1 and bus.matching({"source": "shop"}) == 0  # exists


def test_each_matching_rule_gets_a_copy_and_unmatched_events_publish_nothing() -> None:
    res = sim_of(BUS).run()
    bus = res.component("bus")
    n = bus["put_events"]
    assert n > 2000
    orders, eu, flagged = (r["matched"] for r in bus["rules"])
    # 80 % orders x 50 % with amount >= 100: 40 %; not refund x eu-: 40 %
    assert orders / n == pytest.approx(0.4, abs=0.04) and eu / n == pytest.approx(0.4, abs=0.04)
    assert flagged == 0
    assert bus["unmatched"] / n == pytest.approx(1 - (0.4 + 0.4 - 0.8 * 0.5 * 0.5), abs=0.04)  # neither rule
    m = res["messages"]
    assert m["published"] == orders + eu and m["lost"] == 0
    assert res.component("big")["sent"] + res.component("eu")["sent"] + bus["pending"] == orders + eu


SCHED = """
name: sched
components:
  bus:
    type: eventbridge
    rules:
      - {name: five, schedule: rate(5 minutes), targets: [{target: q}]}
      - {name: quarter, schedule: "cron(0/15 * * * ? *)", targets: [{target: q}, {target: r}]}
  q: {type: sqs}
  r: {type: sqs}
simulate: {duration: 61m}
"""


@pytest.mark.python_only
def test_schedules_fire_on_the_minute_and_targets_start_seconds_late() -> None:
    sim = sim_of(SCHED)
    arrivals: list[float] = []
    push = sim.components["q"].push
    sim.components["q"].push = lambda m: (arrivals.append(sim.engine.now - m.t0), push(m))[1]
    res = sim.run()
    five, quarter = res.component("bus")["rules"]
    assert five["fired"] == 12 and quarter["fired"] == 4  # 5..60 min; 15, 30, 45, 60 min
    assert res.component("r")["sent"] == 4
    assert len(arrivals) == 16 and all(0 <= a <= 10.0 for a in arrivals)  # "several seconds" late
    assert max(arrivals) > 2.0  # and not all at once


@pytest.mark.parametrize("text, after, expected", [
    ("rate(5 minutes)", 0.0, 300.0),
    ("rate(1 hour)", 3600.0, 7200.0),
    ("rate(2 days)", 1.0, 172_800.0),
    ("cron(0/15 * * * ? *)", 0.0, 900.0),
    ("cron(30 9 * * ? *)", 0.0, 9 * 3600 + 1800.0),
    ("cron(0 9 ? * MON-FRI *)", 4 * 86400 + 9 * 3600.0, 7 * 86400 + 9 * 3600.0),  # Friday 9:00 -> Monday
    ("cron(0 0 1 * ? *)", 0.0, 31 * 86400.0),  # the 1st of each month: 2024-02-01
    ("cron(0 12 ? * SUN *)", 0.0, 6 * 86400 + 12 * 3600.0),  # 2024-01-07 is a Sunday
    ("cron(0 0 29 FEB ? *)", 0.0, 59 * 86400.0),  # 2024 is a leap year
])
def test_schedule_expressions_step_in_utc_from_monday_2024_01_01(text: str, after: float, expected: float) -> None:
    assert parse_schedule(text).next_after(after) == expected


@pytest.mark.parametrize("expr, needle", [
    ("rate(30 seconds)", "unknown unit 'seconds'"),
    ("rate(1 minutes)", "write rate(1 minute)"),
    ("rate(5 minute)", "write rate(5 minutes)"),
    ("rate(0 minutes)", "positive whole number"),
    ("cron(0 * * * *)", "cron needs 6 fields"),
    ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(61 * * * ? *)", "minutes value 61 is outside 0-59"),
    ("cron(0 12 L * ? *)", "L, W and # are not supported"),
    ("cron(0 12 ? * MON-SUNDAY *)", "not a number"),
    ("cron(0 0 30 2 ? *)", "never runs"),
    ("every 5 minutes", "does not parse"),
])
def test_a_bad_schedule_is_a_spec_error_with_its_line(expr: str, needle: str) -> None:
    text = SCHED.replace("rate(5 minutes)", f'"{expr}"')  # quoted: `*` and `?` are YAML indicators
    with pytest.raises(SpecError) as e:
        parse_spec(text, file="sched.yaml")
    [issue] = e.value.issues
    assert needle in issue.message and (issue.file, issue.line) == ("sched.yaml", 7)
    assert issue.path == "components.bus.rules[0].schedule"


@pytest.mark.parametrize("pattern, needle", [
    ("{source: aws.s3}", "values are lists"),
    ("{}", "non-empty mapping"),
    ("{source: []}", "needs at least one condition"),
    ("{detail: {n: [{numeric: [\">>\", 1]}]}}", "numeric needs"),
    ("{detail: {n: [{prefix: 3}]}}", "prefix needs a non-empty string"),
    ("{detail: {n: [{suffix: x}]}}", "exactly one of the keys"),
    ("{detail: {n: [[1]]}}", "expected a string, number or true/false"),
])
def test_an_invalid_event_pattern_is_a_spec_error_with_its_line(pattern: str, needle: str) -> None:
    text = BUS.replace("{source: [shop], detail: {kind: [order], amount: [{numeric: [\">=\", 100]}]}}", pattern)
    with pytest.raises(SpecError) as e:
        parse_spec(text, file="eb.yaml")
    [issue] = e.value.issues
    assert needle in issue.message and (issue.file, issue.line) == ("eb.yaml", 8), issue
    assert issue.path == "components.bus.rules[0].pattern"


@pytest.mark.parametrize("edits, path, needle", [
    ([("targets: [{target: big}]", "targets: [{target: big}, {target: big}, {target: big}, {target: big}, "
       "{target: big}, {target: big}]")], "components.bus.rules[0].targets", "at most 5"),
    ([("targets: [{target: big}]", "targets: [{target: nope}]")], "components.bus.rules[0].targets[0].target",
     "'nope' is not a component"),
    ([("targets: [{target: big}]", "targets: [{target: big, dlq: fifo}]"),
      ("  flagged: {type: sqs}", "  flagged: {type: sqs}\n  fifo: {type: sqs, fifo: true}")],
     "components.bus.rules[0].targets[0].dlq", "must be a standard queue"),
    ([("targets: [{target: big}]", "targets: [{target: fifo}]"),
      ("  flagged: {type: sqs}", "  flagged: {type: sqs}\n  fifo: {type: sqs, fifo: true}")],
     "components.bus.rules[0].targets[0].target", "FIFO queue"),
    ([("- name: eu", "- name: orders")], "components.bus", "rule names must be unique"),
    ([("targets: [{target: flagged}]", "targets: [{target: flagged}]\n        schedule: rate(1 hour)")],
     "components.bus.rules[2]", "exactly one of `pattern:`"),
    ([("targets: [{target: big}]", "targets: [{target: shop}]")], "components.bus.rules[0].targets[0].target",
     "'shop' is not a component"),
])
def test_bad_rules_are_spec_errors(edits: list[tuple[str, str]], path: str, needle: str) -> None:
    text = BUS
    for old, new in edits:
        text = text.replace(old, new, 1)
    with pytest.raises(SpecError) as e:
        parse_spec(text)
    assert any(i.path == path and needle in i.message for i in e.value.issues), e.value.issues


RETRY = """
name: retry
components:
  bus:
    type: eventbridge
    rules:
      - name: r
        pattern: {source: [app]}
        targets: [{target: job, dlq: dlq, retry_policy: {max_retries: 5, max_event_age: 24h}}]
  job: {type: ecs, desired: 1, max_tasks: 1, handler: [{cpu: 1s}]}   # the one task slot is taken
  dlq: {type: sqs, retention: 14d}
workloads:
  app: {entry: bus, rate: 1/s, arrivals: constant, message: {attributes: {source: app}}}
simulate: {duration: 30m}
"""


@pytest.mark.python_only
def test_a_failing_target_is_retried_with_exponential_backoff_then_dead_lettered() -> None:
    sim = sim_of(RETRY)
    tries: dict[int, list[float]] = {}
    job = sim.components["job"]
    handle = job.handle

    def spy(req: Any, op: str, done: Any, arg: Any = None) -> None:
        tries.setdefault(arg.mid, []).append(sim.engine.now)
        handle(req, op, done, arg)

    job.handle = spy
    res = sim.run()
    assert res.component("job")["run_task"]["refused_capacity"] == sum(len(t) for t in tries.values())
    [tgt] = res.component("bus")["rules"][0]["targets"]
    done = [ts for ts in tries.values() if len(ts) == 6]
    assert len(done) > 1700 and all(len(ts) <= 6 for ts in tries.values())  # 1 + max_retries attempts
    for ts in done:
        gaps = [b - a for a, b in zip(ts, ts[1:], strict=False)]
        for k, g in enumerate(gaps, 1):  # retry k waits 2^(k-1) s x uniform(0.5, 1)
            assert 0.5 * 2 ** (k - 1) - 1e-9 <= g <= 2 ** (k - 1) + 1e-9
    assert tgt["dead_lettered"] == len(done) == res.component("dlq")["visible"]
    waiting = [ts for ts in tries.values() if len(ts) < 6]  # each with its next retry scheduled
    assert tgt["delivered"] == 0 and tgt["retries"] == 5 * len(done) + sum(len(ts) for ts in waiting)
    assert res["messages"]["lost"] == 0 and res["messages"]["dead_lettered"] == len(done)


def test_max_event_age_ends_retries_and_without_a_dlq_the_loss_is_named() -> None:
    text = RETRY.replace("dlq: dlq, retry_policy: {max_retries: 5, max_event_age: 24h}",
                         "retry_policy: {max_retries: 185, max_event_age: 1m}")
    res = sim_of(text).run()
    [tgt] = res.component("bus")["rules"][0]["targets"]
    m = res["messages"]
    assert m["lost"] == tgt["lost"] > 1700 and m["lost_by_cause"] == {"eventbridge_max_event_age": m["lost"]}
    # 1 + 2 + 4 + ... within 60 s with 0.5-1 jitter: 5 to 7 attempts each
    assert 5 <= tgt["invocations"] / (tgt["lost"] + res.component("bus")["pending"]) <= 7.5
    assert any("gave up on an event for job" in e["detail"] for e in res["timeline"])


def test_a_non_retriable_error_goes_straight_to_the_dlq() -> None:
    text = """
name: nonretry
components:
  bus:
    type: eventbridge
    rules: [{name: r, pattern: {source: [app]}, targets: [{target: topic, dlq: dlq}]}]
  topic: {type: sns, subscriptions: [{target: q}]}
  q: {type: sqs}
  dlq: {type: sqs}
workloads:
  app: {entry: bus, rate: 2/s, message: {size: 300KB, attributes: {source: app}}}
simulate: {duration: 2m}
"""
    res = sim_of(text).run()
    [tgt] = res.component("bus")["rules"][0]["targets"]
    assert tgt["invocations"] == tgt["dead_lettered"] > 200  # one attempt each
    assert tgt["retries"] == 0 and res.component("topic")["rejected"] == tgt["invocations"]
    assert res["messages"]["lost"] == 0


def test_put_events_above_the_quota_is_throttled_and_the_default_quota_follows_the_region() -> None:
    assert sim_of(BUS).components["bus"].put_limit == 10_000  # us-east-1 [aws-facts §8]
    assert sim_of(BUS.replace("name: eb", "name: eb\nregion: us-east-2")).components["bus"].put_limit == 2_400
    res = sim_of(BUS.replace("    rules:", "    put_events_limit: 10/s\n    rules:")).run()
    w, bus = res.workload("shop"), res.component("bus")
    assert w["errors"]["throttled"] == bus["throttled"]
    assert bus["put_events"] == pytest.approx(10 * 120 + 10, abs=15)  # the rate plus a 1 s burst
    assert w["errors"]["throttled"] == pytest.approx(w["requests"] - bus["put_events"], abs=1)


def test_over_the_invocation_throttle_deliveries_are_delayed_not_dropped() -> None:
    text = BUS.replace("    rules:", "    invocation_limit: 4/s\n    rules:").replace("rate: 20/s", "rate: 8/s")
    res = sim_of(text.replace("duration: 2m", "duration: 3m")).run()
    bus = res.component("bus")
    big = bus["rules"][0]["targets"][0]
    assert bus["delayed_invocations"] > 100 and res["messages"]["lost"] == 0
    # 6.4 matching events/s for 4 invocations/s: the queue of delayed invocations grows by minutes
    assert big["delivery_ms"]["max"] > 30_000
    assert big["invocations"] == big["delivered"]


def test_fan_out_to_queue_topic_function_and_task_with_every_copy_accounted() -> None:
    text = """
name: targets
components:
  bus:
    type: eventbridge
    rules:
      - name: all
        pattern: {source: [app]}
        targets: [{target: q}, {target: t}, {target: fn}, {target: job}]
  q: {type: sqs}
  t: {type: sns, subscriptions: [{target: q2}]}
  q2: {type: sqs}
  fn: {type: lambda, handler: [{cpu: 10ms}]}
  job: {type: ecs, handler: [{cpu: 1s}], startup_time: 5s}
workloads:
  app: {entry: bus, rate: 2/s, arrivals: constant, message: {attributes: {source: app}}}
simulate: {duration: 5m}
"""
    res = sim_of(text).run()
    n = res.component("bus")["put_events"]
    assert n == 600
    m = res["messages"]
    assert m["published"] == 4 * n and m["lost"] == 0
    for q in ("q", "q2"):
        assert n - 3 <= res.component(q)["sent"] <= n  # the last ~250 ms are in transit
    assert res.component("fn")["async"]["succeeded"] >= n - 2
    assert res.component("job")["run_task"]["completed"] >= n - 15  # 5 s start + 1 s run
