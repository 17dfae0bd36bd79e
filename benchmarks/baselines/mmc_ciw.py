"""M/M/c baseline in Ciw 3.2.x.

One node, ``ciw.dists.Exponential`` arrivals (rate lam) and service (rate 1/s),
``number_of_servers=[c]``, FIFO (Ciw's default). Runs until N customers reached the
exit node (``simulate_until_max_customers(N, method="Finish")``; nobody baulks or
reneges here, so Finish == Complete). Prints one JSON line. ``wall_s`` is in-process
(network build + run + latency reduction, imports excluded).

    python benchmarks/baselines/mmc_ciw.py --servers 4 --rho 0.9 --service 0.01 \
        --customers 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import time

import ciw


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", type=int, default=4)
    p.add_argument("--rho", type=float, default=0.9)
    p.add_argument("--service", type=float, default=0.01, help="mean service time, s")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def run(servers: int, rho: float, service: float, customers: int, seed: int) -> tuple[int, float]:
    lam = rho * servers / service
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / service)],
        number_of_servers=[servers],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    # Every individual that reached the exit node; one record each (single node).
    # Reading the records directly avoids get_all_records() building 1M namedtuples.
    finished = sim.nodes[-1].all_individuals
    total = 0.0
    for ind in finished:
        rec = ind.data_records[-1]
        total += rec.exit_date - rec.arrival_date
    return len(finished), total / len(finished)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    t0 = time.perf_counter()
    n, mean = run(args.servers, args.rho, args.service, args.customers, args.seed)
    wall = time.perf_counter() - t0
    print(json.dumps({"engine": "ciw", "customers": n, "wall_s": wall, "mean_latency_s": mean}))


if __name__ == "__main__":
    main()
