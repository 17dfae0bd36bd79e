"""Terraform translators of clusters and storage: ``aws_rds_cluster`` (+ ``aws_rds_cluster_instance``),
``aws_efs_file_system`` (+ ``aws_efs_mount_target``), ``aws_ebs_volume`` (+ ``aws_volume_attachment``),
into the CloudFormation properties :mod:`cloudtwin.importers.map_storage` reads."""

from __future__ import annotations

from cloudtwin.importers.tf_view import Props, View


def rds_cluster(r: View) -> Props:
    p: Props = {}
    for key, attr in (("Engine", "engine"), ("StorageEncrypted", "storage_encrypted"),
                      ("BackupRetentionPeriod", "backup_retention_period"),
                      ("DBClusterInstanceClass", "db_cluster_instance_class"),
                      ("AllocatedStorage", "allocated_storage")):
        r.put(p, key, attr)
    scaling = r.block("serverlessv2_scaling_configuration")
    if scaling:
        p["ServerlessV2ScalingConfiguration"] = {"MinCapacity": scaling.get("min_capacity"),
                                                 "MaxCapacity": scaling.get("max_capacity")}
    return p


def rds_cluster_instance(r: View) -> Props:
    p: Props = {"DBClusterIdentifier": r.ref("cluster_identifier", attr="id")}
    for key, attr in (("DBInstanceClass", "instance_class"), ("Engine", "engine"),
                      ("AvailabilityZone", "availability_zone")):
        r.put(p, key, attr)
    return p


def efs(r: View) -> Props:
    p: Props = {}
    for key, attr in (("Encrypted", "encrypted"), ("PerformanceMode", "performance_mode"),
                      ("ThroughputMode", "throughput_mode")):
        r.put(p, key, attr)
    return p


def efs_mount_target(r: View) -> Props:
    return {"FileSystemId": r.ref("file_system_id", attr="id"), "SubnetId": r.ref("subnet_id", attr="id")}


def ebs_volume(r: View) -> Props:
    p: Props = {}
    for key, attr in (("AvailabilityZone", "availability_zone"), ("Size", "size"), ("VolumeType", "type"),
                      ("Iops", "iops"), ("Encrypted", "encrypted"), ("MultiAttachEnabled", "multi_attach_enabled")):
        r.put(p, key, attr)
    return p


def volume_attachment(r: View) -> Props:
    return {"VolumeId": r.ref("volume_id", attr="id"), "InstanceId": r.ref("instance_id", attr="id")}
