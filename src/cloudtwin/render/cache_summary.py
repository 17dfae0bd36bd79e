"""The summary's and report's table of cache layers (the results' ``cache_layers`` block): per
layer its hit ratio, the load it removed from and passed to the next layer, the latency its
hits saved and its stale reads against its TTL; then the stores with no cache of their own.
Absent when a run has no cache layer."""

from __future__ import annotations

from typing import Any

from cloudtwin.render.formats import DASH, as_dict, fmt_int, fmt_pct, num
from cloudtwin.render.summary import TableData

__all__ = ["cache_table"]


def _s(x: Any) -> str:
    v = num(x)
    if v is None:
        return DASH
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def cache_table(results: dict[str, Any]) -> TableData:
    """One row per cache layer, then one per store without a cache; empty without layers."""
    block = as_dict(results.get("cache_layers"))
    rows = []
    for layer in block.get("layers") or []:
        c = as_dict(layer)
        stale = f"{fmt_int(c.get('stale_reads'))} ({fmt_pct(c.get('stale_share'))})"
        rows.append([str(c.get("layer", "")), str(c.get("type", "")), fmt_int(c.get("lookups")),
                     fmt_pct(c.get("hit_ratio")), fmt_int(c.get("load_removed")), fmt_int(c.get("passed_on")),
                     ", ".join(str(n) for n in c.get("next") or []) or DASH, _s(c.get("latency_saved_s")),
                     stale, _s(c.get("max_stale_age_s")), _s(c.get("max_ttl_s"))])
    if not rows:
        return TableData("Cache layers", [], [], [])
    for store in block.get("no_cache") or []:
        c = as_dict(store)
        rows.append([str(c.get("layer", "")), str(c.get("type", "")), fmt_int(c.get("requests")), fmt_pct(0.0),
                     "0", fmt_int(c.get("requests")), DASH, DASH, DASH, DASH, "no cache"])
    return TableData("Cache layers (stale: hits on a copy older than its source's last change)",
                     ["layer", "type", "lookups", "hit ratio", "load removed", "passed on", "next",
                      "latency saved s", "stale reads", "max stale age s", "TTL s"],
                     [False, False, True, True, True, True, False, True, True, True, True], rows,
                     priority=[0, 2, 1, 0, 0, 1, 2, 1, 0, 0, 0])
