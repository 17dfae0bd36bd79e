"""A CloudFormation template to a cloudtwin spec: map the resources, add workload stubs at the
entry points, and write the spec with its header of defaults, assumptions and unmapped resources.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml

from cloudtwin import catalogue, limits
from cloudtwin.errors import Issue, SpecError
from cloudtwin.importers import (
    hcl,
    map_api,
    map_compute,
    map_containers,
    map_data,
    map_edge,
    map_events,
    map_managed,
    map_messaging,
    map_monitoring,
    map_security,
    map_storage,
    sam,
    terraform,
)
from cloudtwin.importers.cloudformation import Template, load_template
from cloudtwin.importers.mapping import Ctx, Mapper, kebab, plan_names
from cloudtwin.importers.tf_types import TABLE

__all__ = ["Imported", "import_template", "MAPPERS"]

# CloudFormation type -> its mapper, in the order they run (a function's stream consumers need
# the stream, an SNS HTTP subscription its load balancer, a record its target)
MAPPERS: dict[str, Mapper] = {
    "AWS::Kinesis::Stream": map_data.kinesis,
    "AWS::DynamoDB::Table": map_data.dynamodb,
    "AWS::DAX::Cluster": map_managed.dax,  # after its table
    "AWS::RDS::DBCluster": map_storage.db_cluster,  # before the instances: it takes its own
    "AWS::RDS::DBInstance": map_data.rds,
    "AWS::ElastiCache::CacheCluster": map_data.cache_cluster,
    "AWS::ElastiCache::ReplicationGroup": map_data.replication_group,
    "AWS::EC2::Instance": map_compute.ec2,
    "AWS::EC2::Volume": map_storage.ebs,  # after the instances it is attached to
    "AWS::AutoScaling::AutoScalingGroup": map_compute.asg,
    "AWS::EFS::FileSystem": map_storage.efs,  # after the fleets whose user data mounts it
    "AWS::ElasticLoadBalancingV2::LoadBalancer": map_compute.lb_v2,
    "AWS::ElasticLoadBalancing::LoadBalancer": map_compute.clb,
    "AWS::SQS::Queue": map_messaging.sqs,
    "AWS::Lambda::Function": map_messaging.lambda_,
    "AWS::SNS::Topic": map_messaging.sns,
    "AWS::S3::Bucket": map_data.s3,
    "AWS::Redshift::Cluster": map_managed.redshift,
    "AWS::ApiGateway::RestApi": map_api.api,  # after the functions and load balancers it integrates with
    "AWS::ApiGatewayV2::Api": map_api.api,
    "AWS::ECS::Service": map_containers.service,
    "AWS::Events::EventBus": map_events.event_bus,  # after the functions, queues, topics and services it targets
    "AWS::Events::Rule": map_events.rule,
    "AWS::CloudTrail::Trail": map_events.trail,  # after the bus it puts its events on
    "AWS::KinesisFirehose::DeliveryStream": map_events.firehose,  # after its stream, bucket, function, cluster
    "AWS::CloudFront::Distribution": map_edge.distribution,  # after its origins
    "AWS::Cognito::UserPool": map_managed.user_pool,
    "AWS::SES::EmailIdentity": map_managed.email_identity,
    "AWS::Athena::WorkGroup": map_managed.workgroup,
    "AWS::CloudWatch::Alarm": map_monitoring.alarm,
    "AWS::WAFv2::WebACL": map_security.web_acl,  # after what it protects
}
_ROUTE53 = ("AWS::Route53::HostedZone", "AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup",
            "AWS::Route53::HealthCheck")
STUB_RATE = "10/s"


@dataclass
class Imported:
    """What an import made: the spec's text and what the header says."""

    text: str
    ctx: Ctx
    workloads: dict[str, Any]
    stubs: list[str] = field(default_factory=list)  # workload names that are stubs

    @property
    def unmapped(self) -> list[tuple[str, str, int, str]]:
        return self.ctx.unmapped


def _catalogue_type(cfn: str) -> str | None:
    for r in catalogue.ROWS.values():
        if cfn in r.cfn:
            return r.type
    return None


