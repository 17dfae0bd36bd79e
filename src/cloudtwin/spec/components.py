"""Component schemas, one model per ``type:``. Defaults cite aws-facts.md rows.

A default marked "assumption" has no documented source; docs/spec.md lists them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from cloudtwin.engine.sampling import Distribution
from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Size
from cloudtwin.spec.steps import Step
from cloudtwin.spec.units import parse_distribution

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Zone = Annotated[str, Field(pattern=r"^[a-z]$")]


def _d(text: str) -> Distribution:
    return parse_distribution(text)


# ---------------------------------------------------------------- compute
class Compute(ComponentSpec):
    """What EC2 instances and ASG members share."""

    instance_type: str = "m5.large"
    workers: int | None = Field(None, ge=1, le=4096)  # default: vCPUs of instance_type
    backlog: int = Field(1024, ge=0, le=1_000_000)  # accept-queue limit (assumption)
    boot_time: Dist = Field(default_factory=lambda: _d("uniform(40s, 80s)"))  # assumption
    handler: list[Step] = Field(default_factory=list)
    mounts: list[Name] = Field(default_factory=list)


class EC2(Compute):
    type: Literal["ec2"]
    count: int = Field(1, ge=1, le=1000)
    zones: list[Zone] | None = None  # spread round-robin; default: the first zone
    public_ip: bool = True  # an ephemeral public IPv4 that changes on stop/start [aws-facts §3]
    elastic_ip: bool = False  # a static address, 5 per Region by default [aws-facts §3]
    purchase: Literal["on_demand", "reserved", "spot"] = "on_demand"


class Capacity(Model):
    min: int = Field(1, ge=0, le=10_000)
    desired: int | None = Field(None, ge=0, le=10_000)
    max: int | None = Field(None, ge=0, le=10_000)

    @model_validator(mode="after")
    def _order(self) -> Capacity:
        desired = self.min if self.desired is None else self.desired
        top = max(desired, self.min) if self.max is None else self.max
        if not self.min <= desired <= top:
            raise ValueError(f"need min <= desired <= max, got {self.min} <= {desired} <= {top}")
        return self

    @property
    def start(self) -> int:
        return self.min if self.desired is None else self.desired

    @property
    def top(self) -> int:
        return max(self.start, self.min) if self.max is None else self.max


class StepPolicy(Model):
    """A simple (one adjustment) or step scaling policy on the 1-minute CPU metric."""

    when: Literal["above", "below"] = "above"
    cpu: float = Field(gt=0, le=100)
    adjust: int  # instances to add (negative removes)
    evaluation_periods: int = Field(1, ge=1, le=60)
    cooldown: Duration | None = None  # default: the group's default_cooldown


class ScheduledAction(Model):
    at: Duration
    min: int | None = Field(None, ge=0)
    desired: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> ScheduledAction:
        if self.min is None and self.desired is None and self.max is None:
            raise ValueError("a scheduled action needs at least one of min, desired, max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self


class Scaling(Model):
    target_cpu: float | None = Field(None, gt=0, le=100)
    warmup: Duration | None = None  # None: falls back to default_cooldown [aws-facts §2 warmup]
    disable_scale_in: bool = False
    policies: list[StepPolicy] = Field(default_factory=list)
    scheduled: list[ScheduledAction] = Field(default_factory=list)
    default_cooldown: Duration = 300.0  # [aws-facts §2 default cooldown]


class AsgHealthCheck(Model):
    type: Literal["ec2", "elb"] = "ec2"  # ELB checks ignored unless enabled [aws-facts §2]
    grace_period: Duration = 0.0  # 0 s from CLI/SDK/IaC, 300 s in the console [aws-facts §2]


class Purchase(Model):
    on_demand: int | None = Field(None, ge=0)
    reserved: int = Field(0, ge=0)  # on-demand instances billed at the reserved rate
    spot: int = Field(0, ge=0)

    def split(self, desired: int) -> dict[str, int]:
        """Instances per purchase option at ``desired`` capacity (on-demand takes the rest)."""
        od = self.on_demand if self.on_demand is not None else max(desired - self.spot - self.reserved, 0)
        return {"spot": self.spot, "reserved": self.reserved, "on_demand": od}


class ASG(Compute):
    type: Literal["asg"]
    zones: list[Zone] | None = None  # default: the spec's zones
    capacity: Capacity = Field(default_factory=Capacity)
    scaling: Scaling | None = None
    health_check: AsgHealthCheck = Field(default_factory=AsgHealthCheck)
    purchase: Purchase = Field(default_factory=Purchase)
    capacity_rebalance: bool = False  # [aws-facts §2 capacity rebalancing]
    elastic_ip: bool = False  # user data attaches one EIP to the newest instance

    @model_validator(mode="after")
    def _purchase_fits(self) -> ASG:
        p = self.purchase
        if p.on_demand is not None and p.on_demand + p.reserved + p.spot != self.capacity.start:
            raise ValueError(
                f"purchase on_demand + reserved + spot = {p.on_demand + p.reserved + p.spot} "
                f"but capacity.desired is {self.capacity.start}"
            )
        if p.reserved + p.spot > self.capacity.start:
            raise ValueError(f"purchase reserved + spot = {p.reserved + p.spot} exceeds capacity.desired "
                             f"{self.capacity.start}")
        return self


# ---------------------------------------------------------------- load balancers
class LBHealthCheck(Model):
    interval: Duration | None = Field(None, ge=5, le=300)  # ALB/NLB default 30 s [aws-facts §1]
    timeout: Duration | None = Field(None, ge=2, le=120)  # ALB 5 s, NLB 10 s TCP [aws-facts §1]
    healthy_threshold: int | None = Field(None, ge=2, le=10)  # default 5 [aws-facts §1]
    unhealthy_threshold: int | None = Field(None, ge=2, le=10)  # default 2 [aws-facts §1]
    path: str = "/"


class Stickiness(Model):
    type: Literal["lb_cookie", "app_cookie", "source_ip"] | None = None  # default by LB type
    duration: Duration = Field(86_400.0, ge=1, le=604_800)  # 1 s-7 d, default 1 d [aws-facts §1]


class LoadBalancer(ComponentSpec):
    type: Literal["alb", "nlb", "clb"]
    targets: Name | list[Name]
    algorithm: Literal["round_robin", "least_outstanding_requests"] = "round_robin"
    stickiness: bool | Stickiness = False
    health_check: LBHealthCheck = Field(default_factory=LBHealthCheck)
    deregistration_delay: Duration = Field(300.0, le=3600)  # [aws-facts §1]
    cross_zone: bool | None = None  # None: ALB on, NLB off [aws-facts §1]
    zones: list[Zone] | None = None
    internet_facing: bool = True
    https: bool = False  # the listener terminates TLS (HTTPS; TLS on an NLB); plain HTTP/TCP otherwise
    latency: Dist = Field(default_factory=lambda: _d("0.4ms"))  # LB processing time (assumption)

    @property
    def target_names(self) -> list[str]:
        return [self.targets] if isinstance(self.targets, str) else list(self.targets)

    @property
    def sticky(self) -> Stickiness | None:
        if self.stickiness is False:
            return None
        return Stickiness() if self.stickiness is True else self.stickiness


# ---------------------------------------------------------------- route 53
class R53HealthCheck(Model):
    interval: Literal[10, 30] | Duration = 30.0  # 30 s standard, 10 s fast [aws-facts §4]
    failure_threshold: int = Field(3, ge=1, le=10)  # default 3 [aws-facts §4]


class Record(Model):
    name: str = Field(min_length=1, max_length=253)
    alias: Name | None = None
    a: Name | None = None
    ttl: Duration | None = Field(None, le=172_800)  # A records: 300 s when omitted (assumption)
    routing: Literal["simple", "failover", "weighted"] = "simple"
    failover: Literal["primary", "secondary"] | None = None
    weight: int | None = Field(None, ge=0, le=255)
    health_check: bool | R53HealthCheck = False
    evaluate_target_health: bool = False  # API default; AWS recommends true [aws-facts §4]

    @model_validator(mode="after")
    def _one_target(self) -> Record:
        if (self.alias is None) == (self.a is None):
            raise ValueError("a record needs exactly one of `alias:` (a load balancer) or `a:` (an instance)")
        if self.alias is not None and self.ttl is not None:
            raise ValueError("an alias record has no TTL of its own; it uses the target's [aws-facts §4]")
        if self.routing == "failover" and self.failover is None:
            raise ValueError("routing: failover needs `failover: primary` or `failover: secondary`")
        if self.routing == "weighted" and self.weight is None:
            raise ValueError("routing: weighted needs `weight:`")
        return self


class Route53(ComponentSpec):
    type: Literal["route53"]
    records: list[Record] = Field(min_length=1)


# ---------------------------------------------------------------- data stores
class ElastiCache(ComponentSpec):
    type: Literal["elasticache"]
    engine: Literal["redis", "memcached"] = "redis"
    node_type: str = "cache.m5.large"
    replicas: int = Field(0, ge=0, le=5)  # up to 5 per shard [aws-facts §11]
    nodes: int = Field(1, ge=1, le=500)  # memcached nodes, or redis shards
    zones: list[Zone] | None = None
    memory: Size | None = None  # default: the node type's memory
    item_size: Size = 1024.0  # assumption: average item, for LRU eviction by memory
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=0.3ms, p99=1.5ms)"))  # assumption
    failover_time: Dist = Field(default_factory=lambda: _d("uniform(3s, 10s)"))  # "a few seconds" [aws-facts §11]
    replica_lag: Duration = 1.0  # assumption: async replication [aws-facts §11]; newer sets die in a failover
    encrypted: bool = False  # at-rest encryption; off unless asked for (assumption: the API default)

    @model_validator(mode="after")
    def _memcached(self) -> ElastiCache:
        if self.engine == "memcached" and self.replicas:
            raise ValueError("memcached has no replication; use engine: redis to have replicas")
        return self


class RDS(ComponentSpec):
    type: Literal["rds", "aurora"]
    engine: Literal["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"] = "postgres"
    instance_class: str = "db.m5.large"
    multi_az: bool = False
    read_replicas: int = Field(0, ge=0, le=15)  # up to 15 [aws-facts §11]
    replica_lag: Dist = Field(default_factory=lambda: _d("exp(100ms)"))  # assumption
    zone: Zone | None = None
    query: Dist = Field(default_factory=lambda: _d("lognormal(median=2ms, p99=20ms)"))  # assumption
    write: Dist = Field(default_factory=lambda: _d("lognormal(median=4ms, p99=40ms)"))  # assumption
    max_connections: int | None = Field(None, ge=1, le=100_000)  # default from class memory
    failover_time: Dist | None = None  # default by engine and topology [aws-facts §11]
    storage_gb: float = Field(100.0, gt=0, le=65_536)
    encrypted: bool = False  # storage encryption; StorageEncrypted defaults to false in the API (assumption)
    publicly_accessible: bool = False  # a public DNS name reachable from outside the VPC
    backup_retention: int = Field(1, ge=0, le=35)  # days; API default 1, 0 disables (RDS user guide, not aws-facts)


class EFS(ComponentSpec):
    type: Literal["efs"]
    zones: list[Zone] | None = None  # mount targets; default one per spec zone
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=2ms, p99=10ms)"))  # assumption
    storage_gb: float = Field(10.0, gt=0)
    encrypted: bool = False  # at-rest encryption (assumption: the API default)


class EBS(ComponentSpec):
    type: Literal["ebs"]
    zone: Zone | None = None  # an EBS volume lives in one AZ [aws-facts §3]
    volume_type: Literal["gp2", "gp3", "io1", "io2"] = "gp3"
    iops: int | None = Field(None, ge=100, le=256_000)  # gp3 16k, io2 BE 256k [aws-facts §3]
    size_gb: float = Field(100.0, ge=1, le=65_536)
    multi_attach: bool = False
    encrypted: bool = False  # at-rest encryption; off unless encryption by default is on (assumption)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=0.5ms, p99=3ms)"))  # assumption

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
        return self


# gp3 16k, io1/io2 64k, io2 Block Express 256k [aws-facts §3]; gp2 scales with size
EBS_MAX_IOPS: dict[str, int | None] = {"gp2": None, "gp3": 16_000, "io1": 64_000, "io2": 256_000}
