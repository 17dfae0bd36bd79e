"""API Gateway: REST APIs (``AWS::ApiGateway::RestApi`` with an OpenAPI ``Body`` or
``AWS::ApiGateway::Method`` resources) and HTTP APIs (``AWS::ApiGatewayV2::Api`` with a ``Body``
or ``AWS::ApiGatewayV2::Integration`` resources), with their stages' throttling and cache.

A cloudtwin ``apigateway`` has one integration. An API whose routes reach several mapped
components becomes one component per target (``api`` for the first, ``api-<target>`` for the
others), each with the API's stage settings; the header says so. Deployments, stages and the
Lambda permissions that let the API invoke a function are folded into the API.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.importers.mapping import Ctx, Origin

_V1 = "AWS::ApiGateway::RestApi"
_V2 = "AWS::ApiGatewayV2::Api"
_TARGETS = ("lambda", "alb", "nlb", "clb", "ec2", "asg")


def api(ctx: Ctx, logical: str) -> None:
    p = ctx.tpl.props(logical)
    v2 = ctx.res_type(logical) == _V2
    if v2 and str(p.get("ProtocolType", "HTTP")).upper() != "HTTP":
        ctx.leave(logical, "WebSocket APIs are not modelled (cloudtwin's API Gateway serves HTTP requests)")
        return
    routes = _body_routes(ctx, p.get("Body")) + _resource_routes(ctx, logical, v2)
    targets = list(dict.fromkeys(t for _, t in routes))
    if not targets:
        ctx.leave(logical, "none of its integrations reaches a Lambda function, load balancer or instance of the "
                           "template (service and mock integrations are not mapped)")
        return
    base: dict[str, Any] = {"type": "apigateway", "api": "http" if v2 else "rest"}
    base.update(_stage(ctx, logical, v2))
    name = ctx.names[logical]
    for i, target in enumerate(targets):
        spec = dict(base, integration={"target": target, "op": "invoke"} if _kind(ctx, target) == "lambda"
                    else {"target": target})
        if i == 0:
            ctx.add(logical, spec)
            continue
        extra = f"{name}-{target}"[:64]
        ctx.components[extra] = spec
        ctx.origin[extra] = Origin(logical, ctx.res_type(logical), ctx.line(logical))
    if len(targets) > 1:
        shown = ", ".join(f"{r} -> {t}" for r, t in routes)
        ctx.assume(f"{name}: the API's routes reach {len(targets)} components ({shown}); cloudtwin's API has one "
                   f"integration, so it is {len(targets)} components ({name} and {name}-<target>) with the same stage "
                   "settings, each given its own workload")


def _kind(ctx: Ctx, comp: str) -> str:
    return str(ctx.components.get(comp, {}).get("type", ""))


def _target(ctx: Ctx, uri: Any) -> str | None:
    """The mapped component an integration URI (an ARN or URL built with Sub or Join) names."""
    comp = ctx.comp(uri)
    if comp is None:
        return None
    logical = next((lg for lg, n in ctx.names.items() if n == comp), None)
    kind = ctx.res_type(logical) if logical else ""
    ok = ("AWS::Lambda::Function", "AWS::ElasticLoadBalancingV2::LoadBalancer",
          "AWS::ElasticLoadBalancing::LoadBalancer", "AWS::EC2::Instance", "AWS::AutoScaling::AutoScalingGroup")
    return comp if kind in ok else None


def _body_routes(ctx: Ctx, body: Any) -> list[tuple[str, str]]:
    """(``METHOD /path``, target) for each operation of an OpenAPI body with an integration."""
    out: list[tuple[str, str]] = []
    paths = body.get("paths") if isinstance(body, dict) else None
    if not isinstance(paths, dict):
        return out
    for path, ops in paths.items():
        if not isinstance(ops, dict):
            continue
        for method, op in ops.items():
            integ = op.get("x-amazon-apigateway-integration") if isinstance(op, dict) else None
            if isinstance(integ, dict):
                t = _target(ctx, integ.get("uri"))
                if t:
                    out.append((f"{method.upper().replace('X-AMAZON-APIGATEWAY-ANY-METHOD', 'ANY')} {path}", t))
    return out


def _resource_routes(ctx: Ctx, logical: str, v2: bool) -> list[tuple[str, str]]:
    """Routes declared as resources: Methods (REST) or Integrations (HTTP) of this API."""
    out: list[tuple[str, str]] = []
    kind = "AWS::ApiGatewayV2::Integration" if v2 else "AWS::ApiGateway::Method"
    key = "ApiId" if v2 else "RestApiId"
    for r in ctx.of_type(kind):
        rp = ctx.tpl.props(r)
        if ctx.target(rp.get(key)) != logical:
            continue
        uri = rp.get("IntegrationUri") if v2 else (rp.get("Integration") or {}).get("Uri")
        t = _target(ctx, uri)
        if t:
            out.append((str(rp.get("HttpMethod", r)) if not v2 else r, t))
            ctx.fold(r, ctx.names[logical])
        else:
            how = rp.get("IntegrationType") if v2 else (rp.get("Integration") or {}).get("Type")
            ctx.leave(r, f"its integration ({how or 'none'}) reaches no Lambda function, load balancer or instance "
                         "of the template; its requests are not simulated")
    for r in ctx.of_type("AWS::ApiGateway::Resource", "AWS::ApiGatewayV2::Route", "AWS::ApiGateway::Deployment",
                         "AWS::ApiGatewayV2::Deployment"):
        rp = ctx.tpl.props(r)
        if ctx.target(rp.get(key)) == logical:
            ctx.fold(r, ctx.names[logical])
    for r in ctx.of_type("AWS::Lambda::Permission"):
        src = ctx.tpl.props(r).get("SourceArn")
        if ctx.target(src) == logical:
            ctx.fold(r, ctx.names[logical])
    return out


def _stage(ctx: Ctx, logical: str, v2: bool) -> dict[str, Any]:
    """The stage's default method throttle and (REST) cache, from the API's first stage."""
    kind, key = ("AWS::ApiGatewayV2::Stage", "ApiId") if v2 else ("AWS::ApiGateway::Stage", "RestApiId")
    stages = [s for s in ctx.of_type(kind) if ctx.target(ctx.tpl.props(s).get(key)) == logical]
    out: dict[str, Any] = {}
    if not stages:
        return out
    for s in stages:
        ctx.fold(s, ctx.names[logical])
    s = stages[0]
    sp = ctx.tpl.props(s)
    if len(stages) > 1:
        ctx.assume(f"{ctx.names[logical]}: the API has {len(stages)} stages; the settings of {s} are used")
    settings = sp.get("DefaultRouteSettings") if v2 else _default_method(sp.get("MethodSettings"))
    if isinstance(settings, dict):
        rate = ctx.num(s, settings, "ThrottlingRateLimit", structural=False)
        burst = ctx.int_(s, settings, "ThrottlingBurstLimit", structural=False)
        if rate is not None and rate > 0 and burst is not None:
            out["throttle"] = {"rate": f"{rate:g}/s", "burst": burst}
    if not v2 and ctx.flag(sp, "CacheClusterEnabled"):
        size = ctx.num(s, sp, "CacheClusterSize", structural=False)
        cache: dict[str, Any] = {"size_gb": size if size is not None else ctx.default(
            s, "CacheClusterSize", "cache.size_gb", 0.5)}
        ttl = ctx.num(s, settings or {}, "CacheTtlInSeconds", structural=False) if isinstance(settings, dict) \
            else None
        cache["ttl"] = f"{ttl:g}s" if ttl is not None else ctx.default(s, "CacheTtlInSeconds", "cache.ttl", "300s")
        out["cache"] = cache
    return out


def _default_method(settings: Any) -> dict[str, Any] | None:
    """The MethodSettings entry that applies to every method (``/*`` and ``*``), if any."""
    if not isinstance(settings, list):
        return None
    for m in settings:
        if isinstance(m, dict) and m.get("ResourcePath", "/*") == "/*" and m.get("HttpMethod", "*") == "*":
            return m
    return None
