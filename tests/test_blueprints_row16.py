"""Blueprint row 16, "Big Data Ingestion Pipeline": ``big-data-pipeline``.

Producers -> Kinesis Data Streams -> Firehose (+ Lambda transform) -> S3 -> Athena ->
reports in S3 -> Redshift / QuickSight. Three claims, each with numbers:

(a) throughput is capped by the shard: doubling the producers past its 1,000 records/s
    [aws-facts §9] raises ``throttled`` and the producers' delay (their retries wait), yet
    delivered + in flight == published and nothing is lost;
(b) Firehose buffering sets the delivery latency: at a low rate the 60 s interval flushes
    (latency about the interval), at the blueprint's rate the 16 MiB size flushes first
    (latency about buffer_size / throughput);
(c) Athena cost follows bytes scanned: the partitioned Parquet query scans (and costs)
    thousands of times less than the same query over the unpartitioned CSV export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudtwin import Results, Simulation, load_spec
from cloudtwin.pricing.table import builtin

NAME = "big-data-pipeline"
RUN_S = 480.0  # 8 minutes: the spike (minutes 4-6), its drain and the first scheduled queries
MIB = 1_048_576.0
ATHENA_PRICE = ("region,service,usage_type,unit,usd,source,date,confidence\n"
                "us-east-1,athena,Athena-TB-Scanned,TB,5.0,test,undated,weak\n")


def run(tmp: Path, *, factor: float = 2.0, rate: float | None = None, duration: float = RUN_S) -> Results:
    arch = load_spec(NAME)
    w = arch.workloads["events"]
    w = w.model_copy(update={"profile": w.profile.model_copy(update={"factor": factor}),
                             "rate": rate if rate is not None else w.rate})
    arch = arch.model_copy(update={"workloads": {**arch.workloads, "events": w}})
    sim = Simulation(arch, duration=duration)
    prices = tmp / "athena.csv"
    prices.write_text(ATHENA_PRICE, encoding="utf-8")
    sim.prices = builtin().overridden(prices)  # type: ignore[attr-defined]
    return sim.run()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Results]:
    tmp = tmp_path_factory.mktemp("row16")
    return {"base": run(tmp, factor=1.0), "spike": run(tmp),
            "low": run(tmp, factor=1.0, rate=100.0, duration=300.0)}


def accounted(res: Results) -> None:
    m = res["messages"]
    assert m["lost"] == 0 and m["lost_by_cause"] == {} and m["expired"] == 0
    assert m["delivered"] + m["in_flight"] + m["dead_lettered"] == m["published"]
    ks, fh = res.component("clickstream"), res.component("delivery")
    assert m["published"] == ks["accepted"]  # one record per accepted put
    backlog = ks["consumers"][0]["backlog"]  # still in the shard, not yet read by Firehose
    assert fh["records_in"] + backlog == ks["accepted"]
    assert fh["records_delivered"] + fh["delivered_to_error_prefix"] == m["delivered"]
    assert fh["buffered"] + backlog == m["in_flight"]
    assert fh["lost"] == 0 and fh["throttled"] == 0


def test_a_doubling_producers_past_the_shard_throttles_and_delays_but_loses_nothing(
        runs: dict[str, Results]) -> None:
    base, spike = runs["base"], runs["spike"]
    accounted(base)
    accounted(spike)
    assert base.component("clickstream")["throttled"] < 50  # Poisson bursts only
    ks = spike.component("clickstream")
    # 2 minutes at 1,400/s against 1,000/s: at least 48,000 puts over the limit, each retried up to 5 times
    assert ks["throttled"] > 48_000
    accepted_rate = ks["accepted"] / RUN_S
    assert accepted_rate < 1000  # the shard caps the throughput
    w_base, w_spike = base.workload("events"), spike.workload("events")
    assert w_base["failed"] == 0
    assert w_spike["errors"]["throttled"] == w_spike["failed"] > 0  # puts that ran out of retries: refused, not lost
    assert w_spike["latency_ms"]["p99"] > 20 * w_base["latency_ms"]["p99"]
    assert w_spike["latency_ms"]["mean"] > 10 * w_base["latency_ms"]["mean"]
    # the poison records the transform fails are delivered to the error prefix, counted apart
    fh = spike.component("delivery")
    assert fh["delivered_to_error_prefix"] == fh["transform"]["failed_records"] > 0


def test_b_the_buffer_sets_the_delivery_latency(runs: dict[str, Results]) -> None:
    spec = load_spec(NAME).components["delivery"]
    interval, size = spec.buffer_interval, spec.buffer_size
    # low rate: 100 records/s x 1 KB = 0.1 MB/s, 6 MB per minute < 16 MiB: every flush is the interval's
    low = runs["low"].component("delivery")
    assert low["flushes"]["size"] == 0 and low["flushes"]["interval"] >= 3
    lat = low["delivery_latency_ms"]
    fill_transform = MIB / (100 * 1000)  # the Lambda processor's 1 MiB buffer fills in 10.5 s
    assert interval * 1000 < lat["max"] < (interval + fill_transform + 5) * 1000
    assert 0.4 * interval * 1000 < lat["mean"] < 0.75 * (interval + fill_transform) * 1000
    # the blueprint's 700 records/s = 0.7 MB/s fill 16 MiB in 24 s, before the 60 s interval
    base = runs["base"].component("delivery")
    assert base["flushes"]["interval"] == 0 and base["flushes"]["size"] >= 15
    expected = size / (700 * 1000)
    assert base["delivery_latency_ms"]["p99"] == pytest.approx(expected * 1000, rel=0.15)
    assert base["delivery_latency_ms"]["p99"] < 0.5 * lat["p99"]


def test_c_athena_cost_follows_bytes_scanned(runs: dict[str, Results]) -> None:
    res = runs["base"]
    rep, adhoc = res.component("reports"), res.component("adhoc")
    assert rep["succeeded"] == adhoc["succeeded"] == 1  # the 5-minute run of each
    spec = load_spec(NAME).components
    share = spec["reports"].partition_filter * spec["reports"].columns_read
    # the Parquet table held 60 GB at t=0 plus what Firehose wrote in 5 minutes (~0.1 GB)
    assert rep["bytes_scanned"] == pytest.approx(60e9 * share, rel=0.01)
    assert adhoc["bytes_scanned"] == pytest.approx(300e9, rel=1e-9)  # the whole CSV export
    ratio = adhoc["bytes_scanned"] / rep["bytes_scanned"]
    assert ratio > 10_000
    cost = res["cost"]["by_component"]
    # billed per TB scanned, rounded up to the MiB with a 10 MiB minimum per query
    assert cost["adhoc"] / cost["reports"] == pytest.approx(adhoc["bytes_billed"] / rep["bytes_billed"], rel=0.01)
    assert cost["adhoc"] / cost["reports"] > 10_000
    assert cost["adhoc"] == pytest.approx(300e9 / 1024**4 * 5.0, rel=0.01)
    # reports are in S3, and Redshift / QuickSight pick them up
    lake = res.component("lake")
    assert lake["stored_objects"] > 0
    wh, dash = res.component("warehouse"), res.component("dashboard")
    assert wh["copies"] >= 1 and dash["refreshed"] >= 1 and dash["view_errors"] == 0
