"""Cost from simulated usage. Placeholder-free: only priced items are billed;
everything else is listed under ``unpriced``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation


def bill(sim: Simulation) -> dict[str, Any]:
    return {"window_usd": 0.0, "monthly_usd": 0.0, "by_component": {},
            "unpriced": sorted(sim.components)}
