"""SQS: redrive after max_receive_count, retention from the original enqueue time, size and FIFO
limits, FIFO order, long polling, at-least-once duplicates, delay queues, and the spec checks."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest
from typer.testing import CliRunner

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.cli import app
from cloudtwin.spec import parse_spec_located, spec_warnings


def consumer(queue: str, *, batch: int = 1, rbif: bool = True, extra: str = "") -> str:
    return f"""
  worker:
    type: lambda
    memory: 1769
    handler: [{{cpu: 10ms}}]
    event_sources: [{{queue: {queue}, batch_size: {batch}, report_batch_item_failures: {str(rbif).lower()}}}]
    {extra}"""


@pytest.mark.python_only
def test_a_poison_message_is_received_exactly_max_receive_count_times_then_sits_in_the_dlq() -> None:
    arch = parse_spec(f"""
name: redrive
components:
  jobs: {{type: sqs, visibility_timeout: 20s, dlq: jobs-dlq, max_receive_count: 3}}
  jobs-dlq: {{type: sqs, retention: 14d}}
{consumer("jobs")}
workloads:
  w: {{entry: jobs, rate: 2/s, message: {{poison: 0.05}}}}
simulate: {{duration: 10m}}
""")
    sim = Simulation(arch)
    q, dlq = sim.components["jobs"], sim.components["jobs-dlq"]
    sent: list[tuple[float, bool]] = []
    moved: list[tuple[float, int, float]] = []
    enter, take = q._enter, dlq.take_dead
    q._enter = lambda m, d: (sent.append((sim.engine.now, bool(m.attrs))), enter(m, d))[1]
    dlq.take_dead = lambda m, **kw: (moved.append((sim.engine.now, m.receives, m.enq)), take(m, **kw))[1]
    res = sim.run()
    poison_times = [t for t, p in sent if p]
    assert len(poison_times) > 40
    # every poison message sent more than 3 x 20 s (plus processing) before the end is in the DLQ,
    # each after exactly 3 receives, 3 visibility timeouts after it was sent; nothing else is there
    assert [r for _, r, _ in moved] == [3] * len(moved)
    assert all(60.0 - 1e-6 <= t - enq <= 61.0 for t, _, enq in moved), moved[:3]
    assert len(moved) == sum(1 for t in poison_times if t < 600 - 61)
    assert res.component("jobs")["dlq_receive_counts"] == {"3": len(moved)}
    d = res.component("jobs-dlq")
    assert d["visible"] == d["dead_letters_in"] == len(moved) == res["messages"]["dead_lettered"]
    assert res["messages"]["lost"] == 0 and res["messages"]["expired"] == 0


@pytest.mark.parametrize("dlq_retention, expired", [("2m", True), ("14d", False)])
def test_expiry_counts_from_the_original_enqueue_time_even_in_the_dlq(dlq_retention: str, expired: bool) -> None:
    """Every message fails; it moves after 3 receives of 1 min, at age ~3 min. A DLQ that keeps
    messages 2 min expires them the moment they arrive; one that keeps them 14 days holds them."""
    arch = parse_spec(f"""
name: expiry
components:
  jobs: {{type: sqs, visibility_timeout: 1m, retention: 10m, dlq: jobs-dlq, max_receive_count: 3}}
  jobs-dlq: {{type: sqs, retention: {dlq_retention}}}
{consumer("jobs", extra="timeout: 5s")}
workloads:
  w: {{entry: jobs, rate: 1/s, arrivals: constant, message: {{poison: 1.0}}}}
simulate: {{duration: 8m}}
""")
    res = Simulation(arch).run()
    q, d, m = res.component("jobs"), res.component("jobs-dlq"), res["messages"]
    assert q["moved_to_dlq"] == d["dead_letters_in"] > 250  # sent in the first ~5 min
    if expired:
        assert d["expired"] == q["moved_to_dlq"] and d["visible"] == 0
        assert m["expired"] == q["moved_to_dlq"] and m["dead_lettered"] == 0
    else:
        assert d["expired"] == 0 and m["dead_lettered"] == d["visible"] == q["moved_to_dlq"]
    assert m["lost"] == 0


def test_a_queue_without_consumers_expires_messages_at_their_retention() -> None:
    arch = parse_spec("""
