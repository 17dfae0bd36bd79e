"""An SNS topic fanning out to SQS queues and Lambda functions, in the fluid engine.

Every publish gives each subscription its own copy [aws-facts §7 Fan-out]: a topic published
at ``lam`` messages/s sends ``lam`` to every subscribed queue, each a flow of its own
(:mod:`cloudtwin.fluid.backlog`), so a slow consumer builds a backlog on its queue only. The
copies reach the queue within the step (the exact engine's ``delivery_latency``, tens of ms,
is left out of the backlog); deliveries to SQS do not fail here, so none is retried. A Lambda
subscription is an asynchronous invoke (:mod:`cloudtwin.fluid.async_invoke`), outside the
Invoke API's request rate. A workload's latency is the Publish call's ``latency``.

Refused (:mod:`cloudtwin.fluid.support`): FIFO topics, filter policies, subscription DLQs and
endpoints other than ``sqs`` and ``lambda``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.fleet import POINTS, _seed


class FluidTopic:
    """One standard topic whose subscriptions are SQS queues."""

    def __init__(self, name: str, spec: Any, seed: int) -> None:
        self.name, self.spec = name, spec
        self.targets: list[str] = [s.target for s in spec.subscriptions]
        self.protocols: list[str] = []  # filled by the run: "sqs" or "lambda" per subscription
        draw = make_sampler(spec.latency, np.random.default_rng(_seed(f"{seed}:{name}:latency")))
        self.lat_pts = np.array([draw() for _ in range(POINTS)])
        self.lat = float(self.lat_pts.mean())
        self.publishes = 0.0

    def step(self, lam: float, dt: float) -> dict[str, float]:
        """Publishes at ``lam``/s for ``dt`` s: the rate each subscribed queue receives."""
        self.publishes += lam * dt
        out: dict[str, float] = {}
        for t in self.targets:
            out[t] = out.get(t, 0.0) + lam
        return out

    def stats(self, latency: dict[str, float]) -> dict[str, Any]:
        n = round(self.publishes)
        subs = [{"protocol": p, "target": t, "matched": n, "attempts": n, "failed_attempts": 0, "delivered": n,
                 "dead_lettered": 0, "lost": 0, "active": True, "end_to_end_ms": {}}
                for t, p in zip(self.targets, self.protocols, strict=True)]
        return {"type": "sns", "requests": n, "errors": 0, "latency_ms": latency, "fifo": False, "publishes": n,
                "rejected": 0, "unmatched": 0, "pending": 0, "subscriptions": subs}

    def usage(self) -> dict[str, float]:
        """Publishes [aws-facts §19 SNS]; deliveries to SQS are not billed."""
        n = float(round(self.publishes))
        return {"SNS-Requests-Tier1": n} if n else {}
