"""SNS: fan-out copies, filter policies, the documented retry policies per endpoint type,
dead-letter queues per subscription, the email rate, and FIFO topics."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.messaging import Pattern, matches
from cloudtwin.services.sns import customer_delay, managed_delay
from cloudtwin.spec.message import check_filter_policy


def run(text: str) -> Any:
    return Simulation(parse_spec(text)).run()


def test_one_publish_to_three_subscriptions_publishes_three_copies() -> None:
    res = run("""
name: fan
components:
  t: {type: sns, subscriptions: [{target: a}, {target: b}, {target: c, filter_policy: {kind: [never]}}, {target: d}]}
  a: {type: sqs}
  b: {type: sqs}
  c: {type: sqs}
  d: {type: sqs}
workloads:
  w: {entry: t, rate: 10/s, arrivals: constant, message: {attributes: {kind: order}}}
simulate: {duration: 1m}
""")
    n = res.component("t")["publishes"]
    assert n >= 599
    assert [res.component(q)["sent"] for q in "abcd"] == [n, n, 0, n]
    m = res["messages"]
    assert m["published"] == 3 * n and m["in_flight"] == 3 * n - sum(s["matched"] - s["delivered"]
                                                                       for s in res.component("t")["subscriptions"])
    assert m["published"] == m["delivered"] + m["in_flight"]


def test_a_publish_that_matches_no_subscription_publishes_nothing() -> None:
    res = run("""
name: none
components:
  t: {type: sns, subscriptions: [{target: a, filter_policy: {kind: [refund]}}]}
  a: {type: sqs}
workloads:
  w: {entry: t, rate: 10/s, message: {attributes: {kind: {order: 0.8, refund: 0.2}}}}
