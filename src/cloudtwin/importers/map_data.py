"""Databases, caches, streams and storage: RDS DB instances, ElastiCache clusters and
replication groups, DynamoDB tables, Kinesis streams and S3 buckets."""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.mapping import Ctx
from cloudtwin.sizes import data_row

_ENGINES = {"postgres": "postgres", "mysql": "mysql", "mariadb": "mariadb", "aurora-postgresql": "aurora-postgresql",
            "aurora-mysql": "aurora-mysql"}


def rds(ctx: Ctx, db: str) -> None:
    p = ctx.tpl.props(db)
    name = ctx.names[db]
    source = ctx.target(p.get("SourceDBInstanceIdentifier"))
    if source is not None and source in ctx.names and ctx.res_type(source) == "AWS::RDS::DBInstance":
        # a read replica: counted on its source (mapped after it, in template order)
        src = ctx.components.get(ctx.names[source])
        if src is not None:
            src["read_replicas"] = int(src.get("read_replicas", 0)) + 1
            ctx.fold(db, ctx.names[source])
            del ctx.names[db]
            return
    if p.get("DBClusterIdentifier") is not None:
        ctx.leave(db, "an instance of a DB cluster that is not mapped (see the cluster's line)")
        return
    spec: dict[str, Any] = {"type": "rds"}
    engine = str(p.get("Engine", "")).lower()
    if engine in _ENGINES:
        spec["engine"] = _ENGINES[engine]
    else:
        spec["engine"] = ctx.default(db, "Engine", "engine", "postgres",
                                     f"the spec's default; engine {engine!r} is not modelled" if engine else
                                     "the spec's default; AWS requires an Engine")
    cls = p.get("DBInstanceClass")
    if isinstance(cls, str) and data_row("db_instance_classes.csv", cls) is not None:
        spec["instance_class"] = cls
    else:
        why = f"{cls} is not in cloudtwin's table" if isinstance(cls, str) else "not known from the template"
        spec["instance_class"] = ctx.default(db, "DBInstanceClass", "instance_class", "db.m5.large",
                                             f"the spec's default; {why}")
    multi = ctx.flag(p, "MultiAZ")
    spec["multi_az"] = multi if multi is not None else ctx.default(db, "MultiAZ", "multi_az", False)
    storage = ctx.num(db, p, "AllocatedStorage", structural=False)
    if storage is not None:
        spec["storage_gb"] = storage
    if ctx.flag(p, "StorageEncrypted"):
        spec["encrypted"] = True
    if ctx.flag(p, "PubliclyAccessible"):
        spec["publicly_accessible"] = True
    backups = ctx.int_(db, p, "BackupRetentionPeriod", structural=False)
    if backups is not None:
        spec["backup_retention"] = backups
    zone = ctx.zone_letter(p.get("AvailabilityZone"))
    if zone:
        spec["zone"] = zone
        ctx.zones[name] = [zone]
    ctx.add(db, spec)


def _node_type(ctx: Ctx, logical: str, spec: dict[str, Any], value: Any) -> None:
    if isinstance(value, str) and data_row("cache_node_types.csv", value) is not None:
        spec["node_type"] = value
    else:
        why = f"{value} is not in cloudtwin's table" if isinstance(value, str) else "not known from the template"
        spec["node_type"] = ctx.default(logical, "CacheNodeType", "node_type", "cache.m5.large",
                                        f"the spec's default; {why}")


def _engine(ctx: Ctx, logical: str, p: dict[str, Any]) -> str:
    engine = str(p.get("Engine", "")).lower()
    if engine in ("redis", "valkey"):
        if engine == "valkey":
            ctx.assume(f"{ctx.names[logical]}: Valkey is modelled as Redis")
        return "redis"
    if engine == "memcached":
        return "memcached"
    return str(ctx.default(logical, "Engine", "engine", "redis", "the spec's default"))


def cache_cluster(ctx: Ctx, c: str) -> None:
    p = ctx.tpl.props(c)
    spec: dict[str, Any] = {"type": "elasticache", "engine": _engine(ctx, c, p)}
    _node_type(ctx, c, spec, p.get("CacheNodeType"))
    n = ctx.int_(c, p, "NumCacheNodes")
    if spec["engine"] == "memcached" and n:
        spec["nodes"] = n
    zones = sorted({z for z in (ctx.zone_letter(a) for a in p.get("PreferredAvailabilityZones") or
                                [p.get("PreferredAvailabilityZone")]) if z})
    if zones:
        spec["zones"] = zones
        ctx.zones[ctx.names[c]] = zones
    if spec["engine"] == "redis":
        spec["replicas"] = 0
        ctx.default(c, "(a CacheCluster has no replicas)", "replicas", 0, "a single Redis node")
    ctx.add(c, spec)


