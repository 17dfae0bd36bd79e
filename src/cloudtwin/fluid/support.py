"""Which specs the fluid engine models: component types, their keys, workloads, faults.

Anything else is refused up front (:class:`FluidRefused`, the CLI exits 2) naming the
component or workload and the key, rather than being simulated wrongly. A key counts as
used when the spec sets it (pydantic's ``model_fields_set``), whatever its value.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.errors import CloudtwinError
from cloudtwin.fluid.call_support import (
    STATION_KEYS,
    check_fault,
    check_health_handler,
    check_sessions,
    check_station,
    check_steps,
)
from cloudtwin.spec.steps import CallStep, CpuStep, SleepStep

FLEETS = ("asg", "ec2")
BALANCERS = ("alb", "nlb")

# keys each supported type may set; the rest of the type's keys are refused
KEYS: dict[str, set[str]] = {
    "route53": {"type", "records"},
    "alb": {"type", "targets", "algorithm", "health_check", "deregistration_delay", "cross_zone", "zones",
            "internet_facing", "https", "latency"},
    "asg": {"type", "instance_type", "workers", "backlog", "boot_time", "handler", "zones", "capacity",
            "scaling", "health_check", "purchase"},
    "ec2": {"type", "instance_type", "workers", "backlog", "boot_time", "handler", "count", "zones",
            "public_ip", "purchase"},
}
KEYS["nlb"] = KEYS["alb"]
for _fleet in FLEETS:
    KEYS[_fleet].add("health_handler")  # without calls (fluid/call_support.py)
KEYS.update(STATION_KEYS)  # downstream stations (fluid/stations.py)
# API Gateway -> Lambda (synchronous), in cloudtwin.fluid.serverless
KEYS["apigateway"] = {"type", "api", "protocol", "integration", "throttle", "method_throttle", "account_throttle",
                      "latency"}
KEYS["lambda"] = {"type", "handler", "memory", "timeout", "reserved_concurrency", "provisioned_concurrency",
                  "init_duration", "idle_timeout", "error_rate", "zones"}
KEYS["lambda"] |= {"event_sources", "retries", "max_event_age", "dlq", "on_failure"}
KEYS["sqs"] = {"type", "visibility_timeout", "retention", "max_receive_count", "dlq", "latency", "max_message_size"}
KEYS["sns"] = {"type", "subscriptions", "latency", "delivery_latency"}
SERVERLESS = ("apigateway", "lambda", "sqs", "sns")
ES_KEYS = {"queue", "batch_size", "report_batch_item_failures", "maximum_concurrency"}
RECORD_KEYS = {"name", "alias", "routing"}
SCALING_KEYS = {"target_cpu", "warmup", "default_cooldown", "disable_scale_in"}
WORKLOAD_KEYS = {"entry", "rate", "arrivals", "profile", "host", "clients", "timeout", "op", "message", "sessions"}
FAULT_KEYS = {"at", "duration", "az_outage"}
TOP_KEYS = {"name", "description", "region", "zones", "components", "workloads", "faults", "simulate",
            "blueprint", "network", "account"}


class FluidRefused(CloudtwinError):
    """The spec uses something the fluid engine does not model."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"fluid engine: {where} {what}; use --engine exact")
        self.where = where


def _set(m: Any) -> set[str]:
    return set(getattr(m, "model_fields_set", set()))


def check(arch: Any) -> None:
    """Raise :class:`FluidRefused` at the first thing of ``arch`` the fluid engine does not model."""
    for key in sorted(_set(arch) - TOP_KEYS):
        if getattr(arch, key, None):
            raise FluidRefused(key, "is not modelled yet")
    for name, c in arch.components.items():
        _component(name, c, arch)
    for name, w in arch.workloads.items():
        extra = sorted(_set(w) - WORKLOAD_KEYS)
        if extra:
            raise FluidRefused(f"workloads.{name}", f"key `{extra[0]}` is not modelled yet")
        entry = arch.components[w.entry]
        msg_extra = _set(w.message) - {"size", "poison"} if getattr(w, "message", None) is not None else set()
        if entry.type == "sqs" and (w.op not in (None, "", "send") or "batch" in _set(w) or msg_extra):
            raise FluidRefused(f"workloads.{name}", "only a `send` to a queue (message: size, poison) is modelled yet")
        if entry.type == "sns" and (w.op not in (None, "", "publish") or "batch" in _set(w) or msg_extra):
            raise FluidRefused(f"workloads.{name}", "only a `publish` (message: size, poison) is modelled yet")
        if entry.type not in ("sqs", "sns") and "op" in _set(w) and w.op not in ("", "invoke", "invoke_async"):
            raise FluidRefused(f"workloads.{name}", f"op `{w.op}` is not modelled yet")
        if entry.type not in ("route53", *BALANCERS, *FLEETS, *SERVERLESS):
            raise FluidRefused(f"workloads.{name}", f"entry {w.entry} ({entry.type}) is not modelled yet")
        check_sessions(f"workloads.{name}", w, arch)
    for i, f in enumerate(arch.faults):
        if f.az_outage is None and f.action != "fis":
            check_fault(i, f, arch)  # terminate, db_failover, latency, errors (fluid/faults.py)
            continue
        extra = sorted(_set(f) - FAULT_KEYS)
        if extra or f.az_outage is None:
            key = extra[0] if extra else "fis"
            raise FluidRefused(f"faults[{i}]", f"`{key}` is not modelled yet "
                               "(az_outage, terminate, db_failover, latency, errors)")


