"""Configured usage of each component type over a span of hours, from the spec alone.

``configured(name, spec, arch, hours)`` answers "what does this component bill
just by existing for ``hours``?" in the price table's usage types. The fixed
monthly cost (``cloudtwin cost``) calls it with 730 h; the usage-based bill
calls it with the simulated window for the components whose billable quantity
does not change during a run (caches, databases, storage, load-balancer hours).

Billing units and what AWS bills:
- EC2 instance-hours by purchase option (``BoxUsage``, ``ReservedUsage``,
  ``SpotUsage`` + instance type); public IPv4 addresses per IP-hour, in use or
  idle [aws-facts §3]. An ``ec2`` component's Elastic IP sits on its first
  instance; the others get ephemeral public IPs when ``public_ip`` is on.
- An Auto Scaling group at ``capacity.desired`` split by the purchase mix (the
  same split the live group launches). Its instances have no public IP; an
  ``elastic_ip`` adds one address.
- Load balancers: LB-hours, plus one public IPv4 address per enabled zone when
  internet-facing (AWS bills every public IPv4 [aws-facts §3]; an ALB may add
  nodes under load, which is left out). LCUs depend on traffic: see
  :mod:`cloudtwin.pricing.lcu`.
- Route 53: a ``route53`` component is one hosted zone, billed per month; each
  record with a health check is one health check per month, and a 10 s (fast)
  interval is one optional feature per month. Queries depend on traffic.
- ElastiCache: node-hours = ``nodes`` x (1 + ``replicas``).
- RDS: instance-hours with Multi-AZ billed as two instances and two copies of
  the storage ("billed per DB instance-hour for both the primary and standby
  instances"; storage "for both" [aws-facts §11, USER_OnDemandDBInstances]),
  each read replica an instance with its own storage (assumption). Per second
  with a 10-minute minimum [aws-facts §11]. Storage at the gp3 rate
  (assumption: the model has no storage type). Instance usage types carry the
  engine (``InstanceUsage:db.m5.large:postgres``) because prices differ by engine.
- Aurora: writer plus replicas (Multi-AZ means at least one replica, as in
  :mod:`cloudtwin.services.rds`); one cluster volume (``Aurora:StorageUsage``).
- EFS: GB-months of Standard storage. EBS: GB-months by volume type, plus
  provisioned IOPS-months for io1/io2 and for gp3 above its free 3,000 IOPS.

- DynamoDB: a provisioned table bills read and write capacity-unit hours
  (``ReadCapacityUnit-Hrs``/``WriteCapacityUnit-Hrs``, unpriced: no sourced
  price); an on-demand table bills request units only, so its cost needs a run.
- DAX: node-hours = ``nodes`` (``NodeUsage:<node_type>``); Redshift: node-hours
  = ``nodes`` (``Node:<node_type>``); Kinesis: shard-hours.
- S3: GB-months of the ``stored:`` bytes present at the start (1 GB = 2^30
  bytes, as :mod:`cloudtwin.services.s3` bills them); what a run adds, requests
  and transfer out depend on traffic.
- Direct Connect: port-hours by speed (``PortUsage:10G``; a hosted connection's
  ``HostedPortUsage:<rate>`` is unpriced), plus a transit gateway attachment for a transit
  virtual interface. Site-to-Site VPN: connection-hours, plus a transit gateway attachment
  on a transit gateway. Their bytes out and processed need a run.
- QuickSight: author-months and reader-months (unpriced: no sourced price).
- Usage-based only (listed by :func:`traffic_billed`, priced by a run):
  Lambda, API Gateway requests (REST or HTTP by ``api:``), SQS, SNS,
  Firehose, Athena, CloudFront, SES, Cognito MAUs, on-demand DynamoDB.

Snapshots and backups depend on the writes, so a run bills them
(:mod:`cloudtwin.services.backups`); this fixed estimate leaves them out.

Left out: free tiers, volume discounts and tiers,
Aurora I/O, EBS throughput above gp3's baseline, instance root volumes,
DynamoDB storage, Kinesis PUT payload units, Redshift RA3 managed storage and
QuickSight SPICE capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from cloudtwin import catalogue
from cloudtwin.units import GIB, HOURS_PER_MONTH

PURCHASE_PREFIX = {"on_demand": "BoxUsage", "reserved": "ReservedUsage", "spot": "SpotUsage"}
LB_USAGE = {"alb": "application", "nlb": "network", "clb": "classic"}
PUBLIC_IP = "PublicIPv4:InUseAddress"
RDS_MINIMUM_H = 10 / 60  # per second with a 10-minute minimum [aws-facts §11]
GP3_FREE_IOPS = 3000  # gp3 includes a 3,000 IOPS baseline (agent-toolkit-for-aws, see prices.csv)
EBS_VOLUME = {"gp3": "EBS:VolumeUsage.gp3", "gp2": "EBS:VolumeUsage.gp2", "io1": "EBS:VolumeUsage.piops",
              "io2": "EBS:VolumeUsage.io2"}
EBS_IOPS = {"gp3": "EBS:VolumeP-IOPS.gp3", "io1": "EBS:VolumeP-IOPS.piops", "io2": "EBS:VolumeP-IOPS.io2"}

Usage = dict[str, float]


def _add(u: Usage, key: str, qty: float) -> None:
    if qty > 0:
        u[key] = u.get(key, 0.0) + qty


def purchase_mix(spec: Any) -> dict[str, int]:
    """Instances per purchase option at the configured (desired) capacity."""
    if spec.type == "ec2":
        return {spec.purchase: spec.count}
    return spec.purchase.split(spec.capacity.start)  # type: ignore[no-any-return]


def _compute(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    for option, n in purchase_mix(spec).items():
        _add(u, f"{PURCHASE_PREFIX[option]}:{spec.instance_type}", n * hours)
    ips = 1 if spec.elastic_ip else 0
    if spec.type == "ec2" and spec.public_ip:
        ips += spec.count - ips
    _add(u, PUBLIC_IP, ips * hours)
    return u


def lb_zones(spec: Any, arch: Any) -> list[str]:
    """The zones a load balancer has nodes in (its own, else its targets'), as the spec checks them."""
    from cloudtwin.spec.elb import lb_zones as zones_of

    return zones_of(arch, spec)


def lb_hours(spec: Any, zones: list[str], hours: float) -> Usage:
    u: Usage = {}
    _add(u, f"LoadBalancerUsage:{LB_USAGE[spec.type]}", hours)
    if spec.internet_facing:
        _add(u, PUBLIC_IP, len(zones) * hours)
    return u


def _lb(spec: Any, arch: Any, hours: float) -> Usage:
    return lb_hours(spec, lb_zones(spec, arch), hours)


def _route53(spec: Any, arch: Any, hours: float) -> Usage:
    months = hours / HOURS_PER_MONTH
    u: Usage = {}
    _add(u, "HostedZone", months)
    for r in spec.records:
        hc = r.health_check
        if hc:
            _add(u, "Health-Check-AWS", months)
            interval = 30.0 if hc is True else float(hc.interval)
            if interval <= 10.0:  # the fast interval is an optional feature [aws-facts §4]
                _add(u, "Health-Check-Option-AWS", months)
    return u


def _elasticache(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    _add(u, f"NodeUsage:{spec.node_type}", spec.nodes * (1 + spec.replicas) * hours)
    return u


def _rds(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    billed = max(hours, RDS_MINIMUM_H)
    if spec.type == "aurora":
        replicas = max(spec.read_replicas, 1) if spec.multi_az else spec.read_replicas
        _add(u, f"InstanceUsage:{spec.instance_class}:{spec.engine}", (1 + replicas) * billed)
        _add(u, "Aurora:StorageUsage", spec.storage_gb * hours / HOURS_PER_MONTH)
        return u
    # Multi-AZ instance: 2 instances ("about 2x Single-AZ" [aws-facts §11 RDS billing granularity]);
    # a Multi-AZ DB cluster: its writer and 2 standbys, billed the same way per instance (assumption)
    copies = {"single_az": 1, "multi_az_instance": 2, "multi_az_cluster": 3}[spec.topology] + spec.read_replicas
    _add(u, f"InstanceUsage:{spec.instance_class}:{spec.engine}", copies * billed)
    _add(u, "RDS:GP3-Storage", copies * spec.storage_gb * hours / HOURS_PER_MONTH)
    return u


def _efs(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    _add(u, "TimedStorage-ByteHrs", spec.storage_gb * hours / HOURS_PER_MONTH)
    return u


def _ebs(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    months = hours / HOURS_PER_MONTH
    _add(u, EBS_VOLUME[spec.volume_type], spec.size_gb * months)
    if spec.iops is not None and spec.volume_type in EBS_IOPS:
        extra = spec.iops - GP3_FREE_IOPS if spec.volume_type == "gp3" else spec.iops
        _add(u, EBS_IOPS[spec.volume_type], max(extra, 0) * months)
    return u


def _kinesis(spec: Any, arch: Any, hours: float) -> Usage:
    """Shard-hours; an on-demand stream bills stream-hours (its GB in and out need a run)."""
    if spec.mode == "on_demand":
        return {"OnDemand-StreamHour": hours}
    return {"Kinesis-ShardHour": spec.shards * hours}


def _apigateway(spec: Any, arch: Any, hours: float) -> Usage:
    return {f"CacheUsage:{spec.cache.size_gb:g}GB": hours} if spec.cache is not None else {}


def _dynamodb(spec: Any, arch: Any, hours: float) -> Usage:
    """Provisioned capacity-unit hours (as :mod:`cloudtwin.services.dynamodb` bills a run); on-demand: none."""
    u: Usage = {}
    if spec.capacity == "provisioned":
        _add(u, "ReadCapacityUnit-Hrs", spec.rcu * hours)
        _add(u, "WriteCapacityUnit-Hrs", spec.wcu * hours)
    return u


def _dax(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    _add(u, f"NodeUsage:{spec.node_type}", spec.nodes * hours)
    return u


def _redshift(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    _add(u, f"Node:{spec.node_type}", spec.nodes * hours)
    return u


def _s3(spec: Any, arch: Any, hours: float) -> Usage:
    u: Usage = {}
    _add(u, "S3:TimedStorage-ByteHrs", sum(spec.stored.values()) / GIB * hours / HOURS_PER_MONTH)
    return u


def _quicksight(spec: Any, arch: Any, hours: float) -> Usage:
    months = hours / HOURS_PER_MONTH
    u: Usage = {}
    _add(u, "QuickSight-Author-Month", spec.authors * months)
    _add(u, "QuickSight-Reader-Month", spec.readers * months)
    return u


def _directconnect(spec: Any, arch: Any, hours: float) -> Usage:
    """Port-hours by speed (a hosted connection's: unpriced); a transit VIF's gateway attachment."""
    from cloudtwin.spec.directconnect import speed_name

    port = "PortUsage" if spec.connection == "dedicated" else "HostedPortUsage"
    u: Usage = {}
    _add(u, f"{port}:{speed_name(spec.bandwidth)}", hours)
    if spec.virtual_interface == "transit":
        _add(u, "TransitGateway-Hours", hours)
    return u


def _vpn(spec: Any, arch: Any, hours: float) -> Usage:
    """Connection-hours; on a transit gateway, its attachment-hours."""
    u: Usage = {}
    _add(u, "VPN-Usage-Hours:ipsec.1", hours)
    if spec.gateway == "tgw":
        _add(u, "TransitGateway-Hours", hours)
    return u


def _vpc(spec: Any, arch: Any, hours: float) -> Usage:
    """NAT gateway hours [aws-facts §19 NAT gateway]; the GB they process need a run."""
    u: Usage = {}
    if spec.nat_gateways:
        _add(u, "NatGateway-Hours", len(spec.nat_gateways) * hours)
    return u


def _beanstalk(spec: Any, arch: Any, hours: float) -> Usage:
    """An Elastic Beanstalk environment bills as its parts (Beanstalk itself is free): its
    instances at desired capacity, on demand; the Elastic IP of a single instance; the ALB of a
    load-balanced web environment in the group's zones. (A run bills the parts themselves.)"""
    single = spec.environment_type == "single_instance"
    u: Usage = {}
    _add(u, f"BoxUsage:{spec.instance_type}", (1 if single else spec.capacity.start) * hours)
    if single:
        _add(u, PUBLIC_IP, hours)
    elif spec.tier == "web":
        u.update(lb_hours(SimpleNamespace(type="alb", internet_facing=True), list(spec.zones or arch.zones), hours))
    return u


def _meter(type_: str) -> Callable[[Any, Any, float], Usage] | None:
    """The function billing ``type_``'s configured capacity: the catalogue's ``meter`` column."""
    row = catalogue.ROWS.get(type_)
    return globals()[f"_{row.meter}"] if row is not None and row.meter else None


def traffic_billed(spec: Any) -> list[str]:
    """The usage types ``spec`` bills by traffic (they need a run), as its settings select them."""
    row = catalogue.ROWS.get(spec.type)
    kinds = list(row.traffic) if row is not None else []
    if spec.type == "apigateway":  # a REST API bills REST requests, an HTTP API HTTP requests
        return [kinds[0] if spec.api == "rest" else kinds[1]]
    if spec.type == "dynamodb" and spec.capacity == "provisioned":
        return []  # capacity-unit hours instead (see _dynamodb)
    if spec.type == "batch":  # instances live only while jobs run; storage as the jobs use it
        ce, st = spec.compute_environment, spec.storage
        kinds = [f"{PURCHASE_PREFIX[ce.purchase]}:{ce.instance_type}"]
        return kinds + {"gp3": ["EBS:VolumeUsage.gp3"], "io2": ["EBS:VolumeUsage.io2", "EBS:VolumeP-IOPS.io2"],
                        "efs": ["TimedStorage-ByteHrs"],
                        "fsx_lustre": [f"FSxLustre-GB-Month:{st.lustre_deployment}"]}.get(st.kind, [])
    if spec.type == "firehose" and spec.format == "json":
        return kinds[:1]  # no record format conversion
    if spec.type in ("ebs", "rds", "aurora") and getattr(spec, "snapshots", None) is not None:
        # snapshot storage grows with the writes (services/backups.py)
        return kinds + ["EBS:SnapshotUsage" if spec.type == "ebs" else "RDS:ChargedBackupUsage"]
    return kinds


def configured(spec: Any, arch: Any, hours: float) -> Usage:
    """The usage ``spec`` bills for ``hours`` at its configured capacity ({} for unknown types)."""
    meter = _meter(spec.type)
    return meter(spec, arch, hours) if meter is not None else {}
