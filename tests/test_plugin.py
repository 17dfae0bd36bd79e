"""Adding a service is one spec model, one live model and one catalogue row (docs/contributing.md).

The example plug-in is a third-party HTTP API outside AWS: a latency per call and a
share of calls that fail. It is registered at run time, used both as a workload entry
and from a Lambda handler's ``call`` step, and removed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest

import cloudtwin
from cloudtwin import catalogue
from cloudtwin.component import Component, deliver
from cloudtwin.context import Context
from cloudtwin.engine import make_sampler
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.request import SERVER_ERROR, Done, Request
from cloudtwin.spec.base import ComponentSpec, Dist


# 1. the spec model: what a user may write under `type: thirdparty`
class ThirdPartySpec(ComponentSpec):
    type: Literal["thirdparty"]
    latency: Dist = "40ms"  # type: ignore[assignment]  # parsed by the Dist validator
    error_rate: float = 0.0


# 2. the live model: serve() answers each call
class ThirdParty(Component):
    kind = "thirdparty"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.u = uniform_sampler(ctx.stream(f"{name}.errors"))

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        lat = self.lat()
        self.latency.record(lat)
        err = SERVER_ERROR if self.u() < self.spec.error_rate else None
        self.errors += err is not None
        self.engine.after(lat, deliver, (req, done, err))


# 3. the catalogue row
ROW = catalogue.ComponentType(type="thirdparty", spec_model=ThirdPartySpec, live_model=ThirdParty,
                              operations=("",), entry=True, cfn=(), group="networking")


@pytest.fixture
def plugin() -> Iterator[catalogue.ComponentType]:
    row = catalogue.register(ROW)
    try:
        yield row
    finally:
        catalogue.unregister("thirdparty")


SPEC = """\
name: with-plugin
components:
  payments: {type: thirdparty, latency: 50ms, error_rate: 0.1}
  checkout: {type: lambda, handler: [{cpu: 5ms}, {call: payments}]}
workloads:
  direct: {entry: payments, rate: 20/s}
  shoppers: {entry: checkout, rate: 20/s}
simulate: {duration: 10m, seed: 3}
"""


def test_registered_type_runs_end_to_end(plugin: catalogue.ComponentType) -> None:
    arch = cloudtwin.parse_spec(SPEC)
    assert isinstance(arch.components["payments"], ThirdPartySpec)
    res = cloudtwin.Simulation(arch).run()
    pay = res.component("payments")
    direct, shoppers = res.workload("direct"), res.workload("shoppers")
    # every request of both workloads reached the plug-in, and it failed about 10% of them
    assert abs(pay["requests"] - (direct["requests"] + shoppers["requests"])) < 10  # a few in flight at the end
    assert 20_000 < pay["requests"] < 28_000  # 2 x 20/s x 600 s, Poisson
    assert pay["errors"] / pay["requests"] == pytest.approx(0.1, abs=0.01)
    assert 1 - direct["availability"] == pytest.approx(0.1, abs=0.015)
    # the fixed 50 ms shows in both callers' latency: direct exactly, via Lambda on top of 5 ms CPU
    assert direct["latency_ms"]["p50"] == pytest.approx(50, abs=2)
    assert shoppers["latency_ms"]["p50"] > 55


def test_registered_type_is_checked_like_a_builtin(plugin: catalogue.ComponentType) -> None:
    with pytest.raises(cloudtwin.SpecError, match="unknown key 'eror_rate'; did you mean 'error_rate'?"):
        cloudtwin.parse_spec(SPEC.replace("error_rate: 0.1", "eror_rate: 0.1"))
    with pytest.raises(cloudtwin.SpecError, match=r"checkout\.handler\[1\]\.call: thirdparty has no operation 'get'"):
        cloudtwin.parse_spec(SPEC.replace("{call: payments}", "{call: payments.get}"))


def test_unregistered_type_is_refused() -> None:
    with pytest.raises(cloudtwin.SpecError, match="thirdparty"):
        cloudtwin.parse_spec(SPEC)


def test_register_refuses_duplicates_and_unknown_groups(plugin: catalogue.ComponentType) -> None:
    with pytest.raises(ValueError, match="already"):
        catalogue.register(ROW)
    with pytest.raises(ValueError, match="diagram group"):
        catalogue.register(catalogue.ComponentType("x", ThirdPartySpec, ThirdParty, (), False, (), "nowhere"))
