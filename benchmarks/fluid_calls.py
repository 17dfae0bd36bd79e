"""Fluid against exact on specs with calls, downstream stations, caches, sessions and faults.

Each case runs on both engines with the same spec and seed and prints one Markdown row of
docs/performance.md section 9 (wall times, availability, p50 and p99, the cache's hit
ratio where there is one). The same cases are asserted in tests/test_fluid.py (the
``slow`` tests); this prints the numbers behind them.

    python benchmarks/fluid_calls.py
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import yaml

from cloudtwin.fluid import run_fluid
from cloudtwin.simulation import Simulation
from cloudtwin.spec import from_dict

HERE = Path(__file__).resolve().parent
WAC = HERE.parent / "src" / "cloudtwin" / "blueprints" / "web-app-cache.yaml"
SYNC = HERE.parent / "src" / "cloudtwin" / "blueprints" / "microservices-sync.yaml"


def wac(faults: list[dict[str, Any]] | None) -> dict[str, Any]:
    d: dict[str, Any] = yaml.safe_load(WAC.read_text())
    if faults is not None:
        d["faults"] = faults
    return d


def warm(d: dict[str, Any]) -> dict[str, Any]:
    d["components"]["cache"]["warm"] = True
    return d


def single_az(d: dict[str, Any]) -> dict[str, Any]:
    d["components"]["db"]["multi_az"] = False
    d["components"]["cache"]["replicas"] = 0
    d["workloads"] = {"shoppers": {"entry": "dns", "rate": "100/s"}}
    return d


def flaky(rate: float) -> dict[str, Any]:
    d: dict[str, Any] = yaml.safe_load(SYNC.read_text())
    d["faults"] = [{"at": "0s", "errors": "payments-lb", "rate": rate, "duration": "30m"}]
    d["simulate"]["duration"] = "10m"
    return d


def fleet(handler: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "asg", "instance_type": "m5.large", "capacity": {"min": 4, "desired": 4, "max": 4},
            "handler": handler, **extra}


def db_twice(rate: str) -> dict[str, Any]:
    return {"name": "alb-asg-rds", "zones": ["a", "b"],
            "components": {"lb": {"type": "alb", "targets": "web"},
                           "web": fleet([{"cpu": "exp(5ms)"}, {"call": "db.query"}, {"call": "db.write"}]),
                           "db": {"type": "rds", "instance_class": "db.m5.large", "multi_az": True,
                                  "query": "exp(4ms)", "write": "exp(6ms)"}},
            "workloads": {"users": {"entry": "lb", "rate": rate}}, "simulate": {"duration": "10m", "seed": 1}}


THROTTLED = {"name": "alb-asg-dynamodb-s3", "zones": ["a", "b"],
             "components": {"lb": {"type": "alb", "targets": "web"},
                            "web": fleet([{"cpu": "exp(10ms)"}, {"call": "table.get"}, {"call": "bucket.get"}],
                                         health_handler=[]),
                            "table": {"type": "dynamodb", "capacity": "provisioned", "rcu": 100, "wcu": 10},
                            "bucket": {"type": "s3"}},
             "workloads": {"users": {"entry": "lb", "rate": "300/s"}}, "simulate": {"duration": "10m", "seed": 1}}

EC2_TIMEOUT = {"name": "ec2-dynamodb-s3", "zones": ["a"],
               "components": {"app": {"type": "ec2", "count": 2,
                                      "handler": [{"cpu": "exp(5ms)"}, {"call": "t.put"}, {"call": "b.put"}]},
                              "t": {"type": "dynamodb"}, "b": {"type": "s3", "prefixes": 2}},
               "workloads": {"users": {"entry": "app", "rate": "200/s", "timeout": "100ms"}},
               "faults": [{"at": "2m", "terminate": "app"}], "simulate": {"duration": "5m", "seed": 1}}

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("`web-app-cache` as written (sessions in ElastiCache, cold cache-aside cache, RDS Multi-AZ)",
     "instance terminated at 10 min, 20 min", wac(None)),
    ("`web-app-cache`", "steady, 20 min", wac([])),
    ("`web-app-cache` with `warm: true`", "instance terminated at 10 min, 20 min", warm(wac(None))),
    ("`web-app-cache`", "`db_failover` at 5 min, on the cold cache's first TTL wave", wac([{"at": "5m",
                                                                                               "db_failover": "db"}])),
    ("`web-app-cache`", "`latency` +50 ms on the DB, 5-10 min", wac([{"at": "5m", "latency": "db", "add": "50ms",
                                                                      "duration": "5m"}])),
    ("`web-app-cache`", "`errors` 10 % on the cache, 5-10 min", wac([{"at": "5m", "errors": "cache", "rate": 0.1,
                                                                     "duration": "5m"}])),
    ("`web-app-cache`", "zone a down 5-10 min (the DB and the cache fail over to b)",
     wac([{"at": "5m", "az_outage": "a", "duration": "5m"}])),
    ("`web-app-cache` with a single-AZ DB, a cache without replica and no sessions", "zone a down 5-10 min",
     single_az(wac([{"at": "5m", "az_outage": "a", "duration": "5m"}]))),
    ("ALB + ASG calling an RDS twice (query, write), db.m5.large at rho 0.5", "steady, 10 min", db_twice("100/s")),
    ("the same at rho 0.75", "steady, 10 min", db_twice("150/s")),
    ("ALB + ASG calling DynamoDB (100 RCU provisioned, 150 RCU/s of gets) and S3", "steady, 10 min", THROTTLED),
    ("2 ec2 (no balancer) calling DynamoDB and S3, client timeout 100 ms", "one instance terminated at 2 min, "
     "never replaced, 5 min", EC2_TIMEOUT),
    ("`microservices-sync` with 30 % errors on payments (retried twice by orders)", "10 min",
     flaky(0.3)),
    ("`microservices-sync` with 60 % errors on payments", "10 min", flaky(0.6)),
    ("`microservices-sync` (three fleets chained through ALBs; orders retries payments twice)",
     "2 % errors on orders, payments down 10-20 min, 30 min", yaml.safe_load(SYNC.read_text())),
]


def pct(a: float, b: float) -> str:
    return f"{(b - a) / a * 100:+.1f} %" if a else "-"


def main() -> None:
    print("| spec | scenario | exact wall / fluid wall | availability exact / fluid | p50 ms exact / fluid "
          "| p99 ms exact / fluid | cache hit ratio exact / fluid |")
    print("|---|---|---|---|---|---|---|")
    for spec, scenario, d in CASES:
        t0 = time.perf_counter()
        ex = Simulation(from_dict(copy.deepcopy(d))).run().data
        t1 = time.perf_counter()
        fl = run_fluid(from_dict(copy.deepcopy(d))).data
        t2 = time.perf_counter()
        e, f = (next(iter(x["workloads"].values())) for x in (ex, fl))
        el, fll = e["latency_ms"], f["latency_ms"]
        cache = ex["components"].get("cache")
        hit = (f"{cache['hit_ratio']:.4f} / {fl['components']['cache']['hit_ratio']:.4f}"
               if cache is not None else "")
        print(f"| {spec} | {scenario} | {t1 - t0:.1f} s / {t2 - t1:.1f} s | {e['availability']:.5f} / "
              f"{f['availability']:.5f} ({pct(e['availability'], f['availability'])}) | {el['p50']:.2f} / "
              f"{fll['p50']:.2f} ({pct(el['p50'], fll['p50'])}) | {el['p99']:.2f} / {fll['p99']:.2f} "
              f"({pct(el['p99'], fll['p99'])}) | {hit} |", flush=True)


if __name__ == "__main__":
    main()
