"""Schema of the ``s3`` bucket."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from cloudtwin.spec.base import Dist, Model
from cloudtwin.spec.units import parse_distribution

Path = tuple[str | int, ...]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]


def _d(text: str) -> Any:
    return parse_distribution(text)


class S3(Model):
    type: Literal["s3"]
    events: Name | None = None  # the EventBridge bus that receives its events
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # assumption
    event_delay: Dist = Field(default_factory=lambda: _d("lognormal(median=500ms, p99=3s)"))  # assumption


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of these components."""
    return []


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word."""
    return []
