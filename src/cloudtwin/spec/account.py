"""Schema of ``account``: the service quotas one AWS account has in the spec's Region.

Each default is AWS's documented default quota (the aws-facts.md row beside it); a higher
figure is legal, as AWS raises these quotas on request, and :func:`warnings` says that it
assumes such a raise. Quotas that belong to one resource (a stream's shards, an API's stage
throttle, an SES sender's rate) stay on that component.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cloudtwin.spec.apigateway import ACCOUNT_BURST, ACCOUNT_RATE, Throttle, above_default
from cloudtwin.spec.base import Model, Rate
from cloudtwin.spec.loader import Path

LAMBDA_CONCURRENCY = 1000  # per Region [aws-facts §5 Account concurrency]
UNRESERVED_MIN = 100  # at least this much must stay unreserved [aws-facts §5 Account concurrency]
INVOKE_RATE_PER_CONCURRENCY = 10.0  # invokes/s per unit of concurrency [aws-facts §5 Invoke request rate]
SNS_EMAIL_RATE = 10.0  # emails/s per account [aws-facts §7 Email delivery rate]
# shards per account: 500 in these Regions, 200 elsewhere [aws-facts §9 KDS shard quota]
KINESIS_SHARDS_LARGE = 500
KINESIS_SHARDS_SMALL = 200
KINESIS_LARGE_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def kinesis_default(region: str) -> int:
    return KINESIS_SHARDS_LARGE if region in KINESIS_LARGE_REGIONS else KINESIS_SHARDS_SMALL


class Account(Model):
    """The account's quotas (one account, one Region)."""

    lambda_concurrency: int = Field(LAMBDA_CONCURRENCY, ge=UNRESERVED_MIN, le=1_000_000)  # AWS: "tens of thousands"
    apigateway_throttle: Throttle = Field(default_factory=lambda: Throttle(rate=ACCOUNT_RATE, burst=ACCOUNT_BURST))
    kinesis_shards: int | None = Field(None, ge=1, le=10_000_000)  # none: the Region's default
    sns_email_rate: Rate = Field(SNS_EMAIL_RATE, gt=0)

    @property
    def invoke_rate(self) -> float:
        """Lambda invoke requests per second the account allows [aws-facts §5 Invoke request rate]."""
        return INVOKE_RATE_PER_CONCURRENCY * self.lambda_concurrency

    def shard_quota(self, region: str) -> int:
        return self.kinesis_shards if self.kinesis_shards is not None else kinesis_default(region)


def check(arch: Any) -> list[tuple[Path, str]]:
    """The streams' shards within the account's shard quota."""
    out: list[tuple[Path, str]] = []
    quota = arch.account.shard_quota(arch.region)
    total, first = 0, None
    for n, c in arch.components.items():
        if c.type == "kinesis" and c.mode == "provisioned":
            total += c.shards
            first = first or n
    if first is not None and total > quota:
        out.append((("components", first, "shards"), f"the streams have {total} shards in all; the account's "
                    f"quota in {arch.region} is {quota} [aws-facts §9 KDS shard quota] (raise it with "
                    "account.kinesis_shards if AWS has)"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Quotas above AWS's defaults: legal, as AWS raises them on request."""
    out: list[tuple[Path, str]] = []
    a = arch.account
    base: Path = ("account",)
    if a.lambda_concurrency > LAMBDA_CONCURRENCY:
        out.append(((*base, "lambda_concurrency"), f"Lambda concurrency {a.lambda_concurrency} is above the "
                    f"default {LAMBDA_CONCURRENCY} [aws-facts §5]: it assumes AWS raised the quota on request"))
    raised = above_default(a.apigateway_throttle)
    if raised:
        out.append(((*base, "apigateway_throttle"), raised))
    if a.kinesis_shards is not None and a.kinesis_shards > kinesis_default(arch.region):
        out.append(((*base, "kinesis_shards"), f"shard quota {a.kinesis_shards} is above the default "
                    f"{kinesis_default(arch.region)} in {arch.region} [aws-facts §9]: it assumes AWS raised it"))
    if a.sns_email_rate > SNS_EMAIL_RATE:
        out.append(((*base, "sns_email_rate"), f"SNS email rate {a.sns_email_rate:g}/s is above the default "
                    f"{SNS_EMAIL_RATE:g}/s [aws-facts §7]: it assumes AWS raised it"))
    return out
