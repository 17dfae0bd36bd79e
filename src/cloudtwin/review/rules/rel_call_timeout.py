"""CT-REL-009: a call that waits forever."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class CallWithoutTimeout(Rule):
    id = "CT-REL-009"
    title = "A call has no timeout"
    pillar = "reliability"
    best_practices = ("REL05-BP05",)
    severity = "high"
    description = "A handler `call` step without `timeout`: a slow or hung callee holds the caller's request forever."

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for call in ctx.calls:
            if call.step.timeout is None:
                out.append(self.finding(
                    ctx, call.path,
                    f"{call.caller!r} calls {call.step.call} without a timeout: if {call.target!r} slows down or "
                    f"hangs, requests pile up in {call.caller!r} instead of failing fast.",
                    "Set `timeout:` a little above the callee's normal p99 (and `retries:` with backoff if the "
                    "call is safe to repeat).",
                    component=call.caller, evidence=[Evidence("static", f"{call.step.call}: timeout not set")]))
        return out
