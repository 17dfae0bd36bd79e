"""DynamoDB Streams to Lambda: one record per write, in order per shard, retried through an
injected errors fault with nothing lost; the writer's user carried into the function; 24 h
retention; Lambda latency/errors faults reaching every invocation; spec checks."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.request import Request

STREAM = """
name: st
components:
  t:
    type: dynamodb
    stream:
      consumers: [{{function: fn, batch_size: 5{extra}}}]
  fn: {{type: lambda, memory: 1769, handler: [{{cpu: 2ms}}]}}
workloads:
  w: {{entry: t, op: put, rate: 20/s, arrivals: constant, profile: {{type: spike, at: 60s, duration: 10m, factor: 0}}}}
faults:
  - {{at: 0s, errors: fn, rate: {rate}, duration: 60s}}
simulate: {{duration: 3m}}
"""


@pytest.mark.parametrize("bisect", [False, True])
def test_every_write_reaches_the_function_in_order_through_an_errors_fault(bisect: bool) -> None:
    """1,200 writes (20/s for 60 s) while an errors fault fails 30 % of the function's runs:
    failed batches are retried (by default until the records expire), so all 1,200 records
    are delivered, none lost, none out of order in their shard; the ledger identity holds
    (checked at the end of every run)."""
    res = run(STREAM.format(extra=", bisect_on_error: true" if bisect else "", rate=0.3))
    t, fn = res.component("t"), res.component("fn")
    st = t["stream"]
    cons = st["consumers"][0]
    assert t["writes"] == st["records"] == 1200 and sum(st["records_per_shard"]) == 1200
    assert st["shards"] == 4 and min(st["records_per_shard"]) > 200  # one shard per partition
    m = res["messages"]
    assert m["published"] == m["delivered"] == cons["delivered"] == 1200
    assert m["lost"] == 0 and m["in_flight"] == 0 and m["duplicates"] == 0
    assert cons["out_of_order"] == 0
    assert cons["failed_batches"] > 100 and fn["function_errors"] == cons["failed_batches"]
    if bisect:
        assert cons["bisects"] > 100
    else:
        assert cons["retries"] == cons["failed_batches"]
    clean = run(STREAM.format(extra="", rate=0.0)).component("t")["stream"]["consumers"][0]
    assert clean["failed_batches"] == 0 and clean["retries"] == 0 and clean["delivered"] == 1200


def test_a_stream_consumer_reports_its_iterator_age_per_minute() -> None:
    """Writes stop at 60 s and are delivered within about a second, so the table's IteratorAge
    series (Lambda's IteratorAge, Maximum) is under 2 s while batches flow (the last ones are
    sent just after 60 s) and 0 in the minute with no invocation."""
    res = run(STREAM.format(extra="", rate=0.0))
    age = res["series"]["components"]["t"]["iterator_age_s"]
    assert len(age) == 3 and 0 < age[0] < 2 and age[1] < 2 and age[2] == 0.0


def run(text: str, seed: int | None = 1) -> Any:
    return Simulation(parse_spec(text), seed=seed).run()


def test_a_record_carries_the_writers_user_into_the_function() -> None:
    """Writes acting for users 7 and 9 (``req.user``) produce records with ``user`` set; the
    function's handler acts for that user, so its own write to a second table (with a stream)
    carries the same user on. A synchronous invoke for user 5 does the same."""
    sim = Simulation(parse_spec("""
name: users
components:
  users:
    type: dynamodb
    stream: {consumers: [{function: welcome}]}
  welcome: {type: lambda, handler: [{call: sent.put}]}
  sent:
    type: dynamodb
    stream: {view: keys_only, consumers: [{function: notify}]}
  notify: {type: lambda, handler: [{call: mail.send}]}
  mail: {type: ses, sandbox: false}
