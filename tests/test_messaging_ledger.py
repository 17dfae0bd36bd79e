"""The message ledger: every copy is accounted for, on random topologies of queues, topics and
functions with random failure rates, and a component that drops a copy fails the run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudtwin import InvariantViolation, Simulation, parse_spec
from cloudtwin.messaging import DELIVERED, EXPIRED, Ledger

KNOWN_CAUSES = {"sns_retries_exhausted", "sns_email_subscription_deactivated", "sns_no_subscription_matched",
                "sns_dlq_refused", "lambda_retries_exhausted", "lambda_max_event_age",
                "lambda_reserved_concurrency_0", "lambda_dlq_refused", "eventbridge_retries_exhausted",
                "eventbridge_max_event_age", "eventbridge_non_retriable", "eventbridge_dlq_refused", "ecs_task_failed",
                "ecs_task_stopped"}


def test_ledger_states_move_forward_and_duplicates_are_counted_apart() -> None:
    led = Ledger()
    a, b, c = led.new(0.0, 10.0), led.new(0.0, 10.0), led.new(0.0, 10.0)
    d = led.copy(a)
    assert led.published == 4 and d.mid != a.mid and d.t0 == a.t0
    assert led.deliver(a) and not led.deliver(a)  # the second processing is a duplicate
    led.dead_letter(b)
    assert led.deliver(b) and b.state == DELIVERED  # consumed from the DLQ
    led.expire(c)
    assert not led.deliver(c) and c.state == EXPIRED  # a late success does not revive it
    led.lose(d, "test_cause")
    assert led.totals() == {"published": 4, "delivered": 2, "dead_lettered": 0, "expired": 1, "in_flight": 0,
                            "duplicates": 1, "lost": 1}
    assert led.lost_by_cause == {"test_cause": 1} and led.check([]) == []


@pytest.mark.parametrize("fault, needle", [
    ("forget", "the ledger has 1 in flight but components hold 0"),
    ("twice", "is held by two components"),
])
def test_a_component_that_mislays_a_message_fails_the_run(fault: str, needle: str) -> None:
    arch = parse_spec("""
name: leak
components:
  q: {type: sqs}
  r: {type: sqs}
workloads:
  w: {entry: q, rate: 20/s, arrivals: constant}