def _map(tpl: Template, untranslated: frozenset[str] = frozenset()) -> Ctx:
    """Map the resources; ``untranslated`` are Terraform resources whose attributes have no
    translator yet (their CloudFormation type is known, their properties are not): listed, not mapped."""
    ctx = Ctx(tpl)
    for cfn in [*MAPPERS, *_ROUTE53]:  # every mapped type must be in the catalogue's CloudFormation column
        assert _catalogue_type(cfn) is not None, cfn
    plan_names(ctx, set(MAPPERS) | set(_ROUTE53))
    for logical in untranslated:
        ctx.names.pop(logical, None)
    for cfn, mapper in MAPPERS.items():
        for logical in ctx.of_type(cfn):
            if logical in ctx.names and ctx.names[logical] not in ctx.components:
                try:
                    mapper(ctx, logical)
                except (AttributeError, TypeError) as e:  # a property of another shape than AWS's (a list for a map)
                    raise tpl.error(("Resources", logical, "Properties"), f"a property of {cfn} is not of the shape "
                                    f"CloudFormation accepts ({e})") from None
    map_compute.route53(ctx)
    owner = {kebab(u[0]): u[0] for u in ctx.unmapped}
    for logical, comp in list(ctx.folded.items()):  # a part whose owner was left unmapped after all
        if comp not in ctx.components:
            del ctx.folded[logical]
            ctx.unmapped.append((logical, ctx.res_type(logical), ctx.line(logical),
                                 f"part of {owner.get(comp, comp)}, which is not mapped"))
    made = {o.logical for o in ctx.origin.values()}
    left = {u[0] for u in ctx.unmapped}
    for logical, body in tpl.resources.items():
        kind = str(body["Type"])
        if not tpl.included(logical):
            ctx.skipped.append((logical, kind, ctx.line(logical), f"condition {body.get('Condition')} is false"))
        elif logical not in made and logical not in ctx.folded and logical not in left:
            ours = _catalogue_type(kind)
            why = (f"cloudtwin has a `{ours}` component for it; the importer does not map it yet" if ours
                   else "no cloudtwin component for this type")
            ctx.unmapped.append((logical, kind, ctx.line(logical), why))
    ctx.unmapped.sort(key=lambda u: u[2])
    return ctx


def _zones(ctx: Ctx) -> list[str]:
    used = sorted({z for zs in ctx.zones.values() for z in zs})
    for z in "ab":
        if len(used) < 2 and z not in used:
            used.append(z)
    used = sorted(used)
    for name, spec in ctx.components.items():
        if spec["type"] == "alb" and "zones" not in spec:
            targets = spec["targets"] if isinstance(spec["targets"], list) else [spec["targets"]]
            theirs = {z for t in targets for z in ctx.zones.get(t, used if ctx.components[t]["type"] == "asg"
                                                                 else used[:1])}
            if len(theirs) < 2:
                spec["zones"] = used[:2]
                ctx.assume(f"{name}: an ALB needs two AZs and its subnets' AZs are not in the template: "
                           f"zones {', '.join(used[:2])}")
    return used


def _entries(ctx: Ctx) -> list[tuple[str, str]]:
    """(component, why) for each entry point of the architecture."""
    comps = ctx.components
    out: list[tuple[str, str]] = []
    aliased = {r.get("alias") for c in comps.values() if c["type"] == "route53" for r in c["records"]}
    aliased |= {b["origin"] for c in comps.values() if c["type"] == "cloudfront" for b in c["behaviors"]}
    fed: set[str] = set()
    for c in comps.values():
        fed.update(x for x in (c.get("dlq"), c.get("on_failure")) if x)
        fed.update(s.get("target") for s in c.get("subscriptions", []))
        fed.update(s.get("dlq") for s in c.get("subscriptions", []) if s.get("dlq"))
        fed.update(n["target"] for n in c.get("notifications", []))
        fed.update(x for x in (c.get("bus"),) if c["type"] == "cloudtrail" and x)
        for r in c.get("rules", []) if c["type"] == "eventbridge" else []:
            fed.update(x for t in r["targets"] for x in (t["target"], t.get("dlq")) if x)
    for name, c in comps.items():
        kind = c["type"]
        if kind == "route53":
            out.append((name, f"the Route 53 record {c['records'][0]['name']}"))
        elif kind == "apigateway" and name not in aliased:
            out.append((name, f"the API {name}"))
        elif kind in ("alb", "nlb", "clb") and c.get("internet_facing", True) and name not in aliased:
            out.append((name, "an internet-facing load balancer"))
        elif kind == "cloudfront":
            out.append((name, f"the distribution {name}"))
        elif kind == "firehose" and not c.get("source"):
            out.append((name, f"the delivery stream {name} (Direct PUT from producers outside)"))
        elif kind == "cloudtrail":
            out.append((name, f"the trail {name} (API calls in the account)"))
        elif kind == "eventbridge" and name not in fed and any(r.get("pattern") for r in c["rules"]):
            out.append((name, f"the event bus {name}, whose events come from outside (the first pattern's values)"))
        elif kind in ("sqs", "sns", "kinesis") and name not in fed:
            consumed = any(name in (e.get("queue") for e in x.get("event_sources", [])) for x in comps.values())
            if kind != "sqs" or consumed:
                noun = {"sqs": "queue", "sns": "topic", "kinesis": "stream"}[kind]
                out.append((name, f"the {noun} {name}, which nothing in the template sends to (its producers are "
                                  "outside)"))
    return out


