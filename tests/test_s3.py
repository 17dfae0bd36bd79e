"""S3 bucket: per-prefix request rates, per-user folders, storage and its bill, notifications,
and the service-to-service API (write_object / stored_bytes) other models build on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudtwin import Simulation, SpecError, parse_spec
from cloudtwin.metering import bill
from cloudtwin.pricing.table import builtin
from cloudtwin.request import REJECTED, THROTTLED
from cloudtwin.spec.references import warnings

GIB = 2.0**30
MONTH_H = 730.0

BUCKET = """
name: bucket
components:
  data: {type: s3, stored: {raw/: 100GiB}}
workloads:
  readers: {entry: data, rate: 1/s, op: get}
simulate: {duration: 1h}
"""

USERS = """
name: user-folders
components:
  users: {type: cognito, users: 1000}
  files:
    type: s3
    user_prefixes: {pool: users, prefix: private/}
workloads:
  app: {entry: files, rate: 200/s, clients: 1000, op: put, auth: {pool: users, foreign: 0.1}}
simulate: {duration: 2m}
"""


def sim_of(text: str) -> Simulation:
    return Simulation(parse_spec(text))


# ---------------------------------------------------------------- service-to-service API
def test_write_object_stores_bytes_per_prefix_and_enforces_size_and_rate() -> None:
    sim = sim_of(BUCKET)
    s3 = sim.components["data"]
    assert s3.stored_bytes() == s3.stored_bytes("raw/") == 100 * GIB
    assert s3.stored_objects("raw/") == 100 * 1024  # 100 GiB of 1 MiB objects (object_size)
    assert s3.write_object("curated/2024/", 4e6) is None
    assert s3.write_object("curated/2024/", 6e9) == REJECTED  # a single PUT is at most 5 GB
    assert s3.stored_bytes("curated/") == 4e6 and s3.stored_objects("curated/") == 1
    assert s3.stored_bytes() == 100 * GIB + 4e6 and s3.stored_bytes("nothing/") == 0.0
    # at one instant a prefix takes one second's worth of PUTs (3,500/s), then 503s
    got = [s3.write_object("logs/", 1000.0) for _ in range(4000)]
    ok = got.count(None)
    assert ok in (3500, 3501) and got.count(THROTTLED) == 4000 - ok
    assert s3.write_object("other/", 1000.0) is None  # another prefix is another partition
    s3.record_gets(10, 5e6)
    st = s3.stats()
    assert st["puts"] == 1 + ok + 1 and st["too_large"] == 1 and st["gets"] == 10


# ---------------------------------------------------------------- request rates per prefix
@pytest.mark.parametrize("prefixes, throttled_share", [(1, (0.45, 0.47)), (4, (0.0, 0.0))])
def test_gets_at_twice_the_prefix_limit_are_half_throttled_unless_spread(prefixes: int,
                                                                         throttled_share: tuple[float, float]) -> None:
    spec = f"""
name: hot
components:
  data: {{type: s3, prefixes: {prefixes}}}
workloads:
  readers: {{entry: data, rate: 11000/s, op: get}}
