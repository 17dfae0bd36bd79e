"""The vpc component: how an instance's outbound call reaches the internet and which source
address it carries, NAT gateways' zonal failure and port limit, the NAT bill, and the spec
checks (each a located SpecError)."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.services.vpc import NAT_PORTS
from cloudtwin.units import GIB

VPC = """
  net:
    type: vpc
    cidr: 10.0.0.0/16
    internet_gateway: true
    internet_rtt: {rtt}
    subnets:
      pub-a: {{zone: a, cidr: 10.0.0.0/24, route_table: public}}
      pub-b: {{zone: b, cidr: 10.0.1.0/24, route_table: public}}
      app-a: {{zone: a, cidr: 10.0.10.0/24, route_table: priv-a}}
      app-b: {{zone: b, cidr: 10.0.11.0/24, route_table: priv-b}}
      iso-a: {{zone: a, cidr: 10.0.20.0/24, route_table: isolated}}
    route_tables:
      public: {{routes: {{0.0.0.0/0: igw}}}}
      priv-a: {{routes: {{0.0.0.0/0: "nat:nat-a"}}}}
      priv-b: {{routes: {{0.0.0.0/0: "nat:{nat_b}"}}}}
      isolated: {{routes: {{}}}}
    nat_gateways:
      nat-a: {{subnet: pub-a}}
      nat-b: {{subnet: pub-b}}
"""


def spec(fleet: str, *, nat_b: str = "nat-b", rtt: str = "20ms", faults: str = "", rate: str = "20/s",
         duration: str = "2m") -> str:
    return f"""
