"""DESIGN row 18, "Shared DX between accounts": several VPCs/accounts share one DX through a DX
gateway; bandwidth contention is shown: max-min fair shares of the 1 Gbps port while the
analytics account exports, each flow's full rate otherwise, and one port billed."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.simulation import Simulation

M = 1e6


@pytest.fixture(scope="module")
def r() -> Any:
    arch = cloudtwin.load_spec("dx-shared")
    assert arch.blueprint is not None and arch.blueprint.section == "Shared DX between accounts"
    assert {f.via[0] for f in arch.flows.values()} == {"dx"}  # one port for every account
    return Simulation(arch).run()


def mbps(r: Any, flow: str, minute: int) -> float:
    return float(r["flows"][flow]["series"]["delivered_bps"][minute]) / M


def test_without_contention_every_account_gets_its_rate(r):
    for m in (3, 8, 25):
        assert mbps(r, "account-a-prod", m) == pytest.approx(500, abs=0.5)
        assert mbps(r, "account-b-analytics", m) == pytest.approx(100, abs=0.5)
        assert mbps(r, "account-c-dev", m) == pytest.approx(100, abs=0.5)


def test_during_the_export_the_port_is_shared_max_min_fairly(r):
    # 500 + 800 + 100 = 1,400 Mbps offered to 1,000: dev (under its share) keeps 100,
    # the other two split the remaining 900
    for m in range(11, 20):
        assert mbps(r, "account-c-dev", m) == pytest.approx(100, abs=0.5)
        assert mbps(r, "account-a-prod", m) == pytest.approx(450, abs=0.5)
        assert mbps(r, "account-b-analytics", m) == pytest.approx(450, abs=0.5)
        assert sum(mbps(r, f, m) for f in r["flows"]) == pytest.approx(1000, abs=1)
    # contention shows as a full buffer (50 ms at the port's rate) and drops
    assert r["links"]["dx"]["max_queue_delay_ms"] == pytest.approx(50.0)
    prod = r["flows"]["account-a-prod"]
    # production loses 50 of its 500 Mbps for the 10 minutes: 10 % of its traffic then, ~3.75 GB
    assert prod["dropped_by_cause"]["queue"] / 1e9 == pytest.approx(50e6 / 8 * 600 / 1e9, rel=0.01)
    assert r["flows"]["account-c-dev"]["dropped_bytes"] == 0.0


def test_one_port_is_billed_and_bytes_are_conserved(r):
    items = {(i["component"], i["usage_type"]): i for i in r["cost"]["items"]}
    assert items[("dx", "PortUsage:1G")]["quantity"] == pytest.approx(0.5)  # 30 minutes, one port
    assert items[("dx", "PortUsage:1G")]["unit_usd"] == 0.30  # aws-facts §19
    # transfer out is billed on the bytes sent from AWS only (the dev account's to_aws bytes are free)
    out_gb = sum(f["delivered_bytes"] for f in r["flows"].values() if f["direction"] == "from_aws") / 2**30
    assert items[("dx", "DataXfer-Out:DirectConnect")]["quantity"] == pytest.approx(out_gb, rel=0.01)
    for f in r["flows"].values():
        assert f["sent_bytes"] == pytest.approx(f["delivered_bytes"] + f["dropped_bytes"] + f["in_flight_bytes"])


def test_the_review_flags_the_single_path(r):
    from cloudtwin.review import review

    found = review(cloudtwin.load_spec("dx-shared")).by_rule("CT-REL-023")
    assert len(found) == 3  # every account's flow depends on the one connection
