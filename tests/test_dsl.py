"""The Python DSL builds the same architecture as YAML, with the same validation, and errors at
the Python file and line."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import cloudtwin
from cloudtwin import catalogue, dsl
from cloudtwin.dsl import (
    ALB,
    ASG,
    RDS,
    SNS,
    SQS,
    Arch,
    Component,
    ElastiCache,
    Lambda,
    Route53,
    Workload,
    Zone,
    call,
    cpu,
)
from cloudtwin.engine.sampling import BadDraw
from cloudtwin.errors import SpecError

YAML = """
name: shop
zones: [a, b]
components:
  dns:
    type: route53
    records:
      - {name: lb.example.com, alias: lb}
  lb: {type: alb, targets: [web]}
  web:
    type: asg
    instance_type: m5.large
    capacity: {min: 2, desired: 4, max: 8}
    handler:
      - cpu: exp(16ms)
      - {call: cache.get, key: "zipf(s=1.1, n=1000)"}
      - call: db.query
  cache: {type: elasticache, zones: [a]}
  db: {type: rds, instance_class: db.r5.large, multi_az: true, zone: a}
workloads:
  users: {entry: dns, rate: 200/s}
simulate: {duration: 5m, seed: 4}
"""


def shop() -> Arch:
    with Arch("shop", zones="ab", duration="5m", seed=4) as arch:
        dns, lb = Route53("dns"), ALB("lb")
        web = ASG("web", instance_type="m5.large", capacity={"min": 2, "desired": 4, "max": 8},
                  handler=[cpu("exp(16ms)")])
        with Zone("a"):
            cache = ElastiCache("cache")
            db = RDS("db", instance_class="db.r5.large", multi_az=True)
        web.keys["handler"].append(call(cache, "get", key="zipf(s=1.1, n=1000)"))  # a get needs its key
        dns >> lb >> web >> db
        Workload("users", entry=dns, rate="200/s")
    return arch


def test_the_dsl_builds_what_the_yaml_says() -> None:
    built = shop().build()
    assert built.model_dump() == cloudtwin.parse_spec(YAML).model_dump()
    a = cloudtwin.Simulation(built).run()
    b = cloudtwin.Simulation(cloudtwin.parse_spec(YAML)).run()
    assert a["workloads"] == b["workloads"]  # the same spec, the same seed: the same run


def test_errors_name_the_python_line() -> None:
    here = inspect.getsourcefile(test_errors_name_the_python_line)
    with Arch("bad") as arch:
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        ASG("web", instance_type="m5.large", capacity={"min": 3, "desired": 2, "max": 4})
    with pytest.raises(SpecError) as e:
        arch.build()
    assert f"{here}:{line}: components.web" in str(e.value)
    with Arch("typo") as arch:
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        Lambda("fn", memroy=512)
    with pytest.raises(SpecError, match=rf"{line}: components\.fn\.memroy: unknown key 'memroy'; did you mean "
                                        "'memory'"):
        arch.build()


def test_links_lists_and_unknown_pairs() -> None:
    with Arch("msg") as arch:
        topic, q1, q2 = SNS("topic"), SQS("q1"), SQS("q2")
        fn = Lambda("fn", handler=[cpu("1ms")])
        topic >> [q1, q2]
        [q1, q2] >> fn
        Workload("events", entry=topic, rate="5/s")
    data, lines = arch.to_dict()
    assert data["components"]["topic"]["subscriptions"] == [{"target": "q1"}, {"target": "q2"}]
    assert data["components"]["fn"]["event_sources"] == [{"queue": "q1"}, {"queue": "q2"}]
    r = cloudtwin.Simulation(arch.build(), duration=120).run()
    assert r["messages"]["lost"] == 0 and r["components"]["fn"]["invocations"] > 0
    with Arch("odd"), pytest.raises(SpecError, match="rds >> sqs: no default link"):
        RDS("db", instance_class="db.r5.large") >> SQS("q")
    with Arch("twice"), pytest.raises(SpecError, match="a second component named 'q'"):
        SQS("q")
        SQS("q")
    with pytest.raises(SpecError, match=r"inside `with Arch\(...\)`"):
        SQS("q")


def test_a_python_callable_is_a_handler_step_drawn_from_its_stream() -> None:
    def bimodal(rng: np.random.Generator) -> float:
        return 0.002 if rng.random() < 0.9 else 0.050  # a cache hit or a slow path

    def build() -> cloudtwin.Results:
        with Arch("py", zones="a", duration="2m") as arch:
            app = Component("ec2", "app", instance_type="m5.large", handler=[cpu(bimodal), call("db", "query")])
            app >> RDS("db", instance_class="db.r5.large")  # a second call step, through `>>`
            Workload("users", entry=app, rate="20/s")
        return cloudtwin.Simulation(arch.build()).run()

    a, b = build(), build()
    assert a["workloads"] == b["workloads"]  # deterministic for a seed
    lat = a["workloads"]["users"]["latency_ms"]
    assert lat["p50"] < 10 and lat["p99"] > 45  # the two modes show: 90 % fast, 10 % at 50 ms
    with Arch("neg", zones="a"), pytest.raises(BadDraw, match="draws must be finite and >= 0"):
        Component("ec2", "app", instance_type="m5.large", handler=[cpu(lambda rng: -1.0)])


def test_every_component_type_has_a_class() -> None:
    classes = {getattr(dsl, n).type for n in dsl.__all__ if isinstance(getattr(dsl, n), type)
               and issubclass(getattr(dsl, n), Component) and getattr(dsl, n).type}
    assert classes == set(catalogue.ROWS)