name: idle
components:
  jobs: {type: sqs, retention: 60s}
workloads:
  w: {entry: jobs, rate: 10/s, arrivals: constant}
simulate: {duration: 5m}
""")
    res = Simulation(arch).run()
    q, m = res.component("jobs"), res["messages"]
    assert q["sent"] == 3000
    assert abs(q["visible"] - 600) <= 1 and abs(q["expired"] - 2400) <= 1
    assert m["expired"] == q["expired"] and m["in_flight"] == q["visible"] and m["published"] == 3000


@pytest.mark.parametrize("size, limit, ok", [("2MiB", "1MiB", False), ("300KB", "256KiB", False),
                                             ("200KB", "256KiB", True), ("1MiB", "1MiB", True)])
def test_messages_above_the_size_limit_are_rejected(size: str, limit: str, ok: bool) -> None:
    arch = parse_spec(f"""
name: big
components:
  jobs: {{type: sqs, max_message_size: {limit}}}
workloads:
  w: {{entry: jobs, rate: 5/s, message: {{size: {size}}}}}
simulate: {{duration: 1m}}
""")
    res = Simulation(arch).run()
    w = res.workload("w")
    if ok:
        assert w["failed"] == 0 and res["messages"]["published"] == w["requests"]
    else:
        assert w["errors"]["rejected"] == w["requests"] > 200 and res["messages"]["published"] == 0
        [event] = [e for e in res["timeline"] if e["kind"] == "messages"]
        assert "sqs jobs: rejected a" in event["detail"] and "(max_message_size)" in event["detail"]


def test_the_maximum_message_size_is_1_mib_now() -> None:
    with pytest.raises(SpecError, match=r"components\.jobs\.max_message_size"):
        parse_spec("name: x\ncomponents:\n  jobs: {type: sqs, max_message_size: 2MiB}\n")


def test_fifo_send_rate_is_capped_at_300_per_second() -> None:
    arch = parse_spec("""
name: fifo-rate
components:
  jobs: {type: sqs, fifo: true}
workloads:
  w: {entry: jobs, rate: 500/s, arrivals: constant}
simulate: {duration: 60s}
""")
    res = Simulation(arch).run()
    w, q = res.workload("w"), res.component("jobs")
    # one second's worth (300) at once, then 300/s [aws-facts §6 FIFO throughput]
    assert abs(q["sent"] - (300 * 60 + 300)) <= 5
    assert q["throttled"] == w["requests"] - q["sent"] > 11_000
    assert q["throttled"] - w["in_flight"] <= w["errors"]["throttled"] <= q["throttled"]


@pytest.mark.python_only
def test_fifo_delivers_each_group_in_order_despite_failures() -> None:
    arch = parse_spec(f"""
name: fifo-order
components:
  jobs: {{type: sqs, fifo: true, visibility_timeout: 5s}}
{consumer("jobs", batch=10, rbif=False, extra="error_rate: 0.02")}
workloads:
  w: {{entry: jobs, rate: 20/s, message: {{group: "uniform(0, 6)"}}}}
simulate: {{duration: 5m}}
""")
    sim = Simulation(arch)
    q = sim.components["jobs"]
    order: dict[Any, list[int]] = defaultdict(list)
    batches: list[set[Any]] = []
    delete = q.delete_batch

    def spy(msgs: list[Any]) -> None:
        batches.append({m.group for m in msgs})
        for m in msgs:
            order[m.group].append(m.seq)
        delete(msgs)

    q.delete_batch = spy
    res = sim.run()
    assert res.component("worker")["function_errors"] > 50  # failures happened, and batches came back
    assert len(order) == 6 and sum(map(len, order.values())) > 5000
    for seqs in order.values():
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(len(g) == 1 for g in batches)  # a batch holds one group
    assert res.component("jobs")["duplicates"] == 0


def test_long_polling_returns_on_arrival_and_short_polling_at_once() -> None:
    arch = parse_spec("name: poll\ncomponents:\n  jobs: {type: sqs, latency: 0ms, visibility_timeout: 10m}\n"
                      "simulate: {duration: 2m}\n")
    sim = Simulation(arch)
    q, eng, led = sim.components["jobs"], sim.engine, sim.ctx.account.ledger
    got: list[tuple[str, float, int]] = []

    def rx(tag: str, n: int, wait: float) -> Any:
        return lambda _: q.receive(n, wait, lambda ms: got.append((tag, eng.now, len(ms))))

    def send(k: int) -> Any:
        return lambda _: [q.push(led.new(eng.now, 100.0)) for _ in range(k)]

    eng.at(0.0, rx("long", 10, 20.0))
    eng.at(0.0, rx("short", 10, 0.0))
    eng.at(5.0, send(1))
    eng.at(30.0, rx("empty-long", 10, 20.0))
    eng.at(60.0, send(25))
    eng.at(61.0, rx("batch", 25, 0.0))
    sim.run()
    assert got == [("short", 0.0, 0), ("long", 5.0, 1), ("empty-long", 50.0, 0), ("batch", 61.0, 10)]


@pytest.mark.parametrize("fifo", [False, True])
def test_at_least_once_duplicates_on_standard_queues_only(fifo: bool) -> None:
    arch = parse_spec(f"""
