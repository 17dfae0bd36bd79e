"""Schema of ``rds`` and ``aurora``: a database instance or cluster, Multi-AZ and failover.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.rds`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Zone, known_row
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


class RDS(ComponentSpec):
    type: Literal["rds", "aurora"]
    engine: Literal["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"] = "postgres"
    instance_class: str = "db.m5.large"
    multi_az: bool = False
    read_replicas: int = Field(0, ge=0, le=15)  # up to 15 [aws-facts §11]
    replica_lag: Dist = Field(default_factory=lambda: _d("exp(100ms)"))  # assumption
    zone: Zone | None = None
    query: Dist = Field(default_factory=lambda: _d("lognormal(median=2ms, p99=20ms)"))  # assumption
    write: Dist = Field(default_factory=lambda: _d("lognormal(median=4ms, p99=40ms)"))  # assumption
    max_connections: int | None = Field(None, ge=1, le=100_000)  # default from class memory
    failover_time: Dist | None = None  # default by engine and topology [aws-facts §11]
    storage_gb: float = Field(100.0, gt=0, le=65_536)
    encrypted: bool = False  # storage encryption; StorageEncrypted defaults to false in the API (assumption)
    publicly_accessible: bool = False  # a public DNS name reachable from outside the VPC
    backup_retention: int = Field(1, ge=0, le=35)  # days; API default 1, 0 disables (RDS user guide, not aws-facts)



def check(arch: Any) -> list[tuple[Path, str]]:
    """Each database's instance class is one the class table knows (its vCPUs and memory size
    the model)."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type in ("rds", "aurora"):
            known_row(out, ("components", n, "instance_class"), "db_instance_classes.csv", c.instance_class,
                      "DB instance class")
    return out
