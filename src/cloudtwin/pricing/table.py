"""The price table: dated, sourced list prices, overridable by the user.

Rows are (region, service, usage_type) -> USD per unit, each with its source,
date and confidence (tools/make_prices.py generates the table from dated
sources and keeps the rows transcribed by hand). Region ``*`` means any Region:
a price that does not depend on the architecture's Region (Route 53, CloudFront
edge prices); a row of the exact Region wins over it. A user file with the same
columns replaces or extends rows. Nothing here invents a price: a usage type
with no row is reported as unpriced.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from cloudtwin.errors import Issue, SpecError
from cloudtwin.fileio import read_text_bounded
from cloudtwin.limits import MAX_CSV_FIELD, MAX_CSV_ROWS, MAX_DATA_BYTES

BUILTIN = Path(__file__).with_name("prices.csv")
ANY_REGION = "*"  # a row for any Region (the exact Region's row first)
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
        """The price of ``usage_type`` in ``region``: its own row, else the any-Region (``*``) row."""
        return self.rows.get((region, usage_type)) or self.rows.get((ANY_REGION, usage_type))

    def overridden(self, path: str | Path) -> PriceTable:
        """A copy with the rows of ``path`` replacing or adding to these: cloudtwin's own CSV
        (the columns of :data:`COLUMNS`) or an AWS Price List offer file (CSV or JSON)."""
        from cloudtwin.pricing.price_list import is_offer_file, read_offer

        merged = dict(self.rows)
        head = read_head(path)
        for p in (read_offer(path) if is_offer_file(head) else read_prices(path)):
            merged[(p.region, p.usage_type)] = p
        return PriceTable(list(merged.values()))


MAX_USD = 1e6  # per unit: no AWS list price comes near


def read_head(path: str | Path) -> bytes:
    """The first 4 kB of a price file (to tell its format), after the regular-file checks."""
    from cloudtwin.fileio import open_bounded

    with open_bounded(path, 2**63 - 1, "price file") as f:
        return bytes(f.buffer.read(4096))


def read_prices(path: str | Path) -> list[Price]:
    """The rows of a price CSV (the columns of :data:`COLUMNS`, ``confidence`` optional).

    The file is read within the data-file budget and every row is checked: all columns
    present and short, ``usd`` a finite number from 0 to :data:`MAX_USD`. Problems are
    reported as :class:`SpecError` at the file's line, without echoing its content."""
    text = read_text_bounded(path, MAX_DATA_BYTES, "price file")
    shown = str(path)[:300]

    def bad(line: int, message: str) -> SpecError:
        return SpecError([Issue("", message, shown, line)])

    lines = text.splitlines()
    if len(lines) > MAX_CSV_ROWS:
        raise bad(0, f"the price file has {len(lines):,} lines; the limit is {MAX_CSV_ROWS:,}")
    try:
        rows = list(csv.reader(lines))
    except csv.Error as exc:
        raise bad(0, f"not a CSV file: {exc}") from None
    if not rows:
        raise bad(1, "the price file is empty")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise bad(1, f"a price file needs the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}")
    col = {c: header.index(c) for c in (*COLUMNS, "confidence") if c in header}
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if not r or not any(x.strip() for x in r):
            continue
        if len(r) < len(header):
            raise bad(n, f"the row has {len(r)} values; the header has {len(header)}")
        if any(len(x) > MAX_CSV_FIELD for x in r):
            raise bad(n, f"a value is longer than {MAX_CSV_FIELD:,} characters")
        try:
            usd = float(r[col["usd"]])
        except ValueError:
            raise bad(n, "usd is not a number") from None
        if not (math.isfinite(usd) and 0.0 <= usd <= MAX_USD):
            raise bad(n, f"usd must be a finite number from 0 to {MAX_USD:g}")
        conf = r[col["confidence"]] if "confidence" in col else ""
        out.append(Price(r[col["region"]], r[col["service"]], r[col["usage_type"]], r[col["unit"]], usd,
                         r[col["source"]], r[col["date"]], conf))
    return out


def builtin() -> PriceTable:
    return PriceTable(read_prices(BUILTIN))
