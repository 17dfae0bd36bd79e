"""Cost: a sourced price table times usage, measured by a run or configured in a spec.

Only priced items are billed; every usage type without a price is listed under
``unpriced`` with its quantity, never guessed, and what the run could not
measure (bytes with no size in the spec) is listed under ``unmeasured``.

- :func:`bill_usage` (the results' ``cost`` block): the usage
  :mod:`cloudtwin.metering` measured over the simulated window; the monthly
  figure extrapolates the window to 730 hours, and says so.
- :func:`fixed_cost` (``cloudtwin cost``): the configured capacity for 730 hours
  without running anything; traffic-based items are listed as usage-based.

Free tiers, volume tiers, taxes and upfront reservation fees are left out.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from cloudtwin.pricing.meters import configured, traffic_billed
from cloudtwin.pricing.table import PriceTable, builtin
from cloudtwin.units import HOURS_PER_MONTH

if TYPE_CHECKING:
    from cloudtwin.spec.schema import Architecture

__all__ = ["HOURS_PER_MONTH", "PriceTable", "bill_usage", "builtin", "fixed_cost", "price_usage", "total_text"]

ASSUMPTIONS = (
    "free tiers and volume discounts are not applied",
    "1 GB = 2^30 bytes for data transfer and processed bytes",
    "load balancers: one new connection per request; no listener rules",
)


def _d(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def cents(x: Decimal) -> float:
    """Round half up to the cent, in decimal (a float sum of 251.985 must not become 251.98)."""
    return float(x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def price_usage(usage: dict[str, dict[str, float]], table: PriceTable, region: str) -> dict[str, Any]:
    """Price ``{component: {usage_type: quantity}}``: total (a Decimal), per component, items and unpriced."""
    by_component: dict[str, float] = {}
    items: list[dict[str, Any]] = []
    unpriced: list[dict[str, Any]] = []
    total = Decimal(0)
    for comp, u in usage.items():
        subtotal = Decimal(0)
        for usage_type, qty in sorted(u.items()):
            if qty <= 0:
                continue
            price = table.get(region, usage_type)
            if price is None:
                unpriced.append({"component": comp, "usage_type": usage_type, "quantity": round(qty, 6)})
                continue
            usd = _d(qty) * _d(price.usd)
            subtotal += usd
            items.append({"component": comp, "usage_type": usage_type, "quantity": round(qty, 6),
                          "unit": price.unit, "unit_usd": price.usd, "usd": round(float(usd), 6),
                          "source": price.source, "date": price.date, "confidence": price.confidence})
        if subtotal:
            by_component[comp] = round(float(subtotal), 6)
        total += subtotal
    return {"total": total, "by_component": by_component, "items": items, "unpriced": unpriced}


def total_text(usd: float, unpriced: int) -> str:
    """A total as it may honestly be shown: ``$470.86``, or ``≥ $470.86 — 2 items unpriced``
    when some items have no price (the total is then a lower bound)."""
    money = f"${usd:,.2f}"
    if not unpriced:
        return money
    return f"≥ {money} — {unpriced} item{'s' if unpriced != 1 else ''} unpriced"


def bill_usage(usage: dict[str, dict[str, float]], window_h: float, table: PriceTable, region: str, *,
               unmeasured: list[dict[str, Any]] | None = None, notes: list[str] | None = None) -> dict[str, Any]:
    """The cost block for ``usage`` measured over ``window_h`` hours: a pure function of the usage
    and the price table."""
    p = price_usage(usage, table, region)
    total = p["total"]
    monthly = total * _d(HOURS_PER_MONTH) / _d(window_h) if window_h > 0 else Decimal(0)
    return {
        "window_usd": round(float(total), 6),
        "monthly_usd": cents(monthly),
        "complete": not p["unpriced"],
        "window_hours": round(window_h, 6),
        "extrapolation": f"monthly = window cost x {HOURS_PER_MONTH:g} h / {window_h:.3g} h simulated",
        "by_component": p["by_component"],
        "items": p["items"],
        "unpriced": p["unpriced"],
        "unmeasured": unmeasured or [],
        "notes": notes or [],
        "assumptions": list(ASSUMPTIONS),
    }


def fixed_cost(arch: Architecture, prices: PriceTable | None = None,
               hours: float = HOURS_PER_MONTH) -> dict[str, Any]:
    """The monthly cost of ``arch``'s configured capacity, without simulating it."""
    table = prices or builtin()
    usage = {name: configured(spec, arch, hours) for name, spec in arch.components.items()}
    p = price_usage(usage, table, arch.region)
    usage_based = [{"component": name, "usage_type": t, "reason": "depends on traffic: see `cloudtwin run`"}
                   for name, spec in arch.components.items() for t in traffic_billed(spec)]
    if arch.workloads:
        usage_based += [{"component": "(network)", "usage_type": t, "reason": "depends on traffic: see `cloudtwin run`"}
                        for t in ("DataTransfer-Out-Bytes", "DataTransfer-Regional-Bytes")]
    return {
        "monthly_usd": cents(p["total"]),
        "complete": not p["unpriced"],
        "hours": hours,
        "basis": f"configured (desired) capacity x {hours:g} h, no simulation",
        "by_component": p["by_component"],
        "items": p["items"],
        "unpriced": p["unpriced"],
        "usage_based": usage_based,
        "assumptions": list(ASSUMPTIONS[:1]),
    }
