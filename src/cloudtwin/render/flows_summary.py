"""The terminal summary's table of network flows (a spec's ``flows:``): bytes sent, delivered
and dropped by cause, and the route each flow ends on (absent when a run has no flows); and the
key figures of the components that carry them (``directconnect``, ``vpn``)."""

from __future__ import annotations

from typing import Any

from cloudtwin.render.formats import as_dict, fmt_int, num
from cloudtwin.render.summary import TableData

__all__ = ["flow_table", "link_figures"]


def _gb(x: Any) -> str:
    v = num(x)
    return "-" if v is None else f"{v / 1e9:,.1f}"


def link_figures(c: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A directconnect or vpn component's key figures: bytes carried, link failures, detection."""
    carried = sum(num(as_dict(lk).get("carried_bytes")) or 0.0 for lk in as_dict(c.get("links")).values())
    events = c.get("failovers")
    return [("carried GB", f"{carried / 1e9:,.1f}"),
            ("link failures", fmt_int(len(events) if isinstance(events, list) else 0)),
            ("detection", str(c.get("detection", "")) or None)]


def flow_table(results: dict[str, Any]) -> TableData:
    """One row per flow; an empty table when the run has none."""
    rows = []
    for name, f in as_dict(results.get("flows")).items():
        f = as_dict(f)
        causes = ", ".join(f"{k} {_gb(v)}" for k, v in sorted(as_dict(f.get("dropped_by_cause")).items())
                           if num(v))
        rate = as_dict(f.get("series")).get("delivered_bps") or []
        peak = f"{max(rate) / 1e9:,.2f}" if rate else "-"
        rows.append([name, str(f.get("direction", "")), _gb(f.get("sent_bytes")), _gb(f.get("delivered_bytes")),
                     _gb(f.get("dropped_bytes")), causes or "none", peak, str(f.get("route", ""))])
    return TableData("Flows (GB; Gbps per minute)", ["flow", "direction", "sent", "delivered", "dropped",
                                                     "dropped by cause", "peak Gbps", "route at end"],
                     [False, False, True, True, True, False, True, False], rows,
                     priority=[0, 2, 0, 0, 0, 1, 1, 2])
