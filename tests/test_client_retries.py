"""A workload's client retries (``retries:``/``backoff:``): an SDK resending a request that
failed with a retryable kind, with exponential backoff and full jitter. The request counts
once (its latency from the first try); the entry sees every attempt."""

from __future__ import annotations

import pytest

from cloudtwin import Simulation, parse_spec

STREAM = """
name: retries
components:
  s: {{type: kinesis, shards: 1}}
workloads:
  w: {{entry: s, rate: {rate}/s, arrivals: constant{extra}}}
simulate: {{duration: 60s, seed: 3}}
"""


def run(rate: float, extra: str = "") -> tuple[dict, dict]:
    res = Simulation(parse_spec(STREAM.format(rate=rate, extra=extra))).run()
    return res.workload("w"), res.component("s")


def test_retries_ride_out_a_spike_and_pay_in_latency() -> None:
    # 500 puts/s, tripled to 1,500/s for 10 s, against one shard's 1,000 records/s [aws-facts §9]
    spike = ", profile: {type: spike, at: 20s, duration: 10s, factor: 3}"
    w0, s0 = run(500, spike)
    w5, s5 = run(500, spike + ", retries: 8, backoff: 200ms")  # up to 51 s of backoff in all
    assert w0["errors"]["throttled"] > 3_000 and "retries" not in w0
    # every attempt reaches the stream: puts = requests + retries (none pending at the end)
    assert s5["requests"] == w5["requests"] + w5["retries"]
    # the shard never takes more than its 1,000/s (+1 s burst)...
    assert s5["accepted"] <= s0["accepted"] + w0["errors"]["throttled"]
    # ...but the retries land after the spike: far fewer requests fail, and they wait for it
    assert w5["errors"]["throttled"] < w0["errors"]["throttled"] / 5
    assert w5["retries"] > w0["errors"]["throttled"]
    assert w5["latency_ms"]["p99"] > 20 * w0["latency_ms"]["p99"]
    # each logical request counts once, and all are accounted for
    assert w5["requests"] == w0["requests"]
    assert w5["succeeded"] + w5["failed"] + w5["in_flight"] == w5["requests"]


def test_below_capacity_nothing_is_retried() -> None:
    w, s = run(500, ", retries: 5")
    assert w["retries"] == 0 and w["failed"] == 0 and s["throttled"] == 0


@pytest.mark.slow
def test_retries_are_bounded_and_backoff_grows() -> None:
    # everything is throttled after the first second: each request tries 1 + 2 times, then fails
    w, s = run(3000, ", retries: 2, backoff: 100ms")
    failed = w["errors"]["throttled"]
    assert failed > 100_000
    # at most 2 retries each
    assert w["retries"] <= 2 * (w["requests"]) and w["retries"] >= 2 * failed * 0.99
    # backoff 100 ms x 2^n x U(0,1): the two retries add at most 0.1 + 0.2 s (+ latencies)
    assert w["latency_ms"]["max"] < 300 + 3 * 60


@pytest.mark.slow
def test_a_client_timeout_ends_the_retries() -> None:
    w, s = run(3000, ", retries: 10, backoff: 2s, timeout: 1s")
    assert w["errors"]["timeout"] > 0
    assert w["latency_ms"]["max"] == pytest.approx(1000, abs=60)
    # no attempt after the client gave up: a timed-out request never retries again
    assert s["requests"] <= w["requests"] + w["retries"]
