"""Batch APIs: SendMessageBatch, PutRecords, PublishBatch and BatchWriteItem as ``batch: N`` on
a workload or a call step: one API call of N entries, per-entry failures counted, the batch
limits checked in the spec [aws-facts §6, §7, §9; DynamoDB API reference for BatchWriteItem]."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec


def run(text: str) -> Any:
    return Simulation(parse_spec(text)).run()


FIFO = """
name: fifo
components:
  q: {{type: sqs, fifo: true, latency: 0ms}}
workloads:
  w: {{entry: q, rate: 500/s, arrivals: constant{batch}}}
simulate: {{duration: 10s}}
"""


def test_batches_carry_a_fifo_queue_to_3000_messages_per_second() -> None:
    """A FIFO queue takes 300 send calls/s; with 10-message batches that is 3,000 messages/s
    [aws-facts §6 FIFO throughput]. 500 calls/s for 10 s: ~3,000 single sends (plus one
    second's burst) get in, against ~30,000 messages in batches."""
    single = run(FIFO.format(batch="")).component("q")
    batched = run(FIFO.format(batch=", batch: 10")).component("q")
    assert single["sent"] == pytest.approx(300 * 11, abs=5)
    assert batched["sent"] == pytest.approx(10 * 300 * 11, abs=50)
    b = batched["batches"]
    assert b["entries"] == 10 * b["calls"] and b["failed_entries"] == 10 * (b["calls"] - batched["sent"] // 10)


def test_a_batch_is_billed_per_64_kb_of_the_whole_call() -> None:
    """SQS bills each 64 KB of payload as a request [aws-facts §19 SQS]: ten 1 KiB messages in
    one SendMessageBatch are one request, not ten."""
    res = run("""
name: bill
components:
  q: {type: sqs}
workloads:
  w: {entry: q, rate: 10/s, arrivals: constant, batch: 10, message: {size: 1KiB}}
simulate: {duration: 60s}
""")
    q = res.component("q")
    assert q["sent"] == 10 * q["batches"]["calls"] and q["api_requests"] == q["batches"]["calls"]


KINESIS = """
name: puts
components:
  st: {{type: kinesis, shards: 1, record_size: {size}}}
workloads:
  w: {{entry: st, rate: 4/s, arrivals: constant, batch: 500, retries: 0}}
simulate: {{duration: 30s}}
"""


def test_put_records_fails_entries_over_the_shard_limit_not_the_call() -> None:
    """PutRecords of 500 1 KiB records, 4 calls/s, on one shard (1,000 records/s [aws-facts §9
    KDS write per shard]): about half the entries fail (FailedRecordCount) while every call
    succeeds; the accepted records are what the stream holds."""
    res = run(KINESIS.format(size="1KiB"))
    st, w = res.component("st"), res.workload("w")
    b = st["batches"]
    assert sum(w["errors"].values()) == 0 and w["succeeded"] == b["calls"] - w["in_flight"]
    assert b["failed_entries"] == st["throttled"] and st["accepted"] + st["throttled"] == b["entries"]
    assert st["accepted"] == pytest.approx(1000 * 31, rel=0.02)


def test_put_records_over_5_mib_fails_whole() -> None:
    """500 records of 20 KiB are 10 MiB, over PutRecords' 5 MiB [aws-facts §9]: rejected whole."""
    res = run(KINESIS.format(size="20KiB"))
    st, w = res.component("st"), res.workload("w")
    assert st["accepted"] == 0 and w["errors"]["rejected"] == w["requests"] - w["in_flight"] > 100
    assert st["batches"]["failed_entries"] == st["batches"]["entries"]


def test_publish_batch_fans_out_each_entry_and_refuses_over_256_kb() -> None:
    text = """
name: pub
components:
  t: {{type: sns, subscriptions: [{{protocol: sqs, target: q}}]}}
  q: {{type: sqs, retention: 14d}}
workloads:
  w: {{entry: t, rate: 2/s, arrivals: constant, batch: 10, message: {{size: {size}}}}}
simulate: {{duration: 30s}}
"""
    ok = run(text.format(size="1KiB"))
    t = ok.component("t")
    assert t["publishes"] == 10 * t["batches"]["calls"] and t["batches"]["failed_entries"] == 0
    assert ok.component("q")["sent"] + t["pending"] == t["publishes"]  # each entry fans out
    big = run(text.format(size="30KiB"))  # 300 KiB a batch [aws-facts §7 PublishBatch size]
    w = big.workload("w")
    assert big.component("q")["sent"] == 0 and w["errors"]["rejected"] == w["requests"] - w["in_flight"] > 50


def test_batch_write_item_leaves_throttled_items_unprocessed() -> None:
    """BatchWriteItem of 25 items, 100 calls/s, on a table of 1,000 WCU: 2,500 writes/s offered,
    about 1,000/s (plus the burst kept) taken, the rest UnprocessedItems; calls succeed."""
    res = run("""
name: bw
components:
  t: {type: dynamodb, capacity: provisioned, rcu: 100, wcu: 1000}
workloads:
  w: {entry: t, op: put, rate: 100/s, arrivals: constant, batch: 25, retries: 0}
simulate: {duration: 20s}
""")
    t, w = res.component("t"), res.workload("w")
    b = t["batches"]
    assert sum(w["errors"].values()) == 0 and b["entries"] == 25 * b["calls"]
    assert t["writes"] + b["failed_entries"] == b["entries"]
    assert t["writes"] == pytest.approx(1000 * 21, rel=0.03)


@pytest.mark.parametrize("text, path, needle", [
    ("components:\n  q: {type: sqs}\nworkloads:\n  w: {entry: q, rate: 1/s, batch: 11}", "workloads.w.batch",
     "at most 10"),
    ("components:\n  s: {type: sns}\n  a: {type: ec2, handler: [{call: s.publish, batch: 11}]}",
     "components.a.handler[0].batch", "PublishBatch takes at most 10"),
    ("components:\n  f: {type: lambda}\n  a: {type: ec2, handler: [{call: f, batch: 5}]}",
     "components.a.handler[0].batch", "batch API"),
])
def test_batches_beyond_the_api_are_spec_errors(text: str, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec("name: b\n" + text)
    assert any(path in str(i) and needle in str(i) for i in e.value.issues), str(e.value)
