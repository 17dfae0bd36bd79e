"""DESIGN row 26, "High Availability for EC2", the NAT gateway case: a NAT gateway is zonal.
The same ALB and Auto Scaling group in private subnets of three zones, every request calling
an external API, zone a down from minute 5 to minute 15 (60 requests a second, 20 minutes):

* ``vpc-nat-per-az`` (one NAT gateway per zone): only requests in flight on zone a's
  instances when it fails are lost; no outbound call finds its NAT gateway down.
* ``vpc-nat-single`` (one NAT gateway, in zone a): the instances of zones b and c stay
  healthy behind the ALB, but every outbound call fails for the whole outage (about
  10 min x 60/s = 36,000 requests: availability about one half), and before and after it
  two thirds of the calls cross AZs to reach the NAT (billed as regional data transfer).
"""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.simulation import Simulation
from cloudtwin.units import GIB

SECTION = "High Availability for EC2"
RATE, OUTAGE_S, RUN_S = 60.0, 600.0, 1200.0
CALL_BYTES = 20_000  # `size: 20KB`


def run(name: str) -> cloudtwin.Results:
    arch = cloudtwin.load_spec(name)
    assert arch.blueprint is not None and arch.blueprint.section == SECTION
    return Simulation(arch).run()


@pytest.fixture(scope="module")
def per_az() -> cloudtwin.Results:
    return run("vpc-nat-per-az")


@pytest.fixture(scope="module")
def single() -> cloudtwin.Results:
    return run("vpc-nat-single")


def items(r: Any) -> dict[tuple[str, str], float]:
    return {(i["component"], i["usage_type"]): i["quantity"] for i in r["cost"]["items"]}


def test_one_nat_per_zone_keeps_the_other_zones_online(per_az: Any) -> None:
    w, net = per_az["workloads"]["users"], per_az["components"]["net"]
    assert net["failed"]["nat_down"] == 0
    assert w["availability"] > 0.995  # measured 0.99798: 145 requests in flight on zone a's instances
    assert w["failed"] < 200
    # every zone leaves by its own NAT gateway: three source addresses, no cross-AZ call
    assert set(net["source_ips"]) == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}
    assert all(g["cross_az_calls"] == 0 for g in net["nat_gateways"].values())
    # zone a's NAT serves only zone a, only while it is up: a third of the 5 minutes before the
    # outage, and less than a third of the 5 after it (the group relaunched zone a's instances in
    # b and c and rebalances back over minutes [aws-facts §2 AZ rebalancing])
    a = net["nat_gateways"]["nat-a"]["calls"]
    assert RATE * 300 / 3 < a < RATE * (RUN_S - OUTAGE_S) / 3  # measured 9,831


def test_a_single_nat_cuts_every_zone_off_during_its_zones_outage(single: Any) -> None:
    w, net = single["workloads"]["users"], single["components"]["net"]
    lost = net["failed"]["nat_down"]
    # the healthy zones' calls all fail for the whole outage: about 10 min x 60/s
    assert lost == pytest.approx(RATE * OUTAGE_S, rel=0.02)  # measured 36,073
    assert w["availability"] == pytest.approx(0.5, abs=0.01)  # measured 0.4981
    # the failed requests are those calls (the ALB's health checks run the same handler, so a few
    # of the NAT's refusals are health checks rather than requests: over seeds 1-5, within 0.2%)
    assert w["errors"]["unavailable"] == w["failed"] == pytest.approx(lost, rel=0.01)
    # before and after it, zones b and c reach the NAT in a across AZs: about two thirds of its
    # calls (a little less, as the group has more instances in b and c until it rebalances)
    nat = net["nat_gateways"]["nat-a"]
    assert 0.55 < nat["cross_az_calls"] / nat["calls"] < 0.7  # measured 22,857 of 35,953 (0.636)


def test_the_bill_shows_nat_hours_and_gb(per_az: Any, single: Any) -> None:
    pa, si = items(per_az), items(single)
    assert pa[("net", "NatGateway-Hours")] == pytest.approx(3 * RUN_S / 3600, abs=1e-6)  # 1.0 h
    assert si[("net", "NatGateway-Hours")] == pytest.approx(RUN_S / 3600, abs=1e-6)  # 0.333 h
    for r, it in ((per_az, pa), (single, si)):
        calls = sum(g["calls"] for g in r["components"]["net"]["nat_gateways"].values())
        assert it[("net", "NatGateway-Bytes")] == pytest.approx(calls * CALL_BYTES / GIB, abs=1e-6)
    # only the single NAT's design pays cross-AZ transfer for its calls (both directions billed)
    nat = single["components"]["net"]["nat_gateways"]["nat-a"]
    assert si[("(network)", "DataTransfer-Regional-Bytes")] == pytest.approx(
        2 * nat["cross_az_calls"] * CALL_BYTES / GIB, abs=1e-6)
    assert ("(network)", "DataTransfer-Regional-Bytes") not in pa
