"""CT-PERF-005: a DynamoDB table whose reads or writes concentrate on a hot partition.

Static: the callers' key draws (a call step's ``key:``, an API integration's, else the table's
``key``) and the workloads' peak rates give each table an estimate of the units per second its
hottest partition takes: the most frequent key's share (1 for a constant key, 1/H(n, s) for
zipf) plus an even share of the rest, times the peak units, against a partition's 3,000 RCU or
1,000 WCU per second [aws-facts §11 DynamoDB partition limit]. Reads through DAX and reads in
the ``on_miss`` of a cache get are cached and left out. Uniform keys are never flagged here.
With simulation, the spec's own run decides: throttles concentrated on one partition while the
table's consumed units stayed below its table limit (the hot-partition signature).

Left out: the real hash placement of keys (the estimate assumes the hottest keys of every
caller are the same item), adaptive capacity splitting a hot partition, and load arriving
through queues and streams.
"""

from __future__ import annotations

import math
from typing import Any

from cloudtwin.review.context import Context
from cloudtwin.review.evidence import spec_run
from cloudtwin.review.finding import Evidence, Finding
from cloudtwin.review.rule import Rule
from cloudtwin.review.rules._rates import Access, top_share, walk
from cloudtwin.spec.steps import CallStep

PARTITION = {"read": 3000.0, "write": 1000.0}  # units/s per partition [aws-facts §11 DynamoDB partition limit]
READS = ("", "get", "query")
CONCENTRATED = 0.5  # share of a table's throttles on one partition that makes it the hot one
BELOW = 0.9  # the table's peak minute of consumed units under this share of its limit: not table-wide


class DynamoDBHotPartition(Rule):
    id = "CT-PERF-005"
    title = "DynamoDB reads or writes concentrate on a hot partition"
    pillar = "performance_efficiency"
    best_practices = ("PERF03-BP04", "PERF03-BP05")
    severity = "medium"
    dynamic = True
    description = ("A `dynamodb` table read (not through DAX or a cache) or written with a skewed key (zipf or a "
                   "constant) whose hottest partition would take more than its 3,000 RCU or 1,000 WCU per second at "
                   "the workloads' peak (the hottest key's share plus an even share of the rest). With simulation, "
                   "the spec's run decides: throttles on one partition while the table stayed below its table "
                   "limit.")

    def check(self, ctx: Context) -> list[Finding]:
        accesses = _accesses(ctx)
        s = spec_run(ctx)
        out: list[Finding] = []
        for name, c in ctx.of_type("dynamodb"):
            acc = accesses.get(name, [])
            parts = _partitions(c)
            hot, ev = _static(name, acc, parts)
            measured = _measured(s.component(name), s.data, name) if s is not None else None
            bad = bool(hot)
            if measured is not None:
                bad = measured[0]
                ev.append(measured[1])
            if not bad or not ev:
                continue
            skewed = [a for a in acc if a.top > 0]
            path = skewed[0].path if skewed else ("components", name)
            kinds = " and ".join(sorted(hot)) or "requests"
            out.append(self.finding(
                ctx, path,
                f"{kinds} on table {name!r} concentrate on the partition holding the hottest keys: one partition "
                f"serves at most 3,000 RCU and 1,000 WCU per second whatever the table's capacity, so requests on "
                f"it are throttled while the rest of the table sits idle.",
                "Spread the key: a partition key with many evenly used values, or write sharding (a random or "
                "computed suffix on hot keys); for hot reads put DAX (`type: dax, table: ...`) or a cache in front.",
                component=name, evidence=ev))
        return out

    def clean(self, ctx: Context) -> str | None:
        s = spec_run(ctx)
        if s is None:
            return None
        notes = []
        for name, _ in ctx.of_type("dynamodb"):
            st = s.component(name)
            if st:
                notes.append(f"{name!r}: {st.get('throttled', 0):,} throttled in the spec's run, hottest partition "
                             f"{st.get('hot_partition_share', 0.0):.0%} of the consumed units over "
                             f"{st.get('partitions', 0)} partitions")
        return "; ".join(notes) or None


def _partitions(c: Any) -> int:
    """The table's partitions as :mod:`cloudtwin.services.dynamodb` derives them (assumption)."""
    if c.partitions:
        return int(c.partitions)
    if c.capacity == "provisioned":
        return max(1, math.ceil(float(c.rcu) / PARTITION["read"] + float(c.wcu) / PARTITION["write"]))
    od = c.on_demand  # a new on-demand table: 4 for AWS's 12,000 RRU/s and 4,000 WRU/s
    return max(1, math.ceil(max(float(od.initial_read) / PARTITION["read"],
                                float(od.initial_write) / PARTITION["write"])))


def _units(c: Any, op: str) -> tuple[str, float]:
    half = 1.0 if c.consistent else 0.5
    if op == "query":
        return "read", math.ceil(c.item_size * c.query_items / 4096.0) * half  # [aws-facts §11]
    if op in READS:
        return "read", math.ceil(c.item_size / 4096.0) * half
    return "write", float(math.ceil(c.item_size / 1024.0))


