"""Results as pandas DataFrames, for notebooks and for analysis across runs.

Five tables, each a plain view of a part of the results JSON (no number is recomputed):

============  ===========================================================================
``series``    one row per (minute, workload or component, metric): long form, so that
              ``df.pivot_table(index="t_s", columns=["name", "metric"], values="value")``
              gives the wide view
``workloads`` one row per workload; nested figures flattened (``latency_ms.p99``)
``components`` one row per component, with its ``type``; nested figures flattened
``cost``      one row per priced line item (``component``, ``usage_type``, ``quantity``...)
``timeline``  one row per timeline entry (faults, scaling, failovers...)
============  ===========================================================================

pandas is an optional dependency: ``pip install 'cloudtwin[tables]'``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cloudtwin.errors import CloudtwinError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "table"]

TABLES = ("series", "workloads", "components", "cost", "timeline")


def _pandas() -> Any:
    try:
        import pandas
    except ModuleNotFoundError:
        raise CloudtwinError("results tables need pandas: pip install 'cloudtwin[tables]'") from None
    return pandas


def _flat(d: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested dicts as dotted keys; lists and other values as they are."""
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from _flat(v, key + ".")
        else:
            yield key, v


def _by_name(group: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    pd_ = _pandas()
    rows = [dict(_flat(stats)) for stats in group.values()]
    df: pd.DataFrame = pd_.DataFrame(rows, index=pd_.Index(list(group), name="name"))
    return df


def _series(data: Mapping[str, Any]) -> pd.DataFrame:
    pd_ = _pandas()
    s = data.get("series") or {}
    t = s.get("t", [])
    cols: dict[str, list[Any]] = {"t_s": [], "scope": [], "name": [], "metric": [], "value": []}
    for scope, group in (("workload", s.get("workloads", {})), ("component", s.get("components", {}))):
        for name, metrics in group.items():
            for metric, values in metrics.items():
                n = len(values)
                cols["t_s"].extend(t[:n])
                cols["scope"].extend([scope] * n)
                cols["name"].extend([name] * n)
                cols["metric"].extend([metric] * n)
                cols["value"].extend(values)
    df: pd.DataFrame = pd_.DataFrame(cols)
    return df


def table(data: Mapping[str, Any], name: str) -> pd.DataFrame:
    """The results table ``name`` (one of :data:`TABLES`) of a results dict."""
    if name not in TABLES:
        raise CloudtwinError(f"no results table {name!r}; choose one of {', '.join(TABLES)}")
    if name == "series":
        return _series(data)
    if name in ("workloads", "components"):
        return _by_name(data.get(name) or {})
    if name == "cost":
        return _rows((data.get("cost") or {}).get("items", []),
                     ["component", "usage_type", "quantity", "unit", "unit_usd", "usd", "source", "date",
                      "confidence"])
    return _rows(data.get("timeline", []), ["t", "kind", "detail"])


def _rows(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """One row per dict; ``columns`` first (and present even when there are no rows)."""
    pd_ = _pandas()
    extra = sorted({k for r in rows for k in r} - set(columns))
    df: pd.DataFrame = pd_.DataFrame(rows, columns=columns + extra)
    return df
