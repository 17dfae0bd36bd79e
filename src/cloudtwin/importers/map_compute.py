"""Compute and networking: EC2 instances, Auto Scaling groups (with their launch templates or
configurations and target-tracking policies), load balancers (with their target groups and
listeners) and Route 53 records."""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.cloudformation import Unknown
from cloudtwin.importers.mapping import Ctx
from cloudtwin.sizes import instance_vcpus

_TG = "AWS::ElasticLoadBalancingV2::TargetGroup"


def _instance_type(ctx: Ctx, logical: str, spec: dict[str, Any], value: Any, source: str) -> None:
    if isinstance(value, str) and value:
        spec["instance_type"] = value
        if instance_vcpus(value) is None:
            spec["workers"] = 2
            ctx.assume(f"{ctx.names[logical]}: instance type {value} is not in cloudtwin's table: "
                       "2 vCPUs (workers: 2), unpriced")
        return
    why = "its parameter has no value" if isinstance(value, Unknown) else f"{source} does not say"
    spec["instance_type"] = ctx.default(logical, "InstanceType", "instance_type", "m5.large",
                                        f"the spec's default; {why}")


def _launch_type(ctx: Ctx, asg: str, p: dict[str, Any]) -> Any:
    """The instance type of an ASG's launch template or configuration."""
    lt = p.get("LaunchTemplate")
    mixed = p.get("MixedInstancesPolicy")
    if isinstance(mixed, dict):
        mlt = mixed.get("LaunchTemplate") or {}
        for o in mlt.get("Overrides") or []:
            if isinstance(o, dict) and isinstance(o.get("InstanceType"), str):
                return o["InstanceType"]
        lt = mlt.get("LaunchTemplateSpecification")
    if isinstance(lt, dict):
        ref = ctx.target(lt.get("LaunchTemplateId")) or ctx.target(lt.get("LaunchTemplateName"))
        if ref and ctx.res_type(ref) == "AWS::EC2::LaunchTemplate":
            ctx.fold(ref, ctx.names[asg])
            return (ctx.tpl.props(ref).get("LaunchTemplateData") or {}).get("InstanceType")
    lc = ctx.target(p.get("LaunchConfigurationName"))
    if lc and ctx.res_type(lc) == "AWS::AutoScaling::LaunchConfiguration":
        ctx.fold(lc, ctx.names[asg])
        return ctx.tpl.props(lc).get("InstanceType")
    return None


def ec2(ctx: Ctx, inst: str) -> None:
    p = ctx.tpl.props(inst)
    spec: dict[str, Any] = {"type": "ec2"}
    lt = p.get("LaunchTemplate")
    itype = p.get("InstanceType")
    if itype is None and isinstance(lt, dict):
        ref = ctx.target(lt.get("LaunchTemplateId")) or ctx.target(lt.get("LaunchTemplateName"))
        if ref and ctx.res_type(ref) == "AWS::EC2::LaunchTemplate":
            itype = (ctx.tpl.props(ref).get("LaunchTemplateData") or {}).get("InstanceType")
            ctx.fold(ref, ctx.names[inst])
    _instance_type(ctx, inst, spec, itype, "the instance")
    zone = ctx.zone_letter(p.get("AvailabilityZone"))
    if zone is None and p.get("SubnetId") is not None:
        zones, _ = ctx.subnet_zones([p.get("SubnetId")])
        zone = zones[0] if zones else None
    if zone:
        spec["zones"] = [zone]
        ctx.zones[ctx.names[inst]] = [zone]
    for eip in ctx.of_type("AWS::EC2::EIP", "AWS::EC2::EIPAssociation"):
        if ctx.target(ctx.tpl.props(eip).get("InstanceId")) == inst:
            spec["elastic_ip"] = True
            ctx.fold(eip, ctx.names[inst])
    ctx.add(inst, spec)


