"""The price table: an any-Region (``*``) row prices every Region that has no row of its own, and
src/cloudtwin/pricing/prices.csv is exactly what tools/make_prices.py makes from its sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloudtwin.pricing import builtin
from cloudtwin.pricing.table import PriceTable, read_prices

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT.parent / "shared" / "pricing-sources"


def _table(tmp_path: Path, rows: str) -> PriceTable:
    path = tmp_path / "p.csv"
    path.write_text("region,service,usage_type,unit,usd,source,date\n" + rows)
    return PriceTable(read_prices(path))


def test_an_any_region_row_prices_a_region_without_its_own_and_the_exact_region_wins(tmp_path: Path) -> None:
    t = _table(tmp_path, "*,route53,HostedZone,zone-month,0.5,s,d\neu-west-1,route53,HostedZone,zone-month,0.7,s,d\n")
    assert t.get("ap-southeast-1", "HostedZone").usd == 0.5  # type: ignore[union-attr]
    assert t.get("eu-west-1", "HostedZone").usd == 0.7  # type: ignore[union-attr]
    assert t.get("eu-west-1", "DNS-Queries") is None


def test_a_user_row_for_a_region_overrides_a_builtin_any_region_row(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("region,service,usage_type,unit,usd,source,date\neu-west-1,route53,HostedZone,zone-month,9,me,today\n")
    t = builtin().overridden(path)
    assert t.get("eu-west-1", "HostedZone").usd == 9  # type: ignore[union-attr]
    assert t.get("us-west-2", "HostedZone").usd == 0.5  # type: ignore[union-attr]  # the builtin '*' row


def test_builtin_prices_route53_and_cloudfront_in_any_region_and_transfer_per_region() -> None:
    t = builtin()
    for region in ("eu-west-1", "ap-northeast-1", "sa-east-1"):
        assert t.get(region, "HostedZone") is not None
        assert t.get(region, "US-DataTransfer-Out-Bytes").usd == 0.085  # type: ignore[union-attr]
    # data transfer out differs by Region (infracost data_transfer_test golden: Tokyo $0.114/GB)
    assert t.get("ap-northeast-1", "DataTransfer-Out-Bytes").usd == 0.114  # type: ignore[union-attr]
    assert t.get("sa-east-1", "DataTransfer-Out-Bytes") is None  # not one of the six Regions


@pytest.mark.skipif(not SOURCES.is_dir(), reason="needs ../shared/pricing-sources")
def test_the_price_table_is_what_the_generator_makes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_prices.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_golden_back_computation_takes_the_shortest_price_the_rounding_allows() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_prices as mp
    finally:
        sys.path.pop(0)
    from decimal import Decimal

    # 730 h at $16.43: anything from 16.425/730 to 16.435/730; the shortest is $0.0225/h
    assert mp.shortest(Decimal("16.425") / 730, Decimal("16.435") / 730) == Decimal("0.0225")
    # 3,000,000 units at $1.88: $0.625, $0.626 ... $0.628 per million all fit: ambiguous, not guessed
    assert mp.shortest(Decimal("1.875") / 3, Decimal("1.885") / 3) is None
    lines = mp.parse_golden(" aws_lb.x\n ├─ Application load balancer   730  hours   $16.43\n"
                            " └─ Data processed   Monthly cost depends on usage: $0.20 per 1M requests\n")
    assert [(g.path, g.scale) for g in lines] == [("Application load balancer", 1), ("Data processed", 10**6)]
