"""Databases, caches, streams and storage to CloudFormation: RDS DB instances (and read
replicas), ElastiCache replication groups and Memcached clusters, DynamoDB tables, Kinesis
streams, S3 buckets (with their notifications), EBS volumes, EFS file systems (with a mount
target per zone) and Athena workgroups."""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.export_messaging import _invoke_permission, _queue_policy, secs, stream_consumer
from cloudtwin.exporters.template import Out, getatt, ref

__all__ = ["athena", "dynamodb", "ebs", "efs", "elasticache", "kinesis", "rds", "s3"]


def _db_subnets(out: Out) -> dict[str, Any]:
    if "DbSubnetGroup" not in out.resources:
        out.add("DbSubnetGroup", "AWS::RDS::DBSubnetGroup", {
            "DBSubnetGroupDescription": f"{out.arch.name}: the spec's zones", "SubnetIds": out.subnets(None)})
        if len(out.arch.zones) < 2:
            out.notes.append("DbSubnetGroup: RDS wants subnets in two AZs; the spec has one zone")
    return ref("DbSubnetGroup")


def rds(out: Out, name: str, c: Any) -> None:
    if c.deployment == "multi_az_cluster":
        out.skip(name, "a Multi-AZ DB cluster is an AWS::RDS::DBCluster, not exported yet")
        return
    if c.engine.startswith("aurora"):
        out.skip(name, f"engine {c.engine} needs an AWS::RDS::DBCluster, not exported yet")
        return
    db = out.add(out.lid(name), "AWS::RDS::DBInstance", {
        "Engine": c.engine, "DBInstanceClass": c.instance_class,
        "MultiAZ": bool(c.multi_az or c.deployment == "multi_az_instance"),
        "AvailabilityZone": out.az(c.zone) if c.zone and not (c.multi_az or c.deployment == "multi_az_instance")
        else None,
        "AllocatedStorage": str(int(c.storage_gb)) if float(c.storage_gb).is_integer() else str(int(c.storage_gb) + 1),
        "StorageEncrypted": c.encrypted, "PubliclyAccessible": c.publicly_accessible,
        "BackupRetentionPeriod": c.backup_retention,
        "MasterUsername": out.db_user(), "ManageMasterUserPassword": True,
        "DBSubnetGroupName": _db_subnets(out), "VPCSecurityGroups": [out.security_group()]},
        DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot")
    if c.backup_retention == 0 and c.read_replicas:
        out.note(name, "read replicas need backups on the source (backup_retention >= 1)")
    for i in range(1, c.read_replicas + 1):
        out.helper(name, f"Replica{i}", "AWS::RDS::DBInstance", {
            "SourceDBInstanceIdentifier": ref(db), "DBInstanceClass": c.instance_class,
            "PubliclyAccessible": c.publicly_accessible})


def _cache_subnets(out: Out) -> dict[str, Any]:
    if "CacheSubnetGroup" not in out.resources:
        out.add("CacheSubnetGroup", "AWS::ElastiCache::SubnetGroup", {
            "Description": f"{out.arch.name}: the spec's zones", "SubnetIds": out.subnets(None)})
    return ref("CacheSubnetGroup")


def elasticache(out: Out, name: str, c: Any) -> None:
    zones = c.zones or out.arch.zones
    if c.engine == "memcached":
        out.add(out.lid(name), "AWS::ElastiCache::CacheCluster", {
            "Engine": "memcached", "CacheNodeType": c.node_type, "NumCacheNodes": c.nodes,
            "AZMode": "cross-az" if len(zones) > 1 and c.nodes > 1 else "single-az",
            "PreferredAvailabilityZones": [out.az(zones[i % len(zones)]) for i in range(c.nodes)]
            if len(zones) > 1 and c.nodes > 1 else None,
            "CacheSubnetGroupName": _cache_subnets(out), "VpcSecurityGroupIds": [out.security_group()]})
        return
    props: dict[str, Any] = {
        "ReplicationGroupDescription": f"{name} (exported by cloudtwin)", "Engine": "redis",
        "CacheNodeType": c.node_type, "CacheSubnetGroupName": _cache_subnets(out),
        "SecurityGroupIds": [out.security_group()],
        "AtRestEncryptionEnabled": True if c.encrypted else None,
        "AutomaticFailoverEnabled": c.replicas > 0 or c.nodes > 1,
        "MultiAZEnabled": c.replicas > 0 and len(zones) > 1}
    if c.nodes > 1:  # cluster mode: shards of a primary and its replicas
        props.update(NumNodeGroups=c.nodes, ReplicasPerNodeGroup=c.replicas)
        props["CacheParameterGroupName"] = "default.redis7.cluster.on"
        props["EngineVersion"] = "7.1"
    else:
        props.update(NumCacheClusters=c.replicas + 1,
                     PreferredCacheClusterAZs=[out.az(zones[i % len(zones)]) for i in range(c.replicas + 1)])
    out.add(out.lid(name), "AWS::ElastiCache::ReplicationGroup", props)


def dynamodb(out: Out, name: str, c: Any) -> None:
    provisioned = c.capacity == "provisioned"
    table = out.add(out.lid(name), "AWS::DynamoDB::Table", {
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
        "ProvisionedThroughput": {"ReadCapacityUnits": c.rcu or 5, "WriteCapacityUnits": c.wcu or 5}
        if provisioned else None,
        "StreamSpecification": {"StreamViewType": c.stream.view.upper()} if c.stream else None})
    if provisioned and not (c.rcu and c.wcu):
        out.note(name, "rcu/wcu not given: 5 each, the console's default")
    out.note(name, "the key schema is one string partition key `pk` (an assumption: the spec has no key names)")
    for s in c.stream.consumers if c.stream else []:
        stream_consumer(out, name, getatt(table, "StreamArn"), s)


def kinesis(out: Out, name: str, c: Any) -> None:
    on_demand = c.mode == "on_demand"
    stream = out.add(out.lid(name), "AWS::Kinesis::Stream", {
        "ShardCount": None if on_demand else c.shards,
        "StreamModeDetails": {"StreamMode": "ON_DEMAND" if on_demand else "PROVISIONED"},
        "RetentionPeriodHours": secs(c.retention / 3600.0)})
    for s in c.consumers:
        stream_consumer(out, name, getatt(stream, "Arn"), s)


_EVENTS = {"put": "s3:ObjectCreated:*", "delete": "s3:ObjectRemoved:*"}


def s3(out: Out, name: str, c: Any) -> None:
    lambdas: list[dict[str, Any]] = []
    queues: list[dict[str, Any]] = []
    topics: list[dict[str, Any]] = []
    needs: list[str] = []
    for n in c.notifications:
        kind = out.kind(n.target)
        rules = [{"Name": k, "Value": v} for k, v in (("prefix", n.prefix), ("suffix", n.suffix)) if v]
        for ev in n.events:
            cfg: dict[str, Any] = {"Event": _EVENTS[ev]}
            if rules:
                cfg["Filter"] = {"S3Key": {"Rules": rules}}
            if kind == "lambda":
                lambdas.append({**cfg, "Function": getatt(out.lid(n.target), "Arn")})
            elif kind == "sqs":
                queues.append({**cfg, "Queue": getatt(out.lid(n.target), "Arn")})
            else:
                topics.append({**cfg, "Topic": ref(out.lid(n.target))})
        # the bucket checks it may send when it is created: the permission first, named by account
        # (the bucket's own ARN would make a cycle)
        if kind == "lambda":
            needs.append(_invoke_permission(out, name, n.target, "s3", None))
        elif kind == "sqs":
            needs.append(_queue_policy(out, name, n.target, "s3", None))
        else:
            needs.append(out.helper(name, f"To{out.lid(n.target)}Policy", "AWS::SNS::TopicPolicy", {
                "Topics": [ref(out.lid(n.target))], "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sns:Publish",
                    "Resource": ref(out.lid(n.target)),
                    "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}}]}}))
    nc: dict[str, Any] = {k: v for k, v in (("LambdaConfigurations", lambdas), ("QueueConfigurations", queues),
                                            ("TopicConfigurations", topics)) if v}
    if c.events:
        nc["EventBridgeConfiguration"] = {"EventBridgeEnabled": True}
    extra: dict[str, Any] = {"DependsOn": list(dict.fromkeys(needs))} if needs else {}
    out.add(out.lid(name), "AWS::S3::Bucket", {"NotificationConfiguration": nc or None,
                                               "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                                                   {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}},
            **extra)
    if c.stored:
        out.note(name, "the objects stored at t=0 are not exported")


def ebs(out: Out, name: str, c: Any) -> None:
    zone = c.zone or out.arch.zones[0]
    out.add(out.lid(name), "AWS::EC2::Volume", {
        "AvailabilityZone": out.az(zone), "VolumeType": c.volume_type, "Iops": c.iops,
        "Size": int(c.size_gb) if float(c.size_gb).is_integer() else int(c.size_gb) + 1,
        "MultiAttachEnabled": True if c.multi_attach else None, "Encrypted": c.encrypted},
        DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot")
    users = [n for n, other in out.comps() if name in (getattr(other, "mounts", None) or [])]
    if users:
        out.note(name, f"attaching the volume to {', '.join(users)} (a VolumeAttachment, or user data for an Auto "
                       "Scaling group) is not exported")


def efs(out: Out, name: str, c: Any) -> None:
    fs = out.add(out.lid(name), "AWS::EFS::FileSystem", {
        "Encrypted": c.encrypted, "PerformanceMode": "generalPurpose",  # the model: General Purpose IOPS
        "ThroughputMode": "bursting"})  # the default mode [aws-facts §17 EFS performance]
    for z in c.zones or out.arch.zones:
        out.helper(name, f"MountTarget{z.upper()}", "AWS::EFS::MountTarget", {
            "FileSystemId": ref(fs), "SubnetId": out.subnet(z), "SecurityGroups": [out.security_group()]})
    users = [n for n, other in out.comps() if name in (getattr(other, "mounts", None) or [])]
    if users:
        out.note(name, f"mounting the file system on {', '.join(users)} (user data) is not exported")


def athena(out: Out, name: str, c: Any) -> None:
    """A workgroup whose query results go to the output bucket (the table itself is a Glue/Athena
    DDL statement, not exported)."""
    bucket = out.lid(c.output_bucket or c.bucket)
    out.add(out.lid(name), "AWS::Athena::WorkGroup", {
        "Name": f"{out.arch.name}-{name}"[:128], "State": "ENABLED",
        "WorkGroupConfiguration": {"ResultConfiguration": {
            "OutputLocation": {"Fn::Sub": f"s3://${{{bucket}}}/{c.output_prefix}"}}}})
    out.note(name, f"the {c.format} table over s3://{c.bucket}/{c.prefix} (a CREATE EXTERNAL TABLE) and the queries "
                   "are not exported")