def replication_group(ctx: Ctx, g: str) -> None:
    p = ctx.tpl.props(g)
    spec: dict[str, Any] = {"type": "elasticache", "engine": _engine(ctx, g, p)}
    _node_type(ctx, g, spec, p.get("CacheNodeType"))
    shards = ctx.int_(g, p, "NumNodeGroups")
    per = ctx.int_(g, p, "ReplicasPerNodeGroup")
    clusters = ctx.int_(g, p, "NumCacheClusters")
    if shards is not None:
        spec["nodes"] = shards
    if per is not None:
        spec["replicas"] = per
    elif clusters is not None:
        spec["replicas"] = max(clusters - 1, 0)
    else:
        spec["replicas"] = ctx.default(g, "NumCacheClusters / ReplicasPerNodeGroup", "replicas", 0)
    if spec["replicas"] > 5:
        ctx.assume(f"{ctx.names[g]}: {spec['replicas']} replicas per shard is more than AWS's 5: 5")
        spec["replicas"] = 5
    zones = sorted({z for z in (ctx.zone_letter(a) for a in p.get("PreferredCacheClusterAZs") or []) if z})
    if zones:
        spec["zones"] = zones
        ctx.zones[ctx.names[g]] = zones
    if ctx.flag(p, "AtRestEncryptionEnabled"):
        spec["encrypted"] = True
    ctx.add(g, spec)


def dynamodb(ctx: Ctx, t: str) -> None:
    p = ctx.tpl.props(t)
    spec: dict[str, Any] = {"type": "dynamodb"}
    mode = str(p.get("BillingMode", "")).upper()
    if not mode:
        mode = str(ctx.default(t, "BillingMode", "capacity", "provisioned", "AWS's default: PROVISIONED")).upper()
    if mode == "PAY_PER_REQUEST":
        spec["capacity"] = "on_demand"
    else:
        spec["capacity"] = "provisioned"
        tp = p.get("ProvisionedThroughput") or {}
        rcu = ctx.int_(t, tp, "ReadCapacityUnits")
        wcu = ctx.int_(t, tp, "WriteCapacityUnits")
        spec["rcu"] = rcu if rcu else ctx.default(t, "ReadCapacityUnits", "rcu", 5, "the console's default")
        spec["wcu"] = wcu if wcu else ctx.default(t, "WriteCapacityUnits", "wcu", 5, "the console's default")
    stream = p.get("StreamSpecification")
    if isinstance(stream, dict) and isinstance(stream.get("StreamViewType"), str):
        spec["stream"] = {"view": stream["StreamViewType"].lower()}
    ctx.add(t, spec)


def kinesis(ctx: Ctx, s: str) -> None:
    p = ctx.tpl.props(s)
    spec: dict[str, Any] = {"type": "kinesis"}
    mode = str((p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")).upper()
    if mode == "ON_DEMAND":
        spec["mode"] = "on_demand"
    else:
        shards = ctx.int_(s, p, "ShardCount")
        spec["shards"] = shards if shards is not None else ctx.default(s, "ShardCount", "shards", 1)
    hours = ctx.num(s, p, "RetentionPeriodHours", structural=False)
    if hours is not None:
        spec["retention"] = f"{int(hours)}h"
    ctx.add(s, spec)


_S3_EVENTS = {"s3:ObjectCreated": "put", "s3:ObjectRemoved": "delete"}


def s3(ctx: Ctx, b: str) -> None:
    p = ctx.tpl.props(b)
    spec: dict[str, Any] = {"type": "s3"}
    nc = p.get("NotificationConfiguration") or {}
    notes: list[dict[str, Any]] = []
    for key, field in (("LambdaConfigurations", "Function"), ("QueueConfigurations", "Queue"),
                       ("TopicConfigurations", "Topic")):
        for cfg in nc.get(key) or []:
            if not isinstance(cfg, dict):
                continue
            target = ctx.comp(cfg.get(field))
            event = str(cfg.get("Event", ""))
            kind = next((v for k, v in _S3_EVENTS.items() if event.startswith(k)), None)
            if target is None or kind is None:
                ctx.assume(f"{ctx.names[b]}: the {event} notification to {cfg.get(field)} is left out")
                continue
            n: dict[str, Any] = {"target": target, "events": [kind]}
            for rule in ((cfg.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []:
                if isinstance(rule, dict) and str(rule.get("Name", "")).lower() in ("prefix", "suffix"):
                    n[str(rule["Name"]).lower()] = str(rule.get("Value", ""))
            notes.append(n)
    if notes:
        spec["notifications"] = notes
    ctx.add(b, spec)
