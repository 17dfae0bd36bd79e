"""DESIGN row 1, "Architecture (ephemeral IP, Elastic IP)": replacing an instance changes
its public IP; with an A record clients fail until their cached TTL expires, with an
Elastic IP only while it boots, and with an ELB alias nothing fails."""

from __future__ import annotations

import pytest

import cloudtwin
from cloudtwin.simulation import Simulation

FAULT_AT = 600.0
TTL = 300.0
RATE = 20.0
CLIENTS = 2000


def run(name: str) -> cloudtwin.Results:
    arch = cloudtwin.load_spec(name)
    assert arch.blueprint is not None and arch.blueprint.section == "Architecture (ephemeral IP, Elastic IP)"
    return Simulation(arch).run()


def back_at(r: cloudtwin.Results) -> list[float]:
    """When replaced instances were running again."""
    return [e["t"] for e in r["timeline"] if e["kind"] == "lifecycle" and "running" in e["detail"]]


def test_a_record_failures_outlast_the_boot_until_cached_ttls_expire(failures: list[float]) -> None:
    r = run("instance-dns-a")
    [back] = back_at(r)
    boot = back - FAULT_AT
    assert 40.0 <= boot <= 80.0  # the default boot time, uniform(40 s, 80 s)
    w = r.workload("users")
    assert w["failed"] == len(failures) == w["errors"]["unavailable"]
    assert min(failures) >= FAULT_AT
    # the window ends when the last client that cached the old IP (at most at `back`) re-resolves
    assert back + 0.5 * TTL < max(failures) <= back + TTL
    after = sum(t > back for t in failures)
    assert after > 0.5 * len(failures)  # most failures happen after the instance is back
    # Everything fails during the boot; after it, a client fails while its entry was resolved
    # before `back`. Each client re-resolves on its first request after expiry, a cycle of
    # TTL + clients/rate on average, so the failing share falls linearly from TTL/cycle to 0
    # over the TTL: failed ~ rate * (boot + TTL/2 * TTL/cycle).
    cycle = TTL + CLIENTS / RATE
    assert w["failed"] == pytest.approx(RATE * (boot + TTL / 2 * TTL / cycle), rel=0.2)
    per_minute = r["series"]["workloads"]["users"]["errors"]
    assert sum(per_minute[:10]) == 0 and sum(per_minute[16:]) == 0


def test_elastic_ip_fails_only_during_the_boot(failures: list[float]) -> None:
    r = run("instance-eip")
    [back] = back_at(r)
    assert failures and min(failures) >= FAULT_AT and max(failures) <= back
    assert r.workload("users")["failed"] == pytest.approx(RATE * (back - FAULT_AT), rel=0.1)
    assert "198.51." in next(e["detail"] for e in r["timeline"] if "running" in e["detail"])  # the EIP


def test_alb_alias_replacement_fails_nothing(failures: list[float]) -> None:
    r = run("alb-alias")
    assert failures == []
    w = r.workload("users")
    assert w["failed"] == 0 and w["requests"] == pytest.approx(RATE * 1800, rel=0.02)
    assert len(back_at(r)) == 2  # both instances were stopped and started
    lb = r.component("lb")
    assert lb["healthy_targets"]["min"] == 1 and lb["healthy_targets"]["now"] == 2  # one at a time


def test_same_traffic_in_all_three() -> None:
    totals = {n: run(n).workload("users")["requests"] for n in ("instance-dns-a", "instance-eip", "alb-alias")}
    assert len(set(totals.values())) == 1  # same seed, same arrivals: only the architecture differs
