"""AWS Price List offer files (the bulk CSV or JSON a user downloads for a service and Region),
read into the price table's rows, so ``--prices`` can price anything current.

What is taken: on-demand terms in US dollars, the first tier of each price (``StartingRange``
0), keyed by Region code and usage type with its Region prefix removed (``USE1-`` in
``USE1-BoxUsage:m5.large``; us-east-1 has none), as cloudtwin's meters name usage. For EC2 only
Linux, shared-tenancy, used-capacity rows with no pre-installed software count (operation
``RunInstances``), the prices cloudtwin's instance-hours mean. Rows with no Region code
(global products) are left out. A CSV offer file is streamed (bounded memory whatever its
size); a JSON one is read whole, so it has a smaller limit.

Format (AWS Billing user guide, "Reading the service price list file for an AWS service"):
the CSV's first five rows are metadata (format version, disclaimer, publication date,
version, offer code), the sixth the column names (``SKU``, ``OfferTermCode``, ``RateCode``,
``TermType``, ``PriceDescription``, ``EffectiveDate``, ``StartingRange``, ``EndingRange``,
``Unit``, ``PricePerUnit``, ``Currency``, then the product attributes); the JSON has
``products`` (by SKU, with ``attributes``) and ``terms.OnDemand`` (by SKU, then offer term,
with ``priceDimensions``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.fileio import open_bounded, read_text_bounded
from cloudtwin.pricing.table import MAX_USD, Price

__all__ = ["is_offer_file", "read_offer"]

MAX_OFFER_CSV_BYTES = 8 * 2**30  # a Region's EC2 offer file is a few hundred MB
MAX_OFFER_JSON_BYTES = 256 * 2**20
_PREFIX = re.compile(r"^[A-Z]{2,5}\d?-(?=[A-Za-z])")


def is_offer_file(head: bytes) -> bool:
    """Does a file starting with ``head`` look like an AWS Price List offer file?"""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b'"FormatVersion"') or (text.startswith(b"{") and b'"formatVersion"' in text[:4096])


def read_offer(path: str | Path) -> list[Price]:
    """The on-demand prices of an offer file, one per (Region, usage type)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    rows = _read_json(path) if head.lstrip().startswith(b"{") else _read_csv(path)
    best: dict[tuple[str, str], tuple[float, Price]] = {}
    for start, price in rows:
        key = (price.region, price.usage_type)
        if key not in best or start < best[key][0]:
            best[key] = (start, price)
    if not best:
        raise SpecError([Issue("", "no on-demand USD prices with a Region code in this AWS Price List file",
                               str(path)[:300], 0)])
    return [p for _, p in best.values()]


def _usage_type(raw: str) -> str:
    return _PREFIX.sub("", raw, count=1)


def _keep(attrs: dict[str, str]) -> bool:
    if attrs.get("servicecode", attrs.get("serviceCode", "")) == "AmazonEC2" and attrs.get("instanceType"):
        return (attrs.get("operation") == "RunInstances" and attrs.get("tenancy", "Shared") == "Shared"
                and attrs.get("capacitystatus", "Used") == "Used" and attrs.get("preInstalledSw", "NA") == "NA")
    return True


def _price(where: str, region: str, service: str, usage: str, unit: str, usd_text: str, source: str,
           date: str) -> Price:
    try:
        usd = float(usd_text)
    except ValueError:
        raise SpecError([Issue("", f"{where}: PricePerUnit is not a number", "", 0)]) from None
    if not (math.isfinite(usd) and 0.0 <= usd <= MAX_USD):
        raise SpecError([Issue("", f"{where}: PricePerUnit must be a finite number from 0 to {MAX_USD:g}", "", 0)])
    return Price(region, service, _usage_type(usage), unit, usd, source, date, "aws-price-list")


_CSV_KEYS = {"Region Code": "regionCode", "usageType": "usagetype", "operation": "operation", "Tenancy": "tenancy",
             "CapacityStatus": "capacitystatus", "Pre Installed S/W": "preInstalledSw",
             "Instance Type": "instanceType", "serviceCode": "servicecode"}


