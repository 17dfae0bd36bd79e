"""Schema of ``apigateway``: an API, its throttles, cache, integration and authorizer.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.apigateway`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs; :func:`warnings` the legal settings worth a word.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cloudtwin import catalogue
from cloudtwin.spec.base import ComponentSpec, Dist, Duration, KeyDist, Model, Name, Rate, Size
from cloudtwin.spec.loader import Path
from cloudtwin.spec.message import MessageSpec
from cloudtwin.spec.units import parse_distribution, parse_key_distribution

ACCOUNT_RATE = 10_000.0  # requests/s per account per Region [aws-facts §10 Account throttle]


ACCOUNT_BURST = 5_000  # [aws-facts §10 Account throttle]


REST_TIMEOUT_MAX = 29.0  # [aws-facts §10 REST integration timeout] (the 2024 raise is left out)


HTTP_TIMEOUT_MAX = 30.0  # [aws-facts §10 HTTP API integration timeout]


CACHE_SIZES = (0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118.0, 237.0)  # GB [aws-facts §10 REST cache]


INTEGRATION_TARGETS = ("lambda", *catalogue.family("load_balancer"), *catalogue.family("compute"), "kinesis", "sqs",
                       "sns")


WRITE_OPS = ("put", "send", "publish", "invoke_async")  # integration ops a cache never serves


class Throttle(Model):
    """A token bucket: ``rate`` requests/s steady, ``burst`` at once."""

    rate: Rate = Field(gt=0)
    burst: int = Field(ge=0, le=10_000_000)


class ApiCache(Model):
    """A REST stage's response cache [aws-facts §10 REST cache]."""

    ttl: Duration = Field(300.0, ge=0, le=3600)
    size_gb: float = 0.5
    key: KeyDist = Field(default_factory=lambda: parse_key_distribution("zipf(s=1.1, n=10000)"))  # assumption
    # bytes of each answer: sizes the entries (LRU by size_gb); above 1,048,576 not cached [aws-facts §10 REST cache]
    response_size: Size | None = Field(None, gt=0)
    # each key's answer changes this often (stale reads); none: a CloudFront behavior's in front, else never
    update_every: Duration | None = Field(None, gt=0)

    @field_validator("size_gb")
    @classmethod
    def _size(cls, v: float) -> float:
        if v not in CACHE_SIZES:
            raise ValueError(f"cache size_gb must be one of {', '.join(f'{s:g}' for s in CACHE_SIZES)}, got {v:g}")
        return v


class Integration(Model):
    """What an API method calls: ``target`` (a component) and ``op`` (its operation)."""

    target: Name
    op: str = Field("", pattern=r"^[a-z_]*$")
    timeout: Duration | None = Field(None, ge=0.05)  # default: the API type's maximum [aws-facts §10]
    key: KeyDist | None = None  # a Kinesis put: the partition key (default: the stream's)
    message: MessageSpec | None = None  # a put/send/publish: what each record or message is


class Authorizer(Model):
    """A Lambda authorizer (the function decides per identity; the decision is cached ``ttl``) or a
    Cognito user-pool authorizer (API Gateway validates the caller's JWT itself)."""

    function: Name | None = None
    cognito: Name | None = None  # a cognito user pool: requests without a signed-in user get 401
    ttl: Duration = Field(300.0, ge=0, le=3600)  # AWS docs: default 300 s, max 3,600 s (not in aws-facts)
    identities: KeyDist = Field(default_factory=lambda: parse_key_distribution("uniform(1, 10000)"))  # assumption
    deny: float = Field(0.0, ge=0, le=1)  # the share of identities the function denies

    @model_validator(mode="after")
    def _one(self) -> Authorizer:
        if (self.function is None) == (self.cognito is None):
            raise ValueError("an authorizer needs exactly one of `function:` (a Lambda authorizer) or `cognito:` "
                             "(a user pool)")
        return self


class ApiGateway(ComponentSpec):
    type: Literal["apigateway"]
    api: Literal["rest", "http"] = "rest"
    protocol: Literal["https"] = "https"  # the notes require HTTPS; API Gateway endpoints are HTTPS
    integration: Integration
    throttle: Throttle | None = None  # the stage's default method throttle
    method_throttle: Throttle | None = None  # an override for the method
    account_throttle: Throttle | None = None  # none: account.apigateway_throttle (older spelling, kept)
    cache: ApiCache | None = None  # REST only
    authorizer: Authorizer | None = None
    latency: Dist = Field(default_factory=lambda: parse_distribution("lognormal(median=5ms, p99=30ms)"))  # assumption

    @model_validator(mode="after")
    def _shape(self) -> ApiGateway:
        top = REST_TIMEOUT_MAX if self.api == "rest" else HTTP_TIMEOUT_MAX
        t = self.integration.timeout
        if t is not None and t > top:
            raise ValueError(f"a {self.api.upper()} API integration timeout is at most {top:g}s, got {t:g}s "
                             "[aws-facts §10]")
        if self.cache is not None and self.api != "rest":
            raise ValueError("only REST APIs have a response cache [aws-facts §10 REST cache]")
        if self.cache is not None and self.integration.op in WRITE_OPS:
            raise ValueError(f"a cache on a {self.integration.op!r} integration would answer writes from the "
                             "cache; drop `cache:`")
        return self

    @property
    def timeout(self) -> float:
        top = REST_TIMEOUT_MAX if self.api == "rest" else HTTP_TIMEOUT_MAX
        return self.integration.timeout if self.integration.timeout is not None else top


