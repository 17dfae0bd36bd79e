"""The stated run-time model of a Batch job attempt: compute, communication and I/O phases.

One attempt on ``n`` nodes runs for

    T(n) = T1 * (s + (1 - s) / n)  +  c(n)  +  io(n)

* **Compute** is Amdahl's law: ``T1`` (``compute``) is the work's time on one node and ``s``
  (``serial_fraction``) the share that does not parallelise.
* **Communication** ``c(n)`` is ``exchanges`` ring allreduces of ``exchange_size`` bytes per
  node: each takes ``2(n-1)`` steps of one message latency ``a`` and moves ``2(n-1)/n x M``
  bytes per node at the fabric's bandwidth ``b``:
  ``c(n) = R * (2(n-1) * a + 2(n-1)/n * M / b)`` (0 on one node). This is the textbook
  bandwidth-optimal allreduce (Patarasuk and Yuan 2009), the model's own choice.
* The **fabric** (``a``, ``b``) depends on EFA and the placement group. AWS documents that EFA
  bypasses the operating system's network stack for lower and more consistent latency, and
  that a cluster placement group gives low latency and a higher per-flow TCP limit; it gives
  no numbers, so the numbers are assumptions (``FABRIC``): EFA 15 us in a cluster placement
  group and 30 us outside it, at the instance's bandwidth; ENA (TCP) 50 us in a cluster
  placement group and 100 us outside, limited to one flow's 10 Gbps and 5 Gbps. A compute
  environment's ``latency`` and ``bandwidth_gbps`` replace them.
* **I/O** ``io(n)`` is bounded by the storage: ``io_bytes`` over its throughput and
  ``io_ops`` over its IOPS, whichever is longer. Block storage (EBS gp3/io2, instance store)
  is one volume per node, each doing ``1/n`` of the job's I/O; a shared file system (EFS,
  FSx for Lustre) serves the whole job, at most at ``n`` x the instance's network bandwidth.

Left out: overlap of phases, stragglers, EBS-optimized instance bandwidth, burst credits (the
baselines are used: gp3 3,000 IOPS/125 MiB/s, EFS bursting's baseline, Lustre's per-TiB
baseline), metadata operations and caches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cloudtwin.spec.batch import (
    EFS_GP_READ_IOPS,
    GP3_IOPS,
    GP3_MIBPS,
    IO2_BE_MIBPS,
    IO2_MIBPS,
    LUSTRE_BURST,
    BatchComputeEnvironment,
    BatchJob,
    BatchStorage,
)
from cloudtwin.units import MIB

TIB: Final = 1024.0**4
MB: Final = 1e6
# (efa, placement group) -> (one-message latency s, bandwidth cap Gbps or None: the instance's) -- assumptions
FABRIC: dict[tuple[bool, str], tuple[float, float | None]] = {
    (True, "cluster"): (15e-6, None),
    (True, "none"): (30e-6, None),
    (False, "cluster"): (50e-6, 10.0),  # one TCP flow in a cluster placement group (assumption: 10 Gbps)
    (False, "none"): (100e-6, 5.0),  # one TCP flow outside it (assumption: 5 Gbps)
}
# assumptions where AWS documents no number: instance store NVMe per node; EFS bursting baseline
# 50 MiB/s per TiB stored (floor 1 MiB/s); EFS elastic 3 GiB/s reads (the 2023 regional figure)
INSTANCE_STORE = (400_000, 2_000.0)  # IOPS, MiB/s per node
EFS_BURSTING_MIBPS_PER_TIB: Final = 50.0
EFS_ELASTIC_MIBPS: Final = 3_072.0


@dataclass(frozen=True)
class Phases:
    """The three phases of one attempt, in seconds."""

    compute: float
    comm: float
    io: float

    @property
    def total(self) -> float:
        return self.compute + self.comm + self.io


def fabric(ce: BatchComputeEnvironment) -> tuple[float, float]:
    """(latency s, bandwidth bits/s) between two nodes of the compute environment."""
    lat, cap = FABRIC[(ce.efa, ce.placement_group)]
    gbps = ce.network_gbps if cap is None else min(cap, ce.network_gbps)
    if ce.latency is not None:
        lat = ce.latency
    if ce.bandwidth_gbps is not None:
        gbps = ce.bandwidth_gbps
    return lat, gbps * 1e9


def storage_limits(st: BatchStorage) -> tuple[float | None, float, bool]:
    """(IOPS or None for unbounded, throughput bytes/s, shared?) of the job's storage."""
    if st.kind == "gp3":
        return float(st.iops or GP3_IOPS[0]), (st.throughput_mibps or GP3_MIBPS[0]) * MIB, False
    if st.kind == "io2":
        top = IO2_BE_MIBPS if st.block_express else IO2_MIBPS
        return float(st.iops or 0), min(st.throughput_mibps or top, top) * MIB, False
    if st.kind == "instance_store":
        return float(st.iops or INSTANCE_STORE[0]), (st.throughput_mibps or INSTANCE_STORE[1]) * MIB, False
    if st.kind == "efs":
        if st.efs_mode == "provisioned":
            mibps = float(st.throughput_mibps or 0.0)
        elif st.efs_mode == "elastic":
            mibps = EFS_ELASTIC_MIBPS
        else:
            mibps = max(1.0, EFS_BURSTING_MIBPS_PER_TIB * st.size / TIB)
        return float(EFS_GP_READ_IOPS), mibps * MIB, True
    # FSx for Lustre: per-unit throughput x capacity in TiB [aws-facts §17]; no IOPS bound modelled
    return None, st.per_unit_throughput * MB * st.size / TIB, True


def lustre_burst_bps(st: BatchStorage) -> float:
    """A scratch file system's burst throughput: 6 x its baseline [aws-facts §17] (not used by
    :func:`phases`, which keeps to the baseline)."""
    return LUSTRE_BURST * st.per_unit_throughput * MB * st.size / TIB


def comm_time(job: BatchJob, n: int, lat: float, bps: float) -> float:
    if n <= 1 or job.exchanges == 0:
        return 0.0
    per = 2 * (n - 1) * lat + 2 * (n - 1) / n * job.exchange_size * 8 / bps
    return job.exchanges * per


def io_time(job: BatchJob, n: int, st: BatchStorage, node_bps: float) -> float:
    iops, tput, shared = storage_limits(st)
    if shared:
        by_bytes = job.io_bytes / min(tput, n * node_bps / 8)
        by_ops = job.io_ops / iops if iops else 0.0
    else:  # one volume per node, each doing 1/n of the job's I/O
        by_bytes = job.io_bytes / n / tput
        by_ops = job.io_ops / n / iops if iops else 0.0
    return max(by_bytes, by_ops)


def phases(job: BatchJob, ce: BatchComputeEnvironment, st: BatchStorage) -> Phases:
    """The phases of one attempt of ``job`` (a multi-node job on its ``size`` nodes, else one)."""
    n = job.nodes
    lat, bps = fabric(ce)
    compute = job.compute * (job.serial_fraction + (1 - job.serial_fraction) / n)
    return Phases(compute, comm_time(job, n, lat, bps), io_time(job, n, st, ce.network_gbps * 1e9))
