"""`cloudtwin cost` (configured capacity x 730 h, no run) for the serverless and data services.

Fixed capacity is billed (DAX and Redshift node-hours, S3 `stored:` GB-months, provisioned
DynamoDB capacity-unit hours and QuickSight seats, the last two unpriced and listed as such);
what depends on traffic is listed as usage-based, never guessed.
"""

from __future__ import annotations

import pytest

import cloudtwin
from cloudtwin.pricing import fixed_cost
from cloudtwin.pricing.meters import configured
from cloudtwin.simulation import Simulation

GIB = 2**30

SPEC = """
name: fixed-serverless
zones: [a, b, c]
components:
  users: {type: cognito, users: 1000}
  api: {type: apigateway, api: {api}, integration: {target: fn, op: invoke}}
  fn:
    type: lambda
    handler:
      - call: cache.get
  cache: {type: dax, table: items, nodes: 3, node_type: dax.t3.small}
  items: {type: dynamodb, {capacity}}
  lake:
    type: s3
    stored: {"events/": 64GiB, "raw/": 256GiB}
  delivery: {type: firehose, s3: lake, format: {fmt}}
  scans: {type: athena, bucket: lake}
  warehouse: {type: redshift, node_type: dc2.large, nodes: 4}
  dash: {type: quicksight, source: warehouse, authors: 2, readers: 50}
  mail: {type: ses}
  edge: {type: cloudfront, behaviors: [{origin: api}]}
"""


def spec(api: str = "rest", capacity: str = "capacity: on_demand", fmt: str = "json") -> str:
    return SPEC.replace("{api}", api).replace("{capacity}", capacity).replace("{fmt}", fmt)


def item(out: dict, comp: str, usage_type: str) -> dict:
    return next(i for i in out["items"] + out["unpriced"] if i["component"] == comp and i["usage_type"] == usage_type)


def based(out: dict) -> set[tuple[str, str]]:
    return {(u["component"], u["usage_type"]) for u in out["usage_based"]}


def test_fixed_capacity_is_billed_for_730_hours() -> None:
    out = fixed_cost(cloudtwin.parse_spec(spec()))
    dax, rs, s3 = item(out, "cache", "NodeUsage:dax.t3.small"), item(out, "warehouse", "Node:dc2.large"), \
        item(out, "lake", "S3:TimedStorage-ByteHrs")
    assert dax["quantity"] == pytest.approx(3 * 730) and dax["usd"] == pytest.approx(3 * 730 * 0.04)  # $87.60
    assert rs["quantity"] == pytest.approx(4 * 730) and rs["usd"] == pytest.approx(4 * 730 * 0.25)  # $730
    assert s3["quantity"] == pytest.approx(320.0) and s3["usd"] == pytest.approx(320 * 0.023)  # 320 GiB-month
    assert out["by_component"] == pytest.approx({"cache": 87.6, "warehouse": 730.0, "lake": 7.36})
    assert out["monthly_usd"] == pytest.approx(824.96)


def test_unpriced_seats_and_capacity_units_are_listed_not_guessed() -> None:
    out = fixed_cost(cloudtwin.parse_spec(spec(capacity="capacity: provisioned, rcu: 100, wcu: 25")))
    unpriced = {(u["component"], u["usage_type"]): u["quantity"] for u in out["unpriced"]}
    assert unpriced == pytest.approx({
        ("items", "ReadCapacityUnit-Hrs"): 100 * 730, ("items", "WriteCapacityUnit-Hrs"): 25 * 730,
        ("dash", "QuickSight-Author-Month"): 2, ("dash", "QuickSight-Reader-Month"): 50})
    assert out["monthly_usd"] == pytest.approx(824.96)  # unpriced items add nothing
    # a provisioned table bills capacity-unit hours, not request units
    assert not {t for c, t in based(out) if c == "items"}


def test_traffic_billed_items_need_a_run() -> None:
    out = fixed_cost(cloudtwin.parse_spec(spec(fmt="parquet")))
    assert based(out) >= {
        ("users", "Cognito-MAU"), ("api", "ApiGatewayRequest"), ("fn", "Request"), ("fn", "Lambda-GB-Second"),
        ("items", "ReadRequestUnits"), ("items", "WriteRequestUnits"), ("lake", "S3:Requests-Tier1"),
        ("lake", "S3:Requests-Tier2"), ("delivery", "Firehose-IngestGB"), ("delivery", "Firehose-FormatConversionGB"),
        ("scans", "Athena-TB-Scanned"), ("mail", "Recipients"), ("edge", "US-DataTransfer-Out-Bytes"),
        ("edge", "US-Requests-Tier2-HTTPS")}
    assert ("api", "ApiGatewayHttpRequest") not in based(out)  # a REST API bills REST requests only
    assert all(u["reason"].endswith("see `cloudtwin run`") for u in out["usage_based"])
    for name in ("users", "api", "fn", "items", "delivery", "scans", "mail", "edge"):
        assert name not in out["by_component"]  # usage-based: nothing billed without a run
    http = fixed_cost(cloudtwin.parse_spec(spec(api="http")))
    assert {t for c, t in based(http) if c == "api"} == {"ApiGatewayHttpRequest"}
    assert ("delivery", "Firehose-FormatConversionGB") not in based(http)  # json: no format conversion


def test_a_run_bills_what_the_fixed_meters_predict_for_its_window() -> None:
    """The same usage types and quantities, from the live components, over a 10-minute run."""
    text = spec(capacity="capacity: provisioned, rcu: 100, wcu: 25") + "simulate: {duration: 10m, seed: 1}\n"
    arch = cloudtwin.parse_spec(text)
    cost = Simulation(arch, seed=1).run().data["cost"]
    hours = 10 / 60
    for comp in ("cache", "warehouse", "lake", "items", "dash"):
        for usage_type, qty in configured(arch.components[comp], arch, hours).items():
            assert item(cost, comp, usage_type)["quantity"] == pytest.approx(qty, rel=1e-6, abs=1e-6)
