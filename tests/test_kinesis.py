"""Kinesis Data Streams: the per-shard write limit, retries, hot keys, retention, and the Lambda
event source (order per shard, bisect-on-error, on-failure destination, a blocked shard)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.services.kinesis import shard_of


def run(text: str, seed: int | None = None) -> Any:
    return Simulation(parse_spec(text), seed=seed).run()


def test_a_shard_count_of_0_is_a_spec_error_with_its_line() -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec("name: s\ncomponents:\n  st:\n    type: kinesis\n    shards: 0\n", file="s.yaml")
    text = str(exc.value)
    assert "s.yaml:5" in text and "at least 1 shard" in text


PRODUCERS = """
name: w
components:
  st: {{type: kinesis, shards: 1}}
  app:
    type: ec2
    workers: 4096
    backlog: 100000
    handler: [{{call: st.put, retries: {retries}, backoff: 0.2s}}]
workloads:
  w:
    entry: app
    rate: 2000/s
    arrivals: constant
    profile: {{type: spike, at: 10s, duration: 590s, factor: 0}}
simulate: {{duration: {duration}}}
"""


def test_twice_the_shard_capacity_throttles_about_half_and_retries_deliver() -> None:
    """2,000 puts/s into one shard (1,000 records/s [aws-facts §9]) for 10 s: the shard
    accepts its 1,000/s plus one second's burst, 11,000 of 20,000, so 45 % are throttled on
    the first try. Producers that retry with backoff get (almost) everything in after the
    spike, and every accepted record is a message in the ledger."""
    once = run(PRODUCERS.format(retries=0, duration="30s"))
    st = once.component("st")
    assert st["requests"] == pytest.approx(20_000, abs=2)
    assert st["throttled"] / st["requests"] == pytest.approx(0.45, abs=0.01)
    assert once.workload("w")["errors"]["throttled"] == st["throttled"]
    assert once["messages"]["published"] == st["accepted"]
    assert st["accepted"] == pytest.approx(11_000, abs=2)

    retried = run(PRODUCERS.format(retries=10, duration="5m"))
    w, st = retried.workload("w"), retried.component("st")
    assert st["throttled"] > 9_000  # the retries were throttled too, at first
    assert w["succeeded"] / w["requests"] >= 0.99
    m = retried["messages"]
    assert m["published"] == st["accepted"] == w["succeeded"] and m["lost"] == 0
    assert m["in_flight"] == m["published"]  # no consumer: the stream holds them all


def test_a_hot_partition_key_makes_one_hot_shard() -> None:
    """One key always hashes to the same shard: 4 shards have 4,000 records/s between them,
    but 1,500/s on a single key throttles a third."""
    res = run("""
name: hot
components:
  st: {type: kinesis, shards: 4, partition_key: "42"}
workloads:
  w: {entry: st, rate: 1500/s, arrivals: constant}
simulate: {duration: 60s}
""")
    st = res.component("st")
    assert st["hot_shard_share"] == 1.0 and st["records_per_shard"][shard_of(42, 4)] == st["accepted"]
    assert st["throttled"] / st["requests"] == pytest.approx(1 / 3, abs=0.02)


def test_unread_records_expire_after_the_retention_period() -> None:
    """No consumer: records are kept 24 h [aws-facts §9 KDS retention], then expire."""
    res = run("""
name: ret
components:
  st: {type: kinesis}
workloads:
  w: {entry: st, rate: 1/s, arrivals: constant}
simulate: {duration: 25h}
""")
    m = res["messages"]
    assert m["published"] == pytest.approx(25 * 3600, abs=2)
    assert m["expired"] == pytest.approx(3600, abs=70)  # the sweep runs every minute
    assert m["expired"] + m["in_flight"] == m["published"] and m["lost"] == 0


CONSUMER = """
name: c
components:
  st:
    type: kinesis
    shards: {shards}
    consumers:
      - {{function: fn, batch_size: 200{extra}}}
  fn:
    type: lambda
    memory: 1769
    handler: [{{cpu: 1ms}}]
  failed: {{type: sqs, retention: 14d}}
workloads:
  w:
    entry: st
    rate: 400/s
    message: {{size: 1KB, poison: {poison}}}
