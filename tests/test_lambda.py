"""Lambda: concurrency and throttling (Erlang B), the scaling rate, cold starts, CPU by memory,
timeouts, async retries and event age, reserved concurrency 0, the SQS event source (partial
batch failures), billing in GB-seconds, and an SQS queue drained by c workers as M/M/c."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.theory import erlang_b, mmc_mean_response


def run(text: str, seed: int | None = None) -> Any:
    return Simulation(parse_spec(text), seed=seed).run()


@pytest.mark.parametrize("c, a", [(10, 8.0), (5, 5.0)])
def test_synchronous_throttling_is_erlang_b(c: int, a: float) -> None:
    """A function with c warm environments and no queue is an M/G/c/c loss system: the
    fraction of invocations throttled (429) is Erlang B(c, a), whatever the service time."""
    s = 0.2
    res = run(f"""
name: eb
components:
  fn:
    type: lambda
    memory: 1769
    timeout: 60s
    reserved_concurrency: {c}
    provisioned_concurrency: {c}
    handler: [{{cpu: exp({s * 1000}ms)}}]
workloads:
  w: {{entry: fn, rate: {a / s}/s}}
simulate: {{requests: 150000}}
""")
    w = res.workload("w")
    assert w["errors"]["throttled"] / w["requests"] == pytest.approx(erlang_b(c, a), abs=0.006)
    assert res.component("fn")["cold_starts"] == 0 and res.component("fn")["max_concurrency"] == c


def test_new_environments_are_limited_to_1000_per_10_seconds() -> None:
    """Every invocation times out, so every one needs a new environment: 1,000 at once, then
    100 per second [aws-facts §5 Scaling rate, CHANGED]. At 400/s the burst lasts until
    400 t = 1000 + 100 t, t = 3.33 s."""
    res = run("""
name: scale
components:
  fn:
    type: lambda
    timeout: 1s
    init_duration: 0ms
    handler: [{sleep: 10s}]
workloads:
  w: {entry: fn, rate: 400/s, arrivals: constant}
simulate: {duration: 60s}
""")
    fn, w = res.component("fn"), res.workload("w")
    t = 1000 / (400 - 100)
    assert fn["cold_starts"] == pytest.approx(400 * t + 100 * (60 - t), abs=5)
    assert fn["timeouts"] == w["errors"]["timeout"] >= fn["cold_starts"] - 400
    assert w["errors"]["throttled"] == fn["throttles"] == w["requests"] - fn["invocations"]


@pytest.mark.parametrize("memory, seconds", [(128, 0.010 * 1769 / 128), (1769, 0.010), (3538, 0.010)])
def test_cpu_time_scales_with_memory_below_one_vcpu(memory: int, seconds: float) -> None:
    res = run(f"""
name: cpu
components:
  fn: {{type: lambda, memory: {memory}, provisioned_concurrency: 1, reserved_concurrency: 1, handler: [{{cpu: 10ms}}]}}
workloads:
  w: {{entry: fn, rate: 1/s}}
simulate: {{duration: 1m}}
""")
    d = res.component("fn")["duration_ms"]
    assert d["min"] == pytest.approx(seconds * 1000, rel=0.01) and d["max"] == pytest.approx(seconds * 1000, rel=0.01)


def test_cold_starts_and_idle_reclaim() -> None:
    text = """
name: cold
components:
  fn: {{type: lambda, idle_timeout: {idle}, init_duration: 300ms, handler: [{{cpu: 10ms}}]}}
workloads:
  w: {{entry: fn, rate: 1/s, arrivals: constant}}
simulate: {{duration: 2m}}
"""
    warm = run(text.format(idle="10m"))
    assert warm.component("fn")["cold_starts"] == 1
    cold = run(text.format(idle="500ms"))
    fn = cold.component("fn")
    assert fn["cold_starts"] == fn["invocations"] == cold.workload("w")["requests"] > 100
    assert cold.workload("w")["latency_ms"]["p50"] == pytest.approx(300 + 10 * 1769 / 128, rel=0.01)


def test_a_timeout_fails_the_caller_and_bills_the_timeout() -> None:
    res = run("""
name: slow
components:
  fn: {type: lambda, memory: 1024, timeout: 3s, handler: [{sleep: 5s}]}
workloads:
  w: {entry: fn, rate: 2/s, arrivals: constant}
simulate: {duration: 1m}
""")
    w, fn = res.workload("w"), res.component("fn")
    assert w["succeeded"] == 0 and w["errors"]["timeout"] == fn["timeouts"] == fn["invocations"] - w["in_flight"]
    assert fn["timeouts"] > 100 and fn["billed_ms"] == 3000 * fn["timeouts"]
    assert fn["gb_seconds"] == pytest.approx(3.0 * fn["timeouts"])  # 1 GB x 3 s each


def test_gb_seconds_and_requests_are_billed_at_the_listed_prices() -> None:
    res = run("""
