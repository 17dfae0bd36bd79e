"""The serverless part of a fluid run: the workloads whose entry is an API or a function, their
APIs and functions (:mod:`cloudtwin.fluid.serverless`), each step's flows and the results
entries, in the exact engine's shape. :class:`cloudtwin.fluid.run.FluidRun` calls
:meth:`Serverless.step` every step, :meth:`Serverless.close_minute` every minute, and
:func:`cloudtwin.fluid.results.assemble` merges :meth:`Serverless.results`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudtwin.fluid.backlog import FluidQueue
from cloudtwin.fluid.fanout import FluidTopic
from cloudtwin.fluid.serverless import ENTRIES, FluidApi, FluidLambda, PointMix, bucket_step
from cloudtwin.spec.apigateway import account_throttle
from cloudtwin.workloads import profile_factor

ERRORS = ("timeout", "throttled", "unavailable", "rejected", "server_error", "session_lost")


def owns(arch: Any, w: Any) -> bool:
    """Whether workload ``w`` enters through an API or a function (this module runs it)."""
    return bool(arch.components[w.entry].type in (*ENTRIES, "sqs", "sns"))


class _QLoad:
    """One workload sending to a queue or publishing to a topic (its latency: that API call's)."""

    def __init__(self, name: str, spec: Any, queue: FluidQueue | FluidTopic, horizon: float, base_dir: Any) -> None:
        self.name, self.spec, self.queue = name, spec, queue
        self.factor, _ = profile_factor(spec.profile, horizon, base_dir)
        self.total = PointMix(queue.lat_pts, queue.lat_pts[:1])
        self.requests = 0.0
        self.series: dict[str, list[float]] = {k: [] for k in ("requests", "errors", "p50_ms", "p90_ms", "p99_ms")}
        self.m_req = 0.0

    def rate(self, t: float) -> float:
        f = self.factor
        return float(self.spec.rate) * (1.0 if f is None else f(t))

    def close_minute(self) -> None:
        s = self.series
        s["requests"].append(round(self.m_req))
        s["errors"].append(0)
        qs = self.total.quantiles((0.5, 0.9, 0.99)) if self.m_req > 0 else [0.0, 0.0, 0.0]
        for k, v in zip(("p50_ms", "p90_ms", "p99_ms"), qs, strict=True):
            s[k].append(round(v * 1000.0, 3))
        self.m_req = 0.0


class _SLoad:
    """One workload into an API (then its function) or straight into a function."""

    def __init__(self, name: str, spec: Any, api: FluidApi | None, fn: FluidLambda, horizon: float,
                 base_dir: Any) -> None:
        self.name, self.spec, self.api, self.fn = name, spec, api, fn
        self.is_async = api is None and spec.op == "invoke_async"
        self.factor, _ = profile_factor(spec.profile, horizon, base_dir)
        dur = np.zeros(len(fn.dur)) if self.is_async else fn.dur  # an async invoke answers at once
        ok = dur <= fn.spec.timeout
        lat = api.lat if api is not None else np.zeros(len(dur))
        warm = (lat + dur)[ok]
        cold = (lat + fn.init + dur)[ok]
        self.api_to = (float((fn.init + dur)[ok].__gt__(api.spec.timeout).mean()),
                       float(dur[ok].__gt__(api.spec.timeout).mean())) if api is not None else (0.0, 0.0)
        self.total = PointMix(warm, cold)
        self.minute = PointMix(warm[::20], cold[::20])
        self.requests = self.ok = 0.0
        self.errors = dict.fromkeys(ERRORS, 0.0)
        self.series: dict[str, list[float]] = {k: [] for k in ("requests", "errors", "p50_ms", "p90_ms", "p99_ms")}
        self.m_req = self.m_err = 0.0

    def rate(self, t: float) -> float:
        f = self.factor
        return float(self.spec.rate) * (1.0 if f is None else f(t))

    def close_minute(self) -> None:
        s = self.series
        s["requests"].append(round(self.m_req))
        s["errors"].append(round(self.m_err))
        qs = self.minute.quantiles((0.5, 0.9, 0.99)) if self.minute.weight > 0 else [0.0, 0.0, 0.0]
        for k, v in zip(("p50_ms", "p90_ms", "p99_ms"), qs, strict=True):
            s[k].append(round(v * 1000.0, 3))
        self.minute.w = self.minute.c = 0.0
        self.m_req = self.m_err = 0.0


class Serverless:
    """The APIs, functions and workloads of a fluid run that enter through an API or a function."""

    def __init__(self, arch: Any, horizon: float, seed: int) -> None:
        self.arch = arch
        comps = arch.components
        self.apis = {n: FluidApi(n, c, seed) for n, c in comps.items() if c.type == "apigateway"}
        self.fns = {n: FluidLambda(n, c, arch, seed) for n, c in comps.items() if c.type == "lambda"}
        self.queues: dict[str, FluidQueue] = {}
        for fn in self.fns.values():
            for es in fn.spec.event_sources:
                q = self.queues[es.queue] = FluidQueue(es.queue, comps[es.queue], fn, es, seed)
                fn.queues.append(q)
        self.topics = {n: FluidTopic(n, c, seed) for n, c in comps.items() if c.type == "sns"}
        for tp in self.topics.values():
            tp.protocols = [comps[x].type for x in tp.targets]
        self.loads: dict[str, _SLoad] = {}
        self.qloads: dict[str, _QLoad] = {}
        for n, w in arch.workloads.items():
            if not owns(arch, w):
                continue
            if comps[w.entry].type in ("sqs", "sns"):
                into = self.queues[w.entry] if w.entry in self.queues else self.topics[w.entry]
                self.qloads[n] = _QLoad(n, w, into, horizon, arch.base_dir)
                continue
            entry = comps[w.entry]
            api = self.apis.get(w.entry)
            fn = self.fns[entry.integration.target if api is not None else w.entry]
            self.loads[n] = _SLoad(n, w, api, fn, horizon, arch.base_dir)
        ths = [account_throttle(arch, c) for c in comps.values() if c.type == "apigateway"]
        # aws-facts §10 Account throttle: one bucket for the account's APIs, starting full
        self.acct = (max(float(t.rate) for t in ths), float(max(t.burst for t in ths))) if ths else None
        self.acct_tokens = self.acct[1] if self.acct else 0.0
        self.invoke_rate = float(arch.account.invoke_rate)  # aws-facts §5 Invoke request rate

    def all_loads(self) -> list[Any]:
        return [*self.loads.values(), *self.qloads.values()]

    def __bool__(self) -> bool:
        return bool(self.loads or self.qloads or self.queues or self.topics)

    def step(self, t: float, dt: float) -> None:
        into: dict[str, float] = dict.fromkeys(self.queues, 0.0)  # messages/s into each queue
        bad: dict[str, float] = dict.fromkeys(self.queues, 0.0)  # of which poison
        pub: dict[str, float] = dict.fromkeys(self.topics, 0.0)
        pub_bad: dict[str, float] = dict.fromkeys(self.topics, 0.0)
        for ld in self.qloads.values():
            r = ld.rate(t)
            ld.requests += r * dt
            ld.m_req += r * dt
            ld.total.add(r * dt, 0.0)
            msg = getattr(ld.spec, "message", None)
            x = float(msg.poison) if msg is not None else 0.0
            if isinstance(ld.queue, FluidTopic):
                pub[ld.queue.name] += r
                pub_bad[ld.queue.name] += r * x
            else:
                into[ld.queue.name] += r
                bad[ld.queue.name] += r * x
                ld.queue.api_sent += r * dt
        for fn in self.fns.values():  # what handlers sent in the step before (send/publish steps)
            for target, n in fn.out.items():
                if target in pub:
                    pub[target] += n / dt
                else:
                    into[target] += n / dt
                    self.queues[target].api_sent += n
            fn.out = {}
        for tn, topic in self.topics.items():  # aws-facts §7 Fan-out: a copy per subscription
            share = pub_bad[tn] / pub[tn] if pub[tn] > 0 else 0.0
            for target, r in topic.step(pub[tn], dt).items():
                if target in self.fns:  # an asynchronous invoke, outside the Invoke API's rate
                    self.fns[target].asyncq.accept(r * dt, t, share)
                else:
                    into[target] += r
                    bad[target] += r * share
        self._step_api(t, dt)
        for qn, q in self.queues.items():
            q.step(t, into[qn], dt, bad[qn] / into[qn] if into[qn] > 0 else 0.0)

    def _step_api(self, t: float, dt: float) -> None:
        offered = {n: ld.rate(t) * dt for n, ld in self.loads.items()}
        passed = dict(offered)
        # API Gateway: the account bucket over all APIs, then each method bucket
        via_api = {n: v for n, v in offered.items() if self.loads[n].api is not None}
        tot = sum(via_api.values())
        if self.acct is not None and tot > 0.0:
            got, self.acct_tokens = bucket_step(self.acct_tokens, *self.acct, tot, dt)
            for n in via_api:
                passed[n] = via_api[n] * got / tot
                self.loads[n].api.by_account += via_api[n] - passed[n]  # type: ignore[union-attr]
        elif self.acct is not None:
            self.acct_tokens = min(self.acct[1], self.acct_tokens + self.acct[0] * dt)
        for api in self.apis.values():
            mine = [n for n in via_api if self.loads[n].api is api]
            n_in = sum(passed[n] for n in mine)
            if api.method is None:
                continue
            got, api.tokens = bucket_step(api.tokens, *api.method, n_in, dt)
            for n in mine:
                keep = passed[n] * got / n_in if n_in > 0 else 0.0
                api.by_method += passed[n] - keep
                passed[n] = keep
        # the functions: every caller's invocations share the function's concurrency
        for fn in self.fns.values():
            mine = [n for n in self.loads if self.loads[n].fn is fn]
            sync = [n for n in mine if not self.loads[n].is_async]
            lam_sync = sum(passed[n] for n in sync) / dt
            lam_new = sum(passed[n] for n in mine if self.loads[n].is_async) / dt
            keep = fn.quota(lam_sync + lam_new, self.invoke_rate, dt)
            aq = fn.asyncq
            if lam_new > 0:
                aq.accept(lam_new * keep * dt, t)
            att = aq.take_due(t, dt) if aq.lines else 0.0
            total = lam_sync * keep * dt + att
            warm, cold, thr, to, err = fn.step(total / dt, dt)
            if att > 0:
                aq.settle(t, (warm + cold) / total, thr / total, (to + err) / total)
            for n in mine:
                ld = self.loads[n]
                ld.requests += offered[n]
                ld.m_req += offered[n]
                if ld.is_async:  # accepted (202) at once, or refused by the invoke request rate
                    refused = passed[n] * (1.0 - keep)
                    ld.errors["throttled"] += refused
                    ld.ok += passed[n] - refused
                    ld.total.add(passed[n] - refused, 0.0)
                    ld.minute.add(passed[n] - refused, 0.0)
                    ld.m_err += refused
                    continue
                share = passed[n] * keep / total if total > 0 else 0.0
                api_thr = offered[n] - passed[n]
                w_ok, c_ok = warm * share, cold * share
                api_to = (c_ok * ld.api_to[0] + w_ok * ld.api_to[1])  # past the integration timeout: 504
                w_ok, c_ok = w_ok * (1.0 - ld.api_to[1]), c_ok * (1.0 - ld.api_to[0])
                quota_thr = passed[n] * (1.0 - keep)
                ld.ok += w_ok + c_ok
                ld.errors["throttled"] += api_thr + quota_thr + thr * share
                ld.errors["timeout"] += to * share + api_to
                ld.errors["server_error"] += err * share
                ld.total.add(w_ok, c_ok)
                ld.minute.add(w_ok, c_ok)
                ld.m_err += offered[n] - w_ok - c_ok
                if ld.api is not None:
                    a = ld.api
                    a.requests += offered[n]
                    a.accepted += passed[n]
                    a.throttled += api_thr
                    a.timeouts += api_to
                    a.int_errors += quota_thr + (thr + to + err) * share

    def close_minute(self) -> None:
        for ld in self.all_loads():
            ld.close_minute()
        for fn in self.fns.values():
            fn.close_minute()
        for q in self.queues.values():
            q.close_minute()

    # ---- results ----------------------------------------------------------------------------
    def workloads(self, horizon: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n, ld in self.loads.items():
            errors = {k: round(v) for k, v in ld.errors.items()}
            failed = sum(errors.values())
            requests = round(ld.requests)
            in_flight = min(round(ld.rate(horizon) * ld.total.mean()), max(requests - failed, 0))
            succeeded = requests - failed - in_flight
            done = succeeded + failed
            out[n] = {"requests": requests, "succeeded": succeeded, "failed": failed, "in_flight": in_flight,
                      "availability": round(succeeded / done, 6) if done else 1.0, "errors": errors,
                      "latency_ms": ld.total.latency_ms()}
        for n, q in self.qloads.items():
            requests = round(q.requests)
            in_flight = min(round(q.rate(horizon) * q.queue.lat), requests)
            out[n] = {"requests": requests, "succeeded": requests - in_flight, "failed": 0, "in_flight": in_flight,
                      "availability": 1.0, "errors": dict.fromkeys(ERRORS, 0), "latency_ms": q.total.latency_ms()}
        return out

    def messages(self) -> dict[str, Any] | None:
        """The run's message accounting (None: no queue and no asynchronous event)."""
        st = [q.stats() for q in self.queues.values()]
        ev = [f.asyncq.stats() for f in self.fns.values() if f.asyncq.accepted > 0]
        if not st and not ev:
            return None
        lost = sum(e["lost"] for e in ev)
        return {"published": sum(s["sent"] for s in st) + sum(e["accepted"] for e in ev),
                "delivered": sum(s["delivered"] for s in st) + sum(e["succeeded"] for e in ev),
                "dead_lettered": sum(s["moved_to_dlq"] for s in st) + sum(e["dead_lettered"] for e in ev),
                "expired": 0,
                "in_flight": sum(s["in_flight"] + s["visible"] for s in st) + sum(e["waiting"] for e in ev),
                "duplicates": 0, "lost": lost,
                "lost_by_cause": {"lambda_retries_exhausted": lost} if lost else {}}

    def components(self, workloads: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n, a in self.apis.items():
            mine = [ld for ld in self.loads.values() if ld.api is a]
            out[n] = {"type": "apigateway", "requests": round(a.requests),
                      "errors": round(a.throttled + a.timeouts + a.int_errors),
                      "latency_ms": mine[0].total.latency_ms() if len(mine) == 1 else {},
                      "api": a.spec.api, "accepted": round(a.accepted), "throttled": round(a.throttled),
                      "throttled_by": {"account": round(a.by_account), "method": round(a.by_method)},
                      "integration_timeouts": round(a.timeouts), "integration_errors": round(a.int_errors),
                      "authorizer": None, "cache": None}
        dead: dict[str, int] = {}
        for n, tp in self.topics.items():
            tmine = [ld for ld in self.qloads.values() if ld.queue is tp]
            out[n] = tp.stats(tmine[0].total.latency_ms() if len(tmine) == 1 else {})
        for n, q in self.queues.items():
            out[n] = q.stats()
            qmine = [ld for ld in self.qloads.values() if ld.queue is q]
            out[n]["latency_ms"] = qmine[0].total.latency_ms() if len(qmine) == 1 else {}
            if q.spec.dlq is not None:
                dead[q.spec.dlq] = dead.get(q.spec.dlq, 0) + out[n]["moved_to_dlq"]
        for f in self.fns.values():  # asynchronous events given up: to on_failure, else the dlq
            target = f.spec.on_failure or f.spec.dlq
            if target is not None:
                dead[target] = dead.get(target, 0) + round(f.asyncq.dead)
        for n, k in dead.items():
            out[n] = {"type": "sqs", "requests": 0, "errors": 0, "latency_ms": {}, "fifo": False, "sent": 0,
                      "rejected": 0, "throttled": 0, "received": 0, "empty_receives": 0, "delivered": 0,
                      "duplicates": 0, "moved_to_dlq": 0, "dlq_receive_counts": {}, "dead_letters_in": k,
                      "expired": 0, "visible": k, "in_flight": 0, "delayed": 0, "max_visible": k,
                      "end_to_end_ms": {}}
        for n, f in self.fns.items():
            warm = f.dur[f.dur <= f.spec.timeout]
            dur = PointMix(warm, warm[:1])
            dur.add(1.0, 0.0)
            lat = PointMix(warm, (f.init[: len(warm)] + warm))
            lat.add(max(f.ok - f.cold, 0.0), min(f.cold, f.ok))
            gb = f.spec.memory / 1024.0
            mean_gb = f.billed_s * gb
            out[n] = {"type": "lambda", "requests": round(f.invocations + f.esm_inv + f.throttles),
                      "errors": round(f.errors_in + f.timeouts + f.throttles),
                      "latency_ms": lat.latency_ms(), "invocations": round(f.invocations + f.esm_inv),
                      "cold_starts": round(f.cold), "throttles": round(f.throttles),
                      "rate_throttles": round(f.rate_throttles), "timeouts": round(f.timeouts),
                      "function_errors": round(f.errors_in), "max_concurrency": f.max_conc,
                      "environments": round(f.envs),
                      "billed_ms": round((f.invocations * f.billed_s + f.esm_billed_s) * 1000.0),
                      "gb_seconds": round(f.invocations * mean_gb + f.esm_billed_s * gb, 6),
                      "duration_ms": dur.latency_ms(),
                      "async": f.asyncq.stats(),
                      "event_sources": [q.mapping_stats() for q in f.queues]}
        return out

    def series(self, n_min: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(per-workload series, per-component series), ``n_min`` minutes long."""
        loads = {n: {k: v[:n_min] for k, v in ld.series.items()} for n, ld in self.loads.items()}
        comps = {n: {k: v[:n_min] for k, v in f.series.items()} for n, f in self.fns.items()}
        comps.update({n: {k: v[:n_min] for k, v in q.series.items()} for n, q in self.queues.items()})
        loads.update({n: {k: v[:n_min] for k, v in ld.series.items()} for n, ld in self.qloads.items()})
        return loads, comps

    def usage(self) -> dict[str, dict[str, float]]:
        """Billed usage: API requests accepted, Lambda requests and GB-seconds [aws-facts §19]."""
        out: dict[str, dict[str, float]] = {}
        for n, a in self.apis.items():
            meter = "ApiGatewayRequest" if a.spec.api == "rest" else "ApiGatewayHttpRequest"
            out[n] = {meter: round(a.accepted)} if a.accepted else {}
        for n, f in self.fns.items():
            gbs = (f.invocations * f.billed_s + f.esm_billed_s) * f.spec.memory / 1024.0
            use = {"Request": float(round(f.invocations + f.esm_inv)), "Lambda-GB-Second": gbs}
            out[n] = {k: v for k, v in use.items() if v}
        for n, tp in self.topics.items():
            out[n] = tp.usage()
        for n, q in self.queues.items():  # sends, receives and batch deletes [aws-facts §19 SQS]
            out[n] = {"SQS-Requests-Tier1": float(round(q.api_sent + 2 * q.batches))}
        return out

    def validity(self) -> list[str]:
        notes: list[str] = []
        for n, f in self.fns.items():
            notes.append(f"{n}: concurrency is a loss system (Erlang B at the limit {f.limit}, exact for Poisson "
                         "arrivals in the steady state); environments grow to the expected peak concurrency "
                         "(an assumption), so cold starts are an estimate")
            if f.warn_slow:
                notes.append(f"{n}: mean duration {f.d_mean:.2f} s is not well below the 1 s step: "
                             "concurrency is taken as steady within a step")
        for n, ld in self.loads.items():
            if ld.spec.arrivals != "poisson":
                notes.append(f"{n}: constant arrivals: Erlang B overstates the throttles of a steady stream")
        if any(ld.api is not None for ld in self.loads.values()):
            notes.append("API throttles are fluid token buckets: a Poisson stream close to a throttle's rate "
                         "loses a little in the exact engine and nothing here")
        for n in self.queues:
            notes.append(f"{n}: the backlog is a deterministic fluid (first in, first out); batch sizes are "
                         "their mean; duplicates (at-least-once) and retention expiry are left out")
        for n, f in self.fns.items():
            if f.asyncq.accepted > 0:
                notes.append(f"{n}: asynchronous events are cohorts due at whole steps (1 s): retries and "
                             "throttle backoffs are not spread within a second")
        for n, f in self.fns.items():
            if f.sends:
                notes.append(f"{n}: messages its handler sends reach their queue or topic one step (1 s) later")
        for n in self.topics:
            notes.append(f"{n}: copies reach their subscribers within the step (delivery latency left out); "
                         "end-to-end times start at the delivery")
        return notes