simulate: {duration: 30s}
"""), seed=1)
    table = sim.components["users"]
    answers: list[str | None] = []

    def put(uid: int) -> None:
        req = Request(sim.engine.now, None, None)
        req.user = (uid, uid)
        table.handle(req, "put", lambda _r, err: answers.append(err), uid)

    def invoke(uid: int) -> None:
        req = Request(sim.engine.now, None, None)
        req.user = (uid, uid)
        sim.components["welcome"].handle(req, "invoke", lambda _r, err: answers.append(err))

    for i, uid in enumerate((7, 9, 7)):
        sim.engine.at(1.0 + i, put, uid)
    sim.engine.at(5.0, invoke, 5)
    res = sim.run()
    assert answers == [None, None, None, None]
    # the second stream's records reach `notify`, which mails the user each one acts for
    mail = res.component("mail")
    assert mail["sent"] == 4 and mail["unaddressed"] == 0
    assert mail["unique_recipients"] == 3 and mail["duplicates"] == 1 and mail["max_per_recipient"] == 2  # 7 twice
    assert res["messages"]["delivered"] == 3 + 4 and res["messages"]["in_flight"] == 0


def test_unread_stream_records_expire_after_24_hours() -> None:
    """A stream with no consumer keeps each record 24 h (AWS: "up to 24 hours"), then it expires."""
    res = run("""
name: ret
components:
  t: {type: dynamodb, stream: {}}
workloads:
  w: {entry: t, op: update, rate: 1/s, arrivals: constant}
simulate: {duration: 25h}
""")
    m = res["messages"]
    assert m["published"] == pytest.approx(25 * 3600, abs=2)
    assert m["expired"] == pytest.approx(3600, abs=70)  # the sweep runs every minute
    assert m["expired"] + m["in_flight"] == m["published"] and m["lost"] == 0


def test_an_errors_fault_on_a_function_applies_to_sync_and_async_invocations() -> None:
    """The fault is a step before the handler in every invocation: about 30 % of synchronous
    invokes fail, and async events are retried (1 and 2 min later) instead."""
    res = run("""
name: f
components:
  fn: {type: lambda, handler: [{cpu: 1ms}]}
  app:
    type: ec2
    workers: 64
    handler: [{call: fn.invoke_async}]
workloads:
  sync: {entry: fn, rate: 50/s, arrivals: constant}
  async: {entry: app, rate: 10/s, arrivals: constant}
faults:
  - {at: 0s, errors: fn, rate: 0.3, duration: 60s}
simulate: {duration: 5m}
""")
    sync = res.workload("sync")
    assert sync["errors"]["server_error"] / (50 * 60) == pytest.approx(0.3, abs=0.03)
    fn = res.component("fn")
    assert fn["async"]["retries"] == pytest.approx(0.3 * 600, rel=0.15)
    assert res["messages"]["lost"] <= 0.3**3 * 600 * 2 and res["messages"]["delivered"] >= 590


def test_a_latency_fault_on_a_function_reaches_its_stream_consumer() -> None:
    """A 1 s latency fault on the function slows every stream batch: end-to-end record
    latency goes from well under a second to over a second."""
    text = STREAM.format(extra="", rate=0.0).replace("errors: fn, rate: 0.0", "latency: fn, add: 1s")
    cons = run(text).component("t")["stream"]["consumers"][0]
    assert cons["delivered"] == 1200 and cons["end_to_end_ms"]["p50"] > 1000


@pytest.mark.parametrize(("consumer", "message"), [
    ("{function: q}", "must be a lambda function"),
    ("{function: fn, on_failure: ordered}", "must be a standard sqs queue"),
    ("{function: fn, enhanced_fan_out: true}", "a DynamoDB stream has none"),
])
def test_bad_stream_consumers_are_spec_errors(consumer: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(f"""
name: bad
components:
  t:
    type: dynamodb
    stream: {{consumers: [{consumer}]}}
  fn: {{type: lambda, handler: [{{cpu: 1ms}}]}}
  q: {{type: sqs}}
  ordered: {{type: sqs, fifo: true}}
""")
