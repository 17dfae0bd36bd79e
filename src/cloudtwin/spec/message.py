"""What a producer sends: message size, attributes, FIFO group, and filter policies.

Data only. A ``message:`` mapping may sit on a workload whose entry is an ``sqs``
or ``sns`` component, or on a ``call`` step to one; :class:`MessageSpec` says how
each message is drawn. Attribute values are a constant (``region: eu``), a
weighted choice (``kind: {order: 0.9, refund: 0.1}``) or a numeric distribution
(``amount: "uniform(1, 500)"``). ``poison: 0.01`` marks that fraction of messages
with the attribute ``poison: true``, which a Lambda consumer fails on (its
``poison`` rule), so a blueprint can show dead-letter paths.

A filter policy (SNS subscriptions, a Lambda's ``poison`` rule) is a mapping from
attribute name to a list of conditions, a small safe subset of SNS's language:
a plain value (equality), ``{prefix: "ab"}``, ``{numeric: [">=", 0, "<", 100]}``,
``{exists: true|false}`` or ``{anything-but: [values]}``. Every named attribute
must match one of its conditions. Nothing is evaluated as code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator

from cloudtwin.spec.base import KeyDist, Model, Size
from cloudtwin.spec.units import parse_key_distribution

NUMERIC_OPS = ("=", ">", ">=", "<", "<=")
CONDITION_KEYS = ("prefix", "numeric", "exists", "anything-but")
_DIST_RE = re.compile(r"^\s*[a-z]+\s*\(.*\)\s*$")
Scalar = str | bool | int | float


def _scalar(v: Any, where: str) -> None:
    if not isinstance(v, Scalar):
        raise ValueError(f"{where}: expected a string, number or true/false, got {v!r}")


def _condition(attr: str, c: Any) -> Any:
    if not isinstance(c, dict):
        _scalar(c, f"filter on {attr!r}")
        return c
    if len(c) != 1 or next(iter(c)) not in CONDITION_KEYS:
        raise ValueError(f"filter on {attr!r}: a condition mapping has exactly one of the keys "
                         f"{', '.join(CONDITION_KEYS)}, got {c!r}")
    key, val = next(iter(c.items()))
    if key == "prefix" and not (isinstance(val, str) and val):
        raise ValueError(f"filter on {attr!r}: prefix needs a non-empty string, got {val!r}")
    if key == "exists" and not isinstance(val, bool):
        raise ValueError(f"filter on {attr!r}: exists needs true or false, got {val!r}")
    if key == "anything-but":
        for v in val if isinstance(val, list) else [val]:
            _scalar(v, f"filter on {attr!r}: anything-but")
    if key == "numeric":
        ok = isinstance(val, list) and len(val) in (2, 4)
        pairs = list(zip(val[0::2], val[1::2], strict=True)) if ok else []
        for op, n in pairs:
            ok = ok and op in NUMERIC_OPS and isinstance(n, int | float) and not isinstance(n, bool)
        if not ok:
            raise ValueError(f"filter on {attr!r}: numeric needs [op, number] or [op, number, op, number] "
                             f"with op one of {', '.join(NUMERIC_OPS)}, got {val!r}")
    return c


def check_filter_policy(policy: dict[str, Any]) -> dict[str, list[Any]]:
    """Validate a filter policy; a single condition is taken as a list of one."""
    if not policy:
        raise ValueError("a filter policy needs at least one attribute")
    out: dict[str, list[Any]] = {}
    for attr, conds in policy.items():
        conds = conds if isinstance(conds, list) else [conds]
        if not conds:
            raise ValueError(f"filter on {attr!r}: needs at least one condition")
        out[str(attr)] = [_condition(str(attr), c) for c in conds]
    return out


FilterPolicy = Annotated[dict[str, Any], AfterValidator(check_filter_policy)]


def check_attribute(name: str, v: Any) -> Any:
    """One attribute's value spec: constant, weighted choice, or a numeric distribution text."""
    if isinstance(v, dict):
        if not v:
            raise ValueError(f"attribute {name!r}: a weighted choice needs at least one value")
        for k, w in v.items():
            if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
                raise ValueError(f"attribute {name!r}: the weight of {k!r} must be a number >= 0, got {w!r}")
        if sum(v.values()) <= 0:
            raise ValueError(f"attribute {name!r}: the weights sum to 0")
        return v
    _scalar(v, f"attribute {name!r}")
    if isinstance(v, str) and _DIST_RE.match(v):
        parse_key_distribution(v)  # raises ValueError with the allowed forms
    return v


class MessageSpec(Model):
    """How a producer draws each message it sends."""

    size: Size = Field(1024.0, le=16 * 1024 * 1024)  # assumption: 1 KiB bodies
    attributes: dict[str, Any] = Field(default_factory=dict)
    poison: float = Field(0.0, ge=0, le=1)  # fraction carrying the attribute poison: true
    group: KeyDist | None = None  # FIFO message group id (a key distribution); default one group

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, v: dict[str, Any]) -> dict[str, Any]:
        if len(v) > 10:  # at most 10 message attributes [aws-facts §6 Batch size]
            raise ValueError(f"at most 10 message attributes, got {len(v)}")
        return {str(k): check_attribute(str(k), x) for k, x in v.items()}


# ---------------------------------------------------------------- batch APIs
# What one batched call may carry: (type, op) -> (entries, payload bytes in all, the API).
BATCH_LIMITS: dict[tuple[str, str], tuple[int, float, str]] = {
    ("sqs", "send"): (10, 1_048_576.0, "SendMessageBatch"),  # [aws-facts §6 Batch size; Maximum message size]
    ("sns", "publish"): (10, 262_144.0, "PublishBatch"),  # [aws-facts §7 PublishBatch size]
    ("kinesis", "put"): (500, 5 * 1_048_576.0, "PutRecords"),  # [aws-facts §9 KDS record and put limits]
    # 25 items, 16 MB: DynamoDB API reference, BatchWriteItem (not in aws-facts)
    ("dynamodb", "put"): (25, 16 * 1_048_576.0, "BatchWriteItem"),
}


def check_batch(out: list[tuple[Any, str]], path: Any, kind: str | None, op: str, n: int) -> None:
    """Report at ``path`` unless a ``batch:`` of ``n`` entries fits the batch API of ``op`` on a ``kind``."""
    lim = BATCH_LIMITS.get((kind or "", op))
    if lim is None:
        apis = ", ".join(f"{t}.{o}" for t, o in BATCH_LIMITS)
        out.append((path, f"batch: applies to a call with a batch API ({apis}), not {kind}.{op or '(request)'}"))
    elif n > lim[0]:
        out.append((path, f"{lim[2]} takes at most {lim[0]} entries per call, got batch: {n}"))
