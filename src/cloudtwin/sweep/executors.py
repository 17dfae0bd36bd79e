"""Where a sweep's runs execute: this machine's cores, a Ray cluster, or a Dask cluster.

Each executor takes the jobs still to run and yields ``(job, outcome)`` as each finishes (in
finishing order, which the store does not depend on). A run depends only on its spec, seed and
options, so every executor gives the same results for the same jobs.

- ``local``: a process pool, one process per core (``--workers``; ``CLOUDTWIN_JOBS`` caps
  the default); one worker runs the jobs in this process.
- ``ray``: ``ray.init(address)``, a local Ray instance with ``--workers`` CPUs when no address
  is given (the ``ray`` extra).
- ``dask``: a ``distributed`` client's ``concurrent.futures`` executor, on the scheduler at
  ``address`` or a local cluster of ``--workers`` processes (the ``dask`` extra).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.runs import Job, _one

__all__ = ["EXECUTORS", "execute"]

EXECUTORS = ("local", "ray", "dask")
Outcome = tuple[str, Any]


def _missing(what: str, extra: str) -> SpecError:
    return SpecError([Issue("--executor", f"{what} is not installed: pip install 'cloudtwin[{extra}]'",
                            "<command line>", 0)])


def execute(jobs: Iterable[Job], executor: str, *, workers: int, address: str | None = None) \
        -> Iterator[tuple[Job, Outcome]]:
    """Each job with its outcome, as they finish. Jobs are drawn from ``jobs`` as workers free
    up (a few ahead), so a long sweep is never all in memory."""
    if executor == "ray":
        return _ray(jobs, workers, address)
    if executor == "dask":
        return _dask(jobs, workers, address)
    return _local(jobs, workers)


def _local(jobs: Iterable[Job], workers: int) -> Iterator[tuple[Job, Outcome]]:
    if workers <= 1:
        for job in jobs:
            yield job, _one(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from _futures(pool, jobs, workers)


def _futures(pool: Any, jobs: Iterable[Job], window: int) -> Iterator[tuple[Job, Outcome]]:
    """Submit at most ``2 * window`` jobs ahead, so a long sweep holds few specs in flight."""
    todo = iter(jobs)
    pending: dict[Future[Outcome], Job] = {}
    try:
        while True:
            while len(pending) < 2 * window:
                job = next(todo, None)
                if job is None:
                    break
                pending[pool.submit(_one, job)] = job
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield pending.pop(f), f.result()
    finally:
        for f in pending:
            f.cancel()


def _ray(jobs: Iterable[Job], workers: int, address: str | None) -> Iterator[tuple[Job, Outcome]]:
    try:
        import ray
    except ImportError:
        raise _missing("Ray", "ray") from None
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
    remote = ray.remote(_one)
    todo = iter(jobs)
    pending: dict[Any, Job] = {}
    try:
        while True:
            while len(pending) < 2 * max(1, workers):
                job = next(todo, None)
                if job is None:
                    break
                pending[remote.remote(job)] = job
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                yield pending.pop(ref), ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started:
            ray.shutdown()


def _dask(jobs: Iterable[Job], workers: int, address: str | None) -> Iterator[tuple[Job, Outcome]]:
    try:
        import distributed
    except ImportError:
        raise _missing("Dask's distributed scheduler", "dask") from None
    Client: Any = distributed.Client  # untyped
    client: Any = Client(address) if address else Client(n_workers=max(1, workers), threads_per_worker=1,
                                                    processes=True, dashboard_address=None)
    try:
        yield from _futures(client.get_executor(), jobs, max(1, workers))
    finally:
        client.close()
