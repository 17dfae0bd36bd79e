"""M/M/c baseline: the bare ``heapq`` + callbacks event loop.

A heap of ``(time, seq, fn, arg)``, an arrival and a departure callback, a
``deque`` waiting line (FIFO) and exponentials pre-drawn with numpy in chunks.
This is the floor for "plain Python discrete-event simulation". Stops after N
completions and prints one JSON line. ``wall_s`` is in-process (imports excluded).

    python benchmarks/baselines/mmc_heapq.py --servers 4 --rho 0.9 --service 0.01 \
        --customers 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from collections.abc import Iterator
from heapq import heappop, heappush
from itertools import count

import numpy as np

CHUNK = 1 << 16


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", type=int, default=4)
    p.add_argument("--rho", type=float, default=0.9)
    p.add_argument("--service", type=float, default=0.01, help="mean service time, s")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def exponentials(rng: np.random.Generator, mean: float) -> Iterator[float]:
    """Endless stream of Exp(mean) draws, generated CHUNK at a time."""
    while True:
        yield from rng.exponential(mean, CHUNK).tolist()


def run(servers: int, rho: float, service: float, customers: int, seed: int) -> tuple[int, float]:
    root = np.random.SeedSequence(seed)
    arr_rng, svc_rng = (np.random.default_rng(s) for s in root.spawn(2))
    next_interarrival = exponentials(arr_rng, service / (rho * servers)).__next__
    next_service = exponentials(svc_rng, service).__next__

    heap: list[tuple[float, int, object, float]] = []
    seq = count().__next__
    waiting: deque[float] = deque()  # arrival times of queued customers
    now = 0.0
    busy = 0
    done = 0
    latency_sum = 0.0

    def arrival(_: float) -> None:
        nonlocal busy
        heappush(heap, (now + next_interarrival(), seq(), arrival, 0.0))
        if busy < servers:
            busy += 1
            heappush(heap, (now + next_service(), seq(), departure, now))
        else:
            waiting.append(now)

    def departure(arrived: float) -> None:
        nonlocal busy, done, latency_sum
        done += 1
        latency_sum += now - arrived
        if waiting:
            heappush(heap, (now + next_service(), seq(), departure, waiting.popleft()))
        else:
            busy -= 1

    heappush(heap, (next_interarrival(), seq(), arrival, 0.0))
    while done < customers:
        now, _, fn, arg = heappop(heap)
        fn(arg)  # type: ignore[operator]
    return done, latency_sum / done


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    t0 = time.perf_counter()
    n, mean = run(args.servers, args.rho, args.service, args.customers, args.seed)
    wall = time.perf_counter() - t0
    print(json.dumps({"engine": "heapq", "customers": n, "wall_s": wall, "mean_latency_s": mean}))


if __name__ == "__main__":
    main()