def _event_fields(bus: dict[str, Any], detail_type: str | None = None) -> dict[str, Any]:
    """A stub event that matches the bus's first pattern (of that detail-type): each field's first plain value."""
    pattern: dict[str, Any] = next((r["pattern"] for r in bus["rules"] if r.get("pattern") and (
        detail_type is None or detail_type in r["pattern"].get("detail-type", []))), {})
    out: dict[str, Any] = {}

    def walk(p: dict[str, Any], prefix: str) -> None:
        for k, v in p.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                walk(v, key)
            elif isinstance(v, list) and v and isinstance(v[0], str | int | float) and len(out) < 10:
                out[key] = v[0]
    walk(pattern, "")
    return out


def _load_workloads(path: str) -> dict[str, Any]:
    from cloudtwin.fileio import read_text_bounded
    from cloudtwin.spec.loader import load_yaml

    located = load_yaml(read_text_bounded(path, limits.MAX_SPEC_BYTES, "workload file"), path)
    data = located.data
    if isinstance(data, dict) and "workloads" in data:
        data = data["workloads"]
    if not isinstance(data, dict) or not data:
        raise SpecError([Issue("", "a workload file holds a mapping of workloads (or a `workloads:` key with one)",
                               path, 1)])
    return data


def _dump(value: Any, indent: int) -> str:
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=110, allow_unicode=True)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _header(ctx: Ctx, file: str, tpl: Template, stubs: bool, kind: str, notes: terraform.Notes | None) -> list[str]:
    h = [f"# Imported by `cloudtwin import` from {os.path.basename(file.rstrip('/')) or file} ({kind}).",
         "# A template describes resources, not behaviour or traffic: review the handlers and workloads."]
    if notes is not None:
        h += [f"# {line}" for line in notes.header]
        if notes.unresolved:
            h.append("#")
            h.append(f"# Unresolved ({len(notes.unresolved)}: values the input does not know; defaults taken where "
                     "they matter):")
            h += [f"#   {u}" for u in notes.unresolved]
    declared = tpl.located.data.get("Parameters") or {}
    if declared:
        h.append("#")
        h.append("# Parameters:")
        for name in declared:
            v = tpl.values.get(name)
            how = "--param" if name in tpl.params else "placeholder" if name in {p[0] for p in tpl.placeholders} \
                else "Default"
            h.append(f"#   {name} = {v} ({how})")
    if tpl.placeholders:
        h.append("# Placeholders (parameters without a value that do not change the architecture):")
        h += [f"#   {n} ({t}, line {line})" for n, t, line in tpl.placeholders]
    if ctx.defaults:
        h.append("#")
        h.append("# Defaults taken (properties the template leaves out):")
        h += [f"#   {d}" for d in ctx.defaults]
    assumptions = ["handlers are empty (each request answers at once): the template says nothing about the code",
                   *ctx.assumptions]
    if stubs:
        assumptions.append(f"workloads are stubs of {STUB_RATE} at each entry point (see below); "
                           "pass --workload FILE for real traffic")
    h.append("#")
    h.append("# Assumptions:")
    h += [f"#   - {a}" for a in assumptions]
    h.append("#")
    if ctx.unmapped:
        h.append(f"# Not mapped ({len(ctx.unmapped)} resources, not simulated):")
        width = max(len(u[0]) for u in ctx.unmapped)
        twidth = max(len(u[1]) for u in ctx.unmapped)
        h += [f"#   {n:<{width}}  {t:<{twidth}}  line {line}: {why}" for n, t, line, why in ctx.unmapped]
    else:
        h.append("# Not mapped: none")
    if ctx.skipped:
        h.append("# Left out by Conditions:")
        h += [f"#   {n}  {t}  line {line}: {why}" for n, t, line, why in ctx.skipped]
    return h


