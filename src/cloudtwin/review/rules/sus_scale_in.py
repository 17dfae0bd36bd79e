"""CT-SUS-002: a scaling group that never gives capacity back."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class NoScaleIn(Rule):
    id = "CT-SUS-002"
    title = "Scaling never removes capacity"
    pillar = "sustainability"
    best_practices = ("SUS02-BP01",)
    severity = "medium"
    description = ("An `asg` with a scaling policy but `disable_scale_in: true`, or with `min` equal to `max`: "
                   "capacity added for a peak keeps running (and drawing power) after it.")

    def check(self, ctx: Context) -> list[Finding]:
        out = []
        for name, c in ctx.of_type("asg"):
            if c.scaling is None or not ctx.scales(name):
                continue
            if c.scaling.disable_scale_in:
                path: tuple[str | int, ...] = ("components", name, "scaling", "disable_scale_in")
                why = "scale-in is disabled: instances added for a peak are never removed"
            elif c.capacity.min == c.capacity.top:
                path = ("components", name, "capacity")
                why = f"min = max = {c.capacity.min}: the policy can neither add nor remove instances"
            else:
                continue
            out.append(self.finding(
                ctx, path, f"{name!r} has a scaling policy but {why}.",
                "Let the group scale in (drop `disable_scale_in`, give `min` < `max`) so capacity follows demand "
                "down as well as up.", component=name,
                evidence=[Evidence("static", f"capacity {c.capacity.min}-{c.capacity.top}, disable_scale_in "
                                             f"{c.scaling.disable_scale_in}")]))
        return out
