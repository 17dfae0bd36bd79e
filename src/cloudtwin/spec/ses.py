"""Schema of ``ses``, the email sender.

Sending limits (per account per Region; both count recipients, one per email here):
the sandbox allows 200 emails per 24 hours and 1 email per second (AWS SES Developer
Guide, "Service quotas in Amazon SES", docs.aws.amazon.com/ses/latest/dg/quotas.html;
not in aws-facts). Out of the sandbox AWS no longer publishes a fixed starting quota
("varies based on your specific use case", same page); 50,000 per 24 hours and 14 per
second are the starting figures third-party guides report (oneuptime.com "Move Amazon SES
out of sandbox" 2026-02-12, acellemail.com "SES sending limits cookbook"): weak, so they
are defaults to override. Either way ``max_send_rate`` and ``daily_quota`` win when given.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, KeyDist, Rate
from cloudtwin.spec.units import parse_distribution

Path = tuple[str | int, ...]

SANDBOX_RATE = 1.0  # emails/s: SES quotas page (docs.aws.amazon.com/ses/latest/dg/quotas.html)
SANDBOX_QUOTA = 200  # emails per 24 h: same page
PRODUCTION_RATE = 14.0  # emails/s: third-party guides only (weak), see the module docstring
PRODUCTION_QUOTA = 50_000  # emails per 24 h: third-party guides only (weak)


class SES(ComponentSpec):
    type: Literal["ses"]
    sandbox: bool = True  # every new account starts in the sandbox (SES quotas page)
    max_send_rate: Rate | None = Field(None, gt=0, le=1_000_000)  # none: 1/s in the sandbox, else 14/s
    daily_quota: int | None = Field(None, ge=1, le=10**12)  # emails per rolling 24 h; none: 200 / 50,000
    recipients: KeyDist | None = None  # who an email with no user on the request goes to; none: not tracked
    latency: Dist = Field(default_factory=lambda: parse_distribution("lognormal(median=30ms, p99=200ms)"))  # assumption

    @property
    def rate(self) -> float:
        if self.max_send_rate is not None:
            return self.max_send_rate
        return SANDBOX_RATE if self.sandbox else PRODUCTION_RATE

    @property
    def quota(self) -> int:
        if self.daily_quota is not None:
            return self.daily_quota
        return SANDBOX_QUOTA if self.sandbox else PRODUCTION_QUOTA


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of these components (none: SES refers to nothing)."""
    return []


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """A sandboxed sender: legal, but production mail needs production access."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type == "ses" and c.sandbox:
            out.append((("components", n, "sandbox"), f"SES {n!r} is in the sandbox: {c.quota:,} emails per 24 h at "
                        f"{c.rate:g}/s, and only to verified addresses; set `sandbox: false` once AWS grants "
                        "production access"))
    return out