simulate: {{duration: 60s}}
"""


def consumer(shards: int = 2, poison: float = 0.0, extra: str = "", seed: int | None = None) -> Any:
    return run(CONSUMER.format(shards=shards, poison=poison, extra=extra), seed=seed)


def test_records_reach_the_function_in_order_per_shard() -> None:
    res = consumer(shards=3, poison=0.002, extra=", bisect_on_error: true, max_retry_attempts: 1, "
                   "on_failure: failed")
    c = res.component("st")["consumers"][0]
    assert c["delivered"] > 20_000 and c["bisects"] > 0
    assert c["out_of_order"] == 0
    m = res["messages"]
    assert m["published"] == m["delivered"] + m["dead_lettered"] + m["in_flight"] and m["lost"] == 0


def test_a_poison_record_is_bisected_out_retried_and_sent_to_the_on_failure_queue() -> None:
    """Bisect-on-error isolates each poison record; after max_retry_attempts (2) retries, 3
    attempts in all, it alone goes to the on-failure queue and the shard moves on."""
    sim = Simulation(parse_spec(CONSUMER.format(shards=1, poison=0.002, extra=", bisect_on_error: true, "
                                                "max_retry_attempts: 2, on_failure: failed")))
    res = sim.run()
    held = list(sim.components["failed"].held_messages())
    c = res.component("st")["consumers"][0]
    m = res["messages"]
    poison = c["on_failure"]
    assert 20 <= poison <= 80  # 0.2 % of 24,000
    assert m["dead_lettered"] == poison == res.component("failed")["dead_letters_in"] == len(held)
    assert all(x.attrs and x.attrs.get("poison") for x in held)  # only the poison records
    assert all(x.attempts == 3 for x in held)
    assert c["retries"] == 2 * poison  # only the isolated poison record is retried
    assert c["end_to_end_ms"]["p99"] < 2_000  # the shard keeps moving
    assert m["delivered"] + poison + m["in_flight"] == m["published"] and m["lost"] == 0


def test_without_bisect_the_whole_batch_goes_to_the_on_failure_queue() -> None:
    res = consumer(shards=1, poison=0.002, extra=", max_retry_attempts: 2, on_failure: failed")
    c = res.component("st")["consumers"][0]
    assert c["on_failure"] > 10 * (c["failed_batches"] // 3)  # whole batches, good records too
    assert res["messages"]["lost"] == 0


def test_by_default_a_poison_record_blocks_its_shard() -> None:
    """Retried until it expires [aws-facts §5]: after the first poison record nothing more of
    the shard is processed, and the backlog is everything put since."""
    res = consumer(shards=1, poison=0.002)
    c = res.component("st")["consumers"][0]
    m = res["messages"]
    assert c["retries"] > 100 and c["on_failure"] == 0
    assert c["backlog"] > 0.5 * m["published"]
    assert m["delivered"] + m["in_flight"] == m["published"] and m["lost"] == 0



def test_iterator_age_grows_while_a_poison_batch_is_retried() -> None:
    """Lambda's IteratorAge is the age of the last record of each batch the mapping sends to the
    function, retries included (Lambda developer guide, function metrics), so a shard blocked by
    a poison record shows an age that grows by about a minute a minute: the alarm people set
    for a stuck shard. One poison record sent at ~10 s (constant 1/s, the 10th is poison)."""
    res = run("""
name: stuck
components:
  st:
    type: kinesis
    consumers: [{function: fn, batch_size: 1}]
  fn: {type: lambda, memory: 1769, handler: [{cpu: 1ms}]}
workloads:
  w: {entry: st, rate: 1/s, arrivals: constant, message: {poison: 0.2}}
simulate: {duration: 5m}
""")
    c = res.component("st")["consumers"][0]
    age = res["series"]["components"]["st"]["iterator_age_s"]
    assert c["retries"] > 1000 and len(age) == 5 and age[0] < 60  # blocked within the first minute
    for minute in range(1, 5):  # the blocked record is retried all along: a minute older each minute
        assert age[minute] - age[minute - 1] == pytest.approx(60, abs=1)


READERS = """
name: r
components:
  st:
    type: kinesis
    consumers:
      - {{function: fn, batch_size: 100, enhanced_fan_out: {efo}}}
  fn:
    type: lambda
    memory: 1769
    handler: [{{cpu: 0.1ms}}]