def import_template(path: str, params: dict[str, str] | None = None, workload_file: str | None = None) -> Imported:
    """Import the template at ``path``. :class:`SpecError` (file:line) for a bad template."""
    notes: terraform.Notes | None = None
    if hcl.is_hcl(path):
        located, notes = hcl.load(path, dict(params or {}))
    else:
        located = load_template(path)
    kind = "AWS CloudFormation"
    if notes is None and terraform.is_json(located):
        located, notes = terraform.from_json(located, dict(params or {}))
    if notes is not None:
        kind = notes.kind
        region = (params or {}).get("AWS::Region") or notes.region
        params = {"AWS::Region": region} if region else {}
    elif sam.is_sam(located):
        located = sam.expand(located, dict(params or {}), (params or {}).get("AWS::Region", "us-east-1"))
        kind = "AWS SAM, expanded to CloudFormation by aws-sam-translator; lines are the SAM resources'"
    stem = kebab(os.path.splitext(os.path.basename(path.rstrip("/")))[0]) or "imported"
    try:
        tpl = Template(located, dict(params or {}), stack_name=stem)
        untranslated = frozenset(n for n, t in notes.tf_type.items() if t not in TABLE) if notes else frozenset()
        ctx = _map(tpl, untranslated)
    except RecursionError:  # a chain of references longer than the checks can follow
        raise SpecError([Issue("Resources", "the resources refer to one another in a chain too long to follow "
                               f"(near {sys.getrecursionlimit():,} resources)", path, 1)]) from None
    if notes is not None:
        terraform.finish(ctx, notes)
    if not ctx.components:
        raise SpecError([Issue("Resources", "no resource of the template maps to a cloudtwin component "
                               f"({len(ctx.unmapped)} not mapped)", path, tpl.line(("Resources",)))])
    zones = _zones(ctx)
    stubs: list[str] = []
    if workload_file is not None:
        workloads = _load_workloads(workload_file)
        wl_lines = _dump({"workloads": workloads}, 0).splitlines()
    else:
        workloads, wl_lines = {}, ["workloads:"]
        for entry, why in _entries(ctx):
            name = f"{entry}-traffic"
            workloads[name] = {"entry": entry, "rate": STUB_RATE}
            ctype = ctx.components[entry]["type"]
            if ctype in ("kinesis", "firehose"):
                workloads[name]["retries"] = 2  # the SDK's default retries of a throttled put
            if ctype == "eventbridge":
                workloads[name]["message"] = {"attributes": _event_fields(ctx.components[entry])}
            if ctype == "cloudtrail":
                names = _event_fields(ctx.components[ctx.components[entry]["bus"]], "AWS API Call via CloudTrail")
                if "detail.eventName" in names:
                    workloads[name]["message"] = {"attributes": {"eventName": names["detail.eventName"]}}
            stubs.append(name)
            wl_lines.append(f"  # assumption: {why} is an entry point; {STUB_RATE} is a stub, not a measurement")
            wl_lines += _dump({name: workloads[name]}, 2).splitlines()
        if not workloads:
            wl_lines = ["# assumption: no entry point found (an internet-facing load balancer, a Route 53 record, a "
                        "queue, topic or stream fed from outside); add workloads", "workloads: {}"]
    lines = _header(ctx, path, tpl, bool(stubs), kind, notes)
    lines.append(f"name: {stem}")
    desc = tpl.located.data.get("Description")
    if isinstance(desc, str) and desc.strip():
        lines += _dump({"description": " ".join(desc.split())}, 0).splitlines()
    lines.append(f"region: {tpl.region}")
    lines.append(f"zones: [{', '.join(zones)}]")
    lines.append("")
    lines.append("components:")
    by_comp: dict[str, list[str]] = {}
    for logical, comp in ctx.folded.items():
        label, kind_ = (notes.address[logical], notes.tf_type[logical]) if notes else (logical, ctx.res_type(logical))
        by_comp.setdefault(comp, []).append(f"{label} ({kind_}, line {ctx.line(logical)})")
    for name, spec in sorted(ctx.components.items(), key=lambda kv: ctx.origin[kv[0]].line):
        o = ctx.origin[name]
        lines.append(f"  # {o.logical}: {o.type}, line {o.line}")
        if by_comp.get(name):
            lines.append(f"  #   with {', '.join(by_comp[name])}")
        lines += _dump({name: spec}, 2).splitlines()
    lines.append("")
    lines += wl_lines
    lines.append("")
    lines.append("simulate:")
    lines.append("  duration: 10m  # assumption: a short first run")
    lines.append("  seed: 1")
    return Imported("\n".join(lines) + "\n", ctx, workloads, stubs)