name: bill
components:
  fn: {type: lambda, memory: 512, handler: [{cpu: 100ms}]}
workloads:
  w: {entry: fn, rate: 10/s, arrivals: constant}
simulate: {duration: 1m}
""")
    fn, done = res.component("fn"), res.workload("w")["succeeded"]
    n = fn["invocations"]  # requests are billed when they start
    # 100 ms of CPU at 512 MB takes 100 x 1769/512 = 345.5 ms, billed as 346 ms
    assert fn["billed_ms"] == done * 346 and fn["gb_seconds"] == pytest.approx(done * 0.346 * 0.5)
    items = {i["usage_type"]: i for i in res["cost"]["items"] if i["component"] == "fn"}
    assert items["Request"]["quantity"] == n and items["Request"]["usd"] == pytest.approx(n * 0.2e-6, abs=1e-6)
    assert items["Lambda-GB-Second"]["usd"] == pytest.approx(fn["gb_seconds"] * 0.0000166667, abs=1e-6)


ASYNC = """
name: async
components:
  fn:
    type: lambda
    error_rate: {error_rate}
    retries: {retries}
    {extra}
    handler: [{{sleep: 100ms}}]
  fn-dlq: {{type: sqs, retention: 14d, latency: 0ms}}
  caller: {{type: ec2, handler: [{{call: fn.invoke_async}}]}}
workloads:
  w: {{entry: caller, rate: 1/s, arrivals: constant}}
simulate: {{duration: 10m}}
"""


@pytest.mark.python_only
@pytest.mark.parametrize("retries", [2, 1, 0])
def test_async_failures_are_attempted_retries_plus_one_times_then_go_to_the_dlq(retries: int) -> None:
    arch = parse_spec(ASYNC.format(error_rate=1.0, retries=retries, extra="dlq: fn-dlq"))
    sim = Simulation(arch)
    dlq = sim.components["fn-dlq"]
    ages: list[float] = []
    take = dlq.take_dead
    dlq.take_dead = lambda m, **kw: (ages.append(sim.engine.now - m.t0), take(m, **kw))[1]
    res = sim.run()
    fn = res.component("fn")["async"]
    assert fn["failed_after_attempts"] == {str(retries + 1): fn["dead_lettered"]} and fn["succeeded"] == 0
    # the attempts are 1 min then 2 min apart [aws-facts §5]: 0, 60 s, 180 s (+ 100 ms each)
    wait = (0.0, 60.0, 180.0)[retries] + 0.1 * (retries + 1)
    assert all(a == pytest.approx(wait, abs=0.5) for a in ages) and len(ages) == fn["dead_lettered"] > 300
    m = res["messages"]
    assert m["dead_lettered"] == len(ages) and m["lost"] == 0 and m["published"] == m["dead_lettered"] + m["in_flight"]


def test_async_failures_without_a_dlq_are_lost_under_a_named_cause() -> None:
    res = run(ASYNC.format(error_rate=0.5, retries=2, extra=""))
    fn, m = res.component("fn")["async"], res["messages"]
    assert m["lost_by_cause"] == {"lambda_retries_exhausted": fn["lost"]}
    assert abs(fn["lost"] / (fn["lost"] + fn["succeeded"]) - 0.125) < 0.04  # 0.5 ** 3
    assert m["delivered"] == fn["succeeded"]


def test_reserved_concurrency_zero_sends_events_straight_to_the_dlq() -> None:
    res = run(ASYNC.format(error_rate=0, retries=2, extra="reserved_concurrency: 0\n    dlq: fn-dlq"))
    fn = res.component("fn")
    assert fn["invocations"] == 0 and fn["async"]["failed_after_attempts"] == {"0": fn["async"]["dead_lettered"]}
    assert fn["async"]["dead_lettered"] == res.component("fn-dlq")["visible"] >= 599


@pytest.mark.parametrize("dlq", [True, False])
def test_throttled_events_are_retried_until_the_maximum_event_age(dlq: bool) -> None:
    """One environment, 10 s per event, an event a second: most events wait, throttled, and are
    given up on after max_event_age (60 s)."""
    extra = "reserved_concurrency: 1\n    max_event_age: 60s\n    timeout: 15s" + ("\n    dlq: fn-dlq" if dlq else "")
    res = run(ASYNC.format(error_rate=0, retries=2, extra=extra).replace("sleep: 100ms", "sleep: 10s"))
    fn, m = res.component("fn"), res["messages"]
    expired = fn["async"]["dead_lettered"] + fn["async"]["lost"]
    assert fn["async"]["succeeded"] == pytest.approx(600 / 10, abs=2) and expired > 450
    assert fn["throttles"] > 5 * expired  # backoff 1, 2, 4, 8, 16, 32 s: about 6 tries per event
    assert (m["dead_lettered"] if dlq else m["lost_by_cause"]["lambda_max_event_age"]) == expired


SQS_BATCH = """
name: batch
components:
  jobs: {{type: sqs, dlq: jobs-dlq, max_receive_count: 5, visibility_timeout: 10s}}
  jobs-dlq: {{type: sqs, retention: 14d}}
  fn:
    type: lambda
    handler: [{{cpu: 1ms}}]
    event_sources: [{{queue: jobs, batch_size: 10, batching_window: 1s, report_batch_item_failures: {rbif}}}]
