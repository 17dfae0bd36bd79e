"""Schemas of the analytics components: ``firehose``, ``athena``, ``redshift``, ``quicksight``."""

from __future__ import annotations

from typing import Any, Literal

from cloudtwin.spec.base import Model

Path = tuple[str | int, ...]


class Firehose(Model):
    type: Literal["firehose"]


class Athena(Model):
    type: Literal["athena"]


class Redshift(Model):
    type: Literal["redshift"]


class QuickSight(Model):
    type: Literal["quicksight"]


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of these components."""
    return []


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word."""
    return []