workloads:
  w: {{entry: st, rate: 800/s, arrivals: constant}}
simulate: {{duration: 60s}}
"""


def test_five_getrecords_calls_per_second_cap_a_shared_consumer_but_not_enhanced_fan_out() -> None:
    """Batches of 100 and 5 GetRecords calls/s per shard [aws-facts §9]: a shared-throughput
    consumer reads at most 500 records/s of the 800/s put. An enhanced fan-out consumer
    (its own 2 MB/s, pushed) keeps up."""
    shared = run(READERS.format(efo="false")).component("st")["consumers"][0]
    assert shared["delivered"] == pytest.approx(500 * 60, rel=0.03)
    assert shared["read_waits"] > 250 and shared["backlog"] > 15_000  # nearly every read waited
    efo = run(READERS.format(efo="true")).component("st")["consumers"][0]
    assert efo["delivered"] == pytest.approx(800 * 60, rel=0.01) and efo["backlog"] < 200


@pytest.mark.parametrize("consumer, message", [
    ("{function: q}", "must be a lambda function"),
    ("{function: fn, on_failure: ff}", "must be a standard sqs queue"),
])
def test_bad_consumers_are_spec_errors(consumer: str, message: str) -> None:
    text = f"""
name: b
components:
  st: {{type: kinesis, consumers: [{consumer}]}}
  fn: {{type: lambda}}
  q: {{type: sqs}}
  ff: {{type: sqs, fifo: true}}
"""
    with pytest.raises(SpecError, match=message):
        parse_spec(text)


def test_max_record_age_discards_a_failing_batch_and_counts_it() -> None:
    """Without an on-failure destination, a batch older than max_record_age (60 s) is skipped:
    its records are counted lost (``kinesis_max_record_age``), never dropped silently, and the
    shard moves on."""
    res = run(CONSUMER.format(shards=1, poison=0.0005, extra=", max_record_age: 60s").replace(
        "duration: 60s", "duration: 3m"))
    c, m = res.component("st")["consumers"][0], res["messages"]
    assert c["lost"] > 0 and m["lost"] == c["lost"] == m["lost_by_cause"]["kinesis_max_record_age"]
    assert m["delivered"] + m["lost"] + m["in_flight"] == m["published"]
    assert m["delivered"] > 0.5 * m["published"]  # the shard moved on after each stall


def test_shard_hours_are_billed() -> None:
    res = run("name: b\ncomponents:\n  st: {type: kinesis, shards: 4}\nsimulate: {duration: 30m}\n")
    item = next(i for i in res["cost"]["items"] if i["usage_type"] == "Kinesis-ShardHour")
    assert item["quantity"] == pytest.approx(2.0) and item["usd"] == pytest.approx(2.0 * 0.015)
    assert item["confidence"] == "unconfirmed"
    from cloudtwin.pricing.meters import configured

    arch = parse_spec("name: b\ncomponents:\n  st: {type: kinesis, shards: 4}\n")
    assert configured(arch.components["st"], arch, 730.0) == {"Kinesis-ShardHour": 4 * 730.0}  # the fixed cost


def test_a_consumer_that_puts_into_its_own_stream_is_a_loop_warning() -> None:
    from cloudtwin.spec import spec_warnings

    arch = parse_spec("""
name: loop
components:
  st: {type: kinesis, consumers: [{function: fn}]}
  fn: {type: lambda, handler: [{call: st.put}]}
""")
    assert any("loop (fn -> st -> fn)" in str(w) for w in spec_warnings(arch))


def test_a_record_over_1_mib_is_rejected_not_throttled() -> None:
    """A data blob over 1 MiB [aws-facts §9] is a ValidationException: the producer gets
    `rejected` at once (no retries burnt on a put that can never succeed)."""
    text = """
name: big-records
components:
  k: {type: kinesis, shards: 4}
workloads:
  w: {entry: k, rate: 10/s, message: {size: 2MB}, retries: 3}
simulate: {duration: 30s}
"""
    res = Simulation(parse_spec(text)).run()
    w, k = res.workload("w"), res.component("k")
    assert w["errors"]["rejected"] == w["failed"] > 250
    assert w["errors"]["throttled"] == 0 and w["retries"] == 0
    assert k["rejected"] == w["failed"] and k["accepted"] == 0 and k["throttled"] == 0


@pytest.mark.slow
def test_records_kept_without_a_consumer_cost_memory_per_second_not_per_record() -> None:
    """A stream with no consumer keeps its records (in flight) until retention, held as
    per-second counts: they all expire after 24 h and the ledger balances."""
    text = """
