"""Schema of a data store's backups and of its recovery after a loss (``ebs`` and ``rds``).

``snapshots:`` schedules snapshots (an EBS Data Lifecycle Manager policy, or scheduled manual
DB snapshots of an RDS instance); ``recovery:`` says how a lost store is found and restored.
Defaults cite their source; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.backups`.
"""

from __future__ import annotations

from pydantic import Field

from cloudtwin.spec.base import Dist, Duration, Model, Size
from cloudtwin.spec.units import parse_distribution as _d

# DLM interval-based schedules: "The supported values are 1, 2, 3, 4, 6, 8, 12, and 24" hours
# (DLM API reference, CreateRule.Interval; not in aws-facts)
DLM_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)


class SnapshotSchedule(Model):
    every: Duration = Field(ge=3600.0, le=86_400.0)  # DLM and AWS Backup: at most hourly (see DLM_HOURS)
    retain: int = Field(7, ge=1, le=1000)  # DLM count-based retention 1-1000 (DLM API RetainRule); 7: assumption
    fast_restore: bool = False  # EBS fast snapshot restore: a restored volume needs no initialization


class Recovery(Model):
    detection: Duration = Field(180.0, ge=0, le=86_400)  # assumption: an alarm over three 1-minute periods
    restore: Duration | None = None  # fixed part of a restore; default by type (assumption)
    restore_per_gb: Duration | None = None  # restore time per GB read back; default by type (assumption)
    write_size: Size = Field(4096.0, gt=0, le=1 << 30)  # bytes one write changes (assumption: a 4 KiB page)
    data_gb: float | None = Field(None, gt=0, le=65_536)  # data held at the start; default: the store's size
    first_read: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # assumption
