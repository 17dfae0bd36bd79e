"""CT-PERF-006: a burstable (T) instance runs above its baseline for good."""

from __future__ import annotations

from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.sizes import credit_type


class BurstableAboveBaseline(Rule):
    id = "CT-PERF-006"
    title = "A burstable instance runs above its CPU baseline"
    pillar = "performance_efficiency"
    best_practices = ("PERF02-BP04",)
    severity = "medium"
    dynamic = True
    description = ("An `ec2` or `asg` of a burstable type (t2, t3, t3a, t4g) whose CPU utilisation at the "
                   "workloads' peak, at the most instances it can have, is above the type's baseline per vCPU: "
                   "its credits run out, and then a `standard` instance is held to the baseline (requests "
                   "queue) while an `unlimited` one is billed for surplus credits. With simulation, the spec's "
                   "run decides: its average utilisation above the baseline, or a credit balance that ran out; "
                   "the evidence quotes the measured balance.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, ct, util, ev in self._fleets(ctx):
            measured = next((e for e in ev if e.kind == "dynamic"), None)
            ran_out = measured is not None and measured.data.get("exhausted_at_s") is not None
            if util <= ct.baseline and not ran_out:
                continue
            then = ("it is held to its baseline and requests queue" if ct.mode == "standard"
                    else "it spends surplus credits billed per vCPU-hour")
            out.append(self.finding(
                ctx, ("components", name, "instance_type"),
                f"{name!r} ({ctx.comp(name).instance_type}, {ct.mode}) runs at {util:.0%} CPU, above its "
                f"{ct.baseline:.0%} baseline per vCPU: its CPU credits run out, and then {then}.",
                "Use a fixed-performance type of the same size (m5, m6i, c6g...), a larger burstable size whose "
                "baseline covers the load, or more instances; or accept the surplus charge in unlimited mode.",
                component=name, evidence=ev))
        return out

    def _fleets(self, ctx: Context) -> list[tuple[str, Any, float, list[Evidence]]]:
        s = spec_run(ctx)
        out = []
        for name in ctx.fleets():
            c = ctx.comp(name)
            ct = credit_type(c.instance_type, getattr(c, "credit_specification", None))
            if ct is None or name not in ctx.loads:
                continue
            top = ctx.instances(name, at="max" if ctx.scales(name) else "desired")
            util = ctx.utilisation(name, top)
            ev = [Evidence("static", f"{ctx.loads[name].busy_low:.2f} busy slots at the peak over {top} x "
                                     f"{ctx.slots(name)} slots = {util:.0%}, against a {ct.baseline:.0%} baseline "
                                     f"({ct.per_hour:g} credits earned an hour)")]
            got = s.component(name) if s is not None else {}
            cc = got.get("cpu_credits")
            if "utilization" in got and isinstance(cc, dict):
                util = float(got["utilization"])
                when = cc.get("exhausted_at_s")
                bal = (f"credit balance ran out at {when / 60:.0f} min" if when is not None
                       else f"lowest credit balance {cc.get('balance_min')}")
                charged = cc.get("surplus_credits_charged") or 0.0
                ev.append(Evidence("dynamic", f"measured utilisation {util:.0%} in the spec's scenario; {bal}"
                                              + (f"; {charged:g} surplus credits billed" if charged else ""),
                                   {"scenario": "spec", "utilization": util, "exhausted_at_s": when,
                                    "balance_min": cc.get("balance_min"), "surplus_credits_charged": charged}))
            out.append((name, ct, util, ev))
        return out

    def clean(self, ctx: Context) -> str | None:
        got = [(n, u, ct) for n, ct, u, ev in self._fleets(ctx) if any(e.kind == "dynamic" for e in ev)]
        if not got:
            return None
        return "measured utilisation against the burstable baseline: " + ", ".join(
            f"{n} {u:.0%} (baseline {ct.baseline:.0%})" for n, u, ct in got)
