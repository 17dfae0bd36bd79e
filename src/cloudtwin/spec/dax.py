"""Schema of ``dax``: a DynamoDB Accelerator cluster in front of one table.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.dax`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs; :func:`warnings` the legal settings worth a word.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Name, Zone
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution

DAX_MAX_NODES = 11  # a primary and up to 10 read replicas (AWS DynamoDB guide, "DAX cluster components")


DAX_PRODUCTION_NODES = 3  # "at least three nodes, each in a different AZ" (same page)


class DAX(ComponentSpec):
    type: Literal["dax"]
    table: Name
    nodes: int = Field(3, ge=1, le=DAX_MAX_NODES)  # 3 for production (AWS DynamoDB guide, DAX cluster components)
    node_type: str = Field("dax.t3.small", pattern=r"^dax\.[a-z0-9]+\.[a-z0-9]+$")  # assumption
    zones: list[Zone] | None = None  # nodes spread over them round robin; default: the spec's zones
    # DAX default parameter group: record-ttl-millis and query-ttl-millis 300000 (aws-cli dax examples)
    item_ttl: Duration = Field(300.0, ge=0)
    query_ttl: Duration = Field(300.0, ge=0)
    latency: Dist = Field(default_factory=lambda: parse_distribution("lognormal(median=400us, p99=2ms)"))  # assumption


def check(arch: Any) -> list[tuple[Path, str]]:
    """The table a cluster caches."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "dax":
            t = comps.get(c.table)
            if t is None or t.type != "dynamodb":
                got = "not a component" if t is None else f"a {t.type}"
                out.append((("components", n, "table"), f"DAX table {c.table!r} must be a dynamodb table; it is {got}"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """A cluster too small to be fault tolerant."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type == "dax" and c.nodes < DAX_PRODUCTION_NODES:
            out.append((("components", n, "nodes"), f"a DAX cluster of {c.nodes} node(s) is not fault tolerant; "
                        "AWS recommends at least 3 nodes in different zones for production"))
    return out
