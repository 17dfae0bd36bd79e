"""Random failures by MTBF: the count follows duration x instances / MTBF (Poisson), each failure
does what the scripted fault of its type does, and the availability follows."""

from __future__ import annotations

import math

import pytest

import cloudtwin
from cloudtwin.errors import SpecError

FLEET = """
name: r
zones: [a, b]
components:
  web: {type: asg, zones: [a, b], capacity: {min: 10, max: 10}, handler: [{cpu: 1ms}]}
failures:
  asg: {mtbf: 10h}
simulate: {duration: 1000h, seed: SEED}
"""


def run(text: str) -> dict:
    return cloudtwin.Simulation(cloudtwin.parse_spec(text)).run().data


def test_failure_count_follows_instances_times_duration_over_mtbf() -> None:
    """10 instances x 1000 h / 10 h = 1000 expected failures; Poisson sd 31.6. A tolerance of 4 sd
    (about 13%) fails a rate off by a fifth, either way."""
    d = run(FLEET.replace("SEED", "1"))
    got = d["failures"]["by_component"]["web"]
    expected = 10 * 1000 / 10
    assert abs(got["failures"] - expected) <= 4 * math.sqrt(expected), got
    # the group replaces each failed instance after a health check and a boot: the instance-hours at
    # risk are a little under 10 x 1000
    assert 9_900 < got["instance_hours"] <= 10_000
    assert abs(got["failures"] - got["expected"]) <= 4 * math.sqrt(got["expected"])
    assert d["failures"]["total"] == got["failures"]
    failures = [e for e in d["timeline"] if e["kind"] == "failure"]
    assert len(failures) == got["failures"]
    assert d["components"]["web"]["terminated"] >= got["failures"] - 1  # each one replaced
    gaps = [b["t"] - a["t"] for a, b in zip(failures, failures[1:], strict=False)]
    assert sum(gaps) / len(gaps) == pytest.approx(3600.0, rel=0.15)  # 10 h / 10 instances


def test_failures_are_deterministic_per_seed() -> None:
    short = FLEET.replace("1000h", "100h")
    a, b, c = (run(short.replace("SEED", s)) for s in ("1", "1", "2"))
    assert a["failures"] == b["failures"] and a["timeline"] == b["timeline"]
    assert a["timeline"] != c["timeline"]


def test_availability_follows_mtbf_and_the_repair_time() -> None:
    """One instance, MTBF 2 h, each failure a stop/start of a 60 s boot: unavailability is about
    60 s / (2 h + 60 s) = 0.83%, and every lost request falls in a failure's boot."""
    d = run("""
name: one
components:
  app: {type: ec2, count: 1, boot_time: 60s, handler: [{cpu: 1ms}]}
workloads:
  u: {entry: app, rate: 1/s, arrivals: constant}
failures:
  app: {mtbf: 2h}
simulate: {duration: 300h, seed: 4}
""")
    n = d["failures"]["by_component"]["app"]["failures"]
    assert abs(n - 150) <= 4 * math.sqrt(150)
    w = d["workloads"]["u"]
    assert w["failed"] == pytest.approx(n * 60, rel=0.02)  # 60 s down at 1 request/s per failure
    assert 1 - w["availability"] == pytest.approx(60 / (7200 + 60), rel=0.2)


def test_a_database_primary_fails_over() -> None:
    d = run("""
name: db
zones: [a, b]
components:
  db: {type: rds, multi_az: true}
failures:
  rds: {mtbf: 24h}
simulate: {duration: 240h}
""")
    n = d["failures"]["by_component"]["db"]["failures"]
    assert abs(n - 10) <= 4 * math.sqrt(10) and n > 0
    assert sum(1 for e in d["timeline"] if e["kind"] == "failover" and "(instance failure)" in e["detail"]) == n


def test_no_failures_key_without_failures() -> None:
    d = run(FLEET.replace("failures:\n  asg: {mtbf: 10h}\n", "").replace("1000h", "1h").replace("SEED", "1"))
    assert "failures" not in d


@pytest.mark.parametrize(("text", "words"), [
    ("failures:\n  lambda: {mtbf: 10h}", "neither a component nor a type"),
    ("failures:\n  ec2: {mtbf: 10h}", "the spec has no ec2 component"),
    ("failures:\n  webb: {mtbf: 10h}", "did you mean 'web'"),
    ("failures:\n  asg: {mtbf: 0s}", "greater than 0"),
    ("failures:\n  asg: {mtbf: 10h, mttr: 1h}", "unknown key 'mttr'"),
])
def test_bad_failures_are_spec_errors(text: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        cloudtwin.parse_spec(FLEET.replace("failures:\n  asg: {mtbf: 10h}", text).replace("SEED", "1"))
