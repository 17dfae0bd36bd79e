"""Cost from simulated usage: price table x measured usage.

Only priced items are billed; every usage type without a price is listed
under ``unpriced`` with its quantity, never guessed. The monthly figure
extrapolates the simulated window to 730 hours, and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.pricing.table import PriceTable, builtin
from cloudtwin.pricing.usage import usage_of

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

HOURS_PER_MONTH = 730.0

__all__ = ["HOURS_PER_MONTH", "PriceTable", "bill", "builtin"]


def bill(sim: Simulation, prices: PriceTable | None = None) -> dict[str, Any]:
    table = prices or getattr(sim, "prices", None) or builtin()
    region = sim.arch.region
    window_h = sim.engine.now / 3600.0
    by_component: dict[str, float] = {}
    items: list[dict[str, Any]] = []
    unpriced: list[dict[str, Any]] = []
    total = 0.0
    for comp, usage in usage_of(sim).items():
        subtotal = 0.0
        for usage_type, qty in sorted(usage.items()):
            if qty <= 0:
                continue
            price = table.get(region, usage_type)
            if price is None:
                unpriced.append({"component": comp, "usage_type": usage_type, "quantity": round(qty, 6)})
                continue
            usd = qty * price.usd
            subtotal += usd
            items.append({"component": comp, "usage_type": usage_type, "quantity": round(qty, 6),
                          "unit": price.unit, "usd": round(usd, 6), "source": price.source,
                          "confidence": price.confidence})
        if subtotal:
            by_component[comp] = round(subtotal, 6)
        total += subtotal
    monthly = total * HOURS_PER_MONTH / window_h if window_h > 0 else 0.0
    return {
        "window_usd": round(total, 6),
        "monthly_usd": round(monthly, 2),
        "window_hours": round(window_h, 6),
        "extrapolation": f"monthly = window cost x {HOURS_PER_MONTH:g} h / {window_h:.3g} h simulated",
        "by_component": by_component,
        "items": items,
        "unpriced": unpriced,
    }