def _read_csv(path: str | Path) -> Iterator[tuple[float, Price]]:
    shown = str(path)[:300]
    with open_bounded(path, MAX_OFFER_CSV_BYTES, "price list file") as f:
        reader = csv.reader(_limited_lines(f))
        meta: dict[str, str] = {}
        for _ in range(5):
            row = next(reader, None)
            if row and len(row) >= 2:
                meta[row[0]] = row[1]
        header = next(reader, None)
        if not header or "TermType" not in header or "PricePerUnit" not in header:
            raise SpecError([Issue("", "not an AWS Price List CSV: its sixth row has no TermType and PricePerUnit "
                                   "columns", shown, 6)])
        col = {h: i for i, h in enumerate(header)}
        source = f"AWS Price List {meta.get('OfferCode', '?')} version {meta.get('Version', '?')}"
        date = meta.get("Publication Date", "")[:10]
        service = meta.get("OfferCode", "").removeprefix("Amazon").removeprefix("AWS").lower()
        for n, row in enumerate(reader, start=7):
            if len(row) < len(header):
                raise SpecError([Issue("", f"the row has {len(row)} values; the header has {len(header)}", shown, n)])
            if row[col["TermType"]] != "OnDemand" or ("Currency" in col and row[col["Currency"]] != "USD"):
                continue
            attrs = {v: row[col[k]] for k, v in _CSV_KEYS.items() if k in col}
            region, usage = attrs.get("regionCode", ""), attrs.get("usagetype", "")
            if not region or not usage or not _keep(attrs):
                continue
            start = _float(row[col["StartingRange"]]) if "StartingRange" in col else 0.0
            yield start, _price(f"{shown}:{n}", region, service, usage, row[col["Unit"]],
                                row[col["PricePerUnit"]], source, date)


def _limited_lines(f: io.TextIOBase) -> Iterable[str]:
    for line in f:
        if len(line) > 100_000:
            raise SpecError([Issue("", "a line longer than 100,000 characters: not an AWS Price List CSV", "", 0)])
        yield line


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.inf


def _dict(v: Any) -> dict[Any, Any]:
    """``v`` if it is a mapping, else an empty one: a malformed offer file's odd value is skipped."""
    return v if isinstance(v, dict) else {}


def _read_json(path: str | Path) -> Iterator[tuple[float, Price]]:
    shown = str(path)[:300]
    try:
        doc = json.loads(read_text_bounded(path, MAX_OFFER_JSON_BYTES, "price list file"))
    except json.JSONDecodeError as exc:
        raise SpecError([Issue("", f"not JSON: {exc.msg}", shown, exc.lineno)]) from None
    except RecursionError:
        raise SpecError([Issue("", "not an AWS Price List offer file: JSON nested too deeply", shown, 0)]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("products"), dict):
        raise SpecError([Issue("", "not an AWS Price List JSON offer file (no products)", shown, 0)])
    source = f"AWS Price List {doc.get('offerCode', '?')} version {doc.get('version', '?')}"
    date = str(doc.get("publicationDate", ""))[:10]
    service = str(doc.get("offerCode", "")).removeprefix("Amazon").removeprefix("AWS").lower()
    terms = _dict(_dict(doc.get("terms")).get("OnDemand"))
    for sku, product in doc["products"].items():
        attrs = {str(k): str(v) for k, v in _dict(_dict(product).get("attributes")).items()}
        region, usage = attrs.get("regionCode", ""), attrs.get("usagetype", "")
        if not region or not usage or not _keep(attrs):
            continue
        for term in _dict(terms.get(sku)).values():
            for dim in _dict(_dict(term).get("priceDimensions")).values():
                dim = _dict(dim)
                usd = _dict(dim.get("pricePerUnit")).get("USD")
                if usd is None:
                    continue
                yield _float(str(dim.get("beginRange", "0"))), _price(f"{shown}: {sku}", region, service, usage,
                                                                      str(dim.get("unit", "")), str(usd), source, date)
