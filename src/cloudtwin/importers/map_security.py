"""AWS WAF: ``AWS::WAFv2::WebACL`` to a ``waf`` component.

What it protects comes from ``AWS::WAFv2::WebACLAssociation`` resources (a load balancer or an
API Gateway stage of the template) and from CloudFront distributions whose ``WebACLId`` names
it. Its rules map in priority order: IP-set references (the ``AWS::WAFv2::IPSet``'s addresses),
geo matches and rate-based rules (limit, evaluation window, IP or forwarded-IP key). A managed
rule group has no detection rate in a template, so it is left out with a note (the spec's
``managed: {detection: ...}`` states one); so are other statements (byte match, regex, SQL
injection...). IP sets and associations are folded into the web ACL.
"""

from __future__ import annotations

import re
from typing import Any

from cloudtwin.importers.mapping import Ctx, kebab

__all__ = ["web_acl"]


def _protected(ctx: Ctx, logical: str) -> list[str]:
    out: list[str] = []
    for a in ctx.of_type("AWS::WAFv2::WebACLAssociation"):
        ap = ctx.tpl.props(a)
        if ctx.target(ap.get("WebACLArn")) != logical:
            continue
        comp = ctx.comp(ap.get("ResourceArn"))
        if comp is not None:
            out.append(comp)
            ctx.fold(a, ctx.names[logical])
    for d in ctx.of_type("AWS::CloudFront::Distribution"):
        cfg = ctx.tpl.props(d).get("DistributionConfig") or {}
        if isinstance(cfg, dict) and ctx.target(cfg.get("WebACLId")) == logical and d in ctx.names:
            out.append(ctx.names[d])
    return list(dict.fromkeys(out))


def _action(rule: dict[str, Any]) -> str:
    act = rule.get("Action") or {}
    return "allow" if "Allow" in act else "count" if "Count" in act else "block"


def _rule(ctx: Ctx, logical: str, rule: dict[str, Any]) -> dict[str, Any] | None:
    st = rule.get("Statement") or {}
    name = kebab(str(rule.get("Name", "rule")))[:64] or "rule"
    out: dict[str, Any] = {"name": name, "priority": int(rule.get("Priority", 0)), "action": _action(rule)}
    if "IPSetReferenceStatement" in st:
        ref = st["IPSetReferenceStatement"] or {}
        ip_set = ctx.target(ref.get("Arn"))
        if ip_set is None or ctx.res_type(ip_set) != "AWS::WAFv2::IPSet":
            return None
        out["ip_set"] = [str(a) for a in ctx.tpl.props(ip_set).get("Addresses") or []]
        ctx.fold(ip_set, ctx.names[logical])
        if not out["ip_set"]:
            return None
        if "IPSetForwardedIPConfig" in ref:
            out["forwarded_ip"] = True
    elif "GeoMatchStatement" in st:
        codes = (st["GeoMatchStatement"] or {}).get("CountryCodes") or []
        if not codes:
            return None
        out["geo"] = [str(c) for c in codes]
    elif "RateBasedStatement" in st:
        rb = st["RateBasedStatement"] or {}
        limit = ctx.int_(logical, rb, "Limit", structural=False)
        if limit is None:
            return None
        rate: dict[str, Any] = {"limit": limit}
        window = ctx.num(logical, rb, "EvaluationWindowSec", structural=False)
        rate["window"] = f"{int(window)}s" if window is not None else ctx.default(
            logical, f"Rules.{rule.get('Name')}.EvaluationWindowSec", "rate.window", "300s")
        if str(rb.get("AggregateKeyType", "IP")) == "FORWARDED_IP":
            rate["key"] = "forwarded_ip"
        elif str(rb.get("AggregateKeyType", "IP")) != "IP":
            return None
        out["rate"] = rate
    else:
        return None
    return out


def web_acl(ctx: Ctx, logical: str) -> None:
    p = ctx.tpl.props(logical)
    protects = _protected(ctx, logical)
    if not protects:
        ctx.leave(logical, "it protects no load balancer, API or distribution of the template")
        return
    spec: dict[str, Any] = {"type": "waf", "protects": protects,
                            "default_action": "block" if "Block" in (p.get("DefaultAction") or {}) else "allow"}
    rules = []
    for r in p.get("Rules") or []:
        if not isinstance(r, dict):
            continue
        got = _rule(ctx, logical, r)
        if got is None:
            kind = next(iter(r.get("Statement") or {"none": 0}), "none")
            why = ("a managed rule group has no detection rate in a template: state one with `managed: {detection: "
                   "...}`" if kind == "ManagedRuleGroupStatement" else f"{re.sub('Statement$', '', kind)} statements "
                   "are not simulated")
            ctx.assume(f"{ctx.names[logical]}: rule {r.get('Name')!r} left out ({why})")
            continue
        rules.append(got)
    if rules:
        spec["rules"] = sorted(rules, key=lambda x: x["priority"])
    ctx.add(logical, spec)