simulate: {duration: 2m}
""")
    t = res.component("t")
    assert t["unmatched"] + t["subscriptions"][0]["matched"] == t["publishes"]
    assert abs(t["unmatched"] / t["publishes"] - 0.8) < 0.04
    assert res["messages"]["published"] == t["subscriptions"][0]["matched"] and res["messages"]["lost"] == 0


@pytest.mark.parametrize("policy, attrs, ok", [
    ({"kind": ["order"]}, {"kind": "order"}, True),
    ({"kind": ["order", "refund"]}, {"kind": "refund"}, True),
    ({"kind": ["order"]}, {"kind": "orders"}, False),
    ({"kind": ["order"]}, {}, False),
    ({"vip": [True]}, {"vip": 1}, False),  # true matches only true
    ({"vip": [True]}, {"vip": True}, True),
    ({"region": [{"prefix": "eu-"}]}, {"region": "eu-west-1"}, True),
    ({"region": [{"prefix": "eu-"}]}, {"region": "us-east-1"}, False),
    ({"amount": [{"numeric": [">=", 100, "<", 200]}]}, {"amount": 150.5}, True),
    ({"amount": [{"numeric": [">=", 100, "<", 200]}]}, {"amount": 200}, False),
    ({"amount": [{"numeric": ["=", 5]}]}, {"amount": "5"}, False),
    ({"coupon": [{"exists": False}]}, {}, True),
    ({"coupon": [{"exists": True}]}, {}, False),
    ({"kind": [{"anything-but": ["test", "refund"]}]}, {"kind": "order"}, True),
    ({"kind": [{"anything-but": ["test", "refund"]}]}, {"kind": "test"}, False),
    ({"kind": ["order"], "amount": [{"numeric": [">", 10]}]}, {"kind": "order", "amount": 5}, False),
])
def test_filter_policies(policy: dict[str, Any], attrs: dict[str, Any], ok: bool) -> None:
    assert matches(check_filter_policy(policy), attrs) is ok
    assert Pattern(check_filter_policy(policy))(attrs) is ok  # the form SNS and EventBridge run


_values = st.one_of(st.sampled_from(["order", "refund", "eu-west-1", "", "5", "1"]), st.booleans(), st.none(),
                    st.integers(-3, 300), st.floats(-1.0, 300.0), st.lists(st.just("order"), max_size=1))
_conds = st.one_of(
    st.sampled_from(["order", "refund", "5", "1", ""]), st.booleans(), st.integers(0, 5), st.just(1.0),
    st.builds(lambda p: {"prefix": p}, st.sampled_from(["eu-", "or", ""])),
    st.builds(lambda x: {"anything-but": x}, st.one_of(st.sampled_from(["order", "refund"]),
                                                       st.lists(st.sampled_from(["order", "test", 5]), max_size=2))),
    st.builds(lambda e: {"exists": e}, st.booleans()),
    st.builds(lambda a, b: {"numeric": [">=", a, "<", b]}, st.integers(0, 100), st.integers(0, 300)),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["kind", "region", "amount", "vip"]), st.lists(_conds, max_size=3), max_size=3),
       st.one_of(st.none(), st.dictionaries(st.sampled_from(["kind", "region", "amount", "vip", "x"]), _values,
                                            max_size=4)))
def test_a_worked_out_pattern_decides_as_matches_does(policy: dict[str, Any], attrs: dict[str, Any] | None) -> None:
    """:class:`Pattern` (a key of plain strings is a set lookup) against :func:`matches`, the
    condition-by-condition reference, on any policy and any attributes."""
    assert Pattern(policy)(attrs) is matches(policy, attrs)


@pytest.mark.parametrize("bad, needle", [
    ("{amount: [{numeric: [\">>\", 5]}]}", "numeric needs [op, number]"),
    ("{kind: [{suffix: x}]}", "exactly one of the keys prefix, numeric, exists, anything-but"),
    ("{}", "at least one attribute"),
])
def test_bad_filter_policies_are_spec_errors(bad: str, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(f"name: x\ncomponents:\n  t: {{type: sns, subscriptions: [{{target: a, filter_policy: {bad}}}]}}\n"
                   "  a: {type: sqs}\n", file="f.yaml")
    [issue] = info.value.issues
    assert needle in issue.message and issue.line == 3 and "subscriptions[0].filter_policy" in issue.path


def test_the_documented_retry_policies() -> None:
    """[aws-facts §7]: AWS-managed 100,015 attempts over 23 days; customer-managed 50 over ~6 h."""
    def schedule(delay: Any) -> tuple[int, float]:
        k, t = 1, 0.0
        while (d := delay(k)) is not None:
            k, t = k + 1, t + d
        return k, t

    attempts, total = schedule(managed_delay)
    assert attempts == 100_015 and 23.0 < total / 86_400 < 23.2
    assert [managed_delay(k) for k in range(1, 7)] == [0.0, 0.0, 1.0, 1.0, 1.0, pytest.approx(20 ** (1 / 9))]
    attempts, total = schedule(customer_delay)
    assert attempts == 50 and 6.0 < total / 3600 < 7.0
    assert customer_delay(1) == 10.0 and customer_delay(11) == pytest.approx(600.0) and customer_delay(49) == 600.0


OUTAGE = """
name: hook
zones: [a, b]
components:
  t:
    type: sns
    delivery_latency: 0ms
    subscriptions: [{{target: hook{dlq}}}]
  hook: {{type: ec2, zones: [a], workers: 4, handler: [{{cpu: 5ms}}]}}
  hook-dlq: {{type: sqs, retention: 14d}}
workloads:
  w: {{entry: t, rate: 2/s, arrivals: constant}}
faults:
  - {{at: 5m, az_outage: a, duration: 5m}}
