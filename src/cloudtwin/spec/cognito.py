"""Schema of the ``cognito`` user pool, and of a workload's ``auth:`` (who its requests act for).

Defaults cite the Cognito developer guide where one was found (awsdocs/amazon-cognito-developer-guide,
``doc_source/limits.md``, 2023 mirror; not in aws-facts.md); "assumption" marks the rest.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Model, Rate, what_is
from cloudtwin.spec.units import parse_distribution as _d

Path = tuple[str | int, ...]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]

# Account-wide request rate quotas per category (Cognito guide, limits.md "Category operations").
AUTH_RPS = 120.0  # UserAuthentication: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge...
CREATE_RPS = 50.0  # UserCreation: SignUp, ConfirmSignUp, AdminCreateUser, AdminConfirmSignUp



class Cognito(ComponentSpec):
    type: Literal["cognito"]
    users: int = Field(10_000, ge=0, le=100_000_000)  # assumption: as many as a workload's default clients
    sign_in_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=150ms, p99=600ms)"))  # assumption
    sign_up_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=250ms, p99=1s)"))  # assumption
    auth_rate: Rate = Field(AUTH_RPS, gt=0)  # UserAuthentication quota (requests/s, per account)
    create_rate: Rate = Field(CREATE_RPS, gt=0)  # UserCreation quota (requests/s, per account)
    post_confirmation: Name | None = None  # a lambda invoked synchronously after each sign-up


class WorkloadAuth(Model):
    """A workload's identity: its clients are users of ``pool``; ``foreign`` of requests address another
    user's data (a curious or hostile user)."""

    pool: Name
    foreign: float = Field(0.0, ge=0, le=1)


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems: the post-confirmation trigger must be a lambda."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type == "cognito" and c.post_confirmation is not None:
            t = arch.components.get(c.post_confirmation)
            if t is None or t.type != "lambda":
                out.append((("components", n, "post_confirmation"), f"post-confirmation trigger "
                            f"{c.post_confirmation!r} must be a lambda function; it is "
                            f"{what_is(arch.components, c.post_confirmation)}"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Quotas above the defaults assume AWS raised them on request."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type != "cognito":
            continue
        for key, default in (("auth_rate", AUTH_RPS), ("create_rate", CREATE_RPS)):
            if getattr(c, key) > default:
                out.append((("components", n, key), f"{key} {getattr(c, key):g}/s is above the default quota "
                            f"{default:g}/s (Cognito guide, quotas): it assumes AWS raised it on request"))
    return out