name: keep
components:
  k: {type: kinesis, shards: 2}
workloads:
  w: {entry: k, rate: 100/s, profile: {type: ramp, start: 1, end: 0, duration: 1h}}
simulate: {duration: 25h}
"""
    sim = Simulation(parse_spec(text))
    res = sim.run()
    k, m = res.component("k"), res["messages"]
    shard = sim.components["k"].shards[0]
    assert len(shard.stored.buckets) == 0  # everything expired
    assert m["published"] == k["accepted"] == m["expired"] == k["expired"] > 150_000
    assert m["in_flight"] == 0 and m["lost"] == 0


PARALLEL = """
name: par
components:
  st:
    type: kinesis
    consumers: [{{function: fn, batch_size: 10, parallelization_factor: {factor}}}]
  fn: {{type: lambda, memory: 1769, timeout: 10s, init_duration: 0ms, handler: [{{sleep: 100ms}}]}}
workloads:
  w: {{entry: st, rate: 30/s, arrivals: constant}}
simulate: {{duration: 2m}}
"""


@pytest.mark.parametrize("factor", [1, 5])
def test_the_parallelization_factor_runs_that_many_batches_of_a_shard_at_once(factor: int) -> None:
    """One shard, batches of up to 10 records taking 100 ms a record (the handler runs once per
    record): one batch at a time delivers at most 10 records/s of the 30/s put, so the backlog
    grows; a factor of 5 runs up to 5 batches of the shard at once (50/s), keeps up, and each
    reader's records stay in order (Lambda API, ParallelizationFactor)."""
    res = run(PARALLEL.format(factor=factor))
    c, fn = res.component("st")["consumers"][0], res.component("fn")
    assert c["out_of_order"] == 0
    if factor == 1:
        assert fn["max_concurrency"] == 1
        assert c["delivered"] == pytest.approx(10 * 120, rel=0.05) and c["backlog"] > 2000
    else:
        assert 1 < fn["max_concurrency"] <= factor
        assert c["delivered"] >= 30 * 120 - 60 and c["backlog"] < 60


ON_DEMAND = """
name: od
components:
  st:
    type: kinesis
    mode: on_demand
    record_size: 100
    on_demand: {initial_write: 100KiB, scale_delay: 2m}
workloads:
  w:
    entry: st
    rate: 40/s
    arrivals: constant
    profile: {type: spike, at: 10m, duration: 10m, factor: 6}
simulate: {duration: 20m}
"""


def test_an_on_demand_stream_takes_twice_its_previous_peak_after_a_delay() -> None:
    """On demand [aws-facts §9 KDS on-demand mode], with the time constants scaled down (a
    100 KiB/s new stream, ~98 records/s at a shard's 1,000 records per MiB, and 2 min to adapt
    instead of 15): 40/s fits; the step to 240/s at 10 min is above twice the previous peak, so
    about 142/s are throttled until the step's first minute has counted, 2 min after it ends
    (3 minutes in all); then the capacity is twice that peak and nothing is throttled."""
    res = run(ON_DEMAND)
    st = res.component("st")
    thr = res["series"]["components"]["st"]["throttled"]
    assert sum(thr[:10]) == 0 and sum(thr[13:]) == 0
    for m in (10, 11, 12):
        assert thr[m] == pytest.approx((240 - 100 * 1024 * 1000 / 1048576) * 60, rel=0.03)
    assert st["on_demand"]["capacity_raises"] >= 1
    assert st["on_demand"]["write_capacity_bytes_per_s"] == pytest.approx(2 * 240 * 1048576 / 1000, rel=1e-3)
    assert st["shards"] == 4
    items = {i["usage_type"] for i in res["cost"]["items"]}
    assert {"OnDemand-StreamHour", "OnDemand-BilledIncomingBytes"} <= items


def test_an_on_demand_stream_takes_no_shards_setting() -> None:
    with pytest.raises(SpecError, match="drop `shards:`"):
        parse_spec("name: x\ncomponents:\n  s: {type: kinesis, mode: on_demand, shards: 4}\n")
