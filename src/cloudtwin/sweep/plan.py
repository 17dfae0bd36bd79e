"""A sweep from a spec, its axes and its seeds: every run planned and validated before any
starts, then executed, each finished run kept in the store at once.

A run's key is ``c<configuration>-s<seed>`` (the configuration's index in the cartesian
product), stable across a resume because the store refuses a folder of another sweep.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.runs import Job
from cloudtwin.spec.loader import Located
from cloudtwin.sweep.axes import MAX_RUNS, Axis, apply, configurations
from cloudtwin.sweep.store import Store

__all__ = ["METRICS", "Plan", "execute", "metrics", "plan", "record_outcome"]

# the headline metrics of a run, in the order the summary shows them
METRICS = ("availability", "p50_ms", "p99_ms", "failed", "messages_lost", "monthly_usd")


@dataclass
class Plan:
    located: Located
    axes: list[Axis]
    configs: list[dict[str, Any]]
    seeds: list[int]
    options: dict[str, Any]
    definition: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """Every run's key, in order."""
        return [_label(ci, seed) for ci in range(len(self.configs)) for seed in self.seeds]

    def jobs(self, skip: Callable[[str], bool]) -> Iterator[Job]:
        """The runs not skipped, each configuration's spec built when its first run is due (so a
        long sweep does not hold every configuration's model at once)."""
        from cloudtwin.spec import validate_data

        for ci, config in enumerate(self.configs):
            todo = [seed for seed in self.seeds if not skip(_label(ci, seed))]
            if todo:
                arch = validate_data(apply(self.located, self.axes, config))
                for seed in todo:
                    yield Job(arch, dict(self.options, seed=seed), label=_label(ci, seed))


def _label(ci: int, seed: int) -> str:
    return f"c{ci:04d}-s{seed}"


def plan(located: Located, axes: list[Axis], seeds: int, seed_base: int, options: dict[str, Any]) -> Plan:
    """The sweep, each configuration validated first (an invalid value is a spec error at its
    file:line, naming the configuration that made it)."""
    from cloudtwin.spec import validate_data

    if not 1 <= seeds <= MAX_RUNS:
        raise SpecError([Issue("--seeds", f"must be 1..{MAX_RUNS}", "<command line>", 0)])
    configs = configurations(axes, seeds)
    for config in configs:
        try:
            validate_data(apply(located, axes, config))
        except SpecError as exc:
            what = ", ".join(f"{k}={v}" for k, v in config.items())
            raise SpecError([Issue(i.path, f"{i.message} (in the configuration {what})", i.file, i.line)
                             for i in exc.issues]) from None
    seed_list = [seed_base + i for i in range(seeds)]
    digest = hashlib.sha256(json.dumps(located.data, sort_keys=True, default=str).encode()).hexdigest()
    definition = {"spec": located.file, "spec_sha256": digest, "seeds": seed_list,
                  "axes": {a.name: [repr(v) for v in a.values] for a in axes}, "options": options}
    return Plan(located, axes, configs, seed_list, options, definition)


def metrics(data: dict[str, Any]) -> dict[str, Any]:
    """A run's headline metrics, overall and per workload: availability over finished requests,
    the worst workload's p50 and p99, failed requests, lost messages and the monthly bill."""
    out: dict[str, Any] = {}
    finished = succeeded = failed = 0
    p50s, p99s = [], []
    for name, w in sorted(data.get("workloads", {}).items()):
        done = w["requests"] - w.get("in_flight", 0)
        finished += done
        succeeded += w["succeeded"]
        failed += w["failed"]
        lat = w.get("latency_ms") or {}
        out[f"{name}.availability"] = w["succeeded"] / done if done else None
        out[f"{name}.p99_ms"] = lat.get("p99")
        if lat.get("p50") is not None:
            p50s.append(lat["p50"])
        if lat.get("p99") is not None:
            p99s.append(lat["p99"])
    out["availability"] = succeeded / finished if finished else None
    out["p50_ms"] = max(p50s) if p50s else None
    out["p99_ms"] = max(p99s) if p99s else None
    out["failed"] = failed
    out["messages_lost"] = (data.get("messages") or {}).get("lost", 0)
    out["monthly_usd"] = (data.get("cost") or {}).get("monthly_usd")
    out["events"] = data.get("events")
    return out


def _column_value(axis: Axis, v: Any) -> Any:
    """An axis value as its column holds it: numbers stay numbers when the whole axis is numeric."""
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in axis.values)
    if numeric:
        return float(v) if any(isinstance(x, float) for x in axis.values) else int(v)
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def record_outcome(store: Store, axes: list[Axis], config: dict[str, Any], ci: int, job: Job,
                   outcome: tuple[str, Any]) -> dict[str, Any]:
    """Keep one finished run in the store: its row (axes, seed, status, headline metrics) and JSON."""
    status, payload = outcome
    row: dict[str, Any] = {"run": job.label, "config": ci, "seed": job.options["seed"], "status": status}
    for axis in axes:
        row[f"set.{axis.name}"] = _column_value(axis, config[axis.name])
    if status == "ok":
        row.update({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in metrics(payload).items()})
        row["json"] = str(Path("runs") / f"{job.label}.json")
        text = json.dumps(payload, indent=2)
    else:
        row["error"] = str(payload)
        text = json.dumps({"status": status, "error": str(payload)})
    store.record(row, text)
    return row


def execute(p: Plan, store: Store, executor: str, *, workers: int, address: str | None = None,
            on_done: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Run what the store does not hold yet; each finished run is kept at once. The number run."""
    from cloudtwin.sweep.executors import execute as _execute

    n = 0
    for job, outcome in _execute(p.jobs(store.done), executor, workers=workers, address=address):
        ci = int(job.label.split("-")[0][1:])
        row = record_outcome(store, p.axes, p.configs[ci], ci, job, outcome)
        n += 1
        if on_done is not None:
            on_done(row)
    return n
