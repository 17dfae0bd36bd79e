"""Regenerate the EC2 and ElastiCache rows of src/cloudtwin/pricing/prices.csv from the dated
public price figures in ../shared/pricing-sources (transcribed, each row citing its source).

    python tools/make_prices.py [--sources ../shared/pricing-sources]

Rows of other services (transcribed by hand from aws-facts.md and the sources they cite)
are kept as they are. Only what a source gives is written; a gap stays a gap (unpriced):
EC2 1-year no-upfront reserved prices are not in these sources, so the one such row kept is
the hand-cited m5.large of us-east-1.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / "src" / "cloudtwin" / "pricing" / "prices.csv"
INSTANCE_TYPES = ROOT / "src" / "cloudtwin" / "data" / "instance_types.csv"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1")
FAMILIES = ("t3", "t3a", "t4g", "m5", "m6i", "m7i", "m6g", "m7g", "c5", "c6i", "c7i", "c6g", "c7g",
            "r5", "r6i", "r7i", "r6g", "r7g")
SIZES = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge")
CACHE_FAMILIES = ("cache.t3", "cache.t4g", "cache.m5", "cache.m6g", "cache.m7g", "cache.r5", "cache.r6g", "cache.r7g")
EC2_SOURCE = ("jawaadjariwala/AWS-EC2-Pricing-Landscape-Analysis data/ec2_pricing_tidy.parquet (commit b7dbceb, "
              "from instances.vantage.sh), Linux rows, as shared/pricing-sources/ec2-linux.csv")
CACHE_SOURCE = ("LeanerCloud/ec2-instances-info data/elasticache-instances.json (from ec2instances.info), "
                "as shared/pricing-sources/elasticache.json")
HEADER = ["region", "service", "usage_type", "unit", "usd", "source", "date", "confidence"]


def ec2_rows(sources: Path) -> list[list[str]]:
    out = []
    with open(sources / "ec2-linux.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            fam, _, size = r["instance_type"].partition(".")
            if r["region_code"] not in REGIONS or fam not in FAMILIES or size not in SIZES:
                continue
            it, reg = r["instance_type"], r["region_code"]
            if r["ondemand_usd_per_hour"]:
                out.append([reg, "ec2", f"BoxUsage:{it}", "instance-hour", r["ondemand_usd_per_hour"],
                            f"{EC2_SOURCE}: on-demand", "2026-07-05", "third-party"])
            if r["spot_avg_usd_per_hour"]:
                out.append([reg, "ec2", f"SpotUsage:{it}", "instance-hour", r["spot_avg_usd_per_hour"],
                            f"{EC2_SOURCE}: average spot price", "2026-07-05", "third-party"])
    return out


def instance_facts(sources: Path) -> dict[str, tuple[str, str]]:
    """vCPUs and memory (GiB) of the types priced, from the same source (us-east-1 rows)."""
    out = {}
    with open(sources / "ec2-linux.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            fam, _, size = r["instance_type"].partition(".")
            if r["region_code"] == "us-east-1" and fam in FAMILIES and size in SIZES:
                out[r["instance_type"]] = (r["vcpu_count"], f"{float(r['memory_gib']):g}")
    return out


def write_instance_facts(sources: Path) -> int:
    """Add the priced types' vCPUs and memory to data/instance_types.csv (rows already there are kept)."""
    lines = INSTANCE_TYPES.read_text(encoding="utf-8").splitlines()
    have = {ln.split(",")[0] for ln in lines[2:]}
    new = sorted((t, v) for t, v in instance_facts(sources).items() if t not in have)
    lines[0] = ("# EC2 instance types: vCPUs and memory (GiB). Sources: AWS EC2 instance type specifications "
                "(aws.amazon.com/ec2/instance-types) for the first rows; the rest transcribed by "
                f"tools/make_prices.py from {EC2_SOURCE}.")
    lines += [f"{t},{v},{m}" for t, (v, m) in new]
    INSTANCE_TYPES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(new)


def cache_rows(sources: Path) -> list[list[str]]:
    out = []
    for node in json.loads((sources / "elasticache.json").read_text(encoding="utf-8")):
        it = node.get("instance_type", "")
        if not it.startswith(CACHE_FAMILIES):
            continue
        for reg in REGIONS:
            redis = (node.get("pricing", {}).get(reg) or {}).get("Redis") or {}
            if redis.get("ondemand"):
                out.append([reg, "elasticache", f"NodeUsage:{it}", "node-hour", f"{redis['ondemand']:g}",
                            f"{CACHE_SOURCE}: Redis on-demand", "2025-04", "third-party"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sources", type=Path, default=ROOT.parent / "shared" / "pricing-sources")
    args = ap.parse_args()
    with open(PRICES, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    generated = ec2_rows(args.sources) + cache_rows(args.sources)
    new_keys = {(r[0], r[2]) for r in generated}
    kept = [r for r in rows if (r[0], r[2]) not in new_keys]
    out = sorted(kept + generated, key=lambda r: (r[0] != "us-east-1", r[0], r[1], r[2]))
    with open(PRICES, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(out)
    print(f"{PRICES}: {len(kept)} rows kept, {len(generated)} generated for {len(REGIONS)} regions")
    print(f"{INSTANCE_TYPES}: {write_instance_facts(args.sources)} instance types added")


if __name__ == "__main__":
    main()
