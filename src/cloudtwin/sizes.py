"""Per-type tables (instance sizes), read from CSV data files with a source line.

Tables are data, not code: adding an instance type means adding a row.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@cache
def _table(name: str) -> dict[str, dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        first = rows.fieldnames[0] if rows.fieldnames else ""
        return {r[first]: r for r in rows}


def instance_vcpus(instance_type: str) -> int | None:
    """vCPUs of an EC2 instance type, or None when the table does not list it."""
    row = _table("instance_types.csv").get(instance_type)
    return int(row["vcpus"]) if row else None


def known_instance_types() -> list[str]:
    return sorted(_table("instance_types.csv"))


def data_row(table: str, key: str) -> dict[str, str] | None:
    """The row of data table ``table`` (a CSV file name) whose first column is ``key``, or None."""
    return _table(table).get(key)


def data_keys(table: str) -> list[str]:
    """The keys (first column) of data table ``table``, sorted."""
    return sorted(_table(table))


@dataclass(frozen=True)
class CreditType:
    """One burstable instance type's credit figures and the mode it runs in."""

    family: str
    vcpus: int
    baseline: float  # utilisation per vCPU the earnings pay for
    per_hour: float  # credits earned per hour
    max_credits: float  # most earned credits the balance holds (24 h of earnings)
    launch: float  # launch credits (T2 standard)
    mode: str  # "standard" or "unlimited"


def credit_type(instance_type: str, mode: str | None = None) -> CreditType | None:
    """The credit figures of ``instance_type`` in ``mode`` (None: the family's default), or None
    when it is not a burstable type."""
    row = data_row("burstable_types.csv", instance_type)
    if row is None:
        return None
    m = mode or row["default_mode"]
    return CreditType(instance_type.split(".", 1)[0], int(row["vcpus"]), float(row["baseline"]),
                      float(row["credits_per_hour"]), float(row["max_credits"]),
                      float(row["launch_credits"]) if m == "standard" else 0.0, m)
