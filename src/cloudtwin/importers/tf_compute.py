"""Terraform's compute and networking types to CloudFormation properties: subnets, instances,
Elastic IPs, launch templates, Auto Scaling groups and policies, load balancers with their
target groups and listeners, Route 53 zones and records (the table is :mod:`.tf_types`)."""

from __future__ import annotations

from cloudtwin.importers.tf_view import Props, View


def subnet(r: View) -> Props:
    p: Props = {}
    r.put(p, "AvailabilityZone", "availability_zone")
    return p


def launch_template_ref(r: View) -> Props | None:
    lt = r.ref("launch_template", 0, "id", attr="id") or r.ref("launch_template", 0, "name", attr="id")
    return {"LaunchTemplateId": lt} if lt is not None else None


def instance(r: View) -> Props:
    p: Props = {}
    r.put(p, "InstanceType", "instance_type")
    r.put(p, "AvailabilityZone", "availability_zone")
    subnet = r.ref("subnet_id", attr="id")
    if subnet is not None:
        p["SubnetId"] = subnet
    lt = launch_template_ref(r)
    if lt:
        p["LaunchTemplate"] = lt
    return p


def eip(r: View) -> Props:
    return {"InstanceId": r.ref("instance", attr="id")}


def eip_assoc(r: View) -> Props:
    return {"InstanceId": r.ref("instance_id", attr="id")}


def launch_template(r: View) -> Props:
    return {"LaunchTemplateData": {"InstanceType": r.v("instance_type")}}


def launch_config(r: View) -> Props:
    return {"InstanceType": r.v("instance_type")}


def asg(r: View) -> Props:
    p: Props = {}
    for key, attr in (("MinSize", "min_size"), ("MaxSize", "max_size"), ("DesiredCapacity", "desired_capacity"),
                      ("AvailabilityZones", "availability_zones"), ("HealthCheckType", "health_check_type"),
                      ("HealthCheckGracePeriod", "health_check_grace_period")):
        r.put(p, key, attr)
    subnets = r.refs("vpc_zone_identifier", attr="id") or r.v("vpc_zone_identifier")
    if subnets:
        p["VPCZoneIdentifier"] = subnets
    tgs = r.refs("target_group_arns")
    if tgs:
        p["TargetGroupARNs"] = tgs
    elbs = r.refs("load_balancers", attr="name")
    if elbs:
        p["LoadBalancerNames"] = elbs
    lt = launch_template_ref(r)
    if lt:
        p["LaunchTemplate"] = lt
    lc = r.refs("launch_configuration", attr="name")
    if lc:
        p["LaunchConfigurationName"] = lc[0]
    return p


def asg_attachment(r: View, target: Props) -> None:
    for attr, key in (("lb_target_group_arn", "TargetGroupARNs"), ("alb_target_group_arn", "TargetGroupARNs"),
                      ("elb", "LoadBalancerNames")):
        got = r.refs(attr, attr="name" if attr == "elb" else "arn")
        if got:
            target.setdefault(key, []).append(got[0])


def scaling_policy(r: View) -> Props:
    p: Props = {"AutoScalingGroupName": r.ref("autoscaling_group_name", attr="name"),
                "PolicyType": r.v("policy_type")}
    tt = r.block("target_tracking_configuration")
    if tt:
        spec = (tt.get("predefined_metric_specification") or [{}])[0]
        p["TargetTrackingConfiguration"] = {
            "PredefinedMetricSpecification": {"PredefinedMetricType": spec.get("predefined_metric_type")},
            "TargetValue": tt.get("target_value"), "DisableScaleIn": bool(tt.get("disable_scale_in"))}
    return p


def lb(r: View) -> Props:
    p: Props = {"Type": r.v("load_balancer_type") or "application",
                "Scheme": "internal" if r.v("internal") else "internet-facing"}
    subnets = r.refs("subnets", attr="id") or r.v("subnets")
    if subnets:
        p["Subnets"] = subnets
    cross = r.v("enable_cross_zone_load_balancing")
    if isinstance(cross, bool) and p["Type"] == "network":
        p["LoadBalancerAttributes"] = [{"Key": "load_balancing.cross_zone.enabled", "Value": str(cross).lower()}]
    return p


