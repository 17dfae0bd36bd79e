"""Compute and networking to CloudFormation: EC2 instances (and Elastic IPs), Auto Scaling groups
(a launch template, target tracking), load balancers (ALB/NLB: listener, target groups; CLB) and
Route 53 hosted zones with their records and health checks."""

from __future__ import annotations

from typing import Any

from cloudtwin.exporters.export_messaging import secs
from cloudtwin.exporters.template import Out, getatt, ref
from cloudtwin.spec.elb import lb_zones

__all__ = ["asg", "ec2", "load_balancer", "route53", "target_groups"]


def _instances(out: Out, name: str, c: Any) -> list[str]:
    """The logical ids of an ``ec2`` component's instances (``App``, ``App2``...)."""
    first = out.lid(name)
    return [first] + [f"{first}{i}" for i in range(2, c.count + 1)]


def ec2(out: Out, name: str, c: Any) -> None:
    zones = c.zones or [out.arch.zones[0]]
    ids = _instances(out, name, c)
    for i, logical in enumerate(ids):
        out.add(logical, "AWS::EC2::Instance", {
            "InstanceType": c.instance_type, "ImageId": out.ami(c.instance_type),
            "SubnetId": out.subnet(zones[i % len(zones)]), "SecurityGroupIds": [out.security_group()]})
    if c.count > 1:
        out.note(name, f"count {c.count}: {len(ids)} instances ({', '.join(ids)}); an import gives one component "
                       "per instance")
    if c.elastic_ip:
        out.helper(name, "Eip", "AWS::EC2::EIP", {"Domain": "vpc", "InstanceId": ref(ids[0])},
                   DependsOn="VpcGatewayAttachment")
    if not c.public_ip:
        out.note(name, "public_ip: false is not exported (the scaffold's subnets give public addresses)")
    if c.purchase != "on_demand":
        out.note(name, f"purchase {c.purchase} is a billing choice, not a resource")


def target_groups(out: Out) -> dict[str, list[tuple[str, bool]]]:
    """Auto Scaling group -> the target groups (ALB/NLB) or load balancers (CLB) it registers with;
    the group is exported before or after its load balancer, so both ask this."""
    got: dict[str, list[tuple[str, bool]]] = {}
    for name, c in out.comps():
        if c.type not in ("alb", "nlb", "clb"):
            continue
        targets = c.target_names
        for t in targets:
            if out.kind(t) == "asg":
                clb = c.type == "clb"
                got.setdefault(t, []).append((out.lid(name) if clb else _tg_id(out, name, t, len(targets)), clb))
    return got


def _tg_id(out: Out, lb: str, target: str, n: int) -> str:
    return out.lid(lb) + ("TargetGroup" if n == 1 else f"{out.lid(target)}TargetGroup")