def account_throttle(arch: Any, c: Any) -> Throttle:
    """The account's request bucket as API ``c`` sees it: its own ``account_throttle`` if it gives
    one (the older spelling), else ``account.apigateway_throttle``."""
    return c.account_throttle if c.account_throttle is not None else arch.account.apigateway_throttle  # type: ignore[no-any-return]


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """A stage or method throttle above the account throttle: legal (AWS raises account limits on
    request) but the account bucket still caps it unless the account throttle is raised too."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type != "apigateway":
            continue
        acct = account_throttle(arch, c)
        for key in ("throttle", "method_throttle"):
            th = getattr(c, key)
            if th is not None and (th.rate > acct.rate or th.burst > acct.burst):
                out.append((("components", n, key), f"throttle {th.rate:g}/s burst {th.burst} is above the account "
                            f"throttle {acct.rate:g}/s burst {acct.burst} [aws-facts §10]: AWS raises the account "
                            "limit on request; until then the account bucket caps this API"))
        raised = above_default(acct) if c.account_throttle is not None else None
        if raised:
            out.append((("components", n, "account_throttle"), raised))
    return out


def above_default(th: Throttle) -> str | None:
    """The warning for an account throttle above AWS's default, or None."""
    if th.rate > ACCOUNT_RATE or th.burst > ACCOUNT_BURST:
        return (f"account throttle {th.rate:g}/s burst {th.burst} is above the default {ACCOUNT_RATE:g}/s burst "
                f"{ACCOUNT_BURST} [aws-facts §10]: it assumes AWS raised the limit on request")
    return None


def check(arch: Any) -> list[tuple[Path, str]]:
    """An API's integration target and op, and its authorizers."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    ops = {"lambda": ("invoke", ""), "kinesis": ("put",), "sqs": ("send",), "sns": ("publish",)}
    for n, c in comps.items():
        if c.type != "apigateway":
            continue
        base: Path = ("components", n)
        it = c.integration
        t = comps.get(it.target)
        p = (*base, "integration")
        if t is None or t.type not in INTEGRATION_TARGETS:
            got = "not a component" if t is None else f"a {t.type}"
            out.append(((*p, "target"), f"integration target {it.target!r} must be one of "
                        f"{', '.join(INTEGRATION_TARGETS)}; it is {got}"))
            continue
        allowed = ops.get(t.type, ("",))
        if it.op not in allowed:
            out.append(((*p, "op"), f"a {t.type} integration takes op {' or '.join(repr(o) for o in allowed)}, "
                        f"got {it.op!r}"))
        au = c.authorizer
        if au is not None and au.function is not None and getattr(comps.get(au.function), "type", None) != "lambda":
            out.append(((*base, "authorizer", "function"), f"authorizer {au.function!r} must be a lambda "
                        "function"))
        if au is not None and au.cognito is not None and getattr(comps.get(au.cognito), "type", None) != "cognito":
            out.append(((*base, "authorizer", "cognito"), f"authorizer pool {au.cognito!r} must be a cognito "
                        "user pool"))
        if it.key is not None and t.type != "kinesis":
            out.append(((*p, "key"), "`key:` (a partition key) applies to a kinesis integration"))
    return out + _invalidations(arch)


def _invalidations(arch: Any) -> list[tuple[Path, str]]:
    """A ``call: <api>.invalidate`` needs the API to have a cache (there is nothing to invalidate)."""
    out: list[tuple[Path, str]] = []
    comps = arch.components

    def walk(steps: list[Any], path: Path) -> None:
        for i, st in enumerate(steps):
            t = comps.get(getattr(st, "target", None) or "")
            if getattr(st, "op", None) == "invalidate" and t is not None and t.type == "apigateway" \
                    and (t.cache is None or t.cache.ttl == 0):
                out.append(((*path, i, "call"), f"{st.target}.invalidate needs a cache on API {st.target!r} "
                            "(`cache:` with a ttl above 0)"))
            if getattr(st, "on_miss", None):
                walk(st.on_miss, (*path, i, "on_miss"))

    for n, c in comps.items():
        if getattr(c, "handler", None):
            walk(list(c.handler), ("components", n, "handler"))
    return out


def update_every(arch: Any, api: str) -> float | None:
    """How often each key's answer of API ``api``'s cache changes: the cache's ``update_every``,
    else the shortest ``update_every`` of the CloudFront behaviors whose origin is ``api`` (the
    same URLs, so the same objects), else None (never)."""
    own = arch.components[api].cache.update_every
    if own is not None:
        return float(own)
    found = [b.update_every for c in arch.components.values() if c.type == "cloudfront"
             for b in c.behaviors if b.origin == api and b.update_every is not None]
    return min(found) if found else None
