"""Managed services of one resource each: Cognito user pools, SES identities, Redshift clusters,
DAX clusters and Athena workgroups."""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.mapping import Ctx
from cloudtwin.spec.dax import DAX_MAX_NODES

_REDSHIFT_NODES = ("dc2.large", "dc2.8xlarge", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge")


def user_pool(ctx: Ctx, u: str) -> None:
    p = ctx.tpl.props(u)
    spec: dict[str, Any] = {"type": "cognito"}
    trigger = (p.get("LambdaConfig") or {}).get("PostConfirmation")
    if trigger is not None:
        fn = ctx.comp(trigger)
        if fn is not None and ctx.components.get(fn, {}).get("type") == "lambda":
            spec["post_confirmation"] = fn
        else:
            ctx.assume(f"{ctx.names[u]}: its post-confirmation trigger {trigger} is not a function of the template")
    others = sorted(k for k in (p.get("LambdaConfig") or {}) if k != "PostConfirmation")
    if others:
        ctx.assume(f"{ctx.names[u]}: the Lambda triggers {', '.join(others)} are not modelled")
    spec["users"] = ctx.default(u, "(users: not a template property)", "users", 10_000, "the spec's default; "
                                "assumption")
    for c in ctx.of_type("AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolDomain"):
        if ctx.target(ctx.tpl.props(c).get("UserPoolId")) == u:
            ctx.fold(c, ctx.names[u])
    ctx.add(u, spec)


def email_identity(ctx: Ctx, e: str) -> None:
    # every new account's SES starts in the sandbox (SES quotas page); a template cannot leave it
    spec: dict[str, Any] = {"type": "ses", "sandbox": ctx.default(
        e, "(production access: asked of AWS, not a template property)", "sandbox", True,
        "AWS's default: a new account's SES is in the sandbox")}
    ctx.add(e, spec)


def redshift(ctx: Ctx, r: str) -> None:
    p = ctx.tpl.props(r)
    spec: dict[str, Any] = {"type": "redshift"}
    node = p.get("NodeType")
    if isinstance(node, str) and node in _REDSHIFT_NODES:
        spec["node_type"] = node
    else:
        why = f"{node} is not one cloudtwin models" if isinstance(node, str) else "not known from the template"
        spec["node_type"] = ctx.default(r, "NodeType", "node_type", "dc2.large", f"the spec's default; {why}")
    if str(p.get("ClusterType", "")).lower() == "single-node":
        spec["nodes"] = 1
    else:
        n = ctx.int_(r, p, "NumberOfNodes")
        spec["nodes"] = n if n is not None else ctx.default(r, "NumberOfNodes", "nodes", 2, "the spec's default")
    ctx.add(r, spec)


def dax(ctx: Ctx, d: str) -> None:
    """A DAX cluster does not name its table in CloudFormation (its role's policy does): it is
    mapped only when the template has exactly one DynamoDB table."""
    p = ctx.tpl.props(d)
    tables = [t for t in ctx.of_type("AWS::DynamoDB::Table") if t in ctx.names]
    if len(tables) != 1:
        ctx.leave(d, f"a DAX cluster does not name its table; the template has {len(tables)} DynamoDB tables, so "
                     "which it caches is not known")
        return
    spec: dict[str, Any] = {"type": "dax", "table": ctx.names[tables[0]]}
    ctx.assume(f"{ctx.names[d]}: it caches {ctx.names[tables[0]]}, the template's only DynamoDB table")
    n = ctx.int_(d, p, "ReplicationFactor")
    if n is not None:
        spec["nodes"] = min(max(n, 1), DAX_MAX_NODES)
    if isinstance(p.get("NodeType"), str):
        spec["node_type"] = p["NodeType"]
    zones = sorted({z for z in (ctx.zone_letter(a) for a in p.get("AvailabilityZones") or []) if z})
    if zones:
        spec["zones"] = zones
        ctx.zones[ctx.names[d]] = zones
    ctx.add(d, spec)


def workgroup(ctx: Ctx, w: str) -> None:
    """An Athena workgroup names where results go, not the table's data: mapped when its output
    location is a bucket of the template and the template has one other bucket (the table's)."""
    p = ctx.tpl.props(w)
    out_loc = ((p.get("WorkGroupConfiguration") or {}).get("ResultConfiguration") or {}).get("OutputLocation")
    out_bucket = ctx.comp(out_loc)
    buckets = [ctx.names[b] for b in ctx.of_type("AWS::S3::Bucket") if b in ctx.names]
    data = [b for b in buckets if b != out_bucket]
    if out_bucket is None or len(data) != 1:
        ctx.leave(w, "a workgroup does not name its tables' data; it is mapped when its OutputLocation is a bucket "
                     "of the template and the template has one other bucket")
        return
    spec: dict[str, Any] = {"type": "athena", "bucket": data[0], "output_bucket": out_bucket}
    ctx.assume(f"{ctx.names[w]}: its table's data is the template's other bucket, {data[0]}")
    ctx.add(w, spec)
