"""Schemas of ``dynamodb`` tables and ``dax`` clusters."""

from __future__ import annotations

from typing import Any, Literal

from cloudtwin.spec.base import Model

Path = tuple[str | int, ...]


class DynamoDB(Model):
    type: Literal["dynamodb"]


class DAX(Model):
    type: Literal["dax"]


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of these components."""
    return []


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word."""
    return []
