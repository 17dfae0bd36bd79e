"""A spec's ``transfer:`` block: the inputs of the data-transfer planner (:mod:`cloudtwin.transfer`),
so that ``cloudtwin transfer SPEC`` plans what ``cloudtwin transfer --size ... --link ...`` does."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cloudtwin.spec.base import Bandwidth, Duration, Model, Size


class TransferPlan(Model):
    """What to move into AWS, and over what; every default but ``size`` and ``link`` is an assumption."""

    size: Size = Field(gt=0)
    link: Bandwidth = Field(gt=0)  # the site's internet link
    utilization: float = Field(0.8, gt=0, le=1)  # assumption: the share of a link a bulk copy sustains
    dx_setup: Duration = 0.0  # assumption: ordering and provisioning a Direct Connect port
    datasync_throughput: Bandwidth = Field(10e9, gt=0)  # assumption: one DataSync task
    snow_shipping: Duration = 172_800.0  # assumption: 2 days each way
    snow_load_rate: Bandwidth = Field(3.2e9, gt=0)  # assumption: ~400 MB/s per device

    def inputs(self, region: str) -> Any:
        from cloudtwin.transfer import TransferInputs

        return TransferInputs(size=self.size, link_bps=self.link, utilization=self.utilization, region=region,
                              dx_setup_days=self.dx_setup / 86_400.0, datasync_bps=self.datasync_throughput,
                              snow_ship_days=self.snow_shipping / 86_400.0, snow_load_bps=self.snow_load_rate)
