"""Clusters and block and file storage: Aurora DB clusters (and RDS Multi-AZ DB clusters) with
their DB instances, EFS file systems with their mount targets, EBS volumes with their attachments."""

from __future__ import annotations

import re
from typing import Any

from cloudtwin.importers.mapping import Ctx
from cloudtwin.sizes import data_row

_AURORA = {"aurora": "aurora-mysql", "aurora-mysql": "aurora-mysql", "aurora-postgresql": "aurora-postgresql"}
_MULTI_AZ_CLUSTER = {"mysql": "mysql", "postgres": "postgres"}  # RDS Multi-AZ DB clusters


def _members(ctx: Ctx, cluster: str) -> list[str]:
    """The template's DB instances whose DBClusterIdentifier names this cluster."""
    return [i for i in ctx.of_type("AWS::RDS::DBInstance")
            if ctx.target(ctx.tpl.props(i).get("DBClusterIdentifier")) == cluster]


def _class(ctx: Ctx, logical: str, prop: str, value: Any) -> str:
    if isinstance(value, str) and data_row("db_instance_classes.csv", value) is not None:
        return value
    why = f"{value} is not in cloudtwin's table" if isinstance(value, str) else "not known from the template"
    if value == "db.serverless":
        why = "Aurora Serverless v2 capacity (ACUs) is not modelled"
    return str(ctx.default(logical, prop, "instance_class", "db.r5.large", f"the spec's default for a cluster; {why}"))


def db_cluster(ctx: Ctx, c: str) -> None:
    p = ctx.tpl.props(c)
    name = ctx.names[c]
    engine = str(p.get("Engine", "")).lower()
    members = _members(ctx, c)
    if engine in _MULTI_AZ_CLUSTER and p.get("DBClusterInstanceClass") is not None:
        _multi_az_cluster(ctx, c, engine, p)
        return
    if engine not in _AURORA:
        ctx.leave(c, f"engine {engine or '(none)'!r} is not an Aurora engine cloudtwin models")
        return
    if not members:
        ctx.leave(c, "an Aurora cluster with no DB instance in the template serves no query")
        return
    spec: dict[str, Any] = {"type": "aurora", "engine": _AURORA[engine]}
    first = ctx.tpl.props(members[0])
    spec["instance_class"] = _class(ctx, members[0], "DBInstanceClass", first.get("DBInstanceClass"))
    classes = {str(ctx.tpl.props(m).get("DBInstanceClass")) for m in members}
    if len(classes) > 1:
        ctx.assume(f"{name}: its instances have classes {', '.join(sorted(classes))}; all are modelled as "
                   f"{spec['instance_class']} (the first instance's)")
    zones = [ctx.zone_letter(ctx.tpl.props(m).get("AvailabilityZone")) for m in members]
    known = sorted({z for z in zones if z})
    if len(members) > 1:
        spec["read_replicas"] = min(len(members) - 1, 15)  # up to 15 replicas [aws-facts §11 Aurora replicas]
    if len(known) >= 2:
        spec["multi_az"] = True
    elif len(members) > 1:
        spec["multi_az"] = True
        if len(known) < len(members):
            ctx.assume(f"{name}: the AZs of its {len(members)} instances are not all in the template; its replicas "
                       "are taken to be in other AZs than the writer")
    else:
        spec["multi_az"] = ctx.default(c, "(one DB instance)", "multi_az", False, "no replica in another AZ")
    if zones[0]:
        spec["zone"] = zones[0]
    if known:
        ctx.zones[name] = known
    if ctx.flag(p, "StorageEncrypted"):
        spec["encrypted"] = True
    backups = ctx.int_(c, p, "BackupRetentionPeriod", structural=False)
    if backups is not None:
        spec["backup_retention"] = backups
    if p.get("ServerlessV2ScalingConfiguration") is not None:
        ctx.assume(f"{name}: Aurora Serverless v2 scaling (ACUs) is not modelled; the instances have a fixed class")
    for m in members:
        ctx.fold(m, name)
        ctx.names.pop(m, None)  # mapped here, not as instances of their own
    ctx.add(c, spec)


def _multi_az_cluster(ctx: Ctx, c: str, engine: str, p: dict[str, Any]) -> None:
    name = ctx.names[c]
    spec: dict[str, Any] = {"type": "rds", "engine": _MULTI_AZ_CLUSTER[engine], "deployment": "multi_az_cluster"}
    spec["instance_class"] = _class(ctx, c, "DBClusterInstanceClass", p.get("DBClusterInstanceClass"))
    storage = ctx.num(c, p, "AllocatedStorage", structural=False)
    if storage is not None:
        spec["storage_gb"] = storage
    if ctx.flag(p, "StorageEncrypted"):
        spec["encrypted"] = True
    # a writer and two readable standbys, each in its own AZ [aws-facts §11 RDS Multi-AZ DB cluster]
    ctx.zones[name] = ["a", "b", "c"]
    ctx.assume(f"{name}: a Multi-AZ DB cluster's writer and two standbys are in three AZs; the spec gets a, b, c")
    ctx.add(c, spec)


