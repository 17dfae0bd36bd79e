"""The vpn component and flows over it: tunnel caps (1.25 Gbps, 140,000 PPS), one tunnel on a
VGW vs ECMP on a TGW, a tunnel failure detected by DPD (aws-facts §17), bulk and diurnal flows,
and bad specs refused with their paths."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.errors import SpecError
from cloudtwin.simulation import Simulation

G = 1e9


def spec(vpn: dict[str, Any], flows: dict[str, Any], faults: list[dict[str, Any]] | None = None,
         duration: str = "10m") -> dict[str, Any]:
    return {"name": "v", "components": {"vpn": {"type": "vpn", **vpn}}, "flows": flows,
            "faults": faults or [], "simulate": {"duration": duration, "seed": 3}}


def run(d: dict[str, Any]) -> Any:
    return Simulation(cloudtwin.from_dict(d)).run()


def minute_gbps(r: Any, flow: str, m: int) -> float:
    return float(r["flows"][flow]["series"]["delivered_bps"][m]) / G


def test_small_packets_are_capped_by_the_packet_rate():
    # 140,000 PPS x 400 B = 448 Mbps per tunnel, below 1.25 Gbps (aws-facts §17)
    r = run(spec({"gateway": "vgw"}, {"f": {"via": ["vpn"], "rate": "1Gbps", "packet_size": "400B"}}))
    assert minute_gbps(r, "f", 5) == pytest.approx(140_000 * 400 * 8 / G, rel=1e-6)
    big = run(spec({"gateway": "vgw"}, {"f": {"via": ["vpn"], "rate": "2Gbps"}}))
    assert minute_gbps(big, "f", 5) == pytest.approx(1.25, rel=1e-6)  # 1400 B packets: the bit rate binds


def test_static_routing_on_a_tgw_uses_one_tunnel():
    # ECMP across tunnels needs dynamic routing [aws-facts §17]
    r = run(spec({"gateway": "tgw", "routing": "static"}, {"f": {"via": ["vpn"], "rate": "3Gbps"}}))
    assert minute_gbps(r, "f", 5) == pytest.approx(1.25, rel=1e-6)
    e = run(spec({"gateway": "tgw", "routing": "bgp"}, {"f": {"via": ["vpn"], "rate": "3Gbps"}}))
    assert minute_gbps(e, "f", 5) == pytest.approx(2.5, rel=1e-6)
    off = run(spec({"gateway": "tgw", "ecmp": False}, {"f": {"via": ["vpn"], "rate": "3Gbps"}}))
    assert minute_gbps(off, "f", 5) == pytest.approx(1.25, rel=1e-6)


def test_a_tunnel_failure_moves_traffic_to_the_other_after_dpd():
    r = run(spec({"gateway": "vgw"}, {"f": {"via": ["vpn"], "rate": "1Gbps"}},
                 [{"at": "2m", "link_down": "vpn", "count": 1}]))
    (ev,) = r.component("vpn")["failovers"]
    assert ev["link"] == "vpn.tunnel1"
    assert 20.0 < ev["detection_s"] <= 30.0  # DPD timeout 30 s from the last DPD message (every 10 s)
    assert r["flows"]["f"]["route"] == "vpn.tunnel2"
    lost = r["flows"]["f"]["dropped_by_cause"]["link_down"]
    assert 1 * G / 8 * ev["detection_s"] <= lost <= 1 * G / 8 * (ev["detection_s"] + 2)
    assert minute_gbps(r, "f", 5) == pytest.approx(1.0, rel=1e-6)


def test_both_tunnels_down_leaves_no_route():
    r = run(spec({"gateway": "vgw"}, {"f": {"via": ["vpn"], "rate": "1Gbps"}},
                 [{"at": "2m", "link_down": "vpn", "count": 2}]))
    f = r["flows"]["f"]
    assert f["route"] == "none"
    assert f["dropped_by_cause"]["no_route"] > 0
    assert f["sent_bytes"] == pytest.approx(f["delivered_bytes"] + f["dropped_bytes"] + f["in_flight_bytes"])


def test_bulk_flow_stops_after_its_size_and_diurnal_follows_its_profile():
    r = run(spec({"gateway": "vgw"}, {"bulk": {"via": ["vpn"], "rate": "1Gbps", "size": "30GB", "start": "1m"}}))
    f = r["flows"]["bulk"]
    assert f["sent_bytes"] == pytest.approx(30e9)
    assert f["delivered_bytes"] == pytest.approx(30e9)  # under the tunnel's cap: nothing dropped
    assert minute_gbps(r, "bulk", 0) == 0.0 and minute_gbps(r, "bulk", 8) == 0.0  # 240 s of sending
    d = run(spec({"gateway": "vgw"}, {"day": {"via": ["vpn"], "rate": "1Gbps", "profile": {
        "type": "diurnal", "low": 0.2, "high": 1.0, "period": "20m", "peak_at": "5m"}}}, duration="20m"))
    s = [minute_gbps(d, "day", m) for m in range(20)]
    assert max(s) == pytest.approx(1.0, abs=0.02) and min(s) == pytest.approx(0.2, abs=0.02)
    assert s.index(max(s)) in (4, 5) and s.index(min(s)) in (14, 15)


@pytest.mark.parametrize(("change", "path"), [
    ({"flows": {"f": {"via": ["q"], "rate": "1Gbps"}}}, "flows.f.via[0]"),
    ({"flows": {"f": {"via": ["vpn"], "rate": "fast"}}}, "flows.f.rate"),
    ({"flows": {"f": {"via": ["vpn", "vpn"], "rate": "1Gbps"}}}, "flows.f.via"),
    ({"faults": [{"at": 1, "link_down": "q"}]}, "faults[0].link_down"),
    ({"components": {"vpn": {"type": "vpn", "dpd_timeout": "10s"}, "q": {"type": "sqs"}}},
     "components.vpn.dpd_timeout"),
])
def test_bad_specs_name_the_key(change: dict[str, Any], path: str):
    d = spec({}, {"f": {"via": ["vpn"], "rate": "1Gbps"}})
    d["components"]["q"] = {"type": "sqs"}
    d.update(change)
    with pytest.raises(SpecError) as exc:
        cloudtwin.from_dict(d)
    assert path in str(exc.value)
