"""A batch whose handler is one cpu step takes Invocation._next_cpu; it must give exactly what
the general path (a Request and a handler Run per message) gives: timeouts, errors, poison,
partial batch failures and injected faults included."""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Simulation, parse_spec
from cloudtwin.services import lambda_runtime
from cloudtwin.services.lambda_ import Lambda

SPEC = """
name: cpu-batch
components:
  jobs: {{type: sqs, dlq: jobs-dlq, max_receive_count: 3, visibility_timeout: 20s}}
  jobs-dlq: {{type: sqs, retention: 14d}}
  fn:
    type: lambda
    memory: 512
    timeout: 3s
    error_rate: 0.02
    handler: [{{cpu: "lognormal(median=40ms, p99=600ms)"}}]
    event_sources: [{{queue: jobs, batch_size: 10, report_batch_item_failures: {rbif}}}]
workloads:
  w: {{entry: jobs, rate: 150/s, message: {{poison: 0.01}}}}
faults:
  - {{at: 1m, errors: fn, rate: 0.3, duration: 30s}}
  - {{at: 2m, latency: fn, add: 200ms, duration: 30s}}
simulate: {{duration: 4m}}
"""


def _run(rbif: bool, fused: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], int]:
    taken = [0]
    with monkeypatch.context() as m:
        if fused:
            real = lambda_runtime.Invocation._next_cpu

            def counted(inv: Any) -> None:
                taken[0] += 1
                real(inv)

            m.setattr(lambda_runtime.Invocation, "_next_cpu", counted)
        else:
            apply = Lambda._apply_steps

            def general(fn: Lambda) -> None:
                apply(fn)
                fn.cpu_only = None

            m.setattr(Lambda, "_apply_steps", general)
        res = Simulation(parse_spec(SPEC.format(rbif=str(rbif).lower())), seed=5).run()
    out = dict(res.data)
    out.pop("wall_s", None)
    return out, taken[0]


@pytest.mark.python_only
@pytest.mark.parametrize("rbif", [True, False])
def test_one_cpu_step_batches_match_the_general_path(rbif: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    fused, taken = _run(rbif, True, monkeypatch)
    general, none = _run(rbif, False, monkeypatch)
    assert taken > 10_000 and none == 0  # the fused path ran, and the reference did not use it
    fn = fused["components"]["fn"]
    assert fn["timeouts"] > 0 and fused["messages"]["dead_lettered"] > 0  # the deadline test and the DLQ were exercised
    assert fused == general