def _component(name: str, c: Any, arch: Any) -> None:
    where = f"components.{name} ({c.type})"
    if c.type not in KEYS:
        raise FluidRefused(where, "is not modelled yet")
    extra = sorted(_set(c) - KEYS[c.type])
    if extra:
        raise FluidRefused(where, f"key `{extra[0]}` is not modelled yet")
    if c.type == "route53":
        for i, r in enumerate(c.records):
            bad = sorted(_set(r) - RECORD_KEYS)
            if bad or r.alias is None or r.routing != "simple":
                key = bad[0] if bad else ("a" if r.alias is None else "routing")
                raise FluidRefused(f"{where} records[{i}]", f"key `{key}` is not modelled yet (simple alias only)")
            if arch.components[r.alias].type not in BALANCERS:
                raise FluidRefused(f"{where} records[{i}]", "alias to something other than alb/nlb")
    elif c.type in SERVERLESS:
        _serverless(where, c, arch)
    elif c.type in BALANCERS:
        names = c.target_names
        if len(names) != 1 or arch.components[names[0]].type not in FLEETS:
            raise FluidRefused(where, "key `targets` must name one asg or ec2 in the fluid engine")
        if c.algorithm != "round_robin":
            raise FluidRefused(where, "key `algorithm` (least_outstanding_requests) is not modelled yet")
        if c.type == "nlb" and c.cross_zone is not True:
            raise FluidRefused(where, "cross-zone off (the NLB default) is not modelled yet; set cross_zone: true")
    elif c.type in STATION_KEYS:
        check_station(where, c)
    else:
        from cloudtwin.sizes import credit_type

        if credit_type(c.instance_type) is not None:
            raise FluidRefused(f"{where} instance_type", f"{c.instance_type} is burstable: its CPU credits are "
                                                         "not modelled yet")
        check_steps(f"{where} handler", list(c.handler), arch)  # cpu, sleep, call (fluid/call_support.py)
        check_health_handler(where, c)
        if not any(isinstance(st, CpuStep) for st in c.handler):
            raise FluidRefused(f"{where} handler", "has no cpu step (nothing to queue for)")
        if c.type == "asg":
            if c.scaling is not None:
                bad = sorted(_set(c.scaling) - SCALING_KEYS)
                if bad:
                    raise FluidRefused(f"{where} scaling", f"key `{bad[0]}` is not modelled yet")
            if c.health_check.type != "ec2":
                raise FluidRefused(f"{where} health_check", "type elb is not modelled yet")


def _serverless(where: str, c: Any, arch: Any) -> None:
    if c.type == "apigateway":
        it = c.integration
        if arch.components[it.target].type != "lambda" or it.op != "invoke" or _set(it) - {"target", "op", "timeout"}:
            raise FluidRefused(f"{where} integration", "only a synchronous Lambda invoke (op: invoke) is modelled yet")
        return
    if c.type == "sns":
        for i, sub in enumerate(c.subscriptions):
            t = arch.components.get(sub.target) if sub.target else None
            if _set(sub) - {"protocol", "target"} or t is None or t.type not in ("sqs", "lambda"):
                raise FluidRefused(f"{where} subscriptions[{i}]", "only plain sqs and lambda subscriptions are "
                                   "modelled yet (no filter policy, dlq or other endpoint)")
        return
    if c.type == "sqs":
        drained = [(n, es) for n, f in arch.components.items() if f.type == "lambda" for es in f.event_sources
                   if es.queue == _name(arch, c)]
        me = _name(arch, c)
        dlq_of = [n for n, q in arch.components.items()
                  if (q.type == "sqs" and q.dlq == me) or (q.type == "lambda" and me in (q.dlq, q.on_failure))]
        if len(drained) != 1 and not (dlq_of and not drained):
            raise FluidRefused(where, "needs exactly one consumer, a Lambda event source (or to be a dead-letter "
                               "queue nobody reads); polling workers are not modelled yet")
        return
    for i, st in enumerate(c.handler):
        kind = (getattr(arch.components.get(st.target), "type", None), st.op) if isinstance(st, CallStep) else None
        if kind in (("sqs", "send"), ("sns", "publish")) and _set(st) == {"call"}:
            continue  # a plain send to a queue or publish to a topic
        if not isinstance(st, (CpuStep, SleepStep)):
            raise FluidRefused(f"{where} handler[{i}]", "is not a cpu or sleep step or a plain send/publish: calls "
                               "from a function to databases and caches are not modelled yet")
    for i, es in enumerate(c.event_sources):
        bad = sorted(_set(es) - ES_KEYS)
        if bad:
            raise FluidRefused(f"{where} event_sources[{i}]", f"key `{bad[0]}` is not modelled yet")
        limit = c.reserved_concurrency if c.reserved_concurrency is not None else arch.account.lambda_concurrency
        if min(1000, es.maximum_concurrency or 1000) > limit:
            raise FluidRefused(f"{where} event_sources[{i}]", "pollers could outnumber the function's "
                               "concurrency (throttled batches are not modelled yet): set maximum_concurrency "
                               "to at most the reserved concurrency")


def _name(arch: Any, c: Any) -> str:
    return str(next(n for n, x in arch.components.items() if x is c))
