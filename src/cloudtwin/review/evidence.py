"""Measured evidence, phrased for people: shared by the dynamic rules.

Each helper reads one scenario of ``ctx.measured`` (see :mod:`.dynamic`) and
returns a sentence with the numbers, or None when the review did not simulate
or the scenario was skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudtwin.review.finding import Evidence

if TYPE_CHECKING:
    from cloudtwin.review.context import Context
    from cloudtwin.review.dynamic import Scenario

AVAILABLE = 0.99  # below this during a disturbance, the design did not hold
SLOWER = 3.0  # p99 during a 2x spike above this multiple of before: no headroom


def pct(x: float) -> str:
    """An availability as people say it: 91.2%, 99.95%, 100%."""
    v = 100.0 * x
    if v >= 100.0:
        return "100%"
    if v < 99.0:
        return f"{v:.1f}%"
    text = f"{v:.2f}%"
    return text if text != "100.00%" else f"{v:.3f}%"


def ms(x: float) -> str:
    return f"{x / 1000:.1f} s" if x >= 1000 else f"{x:.0f} ms"


def minutes(window: tuple[float, float]) -> str:
    return f"minutes {window[0] / 60:g}-{window[1] / 60:g}"


def az_outage(ctx: Context) -> Scenario | None:
    return ctx.measured.get("az_outage") if ctx.measured is not None else None


def load_2x(ctx: Context) -> Scenario | None:
    return ctx.measured.get("load_2x") if ctx.measured is not None else None


def spec_run(ctx: Context) -> Scenario | None:
    return ctx.measured.get("spec") if ctx.measured is not None else None


def az_availability(ctx: Context) -> tuple[float, Evidence] | None:
    """Availability during the AZ outage, as evidence."""
    s = az_outage(ctx)
    if s is None or s.window is None:
        return None
    a = s.availability()
    if a is None:
        return None
    text = f"availability {pct(a)} during the zone-{s.zone} outage ({minutes(s.window)}, {s.description})"
    return a, Evidence("dynamic", text, {"scenario": s.name, "availability": round(a, 6), "zone": s.zone})


def spike(ctx: Context) -> tuple[float | None, float | None, float | None, Evidence] | None:
    """(availability, p99 before, p99 during, evidence) of the 2x load run."""
    s = load_2x(ctx)
    if s is None or s.window is None:
        return None
    a = s.availability()
    before, during = s.p99_ms(during=False), s.p99_ms(during=True)
    parts = []
    if before is not None and during is not None:
        verb = "rose" if during > before * 1.05 else "stayed"
        parts.append(f"p99 {verb} from {ms(before)} to {ms(during)} at 2x load" if verb == "rose"
                     else f"p99 stayed at {ms(during)} at 2x load (was {ms(before)})")
    if a is not None:
        parts.append(f"availability {pct(a)} during the spike")
    if not parts:
        return None
    data = {"scenario": s.name, "availability": a, "p99_ms_before": before, "p99_ms_during": during}
    return a, before, during, Evidence("dynamic", "; ".join(parts) + f" ({minutes(s.window)})", data)


def spike_hurts(a: float | None, before: float | None, during: float | None) -> bool:
    return (a is not None and a < AVAILABLE) or (
        before is not None and during is not None and before > 0 and during > SLOWER * before)
