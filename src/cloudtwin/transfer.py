"""The data-transfer planner: how long, and at what price, to move a data set into AWS over the
internet, over Direct Connect, with DataSync, or on Snow devices; and where the answers cross.

Pure arithmetic over documented figures, no simulation:

- **Network options** move ``size`` at ``bandwidth x utilization``: time = bytes x 8 / effective
  bits per second. Data transfer *into* AWS is free [aws-facts §19 "Inbound is free"], so the
  internet costs nothing on the AWS bill (the site's own link is not an AWS price).
- **Direct Connect** at each dedicated port speed, 1, 10, 100 and 400 Gbps [aws-facts §17]:
  the same time arithmetic at the port speed, billed by port-hours for the whole hours the
  transfer takes (``PortUsage:<speed>``, aws-facts §19), inbound free. Ordering and
  provisioning a port takes time AWS does not state: ``dx_setup_days`` (assumption, default 0).
- **DataSync** over the site's link: no faster than the link and than one task's throughput,
  ``datasync_bps`` (assumption: 10 Gbps per task; AWS documents no figure we could confirm).
  Its per-GB fee has no sourced price, so it is unpriced (never guessed); a user's price table
  may supply ``DataSync-Bytes``.
- **Snowball Edge Storage Optimized**: 80 TB usable per device [aws-facts §17, 2023], as many
  devices as the data needs, loaded in parallel: shipping out, loading at ``snow_load_bps`` per
  device, shipping back and importing at the same rate (the rate and the shipping days are
  assumptions: AWS states none we could confirm). Snowball Edge is **no longer available to
  new customers** [aws-facts §17 CHANGED]: the option is reported, flagged so. Its job fees
  have no sourced price (unpriced).

Left out: Snowmobile and the other Snow devices (aws-facts has no row for them), tape, and
the site's own storage read rate.

Crossover points (by bisection, both monotonic): the data size above which the Snow family
is faster than the given link, and the link speed above which the network beats Snow for
this size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from cloudtwin.units import GIB, SECONDS_PER_HOUR

__all__ = ["DX_PORTS", "Option", "Plan", "TransferInputs", "plan"]

DAY = 86_400.0
TB = 1000.0**4
DX_PORTS = {"1G": 1e9, "10G": 10e9, "100G": 100e9, "400G": 400e9}  # aws-facts §17 dedicated port speeds
SNOWBALL_EDGE_SO_BYTES = 80 * TB  # aws-facts §17 Snowball Edge Storage Optimized, 80 TB usable (2023)


@dataclass(frozen=True)
class TransferInputs:
    """What to move and over what. Sizes in bytes, speeds in bits per second."""

    size: float
    link_bps: float
    utilization: float = 0.8  # assumption: the share of a link a bulk copy sustains
    region: str = "us-east-1"
    dx_setup_days: float = 0.0  # assumption: ordering a port is not modelled
    datasync_bps: float = 10e9  # assumption: one DataSync task's throughput
    snow_ship_days: float = 2.0  # assumption: each way
    snow_load_bps: float = 3.2e9  # assumption: ~400 MB/s per device, loading and importing
    snow_device_bytes: float = SNOWBALL_EDGE_SO_BYTES

    def __post_init__(self) -> None:
        for k in ("size", "link_bps", "datasync_bps", "snow_load_bps", "snow_device_bytes"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k} must be > 0, not {getattr(self, k)!r}")
        if not 0 < self.utilization <= 1:
            raise ValueError(f"utilization must be in (0, 1], not {self.utilization!r}")
        if self.dx_setup_days < 0 or self.snow_ship_days < 0:
            raise ValueError("setup and shipping days must be >= 0")


@dataclass
class Option:
    name: str
    method: str  # internet | directconnect | datasync | snow
    seconds: float
    throughput_bps: float | None
    cost_usd: float | None  # None: unpriced
    unpriced: list[str] = field(default_factory=list)
    available: bool = True  # to new customers
    notes: list[str] = field(default_factory=list)

    @property
    def days(self) -> float:
        return self.seconds / DAY


@dataclass
class Plan:
    inputs: TransferInputs
    options: list[Option]
    crossovers: dict[str, Any]

    def fastest(self, *, available_only: bool = True) -> Option:
        return min((o for o in self.options if o.available or not available_only), key=lambda o: o.seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": asdict(self.inputs),
            "options": [{**asdict(o), "days": round(o.days, 4), "hours": round(o.seconds / SECONDS_PER_HOUR, 3)}
                        for o in self.options],
            "fastest": self.fastest().name,
            "crossovers": self.crossovers,
        }


def network_seconds(size: float, bps: float, utilization: float) -> float:
    return size * 8.0 / (bps * utilization)


def snow_seconds(size: float, inp: TransferInputs) -> tuple[float, int]:
    """Door-to-door time of the Snow option and the devices it needs (loaded in parallel)."""
    devices = max(1, math.ceil(size / inp.snow_device_bytes))
    per_device = min(size, inp.snow_device_bytes)
    load = per_device * 8.0 / inp.snow_load_bps
    return 2 * inp.snow_ship_days * DAY + 2 * load, devices


def _price(prices: Any, region: str, usage_type: str) -> float | None:
    p = prices.get(region, usage_type) if prices is not None else None
    return None if p is None else float(p.usd)


def plan(inp: TransferInputs, prices: Any = None) -> Plan:
    """Every option's time and cost for ``inp``, and the crossover points."""
    if prices is None:
        from cloudtwin.pricing import builtin

        prices = builtin()
    opts: list[Option] = []
    t = network_seconds(inp.size, inp.link_bps, inp.utilization)
    opts.append(Option("internet", "internet", t, inp.link_bps * inp.utilization, 0.0,
                       notes=["data transfer into AWS is free (aws-facts §19); the site's link is not billed here"]))
    for speed, bps in DX_PORTS.items():
        t = network_seconds(inp.size, bps, inp.utilization) + inp.dx_setup_days * DAY
        hours = math.ceil((t - inp.dx_setup_days * DAY) / SECONDS_PER_HOUR)
        usd = _price(prices, inp.region, f"PortUsage:{speed}")
        opts.append(Option(f"directconnect-{speed}", "directconnect", t, bps * inp.utilization,
                           None if usd is None else round(usd * hours, 2),
                           [] if usd is not None else [f"PortUsage:{speed}"],
                           notes=[f"{hours} port-hours; inbound data transfer is free"]
                           + (["400 Gbps ports only at some locations"] if speed == "400G" else [])))
    ds_bps = min(inp.link_bps, inp.datasync_bps) * inp.utilization
    t = inp.size * 8.0 / ds_bps
    usd = _price(prices, inp.region, "DataSync-Bytes")
    opts.append(Option("datasync", "datasync", t, ds_bps, None if usd is None else round(usd * inp.size / GIB, 2),
                       [] if usd is not None else ["DataSync-Bytes"],
                       notes=["over the site's link, capped by one task's throughput (assumption)"]))
    t, devices = snow_seconds(inp.size, inp)
    opts.append(Option("snowball-edge-storage-optimized", "snow", t, None, None, ["Snowball job fees"],
                       available=False,
                       notes=[f"{devices} device(s) of {inp.snow_device_bytes / TB:g} TB usable, loaded in parallel",
                              "Snowball Edge is no longer available to new customers (aws-facts §17, CHANGED)"]))
    return Plan(inp, opts, crossovers(inp))


def _bisect(f: Any, lo: float, hi: float) -> float | None:
    """The x in [lo, hi] where f, negative then not, changes sign (geometric bisection), or None."""
    if f(lo) >= 0 or f(hi) < 0:
        return None
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-9:
            break
    return hi


def crossovers(inp: TransferInputs) -> dict[str, Any]:
    """Where the network and Snow swap places: the size above which Snow is faster on this link,
    and the link speed above which the network is faster for this size."""
    def snow_minus_net(size: float) -> float:  # < 0 while the network is faster
        return network_seconds(size, inp.link_bps, inp.utilization) - snow_seconds(size, inp)[0]

    size = _bisect(snow_minus_net, 1e6, 1e18)
    snow_t = snow_seconds(inp.size, inp)[0]
    link = inp.size * 8.0 / (snow_t * inp.utilization)  # network time == snow time at this speed
    return {"snow_faster_above_bytes": size, "snow_faster_above_tb": None if size is None else round(size / TB, 3),
            "network_faster_above_bps": link, "network_faster_above_gbps": round(link / 1e9, 4)}
