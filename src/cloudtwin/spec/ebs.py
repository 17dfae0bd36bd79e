"""Schema of ``ebs``: a volume bound to one zone, with its IOPS budget.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.ebs`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cloudtwin.spec.backups import DLM_HOURS, Recovery, SnapshotSchedule
from cloudtwin.spec.base import ComponentSpec, Dist, Zone
from cloudtwin.spec.units import parse_distribution as _d


class EBS(ComponentSpec):
    type: Literal["ebs"]
    zone: Zone | None = None  # an EBS volume lives in one AZ [aws-facts §3]
    volume_type: Literal["gp2", "gp3", "io1", "io2"] = "gp3"
    iops: int | None = Field(None, ge=100, le=256_000)  # gp3 16k, io2 BE 256k [aws-facts §3]
    size_gb: float = Field(100.0, ge=1, le=65_536)
    multi_attach: bool = False
    encrypted: bool = False  # at-rest encryption; off unless encryption by default is on (assumption)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=0.5ms, p99=3ms)"))  # assumption
    snapshots: SnapshotSchedule | None = None  # a DLM policy; none: no snapshots
    recovery: Recovery = Field(default_factory=Recovery)

    @model_validator(mode="after")
    def _limits(self) -> EBS:
        if self.multi_attach and self.volume_type not in ("io1", "io2"):
            raise ValueError(f"multi_attach needs volume_type io1 or io2, not {self.volume_type}")
        top = EBS_MAX_IOPS[self.volume_type]
        if self.iops is None and self.volume_type in ("io1", "io2"):
            raise ValueError(f"a {self.volume_type} volume needs provisioned `iops:`")
        if self.iops is not None and top is None:
            raise ValueError("gp2 IOPS follow the size (3 IOPS per GiB); drop `iops:` or use gp3")
        if self.iops is not None and top is not None and self.iops > top:
            raise ValueError(f"{self.volume_type} allows at most {top:,} IOPS, got {self.iops:,}")
        snap = self.snapshots
        if snap is not None and snap.every / 3600.0 not in DLM_HOURS:
            raise ValueError(f"a DLM schedule runs every 1, 2, 3, 4, 6, 8, 12 or 24 h, not every {snap.every:g} s")
        if self.recovery.data_gb is not None and self.recovery.data_gb > self.size_gb:
            raise ValueError(f"recovery.data_gb ({self.recovery.data_gb:g}) is more than the volume's "
                             f"size_gb ({self.size_gb:g})")
        return self


# gp3 16k, io1/io2 64k, io2 Block Express 256k [aws-facts §3]; gp2 scales with size
EBS_MAX_IOPS: dict[str, int | None] = {"gp2": None, "gp3": 16_000, "io1": 64_000, "io2": 256_000}

