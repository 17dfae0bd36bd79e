"""The steady-state hypothesis's verdict as summary lines (the results' ``hypothesis`` key)."""

from __future__ import annotations

from typing import Any

from rich.text import Text


def _measured(c: dict[str, Any]) -> str:
    m = c.get("measured")
    if m is None:
        return "nothing measured"
    if c.get("check") == "availability":
        return f"{float(m) * 100:.4g}%"
    if str(c.get("check", "")).startswith("p"):
        return f"{float(m):,.1f} ms"
    return str(m)


def hypothesis_lines(results: dict[str, Any]) -> list[Text]:
    """One headline (held or not) and one line per check that did not hold; none without a
    hypothesis in the results."""
    h = results.get("hypothesis")
    if not isinstance(h, dict):
        return []
    checks = h.get("checks") or []
    failed = [c for c in checks if not c.get("held")]
    if h.get("held"):
        return [Text(f"hypothesis held ({len(checks)} check{'s' if len(checks) != 1 else ''})", style="green")]
    out = [Text(f"hypothesis NOT held: {len(failed)} of {len(checks)} checks failed", style="bold red")]
    if h.get("stopped_at") is not None:
        out.append(Text(f"  a stop condition stopped the experiment at {float(h['stopped_at']):,.0f} s"))
    for c in failed:
        who = f"{c['workload']} " if c.get("workload") else ""
        out.append(Text(f"  {who}{c.get('check')}: {_measured(c)}, expected {c.get('expected')}"))
    return out