def _accesses(ctx: Context) -> dict[str, list[Access]]:
    """Every uncached read and every write of every table at the peak, with its key draw."""
    out: dict[str, list[Access]] = {}
    names = {id(w): n for n, w in ctx.arch.workloads.items()}

    def visit(name: str, r: float, how: Any) -> None:
        c = ctx.comp(name)
        table, key, path, who = name, None, None, ""
        if hasattr(how, "step") and isinstance(how.step, CallStep):  # a call step
            op, key, path, who = how.op, how.step.key, how.path, how.caller
            if c.type == "dax":
                if op in READS:
                    return  # DAX caches it
                table = c.table
            elif op in READS and how.on_miss:
                return  # the miss path of a cache in front
        elif id(how) in names:  # a workload entering the table
            op, path, who = how.op or "get", ("workloads", names[id(how)], "entry"), f"workload {names[id(how)]!r}"
            if c.type == "dax":
                if op in READS:
                    return
                table = c.table
        elif how is not None and hasattr(how, "target") and hasattr(how, "op"):  # an API Gateway integration
            op, key, who = how.op or "get", how.key, "an API Gateway integration"
        else:
            return
        t = ctx.comp(table)
        if t is None or t.type != "dynamodb":
            return
        dist = key or t.key
        kind, units = _units(t, op)
        if key is not None and path is not None and hasattr(how, "step"):
            path = (*path, "key")
        elif key is None and path is None:
            path = ("components", table, "key")
        text = dist.text or f"{dist.kind}{dist.params}"
        out.setdefault(table, []).append(Access(kind, r, units, top_share(dist) if dist.kind in ("zipf", "const")
                                                else 0.0, text, path or ("components", table), who))

    walk(ctx, visit)
    return out


def _static(name: str, acc: list[Access], parts: int) -> tuple[set[str], list[Evidence]]:
    """The kinds (read/write) whose hottest partition exceeds its limit at the peak, and the evidence."""
    hot: set[str] = set()
    ev: list[Evidence] = []
    for kind in ("read", "write"):
        mine = [a for a in acc if a.kind == kind]
        skewed = [a for a in mine if a.top > 0]
        if not skewed:
            continue
        total = sum(a.rate * a.units for a in mine)
        on_hot = sum(a.rate * a.units * (a.top + (1 - a.top) / parts) for a in mine)
        limit = PARTITION[kind]
        unit = "RCU" if kind == "read" else "WCU"
        keys = ", ".join(sorted({f"{a.key} ({a.who}, hottest key {a.top:.1%})" for a in skewed}))
        ev.append(Evidence(
            "static", f"{name!r}: {kind}s with skewed keys {keys}; about {total:,.0f} {unit}/s at the peak over "
            f"{parts} partitions, of which the hottest partition takes about {on_hot:,.0f} {unit}/s against its "
            f"limit of {limit:,.0f}", {"kind": kind, "peak_units_per_s": round(total, 1),
                                       "hot_partition_units_per_s": round(on_hot, 1), "partition_limit": limit,
                                       "partitions": parts}))
        if on_hot > limit:
            hot.add(f"{kind}s")
    return hot, ev


def _measured(st: dict[str, Any], data: dict[str, Any], name: str) -> tuple[bool, Evidence] | None:
    """(hot-partition signature?, evidence) from the spec's run."""
    if not st:
        return None
    per = list(st.get("throttled_per_partition") or [])
    total = sum(per)
    series = ((data.get("series") or {}).get("components") or {}).get(name) or {}
    peak_r = max(series.get("consumed_rcu_per_s") or [0.0])
    peak_w = max(series.get("consumed_wcu_per_s") or [0.0])
    lim = st.get("table_limit_per_s") or {}
    lim_r, lim_w = float(lim.get("read") or math.inf), float(lim.get("write") or math.inf)
    share = float(st.get("hot_partition_share") or 0.0)
    data_out = {"scenario": "spec", "throttled": total, "throttled_per_partition": per,
                "hot_partition_share": share, "peak_rcu_per_s": peak_r, "peak_wcu_per_s": peak_w,
                "table_limit_rcu_per_s": lim_r, "table_limit_wcu_per_s": lim_w}
    if total == 0:
        return False, Evidence("dynamic", f"the spec's run throttled nothing on {name!r} (hottest partition "
                               f"{share:.0%} of the consumed units over {len(per)} partitions)", data_out)
    worst = max(range(len(per)), key=lambda i: per[i])
    conc = per[worst] / total
    below = peak_r < BELOW * lim_r and peak_w < BELOW * lim_w
    signature = len(per) >= 2 and conc >= CONCENTRATED and below
    where = (f"while the table peaked at {peak_r:,.0f} RCU/s and {peak_w:,.0f} WCU/s (minute averages) of its "
             f"{lim_r:,.0f} / {lim_w:,.0f} table limit" if below else
             f"with the table at its limit ({peak_r:,.0f} of {lim_r:,.0f} RCU/s, {peak_w:,.0f} of {lim_w:,.0f} WCU/s): "
             f"table-wide throttling, not one hot partition")
    text = (f"the spec's run throttled {total:,} requests on {name!r}, {conc:.0%} of them on partition {worst} of "
            f"{len(per)}, which took {share:.0%} of the consumed units, {where}")
    return signature, Evidence("dynamic", text, data_out)