name: dups
components:
  jobs: {{type: sqs, fifo: {str(fifo).lower()}, duplicate_rate: 0.05, visibility_timeout: 5s}}
{consumer("jobs")}
workloads:
  w: {{entry: jobs, rate: 20/s, message: {{group: "uniform(1, 50)"}}}}
simulate: {{duration: 5m}}
""")
    res = Simulation(arch).run()
    q, m = res.component("jobs"), res["messages"]
    if fifo:
        assert q["duplicates"] == m["duplicates"] == 0
    else:
        n, p = q["delivered"], 0.05
        assert abs(q["duplicates"] - n * p) < 4 * math.sqrt(n * p * (1 - p)), (q["duplicates"], n)
        assert m["duplicates"] == q["duplicates"]
    assert m["published"] == m["delivered"] + m["in_flight"]


def test_a_delay_queue_holds_new_messages() -> None:
    arch = parse_spec(f"""
name: delay
components:
  jobs: {{type: sqs, delay: 10s, latency: 0ms}}
{consumer("jobs")}
workloads:
  w: {{entry: jobs, rate: 5/s}}
simulate: {{duration: 3m}}
""")
    e2e = Simulation(arch).run().component("jobs")["end_to_end_ms"]
    assert e2e["min"] >= 10_000 and e2e["p99"] < 10_100


def test_visibility_below_processing_time_processes_twice_and_warns(tmp_path: Any) -> None:
    text = f"""name: slow
components:
  jobs: {{type: sqs, visibility_timeout: 30s}}
{consumer("jobs", extra="timeout: 60s")}
workloads:
  w: {{entry: jobs, rate: 2/m}}
simulate: {{duration: 30m}}
""".replace("handler: [{cpu: 10ms}]", "handler: [{sleep: 40s}]")
    arch, located = parse_spec_located(text, file="slow.yaml")
    [warn] = spec_warnings(arch, located)
    assert warn.file == "slow.yaml" and warn.line == 9 and warn.path == "components.worker.event_sources[0].queue"
    assert "visibility_timeout 30s (it is even below the function timeout)" in warn.message and "360s" in warn.message
    res = Simulation(arch).run()
    q = res.component("jobs")
    # received at t, visible again at t+30 and taken by another poller (when one of the 5 is free),
    # processed to t+70: twice
    assert q["duplicates"] >= 0.75 * q["delivered"] > 40
    p = tmp_path / "slow.yaml"
    p.write_text(text)
    out = CliRunner().invoke(app, ["validate", str(p)])
    assert out.exit_code == 0 and f"warning: {p}:9:" in out.stderr and "ok: slow" in out.stdout


@pytest.mark.parametrize("components, path, needle", [
    ("  a: {type: sqs, dlq: b}\n  b: {type: sqs, fifo: true}\n", "components.a.dlq", "must be a standard queue"),
    ("  a: {type: sqs, fifo: true, dlq: b}\n  b: {type: sqs}\n", "components.a.dlq", "must be a FIFO queue"),
    ("  a: {type: sqs, dlq: a}\n", "components.a.dlq", "its own dead-letter queue"),
    ("  a: {type: sqs, dlq: b}\n  b: {type: rds}\n", "components.a.dlq", "must be an sqs queue; it is a rds"),
    ("  a: {type: sqs, fifo: true}\n  t: {type: sns, subscriptions: [{target: a}]}\n",
     "components.t.subscriptions[0].target", "cannot subscribe to a standard topic"),
])
def test_bad_queue_references_are_spec_errors_with_a_line(components: str, path: str, needle: str) -> None:
    text = "name: x\ncomponents:\n" + components
    with pytest.raises(SpecError) as info:
        parse_spec(text, file="q.yaml")
    [issue] = info.value.issues
    assert issue.path == path and needle in issue.message and issue.file == "q.yaml" and issue.line >= 3


def test_api_requests_are_billed_per_64kb_chunk() -> None:
    arch = parse_spec("""
