"""CT-REL-006: session state kept in instance memory (the notes: sticky sessions die with their instance)."""

from __future__ import annotations

from cloudtwin.review.context import LBS, Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule


class SessionStateInInstance(Rule):
    id = "CT-REL-006"
    title = "Session state lives in instance memory"
    pillar = "reliability"
    best_practices = ("REL05-BP06",)
    severity = "medium"
    dynamic = True
    description = ("A session workload with `state: instance` (the default): sessions need sticky routing and die "
                   "with their instance; without stickiness they are lost on the next request that lands elsewhere.")

    def check(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        for wname, w in ctx.arch.workloads.items():
            if w.sessions is None or w.sessions.state != "instance":
                continue
            path = ctx.reached_from(w.entry)
            lbs = [n for n, c in ctx.of_type(*LBS) if n in path]
            sticky = [n for n in lbs if ctx.comp(n).sticky is not None]
            if sticky:
                msg = (f"workload {wname!r} keeps session state in instance memory behind sticky sessions on "
                       f"{', '.join(sticky)}: terminating, replacing or losing an instance loses every session "
                       f"pinned to it.")
            elif lbs:
                msg = (f"workload {wname!r} keeps session state in instance memory, but {', '.join(lbs)} is not "
                       f"sticky: a request that lands on another instance loses the session.")
            else:
                msg = (f"workload {wname!r} keeps session state in instance memory: it dies with the instance.")
            ev = [Evidence("static", f"sessions.state: instance; load balancers on the path: {lbs or 'none'}, "
                                     f"sticky: {sticky or 'none'}")]
            s = spec_run(ctx)
            if s is not None:
                sess = s.data.get("sessions") or {}
                if sess.get("started"):
                    ev.append(Evidence("dynamic", f"the spec's scenario lost {sess['lost']:,} of {sess['started']:,} "
                                       f"sessions ({100.0 * sess['lost'] / sess['started']:.1f}%)",
                                       {"scenario": "spec", "lost": sess["lost"], "started": sess["started"]}))
            out.append(self.finding(
                ctx, ("workloads", wname, "sessions", "state"), msg,
                "Keep sessions server-side in a replicated cache (`state: elasticache` with `store:`), or in a "
                "cookie under 4 KB (`state: cookie`), so any instance can serve any request.",
                component=w.entry, evidence=ev))
        return out
