"""Blueprint row 2, "Simple Web App": a multi-AZ ASG keeps serving through an AZ outage,
a single-AZ variant does not (and comes back once the zone does).

Availability inside the outage window is computed from the per-minute series:
requests and errors of the minutes that lie wholly inside the fault window.
The cost half of the claim (reserved + on-demand vs all on-demand) belongs to the
pricing tests; here we only check that the purchase mix survives replacements.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Results, Simulation, load_spec
from cloudtwin.services.asg import ASG
from cloudtwin.spec.asg import ASG as ASGSpec

MULTI, SINGLE = "simple-web-app", "simple-web-app-single-az"


def _run(name: str) -> tuple[Simulation, Results]:
    sim = Simulation(load_spec(name))
    return sim, sim.run()


@pytest.fixture(scope="module")
def multi() -> tuple[Simulation, Results]:
    return _run(MULTI)


@pytest.fixture(scope="module")
def single() -> tuple[Simulation, Results]:
    return _run(SINGLE)


def outage(sim: Simulation) -> tuple[int, int]:
    """First and one-past-last minute index wholly inside the AZ outage."""
    f = next(f for f in sim.arch.faults if f.action == "az_outage")
    assert f.duration is not None
    return int(f.at // 60), int((f.at + f.duration) // 60)


def availability(res: Results, minutes: slice) -> float:
    s = res["series"]["workloads"]["users"]
    req, err = sum(s["requests"][minutes]), sum(s["errors"][minutes])
    assert req > 0
    return float(1 - err / req)


def test_both_variants_are_row_2_blueprints() -> None:
    a, b = load_spec(MULTI), load_spec(SINGLE)
    assert a.blueprint is not None and b.blueprint is not None
    assert a.blueprint.section == b.blueprint.section == "Simple Web App"
    assert b.blueprint.variant_of == MULTI
    web_a, web_b = a.components["web"], b.components["web"]
    assert isinstance(web_a, ASGSpec) and isinstance(web_b, ASGSpec)
    assert web_a.zones == ["a", "b"] and web_b.zones == ["a"]
    assert web_a.model_dump(exclude={"zones"}) == web_b.model_dump(exclude={"zones"})  # the only difference


def test_multi_az_keeps_serving_through_the_az_outage(multi: tuple[Simulation, Results]) -> None:
    sim, res = multi
    lo, hi = outage(sim)
    assert availability(res, slice(lo, hi)) >= 0.99
    assert res.workload("users")["availability"] >= 0.99
    web = res.component("web")
    assert web["instances"]["min"] == 2  # the dip: zone a's two instances, until replaced in b
    in_service = res["series"]["components"]["web"]["in_service"]
    assert in_service[lo + 2:hi] == [4] * (hi - lo - 2)  # desired capacity back within 2 minutes


def test_multi_az_rebalances_and_keeps_the_purchase_mix(multi: tuple[Simulation, Results]) -> None:
    sim, _ = multi
    g = sim.components["web"]
    assert isinstance(g, ASG)
    assert sorted(i.zone for i in g.members) == ["a", "a", "b", "b"]
    assert sorted(i.purchase for i in g.members) == ["on_demand", "on_demand", "reserved", "reserved"]
    spec: Any = sim.arch.components["web"]
    assert (spec.purchase.on_demand, spec.purchase.reserved, spec.purchase.spot) == (2, 2, 0)


def test_single_az_is_down_for_the_outage_and_recovers(single: tuple[Simulation, Results]) -> None:
    sim, res = single
    lo, hi = outage(sim)
    assert availability(res, slice(lo, hi)) <= 0.05
    assert res.component("web")["instances"]["min"] == 0
    # zone back at `hi`; a health check, a boot (40-80 s) and one ALB check later it serves again
    assert availability(res, slice(hi + 3, None)) >= 0.99
    assert res.workload("users")["availability"] < 0.7


def test_reserved_plus_on_demand_costs_less_than_all_on_demand_at_the_same_availability(
    multi: tuple[Simulation, Results],
) -> None:
    """Row 2's cost claim, from the two blueprints as a user would compare them."""
    import cloudtwin
    from cloudtwin.pricing.table import builtin

    _, mixed = multi
    on_demand = cloudtwin.run("simple-web-app-on-demand")
    assert on_demand.workload("users")["availability"] == mixed.workload("users")["availability"]
    assert on_demand["cost"]["unpriced"] == [] and mixed["cost"]["unpriced"] == []
    box = builtin().get("us-east-1", "BoxUsage:m5.large")
    ri = builtin().get("us-east-1", "ReservedUsage:m5.large")
    assert box is not None and ri is not None and ri.usd < box.usd
    reserved_hours = sum(i["quantity"] for i in mixed["cost"]["items"] if i["usage_type"] == "ReservedUsage:m5.large")
    assert reserved_hours > 0
    saving = on_demand["cost"]["window_usd"] - mixed["cost"]["window_usd"]
    # the whole difference is the reserved hours billed at the reserved instead of the on-demand rate
    assert saving == pytest.approx(reserved_hours * (box.usd - ri.usd), abs=0.0005)
