"""EBS: a block volume that lives in one AZ and is attached to one instance.

What is modelled
----------------
* The volume lives in ``zone`` (default: the spec's first zone) [aws-facts §3].
  A call from an instance in another zone gets ``unavailable`` ("EBS is
  AZ-bound"), counted in ``refused_other_az``.
* Attachment: the first instance in the volume's zone that uses it claims it.
  Another instance gets ``unavailable`` (``refused_attached``) unless
  ``multi_attach`` (io1/io2 only, checked by the spec) lets up to 16 instances in
  the zone share it (assumption: the Nitro multi-attach limit, general
  knowledge). A volume whose instance terminated or stopped is free again, so
  a replacement instance in the same zone re-attaches it at once (assumption:
  attach time is left out).
* During an outage of its zone the volume is ``unavailable``; its data survives
  and it is back with the zone.
* IOPS: operations draw from a token bucket refilled at ``iops`` per second
  (gp3 up to 16,000, io2 Block Express up to 256,000 [aws-facts §3]) holding
  one second's worth (assumption); beyond that they queue for tokens, so a
  sustained overload shows up as growing latency, not errors. Defaults when ``iops`` is not given: gp3's
  3,000 baseline and gp2's 3 IOPS per GiB between 100 and 16,000 (general
  knowledge, not in aws-facts). Each operation also takes a ``latency`` draw.

* Snapshots (``snapshots:``, a DLM policy) and a ``data_loss`` fault: the volume's
  data is gone, it is restored as a new volume from the newest completed snapshot and
  lazily loaded; RPO, RTO and the snapshot storage are measured by
  :mod:`cloudtwin.services.backups`. A lost volume answers ``unavailable``
  (``refused_lost``).

Left out: throughput (MiB/s) limits, gp2 burst credits, instance-side EBS
bandwidth, and I/O fencing between multi-attached writers.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.metrics import BATCH
from cloudtwin.request import UNAVAILABLE, Done, Request
from cloudtwin.services.backups import UP, BackedUp, Backups
from cloudtwin.spec.ebs import EBS as EBSSpec

if TYPE_CHECKING:
    from cloudtwin.context import Context

MULTI_ATTACH_LIMIT: Final = 16  # assumption: Nitro instances per multi-attach volume (general knowledge)
GP3_BASELINE_IOPS: Final = 3000  # assumption: general knowledge, not in aws-facts
BURST: Final = 1.0  # assumption: the IOPS budget is per second, so up to one second's worth passes at once


def default_iops(volume_type: str, size_gb: float) -> int:
    if volume_type == "gp2":
        return int(min(max(100.0, 3.0 * size_gb), 16_000.0))  # 3 IOPS/GiB (general knowledge)
    return GP3_BASELINE_IOPS


class EBS(BackedUp):
    """One EBS volume."""

    kind = "ebs"
    needs_caller = True  # the handler passes (key, calling instance, the call's size)

    def __init__(self, name: str, spec: EBSSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.zone = spec.zone or ctx.arch.zones[0]
        self.iops = spec.iops or default_iops(spec.volume_type, spec.size_gb)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.limit = MULTI_ATTACH_LIMIT if spec.multi_attach else 1
        self.attached: list[Any] = []
        self.iops_limit = RateLimiter(self.iops, BURST)
        self.reads = self.writes = self.queued = 0
        self.wait_s = 0.0
        self.refused_other_az = self.refused_attached = self.refused_zone_down = 0
        self.backups = Backups(self, "ebs", spec.size_gb, None)
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer
        self.zone_state = ctx.zone_state  # read inline by serve (ctx.zone_up)

    def endpoint_zone(self, caller_zone: str) -> str:
        return self.zone

    def backup_ready(self) -> bool:
        return self.ctx.zone_up(self.zone)

    def zones(self) -> list[str]:
        return [self.zone]

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """One read or write. The hot path reads flags inline (issue 17): the zone's state from
        ``ctx.zone_state`` (``ctx.zone_up``), the store's from ``backups.state``
        (``backups.available``); a refusal is :meth:`_refuse`, inline. A write still calls
        :meth:`Backups.wrote`, the one place a write is counted (tests observe writes there).
        The checks and counters are the same, in the same order."""
        self.requests += 1
        host = arg[1] if isinstance(arg, tuple) else None
        if not self.zone_state.get(self.zone, True):  # ctx.zone_up(self.zone)
            self.refused_zone_down += 1
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        backups = self.backups
        if backups.state != UP:  # not backups.available
            backups.refuse()  # the volume's data is lost and not yet restored
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        if host is not None and host not in self.attached:
            if host.zone != self.zone:
                self.refused_other_az += 1  # EBS is AZ-bound
                self.errors += 1
                done(req, UNAVAILABLE)
                return
            self.attached = [h for h in self.attached if h.state not in ("terminated", "stopped")]
            if len(self.attached) >= self.limit:
                self.refused_attached += 1
                self._refuse(req, done)
                return
            self.attached.append(host)
            self.ctx.event("lifecycle", f"{self.name} attached to {host.iid}")
        if op == "write":
            self.writes += 1
            backups.wrote(arg[2] if isinstance(arg, tuple) and len(arg) > 2 else None)  # the observable write
        else:
            self.reads += 1
        now = self.engine.now
        start = self.iops_limit.take_at(now)  # beyond the IOPS budget, operations queue for tokens
        if start > now:
            self.queued += 1
            self.wait_s += start - now
        delay = start - now + self.lat()
        if backups.unloaded > 0:  # a restored volume still loading blocks (load_delay is 0.0 otherwise)
            delay += backups.load_delay()
        b = self.lat_buf  # self.latency.record(delay), inlined
        b.append(delay)
        if len(b) >= BATCH:
            self.latency.flush()
        heap, seq = self.hot  # self.engine.after(delay, ...), inlined
        heappush(heap, (now + delay, next(seq), deliver, (req, done, None)))

    def _refuse(self, req: Request, done: Done) -> None:
        self.errors += 1
        done(req, UNAVAILABLE)

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        ops = self.reads + self.writes
        out.update({
            "zone": self.zone,
            "volume_type": self.spec.volume_type,
            "iops": self.iops,
            "size_gb": self.spec.size_gb,
            "attached": [h.iid for h in self.attached],
            "reads": self.reads,
            "writes": self.writes,
            "queued": self.queued,
            "mean_iops_wait_ms": round(1000.0 * self.wait_s / ops, 4) if ops else 0.0,
            "refused_other_az": self.refused_other_az,
            "refused_attached": self.refused_attached,
            "refused_zone_down": self.refused_zone_down,
        })
        if self.backups.tracked:
            out.update({"refused_lost": self.backups.refused, "backups": self.backups.stats()})
        return out
