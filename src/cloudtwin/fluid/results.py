"""The results JSON of a fluid run: the exact engine's shape, plus ``engine`` and ``validity``.

Counts are the fluid flows rounded to whole requests; ``requests = succeeded + failed +
in_flight`` holds exactly (in flight: the backlog left at the end plus, by Little's law,
arrival rate times mean response time). Cost prices the instance-hours the fluid fleet
ran (by purchase option, 60 s minimum) and every other component's configured capacity;
traffic-based items (LCUs, DNS queries, data transfer) are listed as unmeasured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.fluid.support import BALANCERS
from cloudtwin.results import Results, sampling_of

if TYPE_CHECKING:
    from cloudtwin.fluid.run import FluidRun

QS = (0.5, 0.9, 0.99, 0.999)
LOW_SERVERS = 4  # below this many servers per station with SCV > 1.5, Allen–Cunneen is rough
HIGH_SCV = 1.5


def _latency(mix: Any) -> dict[str, float]:
    if mix.weight <= 0:
        return {}
    p50, p90, p99, p999 = mix.quantiles(QS)
    lo = float(mix.points[0])
    return {"mean": round(mix.mean() * 1000, 3), "min": round(lo * 1000, 3), "p50": round(p50 * 1000, 3),
            "p90": round(p90 * 1000, 3), "p99": round(p99 * 1000, 3), "p999": round(p999 * 1000, 3)}


def _workload(ld: Any, run: FluidRun) -> dict[str, Any]:
    failed_by = {k: round(v) for k, v in ld.errors.items()}
    failed = sum(failed_by.values())
    rate_end = ld.rate(run.horizon)
    q = run.queue[ld.fleet.name]
    in_flight = round(q * (rate_end / max(sum(x.rate(run.horizon) for x in run.loads.values()
                                               if x.fleet is ld.fleet), 1e-12))
                      + rate_end * ld.total.mean()) if rate_end > 0 else 0
    requests = round(ld.requests)
    in_flight = min(in_flight, requests - failed)
    succeeded = requests - failed - in_flight
    errors = {"timeout": failed_by["timeout"], "throttled": failed_by.get("throttled", 0),
              "unavailable": failed_by["unavailable"], "rejected": 0, "server_error": failed_by.get("server_error", 0),
              "session_lost": 0}
    done = succeeded + failed
    return {"requests": requests, "succeeded": succeeded, "failed": failed, "in_flight": in_flight,
            "availability": round(succeeded / done, 6) if done else 1.0, "errors": errors,
            "latency_ms": _latency(ld.total)}


def _validity(run: FluidRun) -> list[str]:
    notes = ["fluid engine: counts are expected values (no sampling noise); event times (health checks, "
             "boots) are the exact engine's means, not draws"]
    for n, f in run.fleets.items():
        if f.c < LOW_SERVERS and f.cs2 > HIGH_SCV:
            notes.append(f"{n}: {f.c} server(s) per instance with service SCV {f.cs2:.2f} > {HIGH_SCV}: "
                         "Allen–Cunneen's wait and its exponential tail are rough here")
        if f.cpu_steps > 1:
            notes.append(f"{n}: {f.cpu_steps} cpu steps are queued as one service (one wait, not one per step)")
        if run.overload_s[n] > 0:
            notes.append(f"{n}: saturated for {run.overload_s[n]:.0f} s: the backlog is a deterministic fluid "
                         "(its random fluctuation is left out) pooled over the fleet's instances, while round "
                         "robin leaves it on the instances that built it: waits after saturation are low")
        if f.cs2 != 1.0 and f.cs2 > 0:
            notes.append(f"{n}: service SCV {f.cs2:.2f}: G/G/c wait by Allen–Cunneen; its tail is an "
                         "exponential approximation")
    return notes + run.flows.validity()


def _cost(run: FluidRun) -> dict[str, Any]:
    from cloudtwin.pricing import bill_usage
    from cloudtwin.pricing.meters import PURCHASE_PREFIX, configured
    from cloudtwin.pricing.table import builtin

    arch = run.arch
    hours = run.horizon / 3600.0
    usage: dict[str, dict[str, float]] = {}
    for name, spec in arch.components.items():
        if name in run.fleets:
            f = run.fleets[name]
            usage[name] = {f"{PURCHASE_PREFIX[p]}:{spec.instance_type}": round(h, 6)
                           for p, h in f.instance_hours(run.horizon).items() if h > 0}
        else:
            usage[name] = configured(spec, arch, hours)
    usage.update(run.serverless.usage())  # API requests and Lambda GB-seconds as measured
    unmeasured = [{"component": n, "usage_type": "traffic-based items",
                   "reason": "the fluid engine prices instance-hours and configured capacity only"}
                  for n, c in arch.components.items() if c.type in (*BALANCERS, "route53")]
    return bill_usage(usage, hours, builtin(), arch.region, unmeasured=unmeasured,
                      notes=["fluid engine: fleets billed by simulated instance-hours (replacements as "
                             "on-demand), other components by configured capacity"])


def assemble(run: FluidRun) -> Results:
    workloads = {n: _workload(ld, run) for n, ld in run.loads.items()}
    workloads.update(run.serverless.workloads(run.horizon))
    workloads = {n: workloads[n] for n in run.arch.workloads}
    components: dict[str, Any] = {}
    serverless = run.serverless.components(workloads)
    for n, c in run.arch.components.items():
        if n in serverless:
            components[n] = serverless[n]
            continue
        into = [ld for ld in run.loads.values() if ld.spec.entry == n or ld.lb is c]
        reqs = sum(workloads[ld.name]["requests"] for ld in into)
        if c.type == "route53":
            components[n] = {"type": c.type, "requests": reqs, "errors": 0, "latency_ms": {}}
        elif n in run.flows.stations:  # downstream: fluid/downstream.py
            components[n] = run.flows.component(n, _latency)
        elif c.type in BALANCERS:
            f = next(ld.fleet for ld in run.loads.values() if ld.lb is c) if into else None
            errs = sum(workloads[ld.name]["errors"][k] for ld in into  # what came back through the balancer
                       for k in ("unavailable", "server_error", "throttled"))
            hmin = min(f.healthy_min_series, default=0) if f is not None else 0
            hmax = max(f.in_service_range[1], 0) if f is not None else 0
            components[n] = {"type": c.type, "requests": reqs, "errors": errs,
                             "latency_ms": _latency(into[0].total) if len(into) == 1 else {},
                             "healthy_targets": {"min": hmin, "max": int(hmax),
                                                 "now": f.routed(run.horizon)[0] if f is not None else 0}}
        else:
            f = run.fleets[n]
            util = f.util_series
            lo = f.in_service_range[0]
            components[n] = {"type": c.type, "requests": round(run.fleet_req[n]), "errors": round(run.fleet_err[n]),
                             "latency_ms": _latency(run.fleet_mix[n]),
                             "utilization": round(sum(util) / len(util), 4) if util else 0.0,
                             "instances": {"min": int(lo) if lo != float("inf") else 0,
                                           "max": int(f.in_service_range[1])},
                             "servers_per_instance": f.c, "service_scv": round(f.cs2, 4)}
            if f.asg:
                components[n]["desired"] = f.desired
    n_min = min((len(ld.series["requests"]) for ld in (*run.loads.values(), *run.serverless.all_loads())),
                default=0)
    s_loads, s_comps = run.serverless.series(n_min)
    series: dict[str, Any] = {
        "step_s": 60.0, "t": [60.0 * i for i in range(n_min)],
        "workloads": {n: {k: v[:n_min] for k, v in ld.series.items()} for n, ld in run.loads.items()},
        "components": dict(s_comps),
    }
    series["workloads"].update(s_loads)
    for n, f in run.fleets.items():
        s: dict[str, list[float]] = {"in_service": f.in_service_series[:n_min], "utilization": f.util_series[:n_min]}
        if f.asg:
            s["desired"] = f.desired_series[:n_min]
        series["components"][n] = s
        if f.lb is not None:
            lbn = next(k for k, c in run.arch.components.items() if c is f.lb)
            series["components"][lbn] = {"healthy_targets": f.healthy_min_series[:n_min]}
    names = {k for g in ("workloads", "components") for fields in series[g].values() for k in fields}
    series["sampling"] = {k: sampling_of(k) for k in sorted(names)}
    events = sorted(run.timeline + [e for f in run.fleets.values() for e in f.events]
                    + [e for st in run.flows.stations.values() for e in st.events if e["t"] <= run.horizon],
                    key=lambda e: e["t"])
    data: dict[str, Any] = {
        "engine": "fluid",
        "spec": run.arch.name,
        "seed": run.seed,
        "simulated_s": round(run.horizon, 6),
        "wall_s": round(run.wall, 3),
        "steps": run.steps,
        "workloads": workloads,
        "components": components,
        "messages": run.serverless.messages() or {"published": 0, "delivered": 0, "dead_lettered": 0, "expired": 0,
                                                  "in_flight": 0,
                     "duplicates": 0, "lost": 0, "lost_by_cause": {}},
        "sessions": run.flows.sessions(run.loads),
        "cost": _cost(run),
        "timeline": events,
        "series": series,
        "validity": _validity(run) + run.serverless.validity(),
    }
    return Results(data)
