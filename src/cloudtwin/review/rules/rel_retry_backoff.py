"""CT-REL-007: retries fired back to back."""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class RetryWithoutBackoff(Rule):
    id = "CT-REL-007"
    title = "Retries without backoff"
    pillar = "reliability"
    best_practices = ("REL05-BP03",)
    severity = "high"
    description = ("A `call` step with `retries` above 0 and `backoff: 0`: every retry hits the struggling callee "
                   "at once.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for call in ctx.calls:
            st = call.step
            if st.retries > 0 and st.backoff <= 0:
                out.append(self.finding(
                    ctx, (*call.path, "backoff"),
                    f"{call.caller!r} retries {st.call} {st.retries} time(s) with no backoff: when "
                    f"{call.target!r} is overloaded, the retries arrive together and add to the overload.",
                    "Set `backoff:` (e.g. 100ms): retries then wait an exponentially growing, fully jittered delay.",
                    component=call.caller,
                    evidence=[Evidence("static", f"retries {st.retries}, backoff {st.backoff:g}s")]))
        return out