def efs(ctx: Ctx, fs: str) -> None:
    p = ctx.tpl.props(fs)
    name = ctx.names[fs]
    spec: dict[str, Any] = {"type": "efs"}
    zones: set[str] = set()
    for mt in ctx.of_type("AWS::EFS::MountTarget"):
        mp = ctx.tpl.props(mt)
        if ctx.target(mp.get("FileSystemId")) != fs:
            continue
        got, _ = ctx.subnet_zones([mp.get("SubnetId")])
        zones.update(got)
        ctx.fold(mt, name)
    for ap in ctx.of_type("AWS::EFS::AccessPoint"):
        if ctx.target(ctx.tpl.props(ap).get("FileSystemId")) == fs:
            ctx.fold(ap, name)
    if zones:
        spec["zones"] = sorted(zones)
        ctx.zones[name] = sorted(zones)
    else:
        ctx.assume(f"{name}: its mount targets' AZs are not in the template: one mount target per spec zone")
    if ctx.flag(p, "Encrypted"):
        spec["encrypted"] = True
    for prop in ("PerformanceMode", "ThroughputMode"):
        if prop in p:
            ctx.assume(f"{name}: {prop} {p[prop]} is not modelled (one latency distribution for every mode)")
    spec["storage_gb"] = ctx.default(fs, "(stored size: EFS grows with its data)", "storage_gb", 10.0,
                                     "the spec's default; assumption")
    fleets = _mounted_by(ctx, fs)
    for f in fleets:
        ctx.components[f].setdefault("mounts", []).append(name)
    ctx.assume(f"{name}: a mount is made by commands in user data, which the import does not run: "
               + (f"the user data of {', '.join(fleets)} names it: it is in their `mounts:`" if fleets else
                  "no instance's user data names it, so no fleet `mounts:` it (add it to the fleets that do)"))
    ctx.add(fs, spec)


def _user_data(ctx: Ctx, logical: str) -> str:
    p = ctx.tpl.props(logical)
    data = p.get("UserData") or (p.get("LaunchTemplateData") or {}).get("UserData")
    return str(data) if data is not None else ""


def _mounted_by(ctx: Ctx, fs: str) -> list[str]:
    """The instances and groups whose user data (their own, or their launch template's or
    configuration's) names the file system: the only trace of a mount a template has."""
    pattern = re.compile(rf"<{fs}[.>]")
    out: list[str] = []
    for comp, spec in ctx.components.items():
        if spec["type"] not in ("ec2", "asg"):
            continue
        sources = [ctx.origin[comp].logical, *(r for r, c in ctx.folded.items() if c == comp)]
        if any(pattern.search(_user_data(ctx, r)) for r in sources):
            out.append(comp)
    return out


_VOLUME_TYPES = ("gp2", "gp3", "io1", "io2")


def ebs(ctx: Ctx, v: str) -> None:
    p = ctx.tpl.props(v)
    name = ctx.names[v]
    kind = str(p.get("VolumeType", "")).lower()
    if kind and kind not in _VOLUME_TYPES:
        ctx.leave(v, f"volume type {kind} (HDD or magnetic) is not modelled; cloudtwin has gp2, gp3, io1, io2")
        return
    spec: dict[str, Any] = {"type": "ebs"}
    # CreateVolume's VolumeType default is gp2 (EC2 API reference; no aws-facts row)
    spec["volume_type"] = kind or ctx.default(v, "VolumeType", "volume_type", "gp2",
                                              "AWS's default (EC2 CreateVolume: gp2)")
    size = ctx.num(v, p, "Size", structural=False)
    spec["size_gb"] = size if size is not None else ctx.default(
        v, "Size", "size_gb", 100.0, "the spec's default; a volume from a snapshot takes the snapshot's size")
    iops = ctx.int_(v, p, "Iops", structural=False)
    if iops is not None and spec["volume_type"] != "gp2":
        spec["iops"] = iops
    elif spec["volume_type"] in ("io1", "io2"):
        spec["iops"] = ctx.default(v, "Iops", "iops", 3000, "assumption; AWS requires Iops for io1 and io2")
    zone = ctx.zone_letter(p.get("AvailabilityZone"))
    if zone:
        spec["zone"] = zone
        ctx.zones[name] = [zone]
    if ctx.flag(p, "Encrypted"):
        spec["encrypted"] = True
    if ctx.flag(p, "MultiAttachEnabled"):
        spec["multi_attach"] = True
    for att in ctx.of_type("AWS::EC2::VolumeAttachment"):
        ap = ctx.tpl.props(att)
        if ctx.target(ap.get("VolumeId")) != v:
            continue
        inst = ctx.comp(ap.get("InstanceId"))
        comp = ctx.components.get(inst or "")
        if comp is None or comp.get("type") != "ec2":
            ctx.leave(att, "it attaches the volume to an instance that is not mapped")
            continue
        comp.setdefault("mounts", []).append(name)
        ctx.fold(att, name)
    for inst in ctx.of_type("AWS::EC2::Instance"):  # an instance's Volumes list attaches too
        for entry in ctx.tpl.props(inst).get("Volumes") or []:
            comp = ctx.components.get(ctx.names.get(inst, ""))
            if isinstance(entry, dict) and ctx.target(entry.get("VolumeId")) == v and comp is not None \
                    and name not in comp.setdefault("mounts", []):
                comp["mounts"].append(name)
    ctx.add(v, spec)
