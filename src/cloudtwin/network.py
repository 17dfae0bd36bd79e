"""Network hops between components: same-AZ and cross-AZ round trips.

The defaults are assumptions (AWS documents AZs as "single-digit millisecond"
apart); the spec's ``network:`` block overrides them. A hop with zero latency
costs no event. Cross-AZ requests, and the bytes of those whose call step has a
``size``, are counted for the data-transfer bill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import Sampler

if TYPE_CHECKING:
    from cloudtwin.context import Context


class Network:
    __slots__ = ("same", "cross", "client", "cross_az_requests", "same_zero", "cross_zero", "client_zero",
                 "cross_az_bytes", "cross_az_unsized")

    def __init__(self, ctx: Context) -> None:
        spec = ctx.arch.network
        seed = ctx.seed
        self.same: Sampler = make_sampler(spec.same_az, stream(seed, "network.same_az"))
        self.cross: Sampler = make_sampler(spec.cross_az, stream(seed, "network.cross_az"))
        self.client: Sampler = make_sampler(spec.client_rtt, stream(seed, "network.client"))
        self.same_zero = spec.same_az.kind == "const" and spec.same_az.params[0] == 0
        self.cross_zero = spec.cross_az.kind == "const" and spec.cross_az.params[0] == 0
        self.client_zero = spec.client_rtt.kind == "const" and spec.client_rtt.params[0] == 0
        self.cross_az_requests = 0
        self.cross_az_bytes = 0.0  # payload of cross-AZ calls with a `size:`
        self.cross_az_unsized = 0  # cross-AZ calls without one

    def rtt(self, a: str, b: str, size: float | None = None) -> float:
        """A round trip between zones ``a`` and ``b`` ('' means regional/unknown: same) carrying ``size`` bytes."""
        if a == b or not a or not b:
            return 0.0 if self.same_zero else self.same()
        return self.cross_hop(size)

    def cross_hop(self, size: float | None) -> float:
        """A cross-AZ round trip carrying ``size`` bytes: counted for the bill, then its latency
        (a handler's call step calls this once it knows the hop crosses zones)."""
        self.cross_az_requests += 1
        if size is None:
            self.cross_az_unsized += 1
        else:
            self.cross_az_bytes += size
        return 0.0 if self.cross_zero else self.cross()
