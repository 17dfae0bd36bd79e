"""S3 in the fluid engine: latency and the per-prefix request rates (see :mod:`cloudtwin.fluid.stations`)."""

from __future__ import annotations

from cloudtwin.fluid.queueing import NO_WAIT
from cloudtwin.fluid.stations import LatencyStation, Outcome
from cloudtwin.services.s3 import RATE as S3_RATE


class BucketStation(LatencyStation):
    kind = "s3"

    def _serve(self, op: str, rate: float, t: float, dt: float) -> Outcome:
        reads = op in ("get", "list")
        demand = sum(v for o, v in self.rates.items() if (o in ("get", "list")) == reads)
        limit = S3_RATE[1 if reads else 0] * self.spec.prefixes  # calls spread evenly over the prefixes
        over = max(0.0, 1.0 - limit / demand) if demand > 0 else 0.0
        return NO_WAIT, ({"throttled": over} if over > 0 else {})