name: v
zones: [a, b]
components:
  web:
{fleet}
    handler:
      - call: net.internet
        size: 10KB  # 10,000 bytes
{VPC.format(nat_b=nat_b, rtt=rtt)}
workloads:
  u: {{entry: web, rate: {rate}, arrivals: constant}}
{faults}
simulate: {{duration: {duration}}}
"""


def run(text: str) -> Any:
    r = cloudtwin.Simulation(cloudtwin.parse_spec(text)).run()
    return r, r["components"]["net"]


ASG = "    type: asg\n    capacity: {min: 2, max: 2}\n    subnets: [app-a, app-b]"


def test_a_private_instance_goes_out_with_the_nat_gateways_elastic_ip() -> None:
    r, net = run(spec(ASG))
    assert r["workloads"]["u"]["failed"] == 0
    # each zone's instances leave through their own zone's NAT gateway, never across AZs
    assert net["source_ips"] == {"192.0.2.1": net["nat_gateways"]["nat-a"]["calls"],
                                 "192.0.2.2": net["nat_gateways"]["nat-b"]["calls"]}
    assert net["nat_gateways"]["nat-a"]["calls"] > 0 and net["nat_gateways"]["nat-b"]["calls"] > 0
    assert net["nat_gateways"]["nat-a"]["cross_az_calls"] == net["nat_gateways"]["nat-b"]["cross_az_calls"] == 0
    assert net["subnets"] == {"app-a": "private", "app-b": "private", "iso-a": "private", "pub-a": "public",
                              "pub-b": "public"}


def test_a_public_instance_goes_out_with_its_own_public_address() -> None:
    r, net = run(spec("    type: ec2\n    zones: [a]\n    subnets: [pub-a]"))
    assert r["workloads"]["u"]["failed"] == 0
    w = r["workloads"]["u"]
    assert w["succeeded"] <= net["via_internet_gateway"] <= w["requests"]  # the last call may be in flight
    (ip, calls), = net["source_ips"].items()
    assert calls == net["via_internet_gateway"] and not ip.startswith("192.0.2.")  # not a NAT's address
    assert all(g["calls"] == 0 for g in net["nat_gateways"].values())


def test_a_public_subnet_without_a_public_address_cannot_reach_the_internet() -> None:
    r, net = run(spec("    type: ec2\n    zones: [a]\n    public_ip: false\n    subnets: [pub-a]"))
    assert r["workloads"]["u"]["succeeded"] == 0
    assert net["failed"]["no_public_ip"] == r["workloads"]["u"]["failed"] == r["workloads"]["u"]["requests"]


def test_a_subnet_with_no_route_to_the_internet_fails_its_calls() -> None:
    r, net = run(spec("    type: ec2\n    zones: [a]\n    subnets: [iso-a]"))
    assert r["workloads"]["u"]["succeeded"] == 0
    assert net["failed"]["no_route"] == r["workloads"]["u"]["requests"]


def test_a_nat_gateway_of_another_zone_is_reached_across_azs_and_billed() -> None:
    r, net = run(spec(ASG, nat_b="nat-a"))
    nat = net["nat_gateways"]["nat-a"]
    assert r["workloads"]["u"]["failed"] == 0
    assert net["nat_gateways"]["nat-b"]["calls"] == 0 and nat["cross_az_calls"] > 0
    assert net["source_ips"] == {"192.0.2.1": nat["calls"]}
    items = {(i["component"], i["usage_type"]): i["quantity"] for i in r["cost"]["items"]}
    # both directions of a cross-AZ byte are billed (metering.py)
    assert items[("(network)", "DataTransfer-Regional-Bytes")] == pytest.approx(
        2 * nat["cross_az_calls"] * 10_000 / GIB, abs=1e-6)
    assert items[("net", "NatGateway-Bytes")] == pytest.approx(nat["calls"] * 10_000 / GIB, abs=1e-6)
    assert items[("net", "NatGateway-Hours")] == pytest.approx(2 * 120 / 3600, rel=1e-5)  # two NATs, 2 min


OUTAGE = "faults:\n  - {az_outage: a, at: 30s, duration: 30s}"
ONE_ZONE_B = "    type: ec2\n    zones: [b]\n    subnets: [app-b]"


@pytest.mark.parametrize(("nat_b", "lost"), [("nat-b", False), ("nat-a", True)])
def test_a_nat_gateways_zone_outage_cuts_off_only_the_subnets_routed_to_it(nat_b: str, lost: bool) -> None:
    r, net = run(spec(ONE_ZONE_B, nat_b=nat_b, faults=OUTAGE, duration="90s"))
    w = r["workloads"]["u"]
    if lost:  # the instance in b is healthy, but its NAT in a is down for 30 s of the 90
        assert net["failed"]["nat_down"] == w["failed"] == pytest.approx(w["requests"] / 3, abs=2)
    else:
        assert w["failed"] == net["failed"]["nat_down"] == 0


def test_port_allocation_beyond_55000_connections_through_one_nat() -> None:
    # 1,000 calls a second that take 100 s each: 55,000 in flight after 55 s, then refused
    r, net = run(spec("    type: ec2\n    zones: [a]\n    subnets: [app-a]", rtt="100s", rate="1000/s",
                      duration="70s"))
    nat = net["nat_gateways"]["nat-a"]
    assert nat["peak_connections"] == NAT_PORTS == 55_000
    assert net["failed"]["port_allocation_errors"] == pytest.approx(15 * 1000, abs=2)


def test_same_seed_same_results() -> None:
    a, _ = run(spec(ASG, nat_b="nat-a", faults=OUTAGE))
    b, _ = run(spec(ASG, nat_b="nat-a", faults=OUTAGE))
    assert a.deterministic_json() == b.deterministic_json()


@pytest.mark.parametrize(("old", "new", "message"), [
    ("cidr: 10.0.11.0/24", "cidr: 10.1.11.0/24", "outside the VPC's 10.0.0.0/16"),
    ("cidr: 10.0.11.0/24", "cidr: 10.0.10.128/25", "overlaps subnet 'app-a'"),
    ("route_table: priv-b", "route_table: nope", "route table 'nope' is not one of"),
    ('"nat:nat-b"', '"nat:nat-z"', "NAT gateway 'nat-z' is not one of"),
    ('"nat:nat-b"', "vgw", "route target 'vgw'"),
    ("nat-b: {subnet: pub-b}", "nat-b: {subnet: app-b}", "a NAT gateway needs a public subnet"),
    ("internet_gateway: true", "internet_gateway: false", "has no `internet_gateway: true`"),
    ("subnets: [app-a, app-b]", "subnets: [app-a, app-x]", "subnet 'app-x' is not a subnet of any vpc"),
    ("subnets: [app-a, app-b]", "subnets: [app-a, iso-a]", "all in zone a"),
    ("subnets: [app-a, app-b]", "subnets: [app-a]", "runs in zone b but names no subnet"),
    ("{zone: b, cidr: 10.0.11.0/24", "{zone: c, cidr: 10.0.11.0/24", "zone 'c' is not in the spec's zones"),
])
def test_spec_errors_are_located(old: str, new: str, message: str) -> None:
    text = spec(ASG)
    assert old in text
    with pytest.raises(SpecError, match=message) as exc:
        cloudtwin.parse_spec(text.replace(old, new, 1))
    issue = next(i for i in exc.value.issues if message.split("'")[0] in i.message)
    assert issue.path.startswith("components.") and issue.line > 0


def test_subnet_quota_of_200() -> None:
    subnets = "".join(f"      s{i}: {{zone: a, cidr: 10.0.{i}.0/24, route_table: t}}\n" for i in range(201))
    text = f"""
