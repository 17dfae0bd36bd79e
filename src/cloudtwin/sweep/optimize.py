"""The cheapest configuration that meets an SLO, searched with Optuna over the sweep's axes.

Each trial is one configuration (a value per ``--vary`` axis), run for every seed through the
sweep's executors and kept in the sweep's results store, which doubles as a cache: a
configuration tried twice, or by an earlier ``optimize`` into the same folder, is not run
again. A trial's metrics are means over its seeds. The search has three objectives, the
monthly bill, the p99 and the availability, and one constraint per SLO term (its relative
violation, 0 when it holds).

- When the space has no more configurations than ``--trials``, every one is tried: the whole
  grid goes to the executors at once, so its runs fill every worker. The answer is exact.
- Otherwise Optuna's TPE sampler, seeded, with the SLO as its constraints: a search, which
  may miss the optimum; the output says how many of the configurations were tried. Trials are
  asked for in batches of ``batch`` (Optuna's ask/tell; the sampler's "constant liar" keeps a
  batch's members apart), and a batch's runs, every seed of every trial, go to the executors
  together. The batch size is the search's own setting, not the worker count, so a seeded search
  asks for the same trials, and gives the same answer, whatever ``workers`` is.

The answer is the feasible trial with the lowest bill (then the lowest p99, then the highest
availability); the Pareto front is every feasible trial that no other feasible trial beats on
all three.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.runs import Job
from cloudtwin.spec.loader import Located
from cloudtwin.sweep.axes import Axis, apply
from cloudtwin.sweep.slo import Objective
from cloudtwin.sweep.store import Store

__all__ = ["Search", "optimize"]

_AXES_METRICS = ("monthly_usd", "p99_ms", "availability", "p50_ms", "failed", "messages_lost")
BATCH = 4  # TPE trials asked for at once (the search's setting: independent of the workers)


@dataclass
class Search:
    located: Located
    axes: list[Axis]
    slo: list[Objective]
    seeds: list[int]
    options: dict[str, Any]
    trials: dict[int, dict[str, Any]] = field(default_factory=dict)  # config index -> trial summary
    exhaustive: bool = False

    @property
    def size(self) -> int:
        return math.prod(len(a.values) for a in self.axes)

    def config(self, idx: tuple[int, ...]) -> dict[str, Any]:
        return {a.name: a.values[i] for a, i in zip(self.axes, idx, strict=True)}

    def index(self, idx: tuple[int, ...]) -> int:
        """The configuration's place in the cartesian product (the last axis varies fastest)."""
        ci = 0
        for a, i in zip(self.axes, idx, strict=True):
            ci = ci * len(a.values) + i
        return ci


def check_values(located: Located, axes: list[Axis]) -> None:
    """Each value of each axis, with the other axes at their first value, validates: a typo is an
    error before the search starts, not after an hour of it."""
    from cloudtwin.spec import validate_data

    for k, axis in enumerate(axes):
        for v in axis.values:
            config = {a.name: (v if j == k else a.values[0]) for j, a in enumerate(axes)}
            try:
                validate_data(apply(located, axes, config))
            except SpecError as exc:
                raise SpecError([Issue(i.path, f"{i.message} (--vary {axis.name}={v})", i.file, i.line)
                                 for i in exc.issues]) from None