def asg(out: Out, name: str, c: Any) -> None:
    lt = out.helper(name, "LaunchTemplate", "AWS::EC2::LaunchTemplate", {
        "LaunchTemplateData": {"ImageId": out.ami(c.instance_type), "InstanceType": c.instance_type,
                               "SecurityGroupIds": [out.security_group()]}})
    mine = target_groups(out).get(name, [])
    tgs = [ref(t) for t, clb in mine if not clb]
    clbs = [ref(t) for t, clb in mine if clb]
    cap = c.capacity
    g = out.add(out.lid(name), "AWS::AutoScaling::AutoScalingGroup", {
        "LaunchTemplate": {"LaunchTemplateId": ref(lt), "Version": getatt(lt, "LatestVersionNumber")},
        "MinSize": str(cap.min), "MaxSize": str(cap.top),
        "DesiredCapacity": str(cap.desired) if cap.desired is not None else None,
        "VPCZoneIdentifier": out.subnets(c.zones),
        "HealthCheckType": c.health_check.type.upper(),
        "HealthCheckGracePeriod": secs(c.health_check.grace_period),
        "Cooldown": str(secs(c.scaling.default_cooldown)) if c.scaling else None,
        "CapacityRebalance": True if c.capacity_rebalance else None,
        "TargetGroupARNs": tgs or None, "LoadBalancerNames": clbs or None})
    s = c.scaling
    if s is not None and s.target_cpu is not None:
        out.helper(name, "CpuTargetTracking", "AWS::AutoScaling::ScalingPolicy", {
            "AutoScalingGroupName": ref(g), "PolicyType": "TargetTrackingScaling",
            "EstimatedInstanceWarmup": secs(s.warmup) if s.warmup is not None else None,
            "TargetTrackingConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                "TargetValue": s.target_cpu, "DisableScaleIn": True if s.disable_scale_in else None}})
    if s is not None and (s.policies or s.scheduled):
        out.note(name, f"{len(s.policies)} step policies and {len(s.scheduled)} scheduled actions are not exported "
                       "(a step policy needs its CloudWatch alarm; a scheduled action is at a time of the run)")
    if c.elastic_ip:  # the address the group's instance attaches at boot; the user data that does it is not exported
        out.helper(name, "Eip", "AWS::EC2::EIP", {"Domain": "vpc"}, DependsOn="VpcGatewayAttachment")
        out.note(name, "elastic_ip: the Elastic IP is exported; the user data (or lifecycle hook) attaching it "
                       "to the group's instance, and its instance role, are not")
    if c.purchase.spot or c.purchase.reserved:
        out.note(name, "the purchase mix (spot, reserved) is not exported")


def _tg_attrs(c: Any, alb: bool) -> list[dict[str, str]]:
    attrs = {"deregistration_delay.timeout_seconds": str(secs(c.deregistration_delay))}
    st = c.sticky
    if st is not None:
        kind = st.type or ("lb_cookie" if alb else "source_ip")
        attrs["stickiness.enabled"] = "true"
        attrs["stickiness.type"] = kind
        if kind == "lb_cookie":
            attrs["stickiness.lb_cookie.duration_seconds"] = str(secs(st.duration))
        elif kind == "app_cookie":
            attrs["stickiness.app_cookie.cookie_name"] = "SESSION"
            attrs["stickiness.app_cookie.duration_seconds"] = str(secs(st.duration))
    if alb and c.slow_start:
        attrs["slow_start.duration_seconds"] = str(secs(c.slow_start))
    if alb and c.algorithm == "least_outstanding_requests":
        attrs["load_balancing.algorithm.type"] = "least_outstanding_requests"
    return [{"Key": k, "Value": v} for k, v in attrs.items()]


def _health_check(c: Any, alb: bool) -> dict[str, Any]:
    hc = c.health_check
    proto = (hc.protocol or ("http" if alb else "tcp")).upper()
    return {"HealthCheckProtocol": proto if hc.protocol else None,
            "HealthCheckPath": hc.path if proto in ("HTTP", "HTTPS") and (hc.protocol or alb) else None,
            "HealthCheckIntervalSeconds": secs(hc.interval) if hc.interval is not None else None,
            "HealthCheckTimeoutSeconds": secs(hc.timeout) if hc.timeout is not None else None,
            "HealthyThresholdCount": hc.healthy_threshold, "UnhealthyThresholdCount": hc.unhealthy_threshold}


def load_balancer(out: Out, name: str, c: Any) -> None:
    zones = lb_zones(out.arch, c) or list(out.arch.zones)
    if c.type == "clb":
        _clb(out, name, c, zones)
        return
    alb = c.type == "alb"
    if alb and len(zones) < 2:  # an ALB needs subnets in two AZs
        zones = sorted(set(zones) | set([z for z in out.arch.zones if z not in zones][:2 - len(zones)]))
        if len(zones) < 2:
            zones = sorted(set(zones) | {"b" if zones[0] != "b" else "a"})
    attrs = [] if c.cross_zone is None else [
        {"Key": "load_balancing.cross_zone.enabled", "Value": "true" if c.cross_zone else "false"}]
    lb = out.add(out.lid(name), "AWS::ElasticLoadBalancingV2::LoadBalancer", {
        "Type": "application" if alb else "network", "Scheme": "internet-facing" if c.internet_facing else "internal",
        "Subnets": out.subnets(zones), "SecurityGroups": [out.security_group()] if alb else None,
        "LoadBalancerAttributes": attrs or None})
    targets = c.target_names
    groups: list[tuple[str, str]] = []
    for t in targets:
        ids = _instances(out, t, out.comp(t)) if out.kind(t) == "ec2" else []
        tg = out.add(_tg_id(out, name, t, len(targets)), "AWS::ElasticLoadBalancingV2::TargetGroup", {
            "VpcId": out.vpc(), "TargetType": "instance", "Port": 80, "Protocol": "HTTP" if alb else "TCP",
            **_health_check(c, alb), "TargetGroupAttributes": _tg_attrs(c, alb),
            "Targets": [{"Id": ref(i)} for i in ids] or None})
        groups.append((t, tg))
    if len(groups) == 1:
        action: dict[str, Any] = {"Type": "forward", "TargetGroupArn": ref(groups[0][1])}
    else:
        weights = c.weights or {}
        action = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": ref(tg), "Weight": weights.get(t, 1)} for t, tg in groups]}}
    if c.https:
        proto, port = ("HTTPS" if alb else "TLS"), 443
    else:
        proto, port = ("HTTP" if alb else "TCP"), 80
    out.helper(name, "Listener", "AWS::ElasticLoadBalancingV2::Listener", {
        "LoadBalancerArn": ref(lb), "Port": port, "Protocol": proto,
        "Certificates": [{"CertificateArn": out.certificate()}] if c.https else None,
        "DefaultActions": [action]})


def _clb(out: Out, name: str, c: Any, zones: list[str]) -> None:
    instances = [ref(i) for t in c.target_names if out.kind(t) == "ec2"
                 for i in _instances(out, t, out.comp(t))]
    hc = c.health_check
    listener: dict[str, Any] = {"LoadBalancerPort": "443" if c.https else "80", "InstancePort": "80",
                                "Protocol": "HTTPS" if c.https else "HTTP", "InstanceProtocol": "HTTP"}
    if c.https:
        listener["SSLCertificateId"] = out.certificate()
    out.add(out.lid(name), "AWS::ElasticLoadBalancing::LoadBalancer", {
        "Scheme": "internal" if not c.internet_facing else None, "Subnets": out.subnets(zones),
        "SecurityGroups": [out.security_group()], "Listeners": [listener], "Instances": instances or None,
        "CrossZone": c.cross_zone,
        "HealthCheck": {"Target": f"{(hc.protocol or 'http').upper()}:80{hc.path if hc.protocol != 'tcp' else ''}",
                        "Interval": str(secs(hc.interval or 30)), "Timeout": str(secs(hc.timeout or 5)),
                        "HealthyThreshold": str(hc.healthy_threshold or 10),
                        "UnhealthyThreshold": str(hc.unhealthy_threshold or 2)},
        "ConnectionDrainingPolicy": {"Enabled": True, "Timeout": secs(c.deregistration_delay)}})


def _zone_name(records: list[Any]) -> str:
    labels = records[0].name.rstrip(".").split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else labels[0]


def route53(out: Out, name: str, c: Any) -> None:
    zone = out.add(out.lid(name), "AWS::Route53::HostedZone", {"Name": _zone_name(c.records)})
    for i, r in enumerate(c.records, 1):
        props: dict[str, Any] = {"HostedZoneId": ref(zone), "Name": r.name, "Type": "A"}
        target = r.alias or r.a
        kind = out.kind(target)
        if r.alias:
            lb = out.lid(str(r.alias))
            props["AliasTarget"] = {
                "DNSName": getatt(lb, "DNSName"),
                "HostedZoneId": getatt(lb, "CanonicalHostedZoneNameID" if kind == "clb" else "CanonicalHostedZoneID"),
                "EvaluateTargetHealth": r.evaluate_target_health}
        else:
            inst = out.comp(str(r.a))
            eip = out.lid(str(r.a)) + "Eip"
            props["ResourceRecords"] = [ref(eip) if inst.elastic_ip else getatt(out.lid(str(r.a)), "PublicIp")]
            props["TTL"] = str(secs(r.ttl if r.ttl is not None else 300.0))  # 300 s (assumption, as the spec)
        if r.routing == "failover":
            props.update(Failover=str(r.failover).upper(), SetIdentifier=f"{target}-{r.failover}")
        elif r.routing == "weighted":
            props.update(Weight=r.weight if r.weight is not None else 1, SetIdentifier=f"{target}-{i}")
        if r.health_check is not False:
            hc = r.health_check if r.health_check is not True else None
            address: dict[str, Any] = {"FullyQualifiedDomainName": getatt(out.lid(str(target)), "DNSName")} \
                if r.alias else {"IPAddress": props["ResourceRecords"][0]}
            check = out.helper(name, f"Record{i}HealthCheck", "AWS::Route53::HealthCheck", {"HealthCheckConfig": {
                "Type": "HTTP", "Port": 80, "ResourcePath": "/", **address,
                "RequestInterval": secs(hc.interval) if hc else 30,  # 30 s standard [aws-facts §4]
                "FailureThreshold": hc.failure_threshold if hc else 3}})
            props["HealthCheckId"] = ref(check)
        out.helper(name, f"Record{i}", "AWS::Route53::RecordSet", props)
