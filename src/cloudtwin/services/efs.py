"""EFS: a regional file system reached through one mount target per AZ.

What is modelled
----------------
* Mount targets in ``zones`` (default: every spec zone). An instance uses the
  mount target in its own zone (a same-AZ hop); in a zone without one it mounts
  the first mount target across AZs, which works but costs a cross-AZ hop and is
  counted in ``cross_az``.
* An AZ outage takes that zone's mount target away. The data is regional and
  survives; instances in the other zones keep working through their own mount
  targets. A caller whose mount target is down gets ``unavailable``.
* Each operation takes a draw of ``latency``. General Purpose mode limits the
  file system to 35,000 read and 7,000 write operations per second
  [aws-facts §17]: token buckets holding one second's worth (assumption);
  operations beyond that queue for tokens (they are not refused), so a
  sustained overload shows up as growing latency.

Left out: throughput modes and burst credits (Bursting's throughput follows the
stored size [aws-facts §17]), Max I/O mode, file sizes and bandwidth, NFS
client caching and locking, and One Zone storage classes.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.metrics import BATCH
from cloudtwin.request import UNAVAILABLE, Done, Request
from cloudtwin.spec.efs import EFS as EFSSpec

if TYPE_CHECKING:
    from cloudtwin.context import Context

READ_IOPS: Final = 35_000.0  # General Purpose mode [aws-facts §17]
WRITE_IOPS: Final = 7_000.0  # General Purpose mode [aws-facts §17]
BURST: Final = 1.0  # assumption: the per-second limits let one second's worth through at once


class EFS(Component):
    """An EFS file system with mount targets in some zones."""

    kind = "efs"
    needs_caller = True  # the handler passes (key, calling instance, the call's size)

    def __init__(self, name: str, spec: EFSSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.mount_zones = list(spec.zones or ctx.arch.zones)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.read_iops = RateLimiter(READ_IOPS, BURST)
        self.write_iops = RateLimiter(WRITE_IOPS, BURST)
        self.reads = self.writes = self.cross_az = 0
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer
        self.zone_state = ctx.zone_state  # read inline by serve (ctx.zone_up)

    def mount_zone(self, caller_zone: str) -> str:
        """The zone of the mount target an instance in ``caller_zone`` uses."""
        if caller_zone in self.mount_zones:
            return caller_zone
        if caller_zone:
            return self.mount_zones[0]
        up = self.ctx.zone_up
        return next((z for z in self.mount_zones if up(z)), self.mount_zones[0])

    def endpoint_zone(self, caller_zone: str) -> str:
        if caller_zone in self.mount_zones:  # mount_zone's first case, inline (issue 17)
            return caller_zone
        return self.mount_zone(caller_zone)

    def zones(self) -> list[str]:
        return sorted(self.mount_zones)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        host = arg[1] if isinstance(arg, tuple) else None
        caller = host.zone if host is not None else ""
        zone = caller if caller in self.mount_zones else self.mount_zone(caller)  # its own zone's, if any
        if not self.zone_state.get(zone, True):  # ctx.zone_up(zone), inline
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        if caller and zone != caller:
            self.cross_az += 1
        now = self.engine.now
        if op == "write":  # operations beyond the IOPS budget queue for tokens
            self.writes += 1
            start = self.write_iops.take_at(now)
        else:
            self.reads += 1
            start = self.read_iops.take_at(now)
        delay = start - now + self.lat()
        b = self.lat_buf  # self.latency.record(delay), inlined
        b.append(delay)
        if len(b) >= BATCH:
            self.latency.flush()
        heap, seq = self.hot  # self.engine.after(delay, ...), inlined
        heappush(heap, (now + delay, next(seq), deliver, (req, done, None)))

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "mount_targets": sorted(self.mount_zones),
            "reads": self.reads,
            "writes": self.writes,
            "cross_az": self.cross_az,
            "storage_gb": self.spec.storage_gb,
        })
        return out