name: q
components:
  net:
    type: vpc
    subnets:
{subnets}    route_tables: {{t: {{routes: {{}}}}}}
"""
    with pytest.raises(SpecError, match="over the quota of 200 per VPC") as exc:
        cloudtwin.parse_spec(text)
    assert exc.value.issues[0].line > 0


def test_fleet_subnets_without_a_vpc_are_an_error() -> None:
    text = """
name: q
components:
  web: {type: ec2, subnets: [app-a]}
"""
    with pytest.raises(SpecError, match="not a subnet of any vpc"):
        cloudtwin.parse_spec(text)


def test_review_flags_a_shared_nat_with_the_measured_outage() -> None:
    from cloudtwin.review import review

    single = review(cloudtwin.load_spec("vpc-nat-single"), simulate=True).by_rule("CT-REL-024")
    assert len(single) == 1
    measured = [e for e in single[0].evidence if e.kind == "dynamic"]
    assert measured and measured[0].data["nat_down"] > 30_000  # 10 minutes x 60/s of the healthy zones' calls
    assert "priv" in single[0].path or "private" in single[0].path
    assert review(cloudtwin.load_spec("vpc-nat-per-az")).by_rule("CT-REL-024") == []


# ---- inbound: who can reach an instance ------------------------------------------------------

def inbound(fleet: str, entry: str = "web", extra: str = "") -> Any:
    text = f"""
name: i
zones: [a, b]
components:
  web:
{fleet}
    handler: [{{cpu: exp(2ms)}}]
{extra}{VPC.format(nat_b="nat-b", rtt="20ms")}
workloads:
  u: {{entry: {entry}, rate: 20/s, arrivals: constant, sources: {{ips: 198.51.100.0/24}}}}
simulate: {{duration: 1m}}
"""
    return run(text)


def test_an_internet_client_reaches_an_instance_with_a_public_address_in_a_public_subnet() -> None:
    r, net = inbound("    type: ec2\n    zones: [a]\n    subnets: [pub-a]")
    assert r["workloads"]["u"]["failed"] == 0
    assert net["inbound_from_internet"] == r["workloads"]["u"]["requests"]


@pytest.mark.parametrize("fleet", [
    "    type: ec2\n    zones: [a]\n    subnets: [app-a]",  # a private subnet
    "    type: ec2\n    zones: [a]\n    public_ip: false\n    subnets: [pub-a]",  # no public address
])
def test_an_internet_client_cannot_reach_a_private_instance(fleet: str) -> None:
    r, net = inbound(fleet)
    w = r["workloads"]["u"]
    assert w["succeeded"] == 0 and w["failed"] == w["errors"]["unavailable"] == net["unreachable_from_internet"]


def test_an_internet_facing_alb_reaches_private_instances_by_the_local_route() -> None:
    r, net = inbound("    type: asg\n    capacity: {min: 2, max: 2}\n    subnets: [app-a, app-b]", entry="lb",
                     extra="  lb: {type: alb, targets: web}\n")
    assert r["workloads"]["u"]["failed"] == 0 and net["unreachable_from_internet"] == 0


def test_cloudfront_cannot_reach_a_private_origin_directly() -> None:
    # CloudFront's origin-facing addresses are on the internet: a private instance is no origin for it
    r, net = inbound("    type: ec2\n    zones: [a]\n    subnets: [app-a]", entry="cdn",
                     extra="  cdn: {type: cloudfront, behaviors: [{origin: web, cache: false}]}\n")
    assert r["workloads"]["u"]["succeeded"] == 0 and net["unreachable_from_internet"] > 0


def test_an_errors_fault_on_the_vpc_fails_its_calls_before_routing() -> None:
    """The VPC's handle carries its routing inline (issue 17): an injected ``errors`` fault must
    still come first. 20 calls/s, constant, a 30 s fault at rate 1: 600 calls fail (601 with the
    call at its start), none of them counted at a NAT gateway. The same numbers as before."""
    r, net = run(spec(ASG, faults="faults:\n  - {at: 30s, errors: net, rate: 1.0, duration: 30s}"))
    assert net["errors"] == r["workloads"]["u"]["failed"] == 601
    nat_calls = net["nat_gateways"]["nat-a"]["calls"] + net["nat_gateways"]["nat-b"]["calls"]
    assert nat_calls == net["requests"] - net["errors"] == 1799
