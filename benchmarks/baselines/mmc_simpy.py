"""M/M/c baseline in SimPy: a minimal, idiomatic model.

One ``simpy.Resource`` with ``capacity=c``, a source process generating Poisson
arrivals, one process per customer. Stops after N completions and prints one JSON
line. ``wall_s`` is in-process (model build + run, imports excluded).

    python benchmarks/baselines/mmc_simpy.py --servers 4 --rho 0.9 --service 0.01 \
        --customers 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import time

import simpy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", type=int, default=4)
    p.add_argument("--rho", type=float, default=0.9)
    p.add_argument("--service", type=float, default=0.01, help="mean service time, s")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def run(servers: int, rho: float, service: float, customers: int, seed: int) -> dict:
    rng = random.Random(seed)
    lam = rho * servers / service
    mu = 1.0 / service

    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)
    done = env.event()
    stats = {"completed": 0, "latency_sum": 0.0}

    def customer(env: simpy.Environment):
        arrived = env.now
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(mu))
        stats["completed"] += 1
        stats["latency_sum"] += env.now - arrived
        if stats["completed"] == customers:
            done.succeed()

    def source(env: simpy.Environment):
        while True:
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    env.run(until=done)
    return stats


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    t0 = time.perf_counter()
    stats = run(args.servers, args.rho, args.service, args.customers, args.seed)
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "engine": "simpy",
                "customers": stats["completed"],
                "wall_s": wall,
                "mean_latency_s": stats["latency_sum"] / stats["completed"],
            }
        )
    )


if __name__ == "__main__":
    main()