def _evaluate(s: Search, idxs: list[tuple[int, ...]], store: Store, executor: str, workers: int,
              address: str | None) -> list[dict[str, Any]]:
    """The trials of configurations ``idxs``: the runs not yet in the store (every seed of every
    configuration not tried) go to the executors together, then each trial is summarised."""
    from cloudtwin.spec import validate_data
    from cloudtwin.sweep.plan import record_outcome

    jobs: list[Job] = []
    configs: dict[str, tuple[dict[str, Any], int]] = {}
    for idx in dict.fromkeys(idxs):  # each configuration once, in the order asked
        ci = s.index(idx)
        if ci in s.trials:
            continue
        config = s.config(idx)
        todo = [seed for seed in s.seeds if not store.done(f"c{ci:04d}-s{seed}")]
        if todo:
            arch = validate_data(apply(s.located, s.axes, config))
            for seed in todo:
                label = f"c{ci:04d}-s{seed}"
                jobs.append(Job(arch, dict(s.options, seed=seed), label=label))
                configs[label] = (config, ci)
    if jobs:
        from cloudtwin.sweep.executors import execute

        for job, outcome in execute(jobs, executor, workers=workers, address=address):
            config, ci = configs[job.label]
            record_outcome(store, s.axes, config, ci, job, outcome)
    return [_summarise(s, idx, store) for idx in idxs]


def _summarise(s: Search, idx: tuple[int, ...], store: Store) -> dict[str, Any]:
    ci = s.index(idx)
    if ci in s.trials:
        return s.trials[ci]
    config = s.config(idx)
    rows = [store.rows[f"c{ci:04d}-s{seed}"] for seed in s.seeds]
    ok = [r for r in rows if r.get("status") == "ok"]
    means: dict[str, Any] = {}
    for m in _AXES_METRICS:
        xs = [float(r[m]) for r in ok if r.get(m) is not None]
        means[m] = math.fsum(xs) / len(xs) if xs and len(ok) == len(rows) else None
    violations = [o.violation(means) for o in s.slo]
    trial = {"config": ci, "set": config, "metrics": means, "violations": violations,
             "feasible": all(v == 0 for v in violations), "runs": len(rows), "not_ok": len(rows) - len(ok)}
    s.trials[ci] = trial
    return trial


def optimize(s: Search, store: Store, *, trials: int, executor: str = "local", workers: int = 1,
             address: str | None = None, sampler_seed: int = 0, batch: int = BATCH) -> dict[str, Any]:
    s.exhaustive = s.size <= trials
    if s.exhaustive:  # every configuration: the whole grid through the executors at once
        _evaluate(s, list(itertools.product(*(range(len(a.values)) for a in s.axes))), store, executor,
                  workers, address)
        return answer(s)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():  # constant_liar is marked experimental by Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=sampler_seed, constant_liar=True)
    study = optuna.create_study(directions=["minimize", "minimize", "maximize"], sampler=sampler)
    left = trials
    while left > 0:
        asked = [study.ask() for _ in range(min(batch, left))]
        idxs = [tuple(t.suggest_categorical(a.name, list(range(len(a.values)))) for a in s.axes) for t in asked]
        for t, trial in zip(asked, _evaluate(s, idxs, store, executor, workers, address), strict=True):
            for o, v in zip(s.slo, trial["violations"], strict=True):  # the SLO terms as the search's constraints
                t.set_constraint(str(o), min(v, 1e9))
            m = trial["metrics"]
            study.tell(t, (_num(m["monthly_usd"], math.inf), _num(m["p99_ms"], math.inf),
                           _num(m["availability"], 0.0)))
        left -= len(asked)
    return answer(s)


def _num(v: Any, missing: float) -> float:
    return missing if v is None else float(v)


def _key(t: dict[str, Any]) -> tuple[float, float, float]:
    m = t["metrics"]
    return _num(m["monthly_usd"], math.inf), _num(m["p99_ms"], math.inf), -_num(m["availability"], 0.0)


def answer(s: Search) -> dict[str, Any]:
    feasible = sorted((t for t in s.trials.values() if t["feasible"]), key=_key)
    front = [t for t in feasible if not any(_dominates(o, t) for o in feasible)]
    return {"slo": [str(o) for o in s.slo], "space": s.size, "tried": len(s.trials), "exhaustive": s.exhaustive,
            "best": feasible[0] if feasible else None, "pareto": front,
            "trials": sorted(s.trials.values(), key=lambda t: t["config"])}


def _dominates(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ka, kb = _key(a), _key(b)
    return all(x <= y for x, y in zip(ka, kb, strict=True)) and ka != kb