simulate: {duration: 1m}
""")
    sim = Simulation(arch)
    q, r = sim.components["q"], sim.components["r"]

    def mislay(_: object) -> None:
        m = next(iter(q.held.values()))
        if fault == "forget":
            q._remove(m)  # gone from the queue without telling the ledger
        else:
            r.held[m.mid] = m  # now two queues claim it

    sim.engine.at(30.0, mislay)
    with pytest.raises(InvariantViolation, match=needle.replace("1 in flight", r"\d+ in flight").replace(
            "hold 0", r"hold \d+")):
        sim.run()


@st.composite
def topology(draw: Any) -> dict[str, Any]:
    comps: dict[str, Any] = {}
    nq = draw(st.integers(1, 4))
    fifo = [draw(st.sampled_from([False, False, False, True])) for _ in range(nq)]
    queues = [f"q{i}" for i in range(nq)]
    for i, q in enumerate(queues):
        spec: dict[str, Any] = {
            "type": "sqs", "fifo": fifo[i], "visibility_timeout": f"{draw(st.integers(1, 20))}s",
            "retention": f"{draw(st.integers(60, 600))}s", "max_receive_count": draw(st.integers(1, 5)),
            "duplicate_rate": draw(st.sampled_from([0.0, 0.01, 0.2])),
            "delay": draw(st.sampled_from(["0s", "0s", "3s"])), "latency": draw(st.sampled_from(["0ms", "5ms"])),
        }
        same = [p for j, p in enumerate(queues) if j != i and fifo[j] == fifo[i]]
        if same and draw(st.booleans()):
            spec["dlq"] = draw(st.sampled_from(same))
        comps[q] = spec
    standard = [q for i, q in enumerate(queues) if not fifo[i]]
    fifos = [q for i, q in enumerate(queues) if fifo[i]]
    fns = [f"f{i}" for i in range(draw(st.sampled_from([3, 2, 1])))]
    consumed: set[str] = set()
    for f in fns:
        spec = {"type": "lambda", "error_rate": draw(st.sampled_from([0.0, 0.3, 1.0])),
                "retries": draw(st.integers(0, 2)), "max_event_age": f"{draw(st.integers(60, 600))}s",
                "timeout": f"{draw(st.integers(1, 3))}s", "init_duration": draw(st.sampled_from(["0ms", "200ms"])),
                "memory": draw(st.sampled_from([128, 1769])),
                "handler": [{"cpu": f"exp({draw(st.integers(5, 100))}ms)"}],
                "reserved_concurrency": draw(st.sampled_from([None, None, 0, 1, 3]))}
        if standard and draw(st.booleans()):
            spec[draw(st.sampled_from(["dlq", "on_failure"]))] = draw(st.sampled_from(standard))
        free = [q for q in queues if q not in consumed]
        if free and draw(st.sampled_from([True, True, True, False])):
            q = draw(st.sampled_from(free))
            consumed.add(q)
            spec["event_sources"] = [{"queue": q, "batch_size": draw(st.integers(1, 10)),
                                      "report_batch_item_failures": draw(st.booleans()),
                                      "batching_window": draw(st.sampled_from(["0s", "1s"])),
                                      "maximum_concurrency": draw(st.sampled_from([None, 2]))}]
        comps[f] = {k: v for k, v in spec.items() if v is not None}
    for i in range(draw(st.integers(0, 2))):  # ECS services polling a queue
        free = [q for q in queues if q not in consumed]
        if not free:
            break
        q = draw(st.sampled_from(free))
        consumed.add(q)
        comps[f"svc{i}"] = {
            "type": "ecs", "desired": draw(st.integers(1, 3)), "startup_time": draw(st.sampled_from(["0s", "5s"])),
            "consumes": {"queue": q, "batch_size": draw(st.integers(1, 10)),
                         "wait": draw(st.sampled_from(["0s", "20s"]))},
            "error_rate": draw(st.sampled_from([0.0, 0.3])), "fargate_spot": draw(st.sampled_from([0.0, 0.5])),
            "handler": [{"cpu": f"exp({draw(st.integers(5, 500))}ms)"}]}
    jobs = [f"job{i}" for i in range(draw(st.integers(0, 2)))]  # ECS one-off tasks (RunTask targets)
    for j in jobs:
        comps[j] = {"type": "ecs", "startup_time": draw(st.sampled_from(["0s", "5s"])),
                    "max_tasks": draw(st.sampled_from([None, 1, 3])), "error_rate": draw(st.sampled_from([0.0, 0.3])),
                    "overlap": draw(st.sampled_from(["allow", "skip"])), "zones": ["a"],
                    "handler": [{"cpu": f"exp({draw(st.integers(5, 3000))}ms)"}]}
        comps[j] = {k: v for k, v in comps[j].items() if v is not None}
    sinks = [q for q in standard if q not in consumed]
    for f in fns:
        if sinks and draw(st.booleans()):
            comps[f]["handler"].append({"call": f"{draw(st.sampled_from(sinks))}.send",
                                        "message": {"poison": 0.2}})
    kinds = st.sampled_from([None, {"kind": ["a"]}, {"kind": ["b", "c"]}, {"kind": [{"anything-but": ["a"]}]}])
    topics = [f"t{i}" for i in range(draw(st.integers(0, 2)))]
    for t in topics:
        is_fifo = bool(fifos) and draw(st.booleans())
        subs: list[dict[str, Any]] = []
        pool = fifos if is_fifo else standard + fns + ["@email"]
        for target in draw(st.lists(st.sampled_from(pool), max_size=4, unique=True)) if pool else []:
            sub: dict[str, Any] = ({"protocol": "email", "endpoint": "a@example.com",
                                    "error_rate": draw(st.sampled_from([0.0, 0.5]))}
                                   if target == "@email" else {"target": target})
            policy = draw(kinds)
            if policy:
                sub["filter_policy"] = policy
            dlqs = fifos if is_fifo else standard
            if dlqs and draw(st.booleans()):
                sub["dlq"] = draw(st.sampled_from(dlqs))
            subs.append(sub)
        comps[t] = {"type": "sns", "fifo": is_fifo, "subscriptions": subs}
    buses = ["bus"] if draw(st.booleans()) else []
    for b in buses:
        rules = []
        pool = standard + [t for t in topics if not comps[t]["fifo"]] + fns + jobs
        for i in range(draw(st.integers(1, 3)) if pool else 0):
            rule: dict[str, Any] = {"name": f"r{i}"}
            if draw(st.integers(0, 3)) == 0:
                rule["schedule"] = "rate(1 minute)"
            else:
                conds = [["a"], ["b", "c"], [{"anything-but": ["a"]}], [{"exists": True}]]
                rule["pattern"] = {"detail": {"kind": draw(st.sampled_from(conds))}}
            targets = []
            for t in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=5, unique=True)):
                tgt: dict[str, Any] = {"target": t, "retry_policy": {
                    "max_retries": draw(st.sampled_from([0, 2, 185])),
                    "max_event_age": draw(st.sampled_from(["60s", "24h"]))}}
                if standard and draw(st.booleans()):
                    tgt["dlq"] = draw(st.sampled_from(standard))
                targets.append(tgt)
            rule["targets"] = targets
            rules.append(rule)
        comps[b] = {"type": "eventbridge", "rules": rules}
    workloads = {}
    for i in range(draw(st.integers(1, 3))):
        entry = draw(st.sampled_from(queues + topics + buses))
        workloads[f"w{i}"] = {
            "entry": entry, "rate": f"{draw(st.integers(1, 20))}/s",
            "message": {"poison": draw(st.sampled_from([0.0, 0.05, 0.3])), "group": "uniform(0, 3)",
                        "attributes": {"kind": {"a": 0.5, "b": 0.3, "c": 0.2}}}}
    faults = []
    for name in [n for n in comps if n.startswith(("svc", "job"))]:
        if draw(st.booleans()):
            kind = draw(st.sampled_from(["terminate", "spot_interruption", "az_outage"]))
            at = f"{draw(st.integers(10, 200))}s"
            if kind == "az_outage":
                faults.append({"at": at, "az_outage": "a", "duration": "30s"})
            elif kind == "terminate" or comps[name].get("fargate_spot"):
                faults.append({"at": at, kind: name, "count": draw(st.integers(1, 2))})
    return {"name": "random", "components": comps, "workloads": workloads, "faults": faults,
            "simulate": {"duration": f"{draw(st.integers(60, 240))}s", "seed": draw(st.integers(0, 1000))}}


@pytest.mark.slow
@settings(max_examples=40)
@given(topology())
def test_every_copy_is_accounted_for_on_random_topologies(spec: dict[str, Any]) -> None:
    arch = parse_spec(json.dumps(spec))
    res = Simulation(arch).run()  # raises InvariantViolation if a count or a held copy is off
    m = res["messages"]
    assert m["published"] == m["delivered"] + m["dead_lettered"] + m["expired"] + m["in_flight"] + m["lost"]
    assert m["lost"] == sum(m["lost_by_cause"].values()) and set(m["lost_by_cause"]) <= KNOWN_CAUSES
    comps = spec["components"]
    fns_without_dlq = [c for c in comps.values() if c["type"] == "lambda" and not (c.get("dlq") or c.get("on_failure"))]
    if any(k.startswith("lambda_") for k in m["lost_by_cause"]):
        assert fns_without_dlq
    if any(k.startswith("sns_email") for k in m["lost_by_cause"]):
        assert any(s.get("protocol") == "email" for c in comps.values() for s in c.get("subscriptions", []))
    sent = sum(c["sent"] for c in res["components"].values() if c["type"] == "sqs")
    comps_out = res["components"].values()
    bus_copies = sum(t["delivered"] + t["dead_lettered"] + t["lost"] for c in comps_out if c["type"] == "eventbridge"
                     for r in c["rules"] for t in r["targets"]) + sum(c["pending"] for c in comps_out
                                                                     if c["type"] == "eventbridge")
    assert m["published"] <= sent + sum(c["async"]["accepted"] for c in comps_out if c["type"] == "lambda") + sum(
        s["matched"] for c in comps_out if c["type"] == "sns" for s in c["subscriptions"]) + bus_copies


def test_an_asynchronous_loop_is_warned_about_with_its_line() -> None:
    from cloudtwin.spec import parse_spec_located, spec_warnings

    text = """name: loop
components:
  q: {type: sqs}
  fn: {type: lambda, handler: [{call: t.publish}], event_sources: [{queue: q}]}
  t: {type: sns, subscriptions: [{target: q}]}
"""
    [w] = spec_warnings(*parse_spec_located(text, file="loop.yaml"))
    assert (w.file, w.line, w.path) == ("loop.yaml", 4, "components.fn")
    assert "loop (fn -> t -> q -> fn)" in w.message
    assert spec_warnings(*parse_spec_located(text.replace("t.publish", "q2.send") + "  q2: {type: sqs}\n")) == []