name: bill
components:
  jobs: {type: sqs}
workloads:
  w: {entry: jobs, rate: 10/s, arrivals: constant, message: {size: 100KB}}
simulate: {duration: 1m}
""")
    res = Simulation(arch).run()
    sent = res.component("jobs")["sent"]
    assert sent >= 599 and res.component("jobs")["api_requests"] == 2 * sent  # 100 KB = two 64 KB chunks
    [item] = [i for i in res["cost"]["items"] if i["component"] == "jobs"]
    assert item["usage_type"] == "SQS-Requests-Tier1" and item["quantity"] == 2 * sent
    assert item["usd"] == pytest.approx(2 * sent * 0.40 / 1e6, abs=1e-6)


@pytest.mark.python_only
@pytest.mark.parametrize("fifo", [False, True])
def test_the_in_flight_limit_caps_receives(fifo: bool) -> None:
    """The limit (120,000 standard, 20,000 FIFO [aws-facts §6]) is lowered to 2 here: with 5
    pollers and 1.5 s of work each, at most 2 messages are ever in flight, and the rest wait;
    receives beyond the limit fail (standard, OverLimit) or return nothing (FIFO)."""
    arch = parse_spec(f"""
name: limit
components:
  jobs: {{type: sqs, fifo: {str(fifo).lower()}, visibility_timeout: 5m}}
{consumer("jobs", extra="timeout: 5s")}
workloads:
  w: {{entry: jobs, rate: 2/s, arrivals: constant, message: {{group: "uniform(0, 100)"}}}}
simulate: {{duration: 2m}}
""".replace("handler: [{cpu: 10ms}]", "handler: [{sleep: 1500ms}]"))
    sim = Simulation(arch)
    q = sim.components["jobs"]
    q.inflight_limit = 2
    peak = [0]
    take = q._take
    q._take = lambda n: (take(n), peak.__setitem__(0, max(peak[0], q.n_inflight)))[0]
    res = sim.run()
    r = res.component("jobs")
    assert peak[0] == 2 and r["throttled"] > 0 and r["visible"] > 60  # 2 messages/s in, 2 per 1.5 s out
    assert res.component("worker")["max_concurrency"] == 2


@pytest.mark.python_only
def test_a_handler_sends_with_its_own_message_spec_and_waits_only_for_acceptance() -> None:
    arch = parse_spec(f"""
name: producer
components:
  api:
    type: ec2
    workers: 8
    handler:
      - cpu: 2ms
      - call: jobs.send
        message: {{size: 2KB, attributes: {{kind: {{order: 0.75, refund: 0.25}}}}}}
  jobs: {{type: sqs, latency: 10ms}}
{consumer("jobs", extra="timeout: 10s").replace("cpu: 10ms", "sleep: 5s")}
workloads:
  w: {{entry: api, rate: 20/s}}
simulate: {{duration: 2m}}
""")
    sim = Simulation(arch)
    q = sim.components["jobs"]
    kinds: list[str] = []
    enter = q._enter
    q._enter = lambda m, d: (kinds.append(m.attrs["kind"]), enter(m, d))[1]
    res = sim.run()
    w = res.workload("w")
    assert w["latency_ms"]["p99"] < 40  # 2 ms of CPU + a 10 ms send: not the consumer's 5 s
    assert res["messages"]["published"] == len(kinds) >= w["succeeded"]
    assert abs(kinds.count("refund") / len(kinds) - 0.25) < 0.03
