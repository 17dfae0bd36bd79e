"""The price table: dated, sourced list prices, overridable by the user.

Rows are (region, service, usage_type) -> USD per unit, each with its source,
date and confidence copied from aws-facts.md §19. A user file with the same
columns replaces or extends rows. Nothing here invents a price: a usage type
with no row is reported as unpriced.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from cloudtwin.errors import Issue, SpecError

BUILTIN = Path(__file__).with_name("prices.csv")
COLUMNS = ("region", "service", "usage_type", "unit", "usd", "source", "date")


@dataclass(frozen=True)
class Price:
    region: str
    service: str
    usage_type: str
    unit: str
    usd: float
    source: str
    date: str
    confidence: str = ""


class PriceTable:
    def __init__(self, rows: list[Price]) -> None:
        self.rows = {(p.region, p.usage_type): p for p in rows}

    def get(self, region: str, usage_type: str) -> Price | None:
        return self.rows.get((region, usage_type))

    def overridden(self, path: str | Path) -> PriceTable:
        """A copy with the rows of ``path`` replacing or adding to these."""
        merged = dict(self.rows)
        for p in read_prices(path):
            merged[(p.region, p.usage_type)] = p
        return PriceTable(list(merged.values()))


def read_prices(path: str | Path) -> list[Price]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SpecError([Issue("", f"price file needs columns {', '.join(COLUMNS)}; missing "
                                       f"{', '.join(missing)}", str(path), 1)])
            out = []
            for n, r in enumerate(reader, start=2):
                try:
                    usd = float(r["usd"])
                except ValueError:
                    raise SpecError([Issue("usd", f"not a number: {r['usd']!r}", str(path), n)]) from None
                if usd < 0:
                    raise SpecError([Issue("usd", "a price cannot be negative", str(path), n)])
                out.append(Price(r["region"], r["service"], r["usage_type"], r["unit"], usd, r["source"],
                                 r["date"], r.get("confidence") or ""))
            return out
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError([Issue("", f"cannot read price file (a UTF-8 CSV is expected): {exc}", str(path), 0)]) from None


def builtin() -> PriceTable:
    return PriceTable(read_prices(BUILTIN))
