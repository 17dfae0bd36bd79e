"""Schema of the ``cloudfront`` edge cache (the minimal model the serverless blueprints need)."""

from __future__ import annotations

from typing import Any, Literal

from cloudtwin.spec.base import Model

Path = tuple[str | int, ...]


class CloudFront(Model):
    type: Literal["cloudfront"]


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of these components."""
    return []


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word."""
    return []
