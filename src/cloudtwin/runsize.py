"""How much work one request multiplies into: the run-size guard's view of a spec.

A request entering a component costs a few events there (arrival, each handler
step) and then fans out: every ``call`` step (times its attempts), every SNS
subscription, EventBridge rule target, S3 notification and stream or queue
consumer carries it on. Work therefore multiplies along the graph of those
links, and a call tree of depth 20 with two calls per level is a million
requests per request. :func:`work_per_request` walks that graph bottom-up, once
per component and without recursion, and :func:`longest_hold` bounds how long
a request can keep a run going (its sleeps and CPU steps along the slowest
path), which matters when a run stops after a number of requests.

Links that choose one target among several (a load balancer's targets, a DNS
record, a CloudFront behaviour) count the costliest one. A cycle (messages going
round) is counted once, and left to the runtime guard, which stops a run that
executes more events than the limit whatever the estimate said.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cloudtwin import catalogue

__all__ = ["EVENTS_PER_COMPONENT", "EVENTS_PER_STEP", "longest_hold", "offered_rates", "work_per_request"]

EVENTS_PER_COMPONENT = 3.0  # arrival, reply, bookkeeping
EVENTS_PER_STEP = 2.0


def _steps(steps: list[Any]) -> Iterator[Any]:
    stack = [iter(steps)]
    while stack:
        st = next(stack[-1], None)
        if st is None:
            stack.pop()
            continue
        yield st
        on_miss = getattr(st, "on_miss", None)
        if on_miss:
            stack.append(iter(on_miss))


def _links(c: Any) -> tuple[list[tuple[str, float]], list[str]]:
    """``(all_of, one_of)``: targets every request reaches (with a multiplier), and targets one
    of which it reaches."""
    all_of: list[tuple[str, float]] = []
    one_of: list[str] = []
    for st in _steps(getattr(c, "handler", None) or []):
        target = getattr(st, "call", None)
        if isinstance(target, str):
            all_of.append((target.split(".")[0], 1.0 + float(getattr(st, "retries", 0) or 0)))
    t = c.type
    if t in catalogue.family("load_balancer"):
        one_of.extend(c.target_names)
    elif t == "route53":
        one_of.extend(n for r in c.records for n in (r.alias, r.a) if n)
    elif t == "cloudfront":
        one_of.extend(b.origin for b in c.behaviors)
    elif t == "apigateway":
        all_of.append((c.integration.target, 1.0))
    elif t == "sns":
        all_of.extend((s.target, 1.0) for s in c.subscriptions if s.target)
    elif t == "eventbridge":
        all_of.extend((tg.target, 1.0) for r in c.rules for tg in r.targets)
    elif t == "s3":
        all_of.extend((n.target, 1.0) for n in c.notifications)
    elif t == "kinesis":
        all_of.extend((k.function, 1.0) for k in c.consumers)
    elif t == "dynamodb" and c.stream is not None:
        all_of.extend((k.function, 1.0) for k in c.stream.consumers)
    return all_of, one_of


def _deliveries(queue: Any, function: Any) -> float:
    """How many times a message may reach a consuming function: once, or up to maxReceiveCount
    with a dead-letter queue; with a visibility timeout below the function's timeout, again and
    again while it runs (until the retention period ends)."""
    n = float(queue.max_receive_count) if queue.dlq is not None else 1.0
    if queue.visibility_timeout < function.timeout:
        n = max(n, min(queue.retention / max(queue.visibility_timeout, 1.0), MAX_DELIVERIES))
    return n


MAX_DELIVERIES = 1e6


def _graph(arch: Any) -> dict[str, tuple[list[tuple[str, float]], list[str]]]:
    comps = arch.components
    g = {n: _links(c) for n, c in comps.items()}
    for n, c in comps.items():  # a queue's messages reach the functions that poll it
        if c.type == "lambda":
            for es in c.event_sources:
                q = comps.get(es.queue)
                if q is not None and q.type == "sqs":
                    g[es.queue][0].append((n, _deliveries(q, c)))
    return {n: ([(t, k) for t, k in a if t in comps], [t for t in o if t in comps]) for n, (a, o) in g.items()}


def _bottom_up(g: dict[str, tuple[list[tuple[str, float]], list[str]]]) -> list[str]:
    """The components, each after every component it links to (a cycle is cut where met)."""
    order: list[str] = []
    state: dict[str, int] = {}
    for root in sorted(g):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(sorted({t for t, _ in g[root][0]} | set(g[root][1]))))]
        while stack:
            n, it = stack[-1]
            m = next(it, None)
            if m is None:
                stack.pop()
                state[n] = 2
                order.append(n)
            elif m not in state:
                state[m] = 1
                stack.append((m, iter(sorted({t for t, _ in g[m][0]} | set(g[m][1])))))
    return order


def work_per_request(arch: Any) -> dict[str, float]:
    """Events one request entering each component is expected to cause, fan-out included."""
    g = _graph(arch)
    work: dict[str, float] = {}
    for n in _bottom_up(g):
        c = arch.components[n]
        own = EVENTS_PER_COMPONENT + EVENTS_PER_STEP * sum(1 for _ in _steps(getattr(c, "handler", None) or []))
        all_of, one_of = g[n]
        total = own + sum(k * work.get(t, 0.0) for t, k in all_of)  # a cycle's back link counts 0
        if one_of:
            total += max(work.get(t, 0.0) for t in one_of)
        work[n] = min(total, 1e300)
    return work


def offered_rates(arch: Any) -> dict[str, float]:
    """Requests per second each component is offered at the workloads' base rates (a session
    workload's rate times its requests per session), carried down the same links as
    :func:`work_per_request`: an every-request link with its multiplier (retries and ``on_miss``
    calls counted in full, so an upper bound), a choose-one link split evenly, a cycle's back
    link not at all. Profiles (spikes, ramps, diurnal) are left out."""
    g = _graph(arch)
    rate = dict.fromkeys(g, 0.0)
    for w in arch.workloads.values():
        if w.entry in rate:
            rate[w.entry] += float(w.rate) * (w.sessions.requests if w.sessions is not None else 1)
    for n in reversed(_bottom_up(g)):
        all_of, one_of = g[n]
        for t, k in all_of:
            rate[t] += rate[n] * k
        for t in one_of:
            rate[t] += rate[n] / len(one_of)
    return rate


def longest_hold(arch: Any) -> dict[str, float]:
    """Mean seconds a request entering each component is held there and downstream (its steps'
    mean times along the slowest path): how long a request keeps the run going."""
    g = _graph(arch)
    hold: dict[str, float] = {}
    for n in _bottom_up(g):
        c = arch.components[n]
        own = 0.0
        for st in _steps(getattr(c, "handler", None) or []):
            for key in ("cpu", "sleep"):
                d = getattr(st, key, None)
                if d is not None:
                    own += float(d.mean)
        all_of, one_of = g[n]
        down = max([hold.get(t, 0.0) for t, _ in all_of] + [hold.get(t, 0.0) for t in one_of] + [0.0])
        hold[n] = own + down
    return hold
