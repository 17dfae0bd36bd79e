"""Schema of ``rds`` and ``aurora``: a database instance or cluster, Multi-AZ and failover.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.rds`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.backups import Recovery, SnapshotSchedule
from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Zone, known_row
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


class RDS(ComponentSpec):
    type: Literal["rds", "aurora"]
    engine: Literal["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"] = "postgres"
    instance_class: str = "db.m5.large"
    multi_az: bool = False  # = deployment: multi_az_instance (kept for specs that say it)
    # single_az | multi_az_instance (a standby that serves nothing) | multi_az_cluster (a writer and
    # two readable standbys in three zones) [aws-facts §11 RDS Multi-AZ DB instance, Multi-AZ DB cluster]
    deployment: Literal["single_az", "multi_az_instance", "multi_az_cluster"] | None = None
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
    # automated backups upload the transaction logs every 5 minutes (RDS user guide, not aws-facts)
    log_upload_every: Duration = Field(300.0, ge=60, le=3600)
    snapshots: SnapshotSchedule | None = None  # manual DB snapshots on a schedule; kept until deleted
    recovery: Recovery = Field(default_factory=Recovery)

    @model_validator(mode="after")
    def _backups(self) -> RDS:
        if self.snapshots is not None and self.snapshots.fast_restore:
            raise ValueError("`snapshots.fast_restore` is an EBS feature; an RDS restore has no such option")
        if self.recovery.data_gb is not None and self.recovery.data_gb > self.storage_gb:
            raise ValueError(f"recovery.data_gb ({self.recovery.data_gb:g}) is more than storage_gb "
                             f"({self.storage_gb:g})")
        return self

    @model_validator(mode="after")
    def _deployment(self) -> RDS:
        d = self.deployment
        if d is None:
            return self
        if self.type == "aurora":
            raise ValueError("`deployment` is for rds; an aurora cluster's topology is its replicas "
                             "(`multi_az`, `read_replicas`)")
        if d == "single_az" and self.multi_az:
            raise ValueError("`multi_az: true` contradicts `deployment: single_az`")
        if d == "multi_az_cluster" and self.read_replicas:
            raise ValueError("a Multi-AZ DB cluster's two readable standbys serve the reads; "
                             "`read_replicas` beside it is not modelled")
        return self

    @property
    def topology(self) -> str:
        """The deployment: ``deployment`` if given, else ``multi_az_instance`` for ``multi_az: true``
        (Aurora: ``multi_az`` means a replica in another zone, reported the same way)."""
        if self.deployment is not None:
            return self.deployment
        return "multi_az_instance" if self.multi_az else "single_az"

    @property
    def any_multi_az(self) -> bool:
        return self.topology != "single_az"



def check(arch: Any) -> list[tuple[Path, str]]:
    """Each database's instance class is one the class table knows (its vCPUs and memory size
    the model); an RDS Multi-AZ instance has a second zone for its standby, a Multi-AZ DB cluster
    three zones for its writer and two standbys."""
    out: list[tuple[Path, str]] = []
    nz = len(arch.zones)
    for n, c in arch.components.items():
        if c.type not in ("rds", "aurora"):
            continue
        known_row(out, ("components", n, "instance_class"), "db_instance_classes.csv", c.instance_class,
                  "DB instance class")
        if c.type != "rds":
            continue
        key = "multi_az" if c.deployment is None else "deployment"
        if c.topology == "multi_az_instance" and nz < 2:
            out.append((("components", n, key), "a Multi-AZ standby needs a second zone in the spec's `zones:`"))
        elif c.topology == "multi_az_cluster" and nz < 3:
            # one writer and two readable standbys, each in its own AZ [aws-facts §11 RDS Multi-AZ DB cluster]
            out.append((("components", n, key), f"a Multi-AZ DB cluster needs three zones in the spec's `zones:` "
                        f"(a writer and two standbys, each in its own zone); it has {nz}"))
    return out