workloads:
  w: {{entry: jobs, rate: 100/s, message: {{poison: 0.1}}}}
simulate: {{duration: 5m}}
"""


@pytest.mark.python_only
@pytest.mark.parametrize("rbif", [True, False])
def test_partial_batch_failures_keep_good_messages_out_of_the_dlq(rbif: bool) -> None:
    arch = parse_spec(SQS_BATCH.format(rbif=str(rbif).lower()))
    sim = Simulation(arch)
    dlq = sim.components["jobs-dlq"]
    poison: list[bool] = []
    take = dlq.take_dead
    dlq.take_dead = lambda m, **kw: (poison.append(bool(m.attrs)), take(m, **kw))[1]
    res = sim.run()
    es = res.component("fn")["event_sources"][0]
    sent = res.component("jobs")["sent"]
    if rbif:  # only the poison messages fail: each is received 5 times, the others once
        assert all(poison) and len(poison) > 800
        assert es["messages"] == pytest.approx(sent * (1 + 0.1 * 4), rel=0.03)
    else:  # a poison message fails its whole batch: good messages come back, and some reach the DLQ
        good = poison.count(False)
        assert good > 0.5 * poison.count(True) > 300
        assert es["messages"] > 2 * sent
    assert res["messages"]["lost"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("rho, seeds", [(0.7, (1,)), (0.8, (1, 2))])
def test_an_sqs_queue_drained_by_c_single_slot_workers_is_mmc(rho: float, seeds: tuple[int, ...]) -> None:
    """Queueing truth: Poisson sends, c = 4 pollers (maximum_concurrency) each invoking with a
    batch of 1 on one of 4 warm environments, exponential work, no polling or API latency: the
    end-to-end time (send to delete) is the M/M/c response time. (With more than 5 pollers the
    mapping starts at 5 and scales up, which is not M/M/c.) ~150k messages per seed: the sd of
    the mean is about 1 % at rho 0.7 and 1.5 % at 0.8."""
    c, s = 4, 0.1
    lam = rho * c / s
    means = []
    for seed in seeds:
        res = run(f"""
name: mmc
components:
  q: {{type: sqs, latency: 0ms, duplicate_rate: 0, visibility_timeout: 10m}}
  fn:
    type: lambda
    memory: 1769
    timeout: 60s
    reserved_concurrency: {c}
    provisioned_concurrency: {c}
    handler: [{{cpu: exp({s * 1000}ms)}}]
    event_sources: [{{queue: q, batch_size: 1, maximum_concurrency: {c}}}]
workloads:
  w: {{entry: q, rate: {lam}/s}}
simulate: {{duration: {150_000 / lam}s}}
""", seed=seed)
        q = res.component("q")
        assert q["delivered"] > 145_000 and res.component("fn")["throttles"] == 0
        means.append(q["end_to_end_ms"]["mean"] / 1000)
    assert sum(means) / len(means) == pytest.approx(mmc_mean_response(lam, s, c), rel=0.03)


@pytest.mark.parametrize("text, path, needle", [
    ("  f: {type: lambda, reserved_concurrency: 500}\n  g: {type: lambda, reserved_concurrency: 500}\n",
     "components.f.reserved_concurrency", "at most 900"),
    ("  f: {type: lambda, reserved_concurrency: 2, provisioned_concurrency: 3}\n", "components.f",
     "exceeds reserved_concurrency"),
    ("  f: {type: lambda, dlq: q}\n  q: {type: sqs, fifo: true}\n", "components.f.dlq", "standard queue"),
    ("  f: {type: lambda, event_sources: [{queue: q, batch_size: 20}]}\n  q: {type: sqs}\n",
     "components.f.event_sources[0].batching_window", "needs batching_window >= 1s"),
    ("  f: {type: lambda, event_sources: [{queue: q, batch_size: 20, batching_window: 1s}]}\n"
     "  q: {type: sqs, fifo: true}\n", "components.f.event_sources[0].batch_size", "at most 10"),
    ("  f: {type: lambda, timeout: 901s}\n", "components.f.timeout", "less than or equal to 900"),
    ("  f: {type: lambda, memory: 64}\n", "components.f.memory", "greater than or equal to 128"),
])
def test_bad_lambda_settings_are_spec_errors(text: str, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("name: x\ncomponents:\n" + text, file="f.yaml")
    assert any(i.path == path and needle in i.message and i.line >= 3 for i in info.value.issues), \
        info.value.issues