def asg(ctx: Ctx, g: str) -> None:
    p = ctx.tpl.props(g)
    name = ctx.names[g]
    spec: dict[str, Any] = {"type": "asg"}
    _instance_type(ctx, g, spec, _launch_type(ctx, g, p), "its launch template or configuration")
    zones, n = ctx.subnet_zones(p.get("VPCZoneIdentifier")) if "VPCZoneIdentifier" in p else ([], 0)
    if not zones and isinstance(p.get("AvailabilityZones"), list):
        zones = sorted({z for z in (ctx.zone_letter(a) for a in p["AvailabilityZones"]) if z})
    if not zones:
        count = n if n > 0 else 2
        zones = list("abcdef"[:min(count, 6)])
        ctx.assume(f"{name}: its subnets' AZs are not in the template: zones {', '.join(zones)} "
                   f"({'one per subnet' if n > 0 else 'two'})")
    spec["zones"] = zones
    ctx.zones[name] = zones
    lo = ctx.int_(g, p, "MinSize")
    hi = ctx.int_(g, p, "MaxSize")
    desired = ctx.int_(g, p, "DesiredCapacity")
    cap: dict[str, int] = {"min": lo if lo is not None else 1}
    if desired is not None:
        cap["desired"] = desired
    if hi is not None:
        cap["max"] = hi
    spec["capacity"] = cap
    hc_type = str(p.get("HealthCheckType", "")).lower()
    grace = ctx.num(g, p, "HealthCheckGracePeriod", structural=False)
    spec["health_check"] = {
        "type": hc_type if hc_type in ("ec2", "elb") else ctx.default(g, "HealthCheckType", "health_check.type", "ec2"),
        "grace_period": f"{int(grace)}s" if grace is not None else ctx.default(
            g, "HealthCheckGracePeriod", "health_check.grace_period", "0s", "AWS's default from CloudFormation"),
    }
    for pol in ctx.of_type("AWS::AutoScaling::ScalingPolicy"):
        pp = ctx.tpl.props(pol)
        if ctx.target(pp.get("AutoScalingGroupName")) != g:
            continue
        tt = pp.get("TargetTrackingConfiguration") or {}
        metric = (tt.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        target = ctx.num(pol, tt, "TargetValue", structural=False)
        if metric == "ASGAverageCPUUtilization" and target is not None:
            spec["scaling"] = {"target_cpu": target}
            if tt.get("DisableScaleIn") in (True, "true"):
                spec["scaling"]["disable_scale_in"] = True
            ctx.fold(pol, name)
        else:
            ctx.leave(pol, "only target tracking on ASGAverageCPUUtilization is mapped")
    ctx.add(g, spec)


def _tg_targets(ctx: Ctx, tg: str) -> list[str]:
    """The fleets registered with target group ``tg``: instances it lists, groups that name it."""
    out: list[str] = []
    for t in ctx.tpl.props(tg).get("Targets") or []:
        if isinstance(t, dict) and ctx.comp(t.get("Id")):
            out.append(str(ctx.comp(t.get("Id"))))
    for g in ctx.of_type("AWS::AutoScaling::AutoScalingGroup"):
        arns = ctx.tpl.props(g).get("TargetGroupARNs") or []
        if isinstance(arns, list) and any(ctx.target(a) == tg for a in arns) and g in ctx.names:
            out.append(ctx.names[g])
    return list(dict.fromkeys(out))


def _forwards(ctx: Ctx, actions: Any) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for a in actions if isinstance(actions, list) else []:
        if not isinstance(a, dict) or str(a.get("Type", "")).lower() != "forward":
            continue
        if ctx.target(a.get("TargetGroupArn")):
            out.append((str(ctx.target(a.get("TargetGroupArn"))), None))
        for tgw in ((a.get("ForwardConfig") or {}).get("TargetGroups") or []):
            if isinstance(tgw, dict) and ctx.target(tgw.get("TargetGroupArn")):
                w = tgw.get("Weight")
                out.append((str(ctx.target(tgw.get("TargetGroupArn"))), int(str(w)) if str(w).isdigit() else None))
    return out


def _attrs(props: dict[str, Any], key: str) -> dict[str, str]:
    return {str(a.get("Key")): str(a.get("Value")) for a in props.get(key) or [] if isinstance(a, dict)}


def lb_v2(ctx: Ctx, lb: str) -> None:
    p = ctx.tpl.props(lb)
    name = ctx.names[lb]
    kind = str(p.get("Type", "application")).lower()
    if kind not in ("application", "network"):
        ctx.leave(lb, f"a {kind} load balancer is not modelled")
        return
    spec: dict[str, Any] = {"type": "alb" if kind == "application" else "nlb"}
    groups: list[tuple[str, int | None]] = []
    https = False
    for lst in ctx.of_type("AWS::ElasticLoadBalancingV2::Listener"):
        lp = ctx.tpl.props(lst)
        if ctx.target(lp.get("LoadBalancerArn")) != lb:
            continue
        ctx.fold(lst, name)
        https = https or str(lp.get("Protocol", "")).upper() in ("HTTPS", "TLS")
        groups += _forwards(ctx, lp.get("DefaultActions"))
        for rule in ctx.of_type("AWS::ElasticLoadBalancingV2::ListenerRule"):
            rp = ctx.tpl.props(rule)
            if ctx.target(rp.get("ListenerArn")) == lst:
                ctx.fold(rule, name)
                groups += _forwards(ctx, rp.get("Actions"))
    tgs = list(dict.fromkeys(g for g, _ in groups))
    fleets: list[str] = []
    for tg in tgs:
        ctx.fold(tg, name)
        fleets += _tg_targets(ctx, tg)
    fleets = list(dict.fromkeys(fleets))
    if not fleets:
        ctx.leave(lb, "no listener forwards to a target group with instances or an Auto Scaling group")
        for tg in tgs:
            ctx.folded.pop(tg, None)
        return
    spec["targets"] = fleets[0] if len(fleets) == 1 else fleets
    if len(tgs) > 1:
        ctx.assume(f"{name}: its {len(tgs)} target groups are one (the spec's load balancer has one target group"
                   "); health checks and attributes from the first")
    if str(p.get("Scheme", "internet-facing")) == "internal":
        spec["internet_facing"] = False
    if https:
        spec["https"] = True
    zones, _ = ctx.subnet_zones(p.get("Subnets"))
    if len(zones) >= 2 or (zones and spec["type"] == "nlb"):
        spec["zones"] = zones
        ctx.zones[name] = zones
    tp = ctx.tpl.props(tgs[0])
    hc: dict[str, Any] = {}
    for prop, key in (("HealthCheckIntervalSeconds", "interval"), ("HealthCheckTimeoutSeconds", "timeout")):
        v = ctx.num(tgs[0], tp, prop, structural=False)
        if v is not None:
            hc[key] = f"{int(v)}s"
    for prop, key in (("HealthyThresholdCount", "healthy_threshold"),
                      ("UnhealthyThresholdCount", "unhealthy_threshold")):
        v = ctx.num(tgs[0], tp, prop, structural=False)
        if v is not None:
            hc[key] = int(v)
    proto = str(tp.get("HealthCheckProtocol", "")).lower()
    if proto in ("http", "https") or (proto == "tcp" and spec["type"] == "nlb"):
        hc["protocol"] = proto
    if isinstance(tp.get("HealthCheckPath"), str):
        hc["path"] = tp["HealthCheckPath"]
    if hc:
        spec["health_check"] = hc
    else:
        ctx.default(tgs[0], "HealthCheck*", f"{name}.health_check", "by type", "AWS's defaults for the type")
    ta = _attrs(tp, "TargetGroupAttributes")
    delay = ta.get("deregistration_delay.timeout_seconds")
    spec["deregistration_delay"] = f"{delay}s" if delay and delay.isdigit() else ctx.default(
        tgs[0], "deregistration_delay.timeout_seconds", "deregistration_delay", "300s")
    if ta.get("stickiness.enabled") == "true":
        stype = ta.get("stickiness.type", "")
        st: dict[str, Any] = {"type": {"lb_cookie": "lb_cookie", "app_cookie": "app_cookie",
                                       "source_ip": "source_ip"}.get(stype, "lb_cookie" if kind == "application"
                                                                      else "source_ip")}
        dur = ta.get("stickiness.lb_cookie.duration_seconds")
        if dur and dur.isdigit() and st["type"] == "lb_cookie":
            st["duration"] = f"{dur}s"
        spec["stickiness"] = st
    slow = ta.get("slow_start.duration_seconds")
    if slow and slow.isdigit() and int(slow) > 0 and kind == "application":
        spec["slow_start"] = f"{slow}s"
    if ta.get("load_balancing.algorithm.type") == "least_outstanding_requests":
        spec["algorithm"] = "least_outstanding_requests"
    la = _attrs(p, "LoadBalancerAttributes")
    if la.get("load_balancing.cross_zone.enabled") in ("true", "false"):
        spec["cross_zone"] = la["load_balancing.cross_zone.enabled"] == "true"
    weights = {g: w for g, w in groups if w is not None}
    if kind == "application" and len(tgs) == len(fleets) > 1 and len(weights) == len(tgs):
        per = {_tg_targets(ctx, g)[0]: w for g, w in weights.items() if len(_tg_targets(ctx, g)) == 1}
        if len(per) == len(fleets):
            spec["weights"] = per
    ctx.add(lb, spec)


def clb(ctx: Ctx, lb: str) -> None:
    p = ctx.tpl.props(lb)
    fleets = [str(ctx.comp(i)) for i in p.get("Instances") or [] if ctx.comp(i)]
    for g in ctx.of_type("AWS::AutoScaling::AutoScalingGroup"):
        names = ctx.tpl.props(g).get("LoadBalancerNames") or []
        if isinstance(names, list) and any(ctx.target(n) == lb for n in names) and g in ctx.names:
            fleets.append(ctx.names[g])
    if not fleets:
        ctx.leave(lb, "no instances or Auto Scaling group registered with it")
        return
    spec: dict[str, Any] = {"type": "clb", "targets": fleets[0] if len(fleets) == 1 else fleets}
    if str(p.get("Scheme", "internet-facing")) == "internal":
        spec["internet_facing"] = False
    ctx.add(lb, spec)


def route53(ctx: Ctx) -> None:
    """Record sets, grouped into one ``route53`` component per hosted zone (named after the
    HostedZone resource, else after the zone's first record)."""
    sources: list[tuple[str, dict[str, Any]]] = [
        (rs, ctx.tpl.props(rs)) for rs in ctx.of_type("AWS::Route53::RecordSet")]
    for grp in ctx.of_type("AWS::Route53::RecordSetGroup"):
        gp = ctx.tpl.props(grp)
        for r in gp.get("RecordSets") or []:
            if isinstance(r, dict):
                sources.append((grp, {**{k: gp[k] for k in ("HostedZoneId", "HostedZoneName") if k in gp}, **r}))
    groups: dict[str, list[tuple[str, dict[str, Any], Any]]] = {}
    for logical, rp in sources:
        rec = _record(ctx, rp)
        if rec is None:
            if ctx.res_type(logical) == "AWS::Route53::RecordSet":
                ctx.leave(logical, f"a record of type {rp.get('Type')} whose target is not a load balancer or instance "
                          "the spec has")
            continue
        hz = rp.get("HostedZoneId") if "HostedZoneId" in rp else rp.get("HostedZoneName")
        groups.setdefault(ctx.target(hz) or str(hz), []).append((logical, rec, rp.get("HealthCheckId")))
    for key, items in groups.items():
        owner = key if key in ctx.names else items[0][0]
        name = ctx.names[owner]
        ctx.add(owner, {"type": "route53", "records": [rec for _, rec, _ in items]})
        for logical, _, check in items:
            if logical != owner:
                ctx.fold(logical, name)
            if ctx.target(check) in ctx.names:
                ctx.fold(str(ctx.target(check)), name)
    made = {o.logical for o in ctx.origin.values()}
    for r in ctx.of_type(*("AWS::Route53::HostedZone", "AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup",
                           "AWS::Route53::HealthCheck")):
        if r in ctx.names and r not in made and r not in ctx.folded:
            ctx.leave(r, "no record the spec can express (an alias or A record to a load balancer or instance)")


def _instance(ctx: Ctx, value: Any) -> str | None:
    """The ``ec2`` component an A record's value names: the instance's address or its Elastic IP."""
    t = ctx.target(value)
    if t is not None and ctx.res_type(t) == "AWS::EC2::EIP":
        value = ctx.tpl.props(t).get("InstanceId")
    got = ctx.comp(value)
    return got if got is not None and ctx.components.get(got, {}).get("type") == "ec2" else None


def _record(ctx: Ctx, rp: dict[str, Any]) -> dict[str, Any] | None:
    name = str(rp.get("Name", "")).rstrip(".") or "app.example.com"
    rtype = str(rp.get("Type", "")).upper()
    rec: dict[str, Any] = {"name": name}
    alias = rp.get("AliasTarget")
    targets = rp.get("ResourceRecords") or []
    lb_types = ("alb", "nlb", "clb")
    if isinstance(alias, dict):
        t = ctx.comp(alias.get("DNSName"))
        if t is None or ctx.components.get(t, {}).get("type") not in lb_types:
            return None
        rec["alias"] = t
        if alias.get("EvaluateTargetHealth") in (True, "true"):
            rec["evaluate_target_health"] = True
    elif rtype == "CNAME" and targets and ctx.comp(targets[0]) and \
            ctx.components.get(str(ctx.comp(targets[0])), {}).get("type") in lb_types:
        rec["alias"] = ctx.comp(targets[0])
        ctx.assume(f"record {name}: a CNAME to a load balancer is written as an alias record")
    elif rtype == "A" and targets and _instance(ctx, targets[0]):
        rec["a"] = _instance(ctx, targets[0])
        ttl = str(rp.get("TTL", ""))
        if ttl.isdigit():
            rec["ttl"] = f"{ttl}s"
    else:
        return None
    failover = str(rp.get("Failover", "")).lower()
    if failover in ("primary", "secondary"):
        rec["routing"], rec["failover"] = "failover", failover
    elif str(rp.get("Weight", "")).isdigit():
        rec["routing"], rec["weight"] = "weighted", int(str(rp["Weight"]))
    if rp.get("HealthCheckId") is not None:
        rec["health_check"] = True
    return rec
