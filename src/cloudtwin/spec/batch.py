"""Schema of ``batch``: an AWS Batch job queue over one compute environment, its storage and its jobs.

Defaults cite aws-facts.md rows or the AWS Batch API reference (docs/spec.md names each);
"assumption" marks a value with no documented source. The run-time model the keys feed is in
:mod:`cloudtwin.services.batch_time`; the live model is :mod:`cloudtwin.services.batch`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cloudtwin.spec.base import ComponentSpec, Duration, Model, Name, Size

# Instance types the model knows: vCPUs and network Gbps from shared/pricing-sources/ec2-linux.csv
# (us-east-1 rows); EFA support from the EC2 guide's EFA page (c5n.9xlarge/18xlarge, c6i.32xlarge,
# hpc6a.48xlarge, p4d.24xlarge are listed; c5 and m5 are not).
INSTANCES: dict[str, tuple[int, float, bool]] = {
    "c5n.9xlarge": (36, 50.0, True),
    "c5n.18xlarge": (72, 100.0, True),
    "c6i.32xlarge": (128, 50.0, True),
    "hpc6a.48xlarge": (96, 100.0, True),
    "p4d.24xlarge": (96, 400.0, True),
    "c5.18xlarge": (72, 25.0, False),
    "c5d.18xlarge": (72, 25.0, False),
    "c5.xlarge": (4, 10.0, False),
    "m5.large": (2, 10.0, False),
}
ALLOCATION = ("BEST_FIT", "BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED")
MAX_ARRAY = 10_000  # array jobs: 2 to 10,000 children (Batch API SubmitJob arrayProperties.size)
MAX_ATTEMPTS = 10  # retryStrategy.attempts: 1 to 10 (Batch API RetryStrategy)
MAX_EXIT_RULES = 5  # evaluateOnExit: up to 5 entries (Batch API RetryStrategy)

# EBS per-volume limits [aws-facts §3 EBS gp3, io2 Block Express, io2 non-Block-Express]
GP3_IOPS = (3_000, 16_000)  # baseline (the EC2 API default) and maximum
GP3_MIBPS = (125.0, 1_000.0)  # baseline and maximum MiB/s (EC2 API EbsBlockDevice.throughput: 125-1000)
IO2_BE_IOPS, IO2_BE_MIBPS = 256_000, 4_000.0  # io2 Block Express
IO2_IOPS, IO2_MIBPS = 64_000, 1_000.0  # io2 on instances without Block Express
# FSx for Lustre: 200 MBps/TiB baseline, burst 6x for scratch [aws-facts §17]
LUSTRE_BASELINE_MBPS_PER_TIB = 200.0
LUSTRE_BURST = 6.0
LUSTRE_PERSISTENT_UNITS = (50, 100, 125, 200, 250, 500, 1000)  # MB/s/TiB (FSx API PerUnitStorageThroughput)
EFS_GP_READ_IOPS = 35_000  # EFS General Purpose read IOPS [aws-facts §17 EFS performance]


class BatchExitRule(Model):
    """One ``evaluateOnExit`` entry: the first whose ``on_reason`` glob matches decides."""

    on_reason: str = Field("*", min_length=1, max_length=512)  # glob; "*" matches everything
    action: Literal["retry", "exit"]


class BatchRetry(Model):
    attempts: int = Field(1, ge=1, le=MAX_ATTEMPTS)  # Batch API RetryStrategy: 1-10
    evaluate_on_exit: list[BatchExitRule] = Field(default_factory=list, max_length=MAX_EXIT_RULES)


class BatchComputeEnvironment(Model):
    instance_type: str = "c5n.18xlarge"
    purchase: Literal["on_demand", "spot"] = "on_demand"
    allocation_strategy: Literal["BEST_FIT", "BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED",
                                 "SPOT_PRICE_CAPACITY_OPTIMIZED"] = "BEST_FIT_PROGRESSIVE"
    min_vcpus: int = Field(0, ge=0, le=1_000_000)
    max_vcpus: int = Field(256, ge=1, le=1_000_000)
    placement_group: Literal["cluster", "none"] = "none"
    efa: bool = False
    latency: Duration | None = Field(None, gt=0, le=0.1)  # overrides the fabric's (assumption) latency
    bandwidth_gbps: float | None = Field(None, gt=0, le=3_200)  # overrides the fabric's bandwidth
    startup: Duration = Field(120.0, ge=0, le=3600)  # assumption: instance launch + container start
    # assumption: Spot Instance Advisor publishes bands per month (c5n.18xlarge us-east-1: <5%)
    spot_interruptions_per_hour: float = Field(0.05 / 730, ge=0, le=10)
    capacity_error_rate: float = Field(0.0, ge=0, le=1)  # assumption: P(insufficient capacity) per launch
    capacity_retry: Duration = Field(300.0, gt=0, le=86_400)  # assumption: a RUNNABLE job's next launch try

    @model_validator(mode="after")
    def _check(self) -> BatchComputeEnvironment:
        if self.instance_type not in INSTANCES:
            raise ValueError(f"instance_type {self.instance_type!r} is not in the model's table; "
                             f"one of {', '.join(sorted(INSTANCES))}")
        if self.efa and not INSTANCES[self.instance_type][2]:
            raise ValueError(f"{self.instance_type} does not support EFA; use e.g. c5n.18xlarge or hpc6a.48xlarge")
        if self.allocation_strategy.startswith("SPOT_") and self.purchase != "spot":
            raise ValueError(f"allocation_strategy {self.allocation_strategy} is for a spot compute environment")
        if self.min_vcpus > self.max_vcpus:
            raise ValueError(f"min_vcpus ({self.min_vcpus}) exceeds max_vcpus ({self.max_vcpus})")
        return self

    @property
    def vcpus(self) -> int:
        return INSTANCES[self.instance_type][0]

    @property
    def network_gbps(self) -> float:
        return INSTANCES[self.instance_type][1]


class BatchStorage(Model):
    kind: Literal["gp3", "io2", "instance_store", "efs", "fsx_lustre"] = "gp3"
    size: Size = Field(1.1e12, gt=0)  # a volume per node (EBS), the file system (EFS, FSx)
    iops: int | None = Field(None, ge=100, le=IO2_BE_IOPS)
    throughput_mibps: float | None = Field(None, gt=0, le=100_000)
    block_express: bool = True  # io2 on a Block Express instance (256k IOPS) or not (64k)
    efs_mode: Literal["bursting", "elastic", "provisioned"] = "bursting"
    lustre_deployment: Literal["scratch", "persistent"] = "scratch"
    per_unit_throughput: int = 200  # FSx for Lustre MB/s per TiB [aws-facts §17]

    @model_validator(mode="after")
    def _check(self) -> BatchStorage:
        k = self.kind
        if k == "gp3":
            if self.iops is not None and not GP3_IOPS[0] <= self.iops <= GP3_IOPS[1]:
                raise ValueError(f"gp3 IOPS are 3,000 to 16,000 [aws-facts §3], got {self.iops:,}")
            if self.throughput_mibps is not None and not GP3_MIBPS[0] <= self.throughput_mibps <= GP3_MIBPS[1]:
                raise ValueError(f"gp3 throughput is 125 to 1,000 MiB/s, got {self.throughput_mibps:g}")
        if k == "io2":
            top = IO2_BE_IOPS if self.block_express else IO2_IOPS
            if self.iops is None:
                raise ValueError("an io2 volume needs provisioned `iops:`")
            if self.iops > top:
                raise ValueError(f"io2 {'Block Express ' if self.block_express else ''}allows at most {top:,} IOPS "
                                 f"[aws-facts §3], got {self.iops:,}")
        if k in ("efs", "fsx_lustre") and self.iops is not None:
            raise ValueError(f"`iops:` is for block storage; {k}'s follow its mode")
        if k == "efs" and (self.efs_mode == "provisioned") != (self.throughput_mibps is not None):
            raise ValueError("EFS provisioned mode needs `throughput_mibps:`, and only it takes one")
        if k == "fsx_lustre":
            if self.throughput_mibps is not None:
                raise ValueError("FSx for Lustre throughput is per_unit_throughput x capacity; drop throughput_mibps")
            if self.lustre_deployment == "scratch" and self.per_unit_throughput != LUSTRE_BASELINE_MBPS_PER_TIB:
                raise ValueError("a scratch file system's baseline is 200 MB/s per TiB [aws-facts §17]")
            if self.lustre_deployment == "persistent" and self.per_unit_throughput not in LUSTRE_PERSISTENT_UNITS:
                raise ValueError(f"persistent per_unit_throughput is one of {LUSTRE_PERSISTENT_UNITS} MB/s/TiB")
        return self


class BatchJob(Model):
    name: Name
    kind: Literal["single", "array", "multinode"] = "single"
    size: int = Field(1, ge=1, le=MAX_ARRAY)  # array: children (2-10,000); multinode: nodes; single: 1
    count: int = Field(1, ge=1, le=10_000)  # how many times it is submitted
    at: Duration = Field(0.0, ge=0)  # first submission
    every: Duration = Field(0.0, ge=0)  # between submissions (0: all at once)
    compute: Duration = Field(3600.0, gt=0)  # T1: the work's run time on one node
    serial_fraction: float = Field(0.0, ge=0, le=1)  # s of Amdahl's law
    exchanges: int = Field(0, ge=0, le=100_000_000)  # collective exchanges (allreduce) over the run
    exchange_size: Size = Field(0.0, ge=0)  # bytes each node contributes to one exchange
    io_bytes: Size = Field(0.0, ge=0)  # bytes read or written by the whole job
    io_ops: float = Field(0.0, ge=0, le=1e15)  # I/O operations of the whole job
    error_rate: float = Field(0.0, ge=0, le=1)  # assumption: P(application error) per attempt
    retry: BatchRetry = Field(default_factory=BatchRetry)

    @model_validator(mode="after")
    def _check(self) -> BatchJob:
        if self.kind == "single" and self.size != 1:
            raise ValueError("a single job has size 1; use kind array or multinode")
        if self.kind in ("array", "multinode") and self.size < 2:
            raise ValueError(f"an {self.kind} job has size 2 or more (array: children, multinode: nodes)")
        if self.kind == "multinode" and self.size > 1000:
            raise ValueError("a multi-node job has at most 1,000 nodes (assumption)")
        return self

    @property
    def nodes(self) -> int:
        """Nodes of one attempt: a multi-node job's, else 1 (an array child is a single-node job)."""
        return self.size if self.kind == "multinode" else 1


class Batch(ComponentSpec):
    type: Literal["batch"]
    compute_environment: BatchComputeEnvironment = Field(default_factory=BatchComputeEnvironment)
    storage: BatchStorage = Field(default_factory=BatchStorage)
    jobs: list[BatchJob] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _check(self) -> Batch:
        names = [j.name for j in self.jobs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"job names must be unique: {', '.join(dup)}")
        ce = self.compute_environment
        for j in self.jobs:
            if j.nodes * ce.vcpus > ce.max_vcpus:
                raise ValueError(f"job {j.name} needs {j.nodes * ce.vcpus} vCPUs ({j.nodes} x {ce.instance_type}), "
                                 f"more than max_vcpus {ce.max_vcpus}: it would stay RUNNABLE forever")
        return self