simulate: {{duration: 15m}}
"""


@pytest.mark.parametrize("with_dlq", [True, False])
def test_an_http_endpoint_outage_exhausts_the_retry_policy(with_dlq: bool) -> None:
    """The default HTTP/S policy is 3 retries 20 s apart: a copy fails if the endpoint is down for
    60 s after its first attempt. In a 5 min outage that is every copy published in its first 4
    minutes (2/s x 240 s = 480); the later ones get through once the zone is back."""
    res = run(OUTAGE.format(dlq=", dlq: hook-dlq" if with_dlq else ""))
    [sub] = res.component("t")["subscriptions"]
    m = res["messages"]
    failed = sub["dead_lettered"] + sub["lost"]
    assert abs(failed - 480) <= 2
    assert 0 <= sub["attempts"] - sub["delivered"] - sub["failed_attempts"] <= 1  # one may be under way
    assert 4 * failed <= sub["failed_attempts"] < 4 * failed + 4 * 2 * 60  # + the last minute's recoveries
    assert sub["delivered"] + failed + res.component("t")["pending"] == sub["matched"]
    if with_dlq:
        assert m["dead_lettered"] == failed and m["lost"] == 0
    else:
        assert m["lost_by_cause"] == {"sns_retries_exhausted": failed} and m["dead_lettered"] == 0


@pytest.mark.parametrize("rate, deactivated", [("5/s", False), ("20/s", True)])
def test_email_is_limited_to_10_per_second_per_account(rate: str, deactivated: bool) -> None:
    res = run(f"""
name: mail
components:
  t: {{type: sns, subscriptions: [{{protocol: email, endpoint: ops@example.com}}]}}
workloads:
  w: {{entry: t, rate: {rate}, arrivals: constant}}
simulate: {{duration: 2m}}
""")
    [sub] = res.component("t")["subscriptions"]
    m = res["messages"]
    events = [e for e in res["timeline"] if "deactivated" in e["detail"]]
    if deactivated:
        assert len(events) == 1 and not sub["active"] and sub["delivered"] < 20
        assert m["lost_by_cause"] == {"sns_email_subscription_deactivated": sub["lost"]} and sub["lost"] > 2000
    else:
        assert not events and sub["active"] and m["lost"] == 0 and sub["delivered"] >= 598
        assert [i for i in res["cost"]["items"] if i["usage_type"] == "SNS-Deliveries-SMTP"][0]["quantity"] == \
            sub["delivered"]


def test_a_lambda_subscriber_retries_failures_itself_then_uses_its_dlq() -> None:
    res = run("""
name: async
components:
  t: {type: sns, subscriptions: [{target: fn}]}
  fn: {type: lambda, handler: [{sleep: 20ms}], dlq: fn-dlq}
  fn-dlq: {type: sqs, retention: 14d}
workloads:
  w: {entry: t, rate: 5/s, message: {poison: 0.1}}
simulate: {duration: 10m}
""")
    [sub] = res.component("t")["subscriptions"]
    assert sub["attempts"] == sub["delivered"] == sub["matched"]  # the function always takes the event
    fn = res.component("fn")["async"]
    assert set(fn["failed_after_attempts"]) == {"3"} and fn["dead_lettered"] > 200
    assert res["messages"]["dead_lettered"] == fn["dead_lettered"] and res["messages"]["lost"] == 0


@pytest.mark.python_only
def test_a_fifo_topic_keeps_each_groups_order_into_a_fifo_queue() -> None:
    arch = parse_spec("""
name: fifo
components:
  t: {type: sns, fifo: true, subscriptions: [{target: q}]}
  q: {type: sqs, fifo: true}
  fn:
    type: lambda
    handler: [{cpu: 2ms}]
    event_sources: [{queue: q, batch_size: 5}]
workloads:
  w: {entry: t, rate: 50/s, message: {group: "uniform(0, 4)"}}
simulate: {duration: 2m}
""")
    sim = Simulation(arch)
    q = sim.components["q"]
    order: dict[Any, list[int]] = defaultdict(list)
    enter = q._enter
    q._enter = lambda m, d: (order[m.group].append(m.seq), enter(m, d))[1]
    res = sim.run()
    assert len(order) == 4 and res.component("q")["sent"] > 5000
    assert all(s == sorted(s) for s in order.values())


def test_a_fifo_topic_subscribes_only_queues() -> None:
    with pytest.raises(SpecError, match=r"subscriptions\[0\]\.protocol: a FIFO topic delivers only to SQS"):
        parse_spec("name: x\ncomponents:\n  t: {type: sns, fifo: true, subscriptions: [{target: f}]}\n"
                   "  f: {type: lambda}\n")
