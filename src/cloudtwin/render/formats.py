"""How the summary, the report and the key figures write numbers: counts, percentages,
milliseconds, durations and dollars, with a dash for what is missing."""

from __future__ import annotations

from typing import Any

__all__ = ["DASH", "as_dict", "fmt_duration", "fmt_int", "fmt_ms", "fmt_pct", "fmt_usd", "num", "pct_or_none",
           "range_text"]

DASH = "-"


def as_dict(x: Any) -> dict[str, Any]:
    """``x`` if it is a dict, else an empty dict."""
    return x if isinstance(x, dict) else {}


def num(x: Any) -> float | None:
    """``x`` as a float if it is a real number (bools excluded), else None."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def fmt_int(x: Any) -> str:
    """Thousands-separated integer, or ``-``."""
    v = num(x)
    return DASH if v is None else f"{round(v):,}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage, e.g. ``0.99931 -> '99.931%'`` with digits=3."""
    v = num(x)
    return DASH if v is None else f"{v * 100.0:.{digits}f}%"


def fmt_ms(x: Any) -> str:
    """Milliseconds with precision that adapts to magnitude."""
    v = num(x)
    if v is None:
        return DASH
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_duration(x: Any) -> str:
    """Seconds as ``h:mm:ss`` (``-`` when missing)."""
    v = num(x)
    if v is None:
        return DASH
    sign = "-" if v < 0 else ""
    s = int(round(abs(v)))
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def fmt_usd(x: Any) -> str:
    """Dollars with cents."""
    v = num(x)
    return DASH if v is None else f"${v:,.2f}"


# ------------------------------------------------------------ table builders


def pct_or_none(x: Any, digits: int = 1) -> str | None:
    return fmt_pct(x, digits) if num(x) is not None else None


def range_text(d: Any) -> str | None:
    d = as_dict(d)
    if num(d.get("min")) is None or num(d.get("max")) is None:
        return None
    return f"{fmt_int(d['min'])}-{fmt_int(d['max'])}" if d["min"] != d["max"] else fmt_int(d["min"])