simulate: {{duration: 10s}}
"""
    res = sim_of(spec).run()
    s3 = res.component("data")
    share = s3["throttled"] / s3["requests"]
    assert throttled_share[0] <= share <= throttled_share[1]
    if prefixes == 1:  # 5,500 GETs/s per prefix plus one second's burst
        assert s3["gets"] == pytest.approx(5500 * 11, rel=0.002)
    w = res.workload("readers")
    assert 0 <= s3["throttled"] - w["errors"]["throttled"] <= w["in_flight"]  # the last replies are on their way


# ---------------------------------------------------------------- per-user folders
def test_a_user_who_tries_another_users_prefix_is_rejected_every_time() -> None:
    sim = sim_of(USERS)
    res = sim.run()
    w = res.workload("app")
    foreign = sim.workloads["app"].foreign
    s3 = res.component("files")
    assert foreign == pytest.approx(0.1 * w["requests"], rel=0.1) and foreign > 1500
    assert s3["denied_by"] == {"other_user": foreign}  # every foreign request, and nothing else
    assert 0 <= foreign - w["errors"]["rejected"] <= w["in_flight"]  # the last replies are on their way
    assert w["failed"] == w["errors"]["rejected"]  # owners are never rejected (nor throttled here)
    assert 0 <= s3["puts"] - w["succeeded"] <= w["in_flight"]
    # each user's objects sit in the user's own folder
    assert s3["partitions"] > 900 and sim.components["files"].stored_objects("private/") == s3["puts"]


def test_unknown_users_are_rejected_and_anonymous_requests_use_the_shared_prefixes() -> None:
    text = USERS.replace("users: 1000}", "users: 500}").replace("foreign: 0.1", "foreign: 0.0")
    res = sim_of(text).run()
    s3 = res.component("files")
    assert set(s3["denied_by"]) == {"unknown_user"}
    assert s3["denied_by"]["unknown_user"] / s3["requests"] == pytest.approx(0.5, abs=0.03)  # clients 500..999
    anon = sim_of(USERS.replace(", auth: {pool: users, foreign: 0.1}", "")).run().component("files")
    assert anon["denied"] == 0 and anon["partitions"] == 1  # a service's own requests: the shared prefix p0/


# ---------------------------------------------------------------- storage and its bill
def test_storage_bill_is_gb_months_times_the_price(tmp_path: Path) -> None:
    sim = sim_of(BUCKET)
    sim.run()
    s3 = sim.components["data"]
    assert s3.gb_months() == pytest.approx(100 / MONTH_H, rel=1e-9)  # 100 GiB for 1 h of a 730 h month
    prices = tmp_path / "p.csv"
    prices.write_text("region,service,usage_type,unit,usd,source,date\n"
                      "us-east-1,s3,S3:TimedStorage-ByteHrs,GB-month,0.023,aws-facts §19,2026-03-13\n"
                      "us-east-1,s3,S3:Requests-Tier2,request,0.0000004,aws-facts §19,undated\n", encoding="utf-8")
    b = bill(sim, builtin().overridden(prices))
    items = {i["usage_type"]: i for i in b["items"] if i["component"] == "data"}
    assert items["S3:TimedStorage-ByteHrs"]["usd"] == pytest.approx(100 / MONTH_H * 0.023, abs=1e-6)
    gets = sim.components["data"].gets
    assert items["S3:Requests-Tier2"]["usd"] == pytest.approx(gets * 4e-7, abs=1e-6) and gets > 3000


def test_puts_grow_storage_and_the_time_integral_counts_when_they_arrived() -> None:
    text = """
name: grow
components:
  data: {type: s3}
workloads:
  up: {entry: data, rate: 10/s, arrivals: constant, message: {size: 1MiB}}
simulate: {duration: 10m}
"""
    sim = sim_of(text)
    sim.run()
    s3 = sim.components["data"]
    assert s3.stored_bytes() == s3.puts * 2**20 and s3.puts == pytest.approx(6000, abs=2)
    # bytes grow linearly from 0: the integral is half of (final bytes x duration)
    expect = s3.stored_bytes() * 600 / 2 / GIB / (MONTH_H * 3600)
    assert s3.gb_months() == pytest.approx(expect, rel=0.01)
    assert s3.usage()["S3:Requests-Tier1"] == s3.puts


def test_gets_to_the_internet_bill_egress_once() -> None:
    text = BUCKET.replace("rate: 1/s, op: get}", "rate: 10/s, op: get}").replace("1h", "5m")
    u = sim_of(text)
    u.run()
    s3 = u.components["data"]
    assert s3.usage()["DataTransfer-Out-Bytes"] == pytest.approx(s3.gets * 2**20 / GIB)  # mean object 1 MiB
    sized = sim_of(text.replace("op: get}", "op: get, response_size: 1MiB}"))
    sized.run()
    assert "DataTransfer-Out-Bytes" not in sized.components["data"].usage()  # the (network) meter bills it


def test_deletes_remove_a_mean_object_and_lists_are_tier1() -> None:
    text = BUCKET.replace("readers: {entry: data, rate: 1/s, op: get}",
                          "del: {entry: data, rate: 5/s, op: delete}\n  ls: {entry: data, rate: 2/s, op: list}"
                          ).replace("stored: {raw/: 100GiB}", "stored: {p0/: 1GiB}")
    sim = sim_of(text)
    res = sim.run()
    s3 = sim.components["data"]
    d = res.component("data")["deletes"]
    assert d > 17_000 and s3.stored_objects() == 1024 - min(d, 1024) and s3.stored_bytes() >= 0
    assert s3.usage()["S3:Requests-Tier1"] == res.component("data")["lists"] > 6000


# ---------------------------------------------------------------- notifications
NOTIFY = """
name: notify
components:
  users: {type: cognito, users: 100}
  files:
    type: s3
    user_prefixes: {pool: users}
    notifications: [{target: fn, events: [put]}]
  fn: {type: lambda, error_rate: 0.3, handler: [{cpu: 20ms}], dlq: missed}
  missed: {type: sqs, retention: 14d}
