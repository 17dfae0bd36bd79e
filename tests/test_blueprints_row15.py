"""DESIGN row 15, "Software Update Offloading": CloudFront in front of the ASG cuts origin
requests by the hit ratio, and the ASG size and egress cost with them, with no
application change. Compares the blueprints update-offload (ALB + ASG alone) and
update-offload-cloudfront (the same ALB and ASG, CloudFront in front)."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.simulation import Simulation

GB = 1e9
GIB = 2.0**30


def run(name: str) -> Any:
    arch = cloudtwin.load_spec(name)
    assert arch.blueprint is not None and arch.blueprint.section == "Software Update Offloading"
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any]:
    return run("update-offload"), run("update-offload-cloudfront")


def usd(r: Any, component: str, usage_type: str) -> float:
    return sum(i["usd"] for i in r["cost"]["items"] if i["component"] == component and i["usage_type"] == usage_type)


def test_no_application_change() -> None:
    plain, cdn = cloudtwin.load_spec("update-offload"), cloudtwin.load_spec("update-offload-cloudfront")
    assert plain.components["web"] == cdn.components["web"]  # same ASG, same handler
    assert plain.components["lb"] == cdn.components["lb"]
    assert plain.workloads["downloads"].rate == cdn.workloads["downloads"].rate


def test_origin_requests_are_cut_by_the_hit_ratio(both: tuple[Any, Any]) -> None:
    plain, cdn = both
    cf = cdn["components"]["cdn"]
    viewers = cdn.workload("downloads")["requests"]
    assert viewers == plain.workload("downloads")["requests"] == 30_022
    # the hit ratio emerges from 20 builds on 4 edges for 24 h: about one miss per build per edge
    assert cf["hit_ratio"] > 0.99
    assert 80 <= cf["misses"] <= 100
    assert cf["origin_requests"] == cf["misses"] == pytest.approx(viewers * (1 - cf["hit_ratio"]), abs=1)
    # the ASG serves exactly the origin requests, against every download without CloudFront
    assert cdn["components"]["web"]["requests"] == cf["origin_requests"]
    assert plain["components"]["web"]["requests"] >= 30_000
    assert cdn["components"]["web"]["requests"] < 0.01 * plain["components"]["web"]["requests"]
    assert cdn.workload("downloads")["failed"] == plain.workload("downloads")["failed"] == 0


def test_the_asg_stays_small_with_cloudfront(both: tuple[Any, Any]) -> None:
    plain, cdn = both
    peak_plain = max(plain["series"]["components"]["web"]["desired"])
    peak_cdn = max(cdn["series"]["components"]["web"]["desired"])
    assert peak_plain >= 15  # 20 downloads/s at 1 s each at 50 % CPU on 2-vCPU instances: about 20
    assert peak_cdn <= 4 and cdn["components"]["web"]["launched"] == 0  # never grows past its start
    box_plain, box_cdn = usd(plain, "web", "BoxUsage:m5.large"), usd(cdn, "web", "BoxUsage:m5.large")
    assert box_cdn < 0.3 * box_plain


def test_origin_egress_and_the_bill_fall(both: tuple[Any, Any]) -> None:
    plain, cdn = both
    cf = cdn["components"]["cdn"]
    # the origin sends one 1 GB build per miss, against every download without CloudFront
    assert cf["origin_bytes"] == cf["misses"] * GB
    assert cf["bytes_out"] == cdn.workload("downloads")["succeeded"] * GB
    internet = usd(plain, "(network)", "DataTransfer-Out-Bytes")
    assert internet == pytest.approx(plain.workload("downloads")["succeeded"] * GB / GIB * 0.09, rel=1e-6)
    assert usd(cdn, "(network)", "DataTransfer-Out-Bytes") == 0  # origin fetches from AWS origins are free
    # the same bytes reach viewers, at CloudFront's $0.085/GB instead of EC2's $0.09/GB
    assert usd(cdn, "cdn", "US-DataTransfer-Out-Bytes") < internet
    # the ALB no longer processes every GB: without CloudFront 1 LCU-hour per GB processed
    # [aws-facts §1] is its bill's largest line after egress; with it, the ALB's bytes come from
    # CloudFront (not a workload), so the bill lists them unmeasured, and they are at most the
    # origin's bytes: under a dollar at $0.008 per LCU-hour
    assert usd(plain, "lb", "LCUUsage:application") > 200
    assert [u["usage_type"] for u in cdn["cost"]["unmeasured"] if u["component"] == "lb"] == ["processed bytes"]
    assert cf["origin_bytes"] / GIB * 0.008 < 1
    assert cdn["cost"]["window_usd"] < plain["cost"]["window_usd"] - 300
