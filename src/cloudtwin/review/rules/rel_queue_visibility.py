"""CT-REL-021: a queue's visibility timeout is too short for the Lambda function consuming it.

A Lambda event source receives a batch, which stays invisible for the queue's
``visibility_timeout`` while the function runs. If the function may still be running (up to
its ``timeout``, after gathering for up to ``batching_window``) when the timeout ends, the
messages turn visible again and are received and processed a second time. AWS recommends a
visibility timeout of at least 6 x the function timeout plus the batching window
[aws-facts §5 SQS event source: recommended settings]; the same check is a spec warning in
``cloudtwin validate``. The Well-Architected Framework has no practice about visibility
timeouts; the closest is REL05-BP05 (set timeouts from normal completion times: one set too
low causes artificial failures and retry-driven traffic).
"""

from __future__ import annotations

from cloudtwin.review.context import Context
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule

FACTOR = 6  # visibility >= 6 x the function timeout + batching window [aws-facts §5]


class VisibilityBelowFunctionTimeout(Rule):
    id = "CT-REL-021"
    title = "A queue's visibility timeout is too short for its Lambda consumer"
    pillar = "reliability"
    best_practices = ("REL05-BP05",)
    severity = "high"
    description = ("An `sqs` queue consumed by a Lambda event source whose `visibility_timeout` is below 6 x the "
                   "function's `timeout` plus the source's `batching_window` (AWS's recommendation), and so "
                   "also one at or below the function timeout: a batch still running when its messages turn "
                   "visible again is received and processed twice.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for fname, fn in ctx.of_type("lambda"):
            for i, es in enumerate(fn.event_sources):
                q = ctx.comp(es.queue)
                if q is None or q.type != "sqs":
                    continue
                need = FACTOR * fn.timeout + es.batching_window
                vis = q.visibility_timeout
                if vis >= need:
                    continue
                worst = (f"the function may run {fn.timeout:g}s, longer than the {vis:g}s visibility timeout, so "
                         f"every slow batch is processed twice" if fn.timeout >= vis else
                         f"a batch that gathers for {es.batching_window:g}s and runs near the {fn.timeout:g}s "
                         f"function timeout, or is retried after a throttle, turns visible while still in hand")
                out.append(self.finding(
                    ctx, ("components", fname, "event_sources", i, "queue"),
                    f"{fname!r} consumes {es.queue!r}, whose visibility timeout is {vis:g}s: {worst}; the "
                    f"duplicates add load and repeat side effects (a charge, an email).",
                    f"Raise `visibility_timeout` of {es.queue!r} to at least {need:g}s (6 x the function timeout "
                    f"+ batching_window, AWS's recommendation), or lower the function's `timeout`.",
                    component=fname,
                    evidence=[Evidence("static", f"visibility_timeout {vis:g}s < 6 x timeout {fn.timeout:g}s + "
                                                 f"batching_window {es.batching_window:g}s = {need:g}s",
                                       data={"visibility_timeout_s": vis, "function_timeout_s": fn.timeout,
                                             "recommended_s": need})]))
        return out