workloads:
  app: {entry: files, rate: 5/s, clients: 100, auth: {pool: users}}
simulate: {duration: 15m}
"""


@pytest.mark.python_only
def test_every_put_notifies_the_lambda_once_and_failed_attempts_are_retried_not_lost() -> None:
    sim = sim_of(NOTIFY)
    seen: list[Any] = []
    fn = sim.components["fn"]
    push = fn.push
    fn.push = lambda m: (seen.append(m), push(m))[1]
    res = sim.run()
    s3, f, m = res.component("files"), res.component("fn"), res["messages"]
    a = f["async"]
    assert s3["puts"] > 4000 and m["published"] == s3["puts"]  # one notification per PUT
    assert a["accepted"] == s3["puts"] - s3["notifications"]["pending"]  # each handed to the function once
    assert a["retries"] > 0.3 * a["accepted"]  # the function failed some attempts; they were retried
    assert a["succeeded"] + a["dead_lettered"] + a["waiting"] == a["accepted"]
    assert m["lost"] == 0 and m["duplicates"] == 0
    assert a["dead_lettered"] == pytest.approx(0.027 * a["accepted"], rel=0.3)  # 0.3^3 failed all 3 attempts
    msg = seen[0]
    assert msg.attrs["prefix"] == f"private/{msg.attrs['user']}/" and msg.attrs["event"] == "put"


def test_notification_filters_by_event_and_prefix() -> None:
    text = """
name: filters
components:
  data:
    type: s3
    prefixes: 2
    stored: {p0/: 1GiB, p1/: 1GiB}
    notifications:
      - {target: q, events: [put], prefix: p1/}
      - {target: t, events: [delete]}
  q: {type: sqs}
  t: {type: sns}
workloads:
  up: {entry: data, rate: 20/s, op: put}
  rm: {entry: data, rate: 5/s, op: delete}
simulate: {duration: 5m}
"""
    res = sim_of(text).run()
    s3 = res.component("data")
    assert res.component("q")["sent"] == pytest.approx(s3["puts"] / 2, rel=0.08)  # only p1/'s PUTs
    pending = s3["notifications"]["pending"]  # within their notification delay at the end
    assert res.component("t")["publishes"] + pending == s3["deletes"] > 1200  # every delete of a stored object
    assert res["messages"]["lost"] == res.component("t")["unmatched"]  # a topic with no subscriber drops them


# ---------------------------------------------------------------- spec checks
BAD = """
name: bad
components:
  data:
    type: s3
    notifications: [{target: TARGET}]
  fifo: {type: sqs, fifo: true}
  web: {type: ec2, handler: [{cpu: 1ms}]}
workloads:
  w: {entry: data, rate: 1/s}
"""


@pytest.mark.parametrize("edit, needle", [
    (("TARGET", "fifo"), "is FIFO"),
    (("TARGET", "web"), "must be a lambda, sqs or sns; it is a ec2"),
    (("TARGET", "nowhere"), "it is not a component"),
    (("    notifications: [{target: TARGET}]", "    user_prefixes: {pool: web}"), "must be a cognito"),
    (("    notifications: [{target: TARGET}]", "    object_size: 6GB"), "at most 5 GB"),
    (("rate: 1/s}", "rate: 1/s, op: fly}"), "no operation 'fly'"),
    (("rate: 1/s}", "rate: 1/s, auth: {pool: web}}"), "auth pool 'web' must be a cognito"),
    (("    notifications: [{target: TARGET}]", "    user_prefixes: {pool: web, prefix: private}"), "ends with '/'"),
])
def test_bad_specs_are_refused(edit: tuple[str, str], needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        parse_spec(BAD.replace(*edit).replace("TARGET", "fifo" if "FIFO" not in needle else "TARGET"))


def test_a_web_entry_takes_no_op_and_auth_without_user_prefixes_warns() -> None:
    with pytest.raises(SpecError, match="leave `op:` out"):
        parse_spec(BAD.replace("TARGET", "fifo").replace("entry: data, rate: 1/s", "entry: web, rate: 1/s, op: get"))
    arch = parse_spec(BAD.replace("    notifications: [{target: TARGET}]\n", "").replace(
        "rate: 1/s}", "rate: 1/s, auth: {pool: users}}").replace("  web:", "  users: {type: cognito}\n  web:"))
    assert any("identities are not checked" in msg for _, msg in warnings(arch))
