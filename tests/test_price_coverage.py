"""Every cost item of every blueprint is priced in us-east-1 and in eu-west-1, or listed as
unpriced with the reason (issue 12). The exact unpriced lists are in
tests/golden_prices/unpriced.json, so a gap cannot grow unseen; regenerate it with
``python tests/test_price_coverage.py`` after a change that prices more (or less), and say why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cloudtwin.pricing import PriceTable, builtin, price_usage

GOLDEN = Path(__file__).resolve().parent / "golden"
EXPECTED = GOLDEN.parent / "golden_prices" / "unpriced.json"
REGIONS = ("us-east-1", "eu-west-1")
# Why the sources give no price, where it is known (docs/prices.md says the same)
WHY = {
    "Firehose-": "the one Firehose source (infracost's golden) is for eu-west-2",
    "ReadRequestUnits": "infracost's DynamoDB golden is for us-east-2",
    "WriteRequestUnits": "infracost's DynamoDB golden is for us-east-2",
    "ReadCapacityUnit-Hrs": "infracost's DynamoDB golden is for us-east-2",
    "WriteCapacityUnit-Hrs": "infracost's DynamoDB golden is for us-east-2",
    "InstanceUsage:db.m5.large:postgres": "the sources give db.m5.large for MySQL only",
    "SpotUsage-Fargate": "no source gives Fargate Spot",
    "QuickSight-": "no source gives QuickSight",
    "Cognito-": "no source gives Cognito",
    "NodeUsage:dax.": "DAX only from one us-east-1 blog figure",
    "FSxLustre-": "no source gives FSx for Lustre",
}


def reason(table: PriceTable, region: str, usage_type: str) -> str:
    """Why ``usage_type`` has no ``region`` price: the Regions that have one, and what the sources lack."""
    elsewhere = sorted({r for r, u in table.rows if u == usage_type})
    where = f"priced in {', '.join(elsewhere)} only" if elsewhere else "priced in no Region"
    why = next((w for k, w in WHY.items() if usage_type.startswith(k)), "")
    return f"no {region} price in the sources ({where}{'; ' + why if why else ''})"


def _usage(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    usage: dict[str, dict[str, float]] = {}
    for item in results["cost"]["items"] + results["cost"]["unpriced"]:
        usage.setdefault(item["component"], {})[item["usage_type"]] = item["quantity"]
    return usage


def coverage() -> dict[str, dict[str, list[str]]]:
    table = builtin()
    out: dict[str, dict[str, list[str]]] = {}
    for path in sorted(GOLDEN.glob("*.json")):
        if path == EXPECTED:
            continue
        results = json.loads(path.read_text())
        usage = _usage(results)
        out[path.stem] = {}
        for region in REGIONS:
            priced = price_usage(usage, table, region)
            out[path.stem][region] = sorted(f"{u['component']} {u['usage_type']}: "
                                            f"{reason(table, region, u['usage_type'])}" for u in priced["unpriced"])
    return out


def test_every_item_is_priced_or_listed_as_unpriced_with_the_reason() -> None:
    got = coverage()
    assert got == json.loads(EXPECTED.read_text())
    for regions in got.values():  # a reason for each, and us-east-1 (the sourced Region) prices most
        assert all(": no " in u for lst in regions.values() for u in lst)
        assert len(regions["us-east-1"]) <= len(regions["eu-west-1"])


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps(coverage(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}")
