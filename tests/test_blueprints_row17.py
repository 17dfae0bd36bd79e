"""DESIGN row 17, "S2S VPN as backup for DX": on a DX link failure, traffic fails over to the
VPN within BGP timers, capped at ~1.25 Gbps per tunnel.

Figures checked against their sources: Direct Connect's BGP defaults (hold 90 s, keepalive
30 s, BFD 300 ms x 3: "BGP-specific settings" of the Direct Connect guide), dedicated port
speeds and hosted policing, path preference DX BGP > static VPN > BGP VPN, and 1.25 Gbps /
140,000 PPS per VPN tunnel with two tunnels per connection [aws-facts §17]."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.simulation import Simulation
from cloudtwin.spec.directconnect import DirectConnect
from cloudtwin.spec.vpn import TUNNEL_BPS, TUNNEL_PPS, TUNNELS, VPN

G = 1e9
FAIL_AT, REPAIR_AT = 600.0, 1500.0
OFFERED = 4 * G  # replication 3 Gbps + users 1 Gbps


def spec(**changes: Any) -> dict[str, Any]:
    d = cloudtwin.load_spec("dx-vpn-backup").to_dict()
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return d


def run(d: dict[str, Any] | None = None, seed: int | None = None) -> Any:
    arch = cloudtwin.load_spec("dx-vpn-backup") if d is None else cloudtwin.from_dict(d)
    assert arch.blueprint is not None and arch.blueprint.section == "S2S VPN as backup for DX"
    return Simulation(arch, seed=seed).run()


@pytest.fixture(scope="module")
def base() -> Any:
    return run()


def _gbps_during(r: Any, first_min: int, last_min: int) -> list[float]:
    flows = r["flows"].values()
    return [sum(f["series"]["delivered_bps"][m] for f in flows) / G for m in range(first_min, last_min)]


# ---- documented figures --------------------------------------------------------------------
def test_documented_defaults():
    dx = DirectConnect(type="directconnect")
    assert (dx.hold_time, dx.keepalive) == (90.0, 30.0)  # DX BGP settings: default hold 90 s, keepalive 30 s
    assert (dx.bfd, dx.bfd_interval, dx.bfd_multiplier) == (False, 0.3, 3)  # BFD 300 ms x 3; off until enabled
    assert dx.detection_s == 90.0
    assert DirectConnect(type="directconnect", bfd=True).detection_s == pytest.approx(0.9)
    assert (TUNNEL_BPS, TUNNEL_PPS, TUNNELS) == (1.25e9, 140_000, 2)  # aws-facts §17
    assert VPN(type="vpn").dpd_timeout == 30.0  # aws-facts §17: DPD timeout 30 s


@pytest.mark.parametrize("speed", ["1Gbps", "10Gbps", "100Gbps", "400Gbps"])
def test_dedicated_port_speeds_are_accepted(speed):
    assert DirectConnect(type="directconnect", bandwidth=speed).bandwidth == float(speed[:-4]) * G


def test_other_speeds_and_timers_are_refused_with_a_location():
    with pytest.raises(SpecError, match=r"components\.dx.*1Gbps, 10Gbps, 100Gbps or 400Gbps"):
        cloudtwin.from_dict(spec(components__dx__bandwidth="2Gbps"))
    with pytest.raises(SpecError, match=r"hold_time"):
        cloudtwin.from_dict(spec(components__dx__hold_time="2s"))  # minimum 3 s (DX BGP settings)
    with pytest.raises(SpecError, match=r"bfd_interval"):
        cloudtwin.from_dict(spec(components__dx__bfd=True, components__dx__bfd_interval="100ms"))
    with pytest.raises(SpecError, match=r"flows\.users\.via\[0\]: path .nope. is not a component"):
        cloudtwin.from_dict(spec(flows__users__via=["nope", "vpn"]))


# ---- the claim: failover within BGP timers, capped by the tunnels -----------------------------
def test_failover_within_the_bgp_hold_time(base):
    (ev,) = base.component("dx")["failovers"]
    assert ev["failed_at"] == FAIL_AT
    # the peer was last heard at its last keepalive (every 30 s): declared dead 60-90 s later
    assert 60.0 < ev["detection_s"] <= 90.0
    assert any(e["kind"] == "failover" and e["t"] == pytest.approx(FAIL_AT + ev["detection_s"])
               for e in base["timeline"])
    for f in base["flows"].values():
        assert f["route_changes"][0] == {"t": pytest.approx(FAIL_AT + ev["detection_s"], abs=1.0),
                                         "via": "vpn.tunnel1+vpn.tunnel2"}


def test_bfd_detects_in_under_a_second():
    r = run(spec(components__dx__bfd=True))
    (ev,) = r.component("dx")["failovers"]
    assert 0.6 < ev["detection_s"] <= 0.9  # 300 ms x 3 from the last BFD packet
    lost = sum(f["dropped_by_cause"]["link_down"] for f in r["flows"].values())
    assert lost <= OFFERED / 8 * 2.0  # at most two 1 s steps of traffic (vs ~61 s with BGP alone)


def test_bytes_dropped_during_the_detection_window(base):
    (ev,) = base.component("dx")["failovers"]
    lost = sum(f["dropped_by_cause"]["link_down"] for f in base["flows"].values())
    # everything sent onto the dead link until the route left, in 1 s steps, plus what was on the wire
    window = ev["detection_s"]
    assert OFFERED / 8 * window <= lost <= OFFERED / 8 * (window + 2.0)
    assert lost / 1e9 == pytest.approx(31.5, abs=0.6)  # 4 Gbps x ~63 s = ~31.5 GB


def test_throughput_after_failover_is_capped_at_two_tunnels_with_ecmp(base):
    during = _gbps_during(base, 12, 25)  # whole minutes on the VPN
    assert max(during) <= 2 * TUNNEL_BPS / G + 1e-9
    assert min(during) == pytest.approx(2.5, abs=0.01)  # both tunnels full
    for t in ("vpn.tunnel1", "vpn.tunnel2"):
        assert max(base["links"][t]["series"]["carried_bps"]) <= TUNNEL_BPS + 1e-3
    # 4 Gbps offered, 2.5 Gbps carried: the rest is dropped at the tunnels' buffers
    assert base["links"]["vpn.tunnel1"]["dropped_bytes"]["queue"] > 0
    # max-min fairness: the 1 Gbps flow is under its fair share and loses nothing in the queues
    assert base["flows"]["users"]["dropped_by_cause"]["queue"] == 0.0
    assert base["flows"]["replication"]["series"]["delivered_bps"][15] / G == pytest.approx(1.5, abs=0.01)


def test_a_virtual_private_gateway_uses_one_tunnel():
    r = run(spec(components__vpn__gateway="vgw", components__dx__virtual_interface="private"))
    during = _gbps_during(r, 12, 25)
    assert max(during) <= TUNNEL_BPS / G + 1e-9
    assert min(during) == pytest.approx(1.25, abs=0.01)
    assert r["links"]["vpn.tunnel2"]["carried_bytes"] == 0.0  # the standby tunnel


def test_failback_after_repair(base):
    (ev,) = base.component("dx")["failovers"]
    assert ev["repaired_at"] == REPAIR_AT
    assert ev["restored_at"] == REPAIR_AT + 30.0  # reconnect (assumption: 30 s)
    assert [c["via"] for c in base["flows"]["users"]["route_changes"]] == ["vpn.tunnel1+vpn.tunnel2", "dx"]
    assert _gbps_during(base, 27, 40) == pytest.approx([4.0] * 13, abs=0.01)
    assert _gbps_during(base, 1, 9) == pytest.approx([4.0] * 8, abs=0.01)


def test_a_short_outage_inside_the_hold_time_never_fails_over():
    r = run(spec(faults=[{"at": 600, "link_down": "dx", "duration": 20}]))
    (ev,) = r.component("dx")["failovers"]
    assert ev["withdrawn_at"] is None and ev["restored_at"] is None
    assert all(f["route_changes"] == [] for f in r["flows"].values())
    lost = sum(f["dropped_by_cause"]["link_down"] for f in r["flows"].values())
    assert lost == pytest.approx(OFFERED / 8 * 20, rel=0.06)  # the 20 s of traffic sent onto the dead link


def test_both_paths_are_billed(base):
    items = {(i["component"], i["usage_type"]): i for i in base["cost"]["items"]}
    hours = 2400 / 3600
    assert items[("dx", "PortUsage:10G")]["quantity"] == pytest.approx(hours)
    assert items[("dx", "PortUsage:10G")]["unit_usd"] == 2.25  # aws-facts §19
    assert items[("vpn", "VPN-Usage-Hours:ipsec.1")]["quantity"] == pytest.approx(hours, rel=1e-6)
    assert items[("vpn", "VPN-Usage-Hours:ipsec.1")]["unit_usd"] == 0.05
    # bytes out of AWS: over DX at the DX rate, over the VPN at the internet rate
    assert items[("dx", "DataXfer-Out:DirectConnect")]["unit_usd"] == 0.02
    assert items[("vpn", "DataTransfer-Out-Bytes")]["unit_usd"] == 0.09
    vpn_out = base["links"]["vpn.tunnel1"]["carried_bytes"] + base["links"]["vpn.tunnel2"]["carried_bytes"]
    users_share = 1.0 / 2.5  # the to_aws flow's share of the tunnels (not billed as transfer out)
    assert items[("vpn", "DataTransfer-Out-Bytes")]["quantity"] == pytest.approx(
        vpn_out * (1 - users_share) / 2**30, rel=0.02)
    assert base["cost"]["by_component"]["dx"] > 0 and base["cost"]["by_component"]["vpn"] > 0


def test_bytes_are_conserved(base):
    for f in base["flows"].values():
        assert f["sent_bytes"] == pytest.approx(f["delivered_bytes"] + f["dropped_bytes"] + f["in_flight_bytes"],
                                                rel=1e-9)
        assert f["sent_bytes"] == pytest.approx({"replication": 3 * G, "users": 1 * G}[
            next(n for n, x in base["flows"].items() if x is f)] / 8 * 2401, rel=1e-9)


def test_route_preference_static_vpn_over_bgp_vpn():
    d = spec(faults=[{"at": 600, "link_down": "dx"}])
    d["components"]["vpn2"] = {"type": "vpn", "gateway": "tgw", "routing": "static"}
    d["flows"]["users"]["via"] = ["dx", "vpn", "vpn2"]
    r = run(d)
    assert r["flows"]["users"]["route"] == "vpn2.tunnel1"  # static beats BGP; static uses one tunnel
    assert r["flows"]["replication"]["route"] == "vpn.tunnel1+vpn.tunnel2"


def test_hosted_connection_is_policed():
    r = run(spec(components__dx__connection="hosted", components__dx__bandwidth="2Gbps", faults=[]))
    # 4 Gbps offered to a 2 Gbps hosted connection: 2 Gbps carried, the rest dropped (no buffer)
    assert _gbps_during(r, 1, 39) == pytest.approx([2.0] * 38, abs=0.01)
    assert r["links"]["dx"]["max_queue_delay_ms"] == 0.0
    assert any(u["usage_type"] == "HostedPortUsage:2G" for u in r["cost"]["unpriced"])


def test_same_seed_same_results_and_the_phase_follows_the_seed(base):
    again = run()
    for k in ("flows", "links", "timeline", "cost"):
        assert again[k] == base[k]
    other = run(seed=7)
    assert other.component("dx")["failovers"][0]["detection_s"] != base.component("dx")["failovers"][0][
        "detection_s"]


def test_fixed_monthly_cost_of_both_paths():
    from cloudtwin.pricing import fixed_cost

    out = fixed_cost(cloudtwin.load_spec("dx-vpn-backup"))
    lines = {(i["component"], i["usage_type"]): i["usd"] for i in out["items"]}
    # 730 h of a 10G port ($2.25/h), the DX gateway's and the VPN's transit gateway attachments
    # ($0.05/h each) and the VPN connection ($0.05/h)
    assert lines[("dx", "PortUsage:10G")] == pytest.approx(1642.50)
    assert lines[("dx", "TransitGateway-Hours")] == pytest.approx(36.50)
    assert lines[("vpn", "TransitGateway-Hours")] == pytest.approx(36.50)
    assert lines[("vpn", "VPN-Usage-Hours:ipsec.1")] == pytest.approx(36.50)
    assert out["monthly_usd"] == pytest.approx(1752.00)
