"""Schema of ``sqs``: a standard or FIFO queue, its redrive policy and retention.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.sqs`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs; :func:`warnings` the legal settings worth a word.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Name, Size
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


class SQS(ComponentSpec):
    type: Literal["sqs"]
    fifo: bool = False
    visibility_timeout: Duration = Field(30.0, le=43_200)  # default 30 s, max 12 h [aws-facts §6]
    retention: Duration = Field(345_600.0, ge=60, le=1_209_600)  # 4 d; 60 s-14 d [aws-facts §6]
    delay: Duration = Field(0.0, le=900)  # default 0, max 15 min [aws-facts §6]
    receive_wait: Duration = Field(0.0, le=20)  # 0 = short polling; max 20 s [aws-facts §6]
    max_message_size: Size = Field(1_048_576.0, ge=1024, le=1_048_576)  # 1 MiB now [aws-facts §6 CHANGED]
    dlq: Name | None = None
    max_receive_count: int = Field(5, ge=1, le=1000)  # the recommended minimum [aws-facts §5]
    duplicate_rate: float = Field(1e-4, ge=0, le=1)  # assumption: at-least-once delivery [aws-facts §6]
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=5ms, p99=25ms)"))  # assumption


def need_queue(out: list[tuple[Path, str]], comps: Any, path: Path, name: str, what: str, *,
               fifo: bool | None = None) -> None:
    """Report at ``path`` unless ``name`` is an sqs queue (of the FIFO-ness asked for)."""
    q = comps.get(name)
    if q is None or q.type != "sqs":
        got = "not a component" if q is None else f"a {q.type}"
        out.append((path, f"{what} {name!r} must be an sqs queue; it is {got}"))
    elif fifo is not None and q.fifo != fifo:
        want = "FIFO" if fifo else "standard"
        out.append((path, f"{what} {name!r} must be a {want} queue [aws-facts §6 DLQ and redrive policy]"))


def check(arch: Any) -> list[tuple[Path, str]]:
    """A queue's dead-letter queue."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "sqs" and c.dlq is not None:
            if c.dlq == n:
                out.append((("components", n, "dlq"), "a queue cannot be its own dead-letter queue"))
            else:
                need_queue(out, comps, ("components", n, "dlq"), c.dlq, "dead-letter queue", fifo=c.fifo)
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """A dead-letter queue that keeps messages no longer than its source."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "sqs" and c.dlq is not None:
            d = comps.get(c.dlq)
            if d is not None and d.type == "sqs" and d.retention <= c.retention:
                out.append((("components", n, "dlq"), f"dead-letter queue {c.dlq!r} keeps messages "
                            f"{d.retention:g}s, not longer than {n!r} ({c.retention:g}s): expiry counts from "
                            "the original enqueue time [aws-facts §6], so moved messages may expire at once"))
    return out