def target_group(r: View) -> Props:
    p: Props = {}
    hc = r.block("health_check")
    for key, attr in (("HealthCheckIntervalSeconds", "interval"), ("HealthCheckTimeoutSeconds", "timeout"),
                      ("HealthyThresholdCount", "healthy_threshold"),
                      ("UnhealthyThresholdCount", "unhealthy_threshold"), ("HealthCheckPath", "path")):
        if hc.get(attr) not in (None, ""):
            p[key] = hc[attr]
    if hc.get("protocol"):
        p["HealthCheckProtocol"] = str(hc["protocol"]).upper()
    attrs: list[Props] = []
    delay = r.v("deregistration_delay")
    if delay is not None:
        attrs.append({"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)})
    st = r.block("stickiness")
    if st.get("enabled"):
        attrs.append({"Key": "stickiness.enabled", "Value": "true"})
        attrs.append({"Key": "stickiness.type", "Value": str(st.get("type", ""))})
        if st.get("cookie_duration") is not None:
            attrs.append({"Key": "stickiness.lb_cookie.duration_seconds", "Value": str(st["cookie_duration"])})
    slow = r.v("slow_start")
    if slow:
        attrs.append({"Key": "slow_start.duration_seconds", "Value": str(slow)})
    algo = r.v("load_balancing_algorithm_type")
    if algo:
        attrs.append({"Key": "load_balancing.algorithm.type", "Value": str(algo)})
    if attrs:
        p["TargetGroupAttributes"] = attrs
    return p


def actions(r: View, block: str) -> list[Props]:
    out: list[Props] = []
    for i, a in enumerate(r.v(block) or []):
        if not isinstance(a, dict):
            continue
        act: Props = {"Type": a.get("type")}
        tg = r.ref(block, i, "target_group_arn")
        if tg is not None:
            act["TargetGroupArn"] = tg
        groups = ((a.get("forward") or [{}])[0] or {}).get("target_group") or []
        if groups:
            act["ForwardConfig"] = {"TargetGroups": [
                {"TargetGroupArn": r.ref(block, i, "forward", 0, "target_group", j, "arn"), "Weight": g.get("weight")}
                for j, g in enumerate(groups) if isinstance(g, dict)]}
        out.append(act)
    return out


def listener(r: View) -> Props:
    return {"LoadBalancerArn": r.ref("load_balancer_arn"), "Protocol": r.v("protocol"),
            "DefaultActions": actions(r, "default_action")}


def listener_rule(r: View) -> Props:
    return {"ListenerArn": r.ref("listener_arn"), "Actions": actions(r, "action")}


def tg_attachment(r: View, target: Props) -> None:
    got = r.ref("target_id", attr="id")
    if got is not None:
        target.setdefault("Targets", []).append({"Id": got})


def elb(r: View) -> Props:
    return {"Instances": r.refs("instances", attr="id"), "Scheme": "internal" if r.v("internal") else
            "internet-facing"}


def zone(r: View) -> Props:
    return {"Name": r.v("name")}


def record(r: View) -> Props:
    p: Props = {"HostedZoneId": r.ref("zone_id", attr="zone_id"), "Name": r.v("name"), "Type": r.v("type")}
    r.put(p, "TTL", "ttl")
    records = r.refs("records", attr="public_ip") or r.v("records")
    if records:
        p["ResourceRecords"] = records
    alias = r.block("alias")
    if alias:
        p["AliasTarget"] = {"DNSName": r.ref("alias", 0, "name", attr="dns_name"),
                            "EvaluateTargetHealth": bool(alias.get("evaluate_target_health"))}
    failover = r.v("failover_routing_policy", 0, "type")
    if failover:
        p["Failover"] = failover
    weight = r.v("weighted_routing_policy", 0, "weight")
    if weight is not None:
        p["Weight"] = weight
    check = r.ref("health_check_id", attr="id")
    if check is not None:
        p["HealthCheckId"] = check
    return p
