"""Schema of the ``s3`` bucket and its checks (the bucket's EventBridge bus is checked in events.py).

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source.
:func:`check` also holds the rule that a workload's ``op:`` is one of its entry's
operations, and the ``auth:`` pool of a workload (see :mod:`cloudtwin.spec.cognito`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Model, Size, expect
from cloudtwin.spec.units import parse_distribution as _d

Path = tuple[str | int, ...]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Prefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/=-]*$", max_length=256)]

Event = Literal["put", "delete"]
MAX_PUT = 5e9  # bytes in a single PUT [aws-facts §12 Object size]
NOTIFY_TARGETS = ("lambda", "sqs", "sns")



class Notification(Model):
    """A bucket event notification: which events of which keys go to which target."""

    target: Name  # a lambda (async invoke), a standard sqs queue or a standard sns topic
    events: list[Event] = Field(default_factory=lambda: list[Event](["put"]), min_length=1)
    prefix: Prefix = ""  # the object's prefix starts with this
    suffix: str = Field("", max_length=256)  # the producer's `key` attribute ends with this


class UserPrefixes(Model):
    """Per-user folders: a request acting for a user addresses ``<prefix><owner uid>/``."""

    pool: Name  # the cognito user pool whose users own the folders
    prefix: Prefix = "private/"

    @field_validator("prefix")
    @classmethod
    def _slash(cls, v: str) -> str:
        if not v.endswith("/"):
            raise ValueError(f"a user prefix ends with '/', got {v!r}")
        return v


class S3(ComponentSpec):
    type: Literal["s3"]
    events: Name | None = None  # the EventBridge bus that receives its events
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # assumption
    event_delay: Dist = Field(default_factory=lambda: _d("lognormal(median=500ms, p99=3s)"))  # assumption
    prefixes: int = Field(1, ge=1, le=10_000)  # partitioned prefixes shared requests spread over
    object_size: Size = Field(1_048_576.0, gt=0)  # assumption: 1 MiB when the producer sends no `message:`
    stored: dict[Prefix, Size] = Field(default_factory=dict)  # bytes already stored at t=0, per prefix
    user_prefixes: UserPrefixes | None = None
    notifications: list[Notification] = Field(default_factory=list, max_length=100)
    notification_delay: Dist = Field(default_factory=lambda: _d("lognormal(median=200ms, p99=1s)"))  # assumption

    @field_validator("stored")
    @classmethod
    def _stored(cls, v: dict[str, float]) -> dict[str, float]:
        for k, b in v.items():
            if b < 0:
                raise ValueError(f"stored bytes of {k!r} cannot be negative")
        return v


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems: notification targets, user-prefix and auth pools, workload ops, PUT size."""
    from cloudtwin.catalogue import ROWS

    out: list[tuple[Path, str]] = []
    comps = arch.components

    def kind(name: str) -> str | None:
        c = comps.get(name)
        return None if c is None else str(c.type)

    for n, c in comps.items():
        if c.type != "s3":
            continue
        base: Path = ("components", n)
        for i, nt in enumerate(c.notifications):
            k = kind(nt.target)
            p = (*base, "notifications", i, "target")
            if k not in NOTIFY_TARGETS:
                got = "not a component" if k is None else f"a {k}"
                out.append((p, f"notification target {nt.target!r} must be a lambda, sqs or sns; it is {got}"))
            elif k in ("sqs", "sns") and comps[nt.target].fifo:
                out.append((p, f"notification target {nt.target!r} is FIFO; S3 notifies standard queues and "
                            "topics only"))
        up = c.user_prefixes
        if up is not None and kind(up.pool) != "cognito":
            out.append(((*base, "user_prefixes", "pool"), f"user prefix pool {up.pool!r} must be a cognito "
                        "user pool"))
        if c.object_size > MAX_PUT:
            out.append(((*base, "object_size"), f"a single PUT is at most 5 GB [aws-facts §12 Object size], got "
                        f"{c.object_size:,.0f} bytes; multipart upload is not modelled"))
        if c.events is not None:
            expect(out, comps, (*base, "events"), c.events, ("eventbridge",), "event bus")
    for w, wl in arch.workloads.items():
        base = ("workloads", w)
        entry = comps.get(wl.entry)
        if entry is None:
            continue  # references.py reports it
        auth = wl.auth
        if auth is not None and kind(auth.pool) != "cognito":
            out.append(((*base, "auth", "pool"), f"auth pool {auth.pool!r} must be a cognito user pool"))
        if wl.op is not None:
            ops = (ROWS[entry.type].operations if entry.type in ROWS else ()) or ("",)
            ops = tuple(o for o in ops if o != "associate_address") or ("",)  # an EC2 API call of a function
            if wl.op not in ops:
                allowed = ", ".join(repr(o) for o in ops if o) or "none (leave `op:` out)"
                out.append(((*base, "op"), f"a {entry.type} entry has no operation {wl.op!r}; allowed: {allowed}"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """An authenticated workload entering a bucket without user prefixes: identities are not checked."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for w, wl in arch.workloads.items():
        entry = comps.get(wl.entry)
        if wl.auth is not None and entry is not None and entry.type == "s3" and entry.user_prefixes is None:
            out.append((("workloads", w, "auth"), f"bucket {wl.entry!r} has no user_prefixes: the requests' "
                        "identities are not checked"))
        pool = comps.get(wl.auth.pool) if wl.auth is not None else None
        if pool is not None and pool.type == "cognito" and wl.clients > pool.users:
            out.append((("workloads", w, "clients"), f"{wl.clients} clients but pool {wl.auth.pool!r} starts with "
                        f"{pool.users} users: callers beyond them are unknown users and are rejected until they "
                        "sign up"))
    return out
