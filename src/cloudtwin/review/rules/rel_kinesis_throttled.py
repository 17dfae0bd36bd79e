"""CT-REL-022: a Kinesis stream whose producers are throttled: the peak is above the shards' write capacity.

Static: the records/s and bytes/s the workloads put into the stream at their peak (rate x the
profile's peak factor, through API Gateway integrations and handler call steps) against the
stream's shards x 1,000 records/s and shards x 1 MB/s [aws-facts §9 KDS write per shard]. A
record's size is its producer's ``message: size``, else the stream's ``record_size``. With
simulation, the spec's own run decides: any put refused as ``throttled`` fires, quoted with the
counts per shard.

Left out: hot shards from a skewed partition key in the static estimate (the measurement shows
them), producers' retries adding to the offered rate, and on-demand streams (not modelled).
"""

from __future__ import annotations

import math
from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.review.rules._rates import walk
from cloudtwin.spec.loader import Path
from cloudtwin.spec.steps import CallStep
from cloudtwin.units import MIB

RECORDS = 1000.0  # records/s per shard [aws-facts §9 KDS write per shard]
BYTES = MIB  # bytes/s per shard [aws-facts §9 KDS write per shard]


class KinesisProducersThrottled(Rule):
    id = "CT-REL-022"
    title = "Kinesis producers are throttled: the peak exceeds the shards' write capacity"
    pillar = "reliability"
    best_practices = ("REL01-BP01",)
    severity = "high"
    dynamic = True
    description = ("A `kinesis` stream whose producers (workloads, API Gateway integrations, handler `put` calls) "
                   "offer more than shards x 1,000 records/s or shards x 1 MB/s at the workloads' peak (the "
                   "profile's spike factor included): the excess puts are throttled. With simulation, throttled "
                   "puts measured in the spec's run decide.")

    def check(self, ctx: Context) -> list[Finding]:
        producers = _producers(ctx)
        s = spec_run(ctx)
        out: list[Finding] = []
        for name, c in ctx.of_type("kinesis"):
            prods = producers.get(name, [])
            recs = sum(r for r, _, _, _ in prods)
            byts = sum(r * size for r, size, _, _ in prods)
            cap_r, cap_b = c.shards * RECORDS, c.shards * BYTES
            bad = recs > cap_r or byts > cap_b
            ev: list[Evidence] = []
            if prods:
                who = ", ".join(sorted({w for _, _, w, _ in prods}))
                ev.append(Evidence(
                    "static", f"{name!r}: producers ({who}) put about {recs:,.0f} records/s and {byts / 1e6:,.2f} MB/s "
                    f"at the peak into {c.shards} shard(s) that take {cap_r:,.0f} records/s and "
                    f"{cap_b / 1e6:,.2f} MB/s ({max(recs / cap_r, byts / cap_b):.0%} of capacity)",
                    {"peak_records_per_s": round(recs, 1), "peak_bytes_per_s": round(byts, 1), "shards": c.shards,
                     "capacity_records_per_s": cap_r, "capacity_bytes_per_s": cap_b}))
            st = s.component(name) if s is not None else {}
            if st:
                thr, acc = int(st.get("throttled") or 0), int(st.get("accepted") or 0)
                bad = thr > 0
                per = list(st.get("throttled_per_shard") or [])
                tried = thr + acc
                ev.append(Evidence(
                    "dynamic", f"the spec's run: {thr:,} of {tried:,} put attempts (retries included) into {name!r} "
                    f"throttled ({thr / tried if tried else 0.0:.1%}; per shard {per}), busiest shard "
                    f"{float(st.get('hot_shard_share') or 0.0):.0%} of the accepted records",
                    {"scenario": "spec", "throttled": thr, "accepted": acc, "throttled_per_shard": per,
                     "hot_shard_share": st.get("hot_shard_share")}))
            if not bad or not ev:
                continue
            need = max(math.ceil(recs / RECORDS), math.ceil(byts / BYTES), c.shards + 1)
            no_backoff = sorted({w for _, _, w, st_ in prods if st_ is not None and (st_.retries == 0 or
                                                                                       st_.backoff <= 0)})
            retry = (f" Producers {', '.join(no_backoff)} do not retry with backoff: give their put calls "
                     f"`retries` and a `backoff`." if no_backoff else "")
            path: Path = ("components", name, "shards")
            out.append(self.finding(
                ctx, path,
                f"producers into {name!r} offer more than its {c.shards} shard(s) accept at the peak (each shard "
                f"takes 1,000 records/s and 1 MB/s): the excess puts are throttled "
                f"(ProvisionedThroughputExceededException) and publish nothing unless the producer retries.{retry}",
                f"Raise `shards` (about {need} for this peak) or use on-demand capacity mode, and have producers "
                "retry throttled puts with exponential backoff and jitter.",
                component=name, evidence=ev))
        return out

    def clean(self, ctx: Context) -> str | None:
        s = spec_run(ctx)
        if s is None:
            return None
        notes = [f"{n!r}: {int(s.component(n).get('accepted') or 0):,} puts accepted, none throttled in the spec's run"
                 for n, _ in ctx.of_type("kinesis") if s.component(n)]
        return "; ".join(notes) or None


def _producers(ctx: Context) -> dict[str, list[tuple[float, float, str, CallStep | None]]]:
    """Per stream: (records/s at the peak, bytes per record, who, the call step if any)."""
    out: dict[str, list[tuple[float, float, str, CallStep | None]]] = {}
    names = {id(w): n for n, w in ctx.arch.workloads.items()}

    def visit(name: str, r: float, how: Any) -> None:
        c = ctx.comp(name)
        if c.type != "kinesis":
            return
        step: CallStep | None = None
        if hasattr(how, "step") and isinstance(how.step, CallStep):
            step, msg, who = how.step, how.step.message, f"{how.caller}'s put"
        elif id(how) in names:
            msg, who = how.message, f"workload {names[id(how)]!r}"
        elif how is not None and hasattr(how, "target"):
            msg, who = how.message, "an API Gateway integration"
        else:
            return
        out.setdefault(name, []).append((r, float(msg.size) if msg is not None else float(c.record_size), who, step))

    walk(ctx, visit)
    return out
