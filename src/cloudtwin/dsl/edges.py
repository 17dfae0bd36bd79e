"""What ``a >> b`` means: the spec key that links ``a`` to ``b``, by their types.

| ``a`` | ``b`` | becomes |
|---|---|---|
| route53 | anything | a record ``<b>.example.com``: an alias (an A record to an EC2 instance) |
| alb, nlb, clb | a fleet | one of ``a``'s ``targets`` |
| cloudfront | an origin | a behavior (``/*`` for the first, ``/<b>/*`` after) |
| apigateway | anything | ``a``'s integration (``op: invoke`` for a Lambda function) |
| ec2, asg, ecs, lambda | anything | a ``call`` step appended to ``a``'s handler, with ``b``'s usual operation |
| sns | sqs, lambda, alb... | a subscription |
| sqs | lambda | an event source of ``b``; | sqs | ecs | ``b`` consumes ``a`` |
| kinesis, dynamodb | lambda | a stream consumer |
| s3 | lambda, sqs, sns | a notification on put |

Any other pair is an error at the line of ``>>``, asking for the key to be set by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.errors import Issue, SpecError

if TYPE_CHECKING:
    from cloudtwin.dsl.model import Component

__all__ = ["DEFAULT_OPS", "connect"]

# the operation a `>>` call asks of each type (the first of the catalogue's, where it has one)
DEFAULT_OPS = {"rds": "query", "aurora": "query", "elasticache": "get", "dynamodb": "get", "dax": "get",
               "s3": "get", "efs": "read", "ebs": "read", "sqs": "send", "sns": "publish", "eventbridge": "put",
               "kinesis": "put", "firehose": "put", "lambda": "invoke", "ses": "send", "ecs": "run_task"}
_CALLERS = ("ec2", "asg", "ecs", "lambda")
_LBS = ("alb", "nlb", "clb")


def _add(comp: Component, key: str, entry: Any, line: int) -> None:
    comp.keys.setdefault(key, [])
    value = comp.keys[key]
    if not isinstance(value, list):  # a single target given as a name: keep it, add the new one
        value = comp.keys[key] = [value]
    value.append(entry)
    comp.key_lines.setdefault(key, line)


def connect(a: Component, b: Component, line: int) -> None:  # noqa: C901 - one branch per pair
    ta, tb = a.type, b.type
    if ta == "route53":
        _add(a, "records", {"name": f"{b.name}.example.com", ("a" if tb == "ec2" else "alias"): b}, line)
    elif ta in _LBS:
        _add(a, "targets", b, line)
    elif ta == "cloudfront":
        first = not a.keys.get("behaviors")
        _add(a, "behaviors", {"path": "/*" if first else f"/{b.name}/*", "origin": b}, line)
    elif ta == "apigateway":
        a.keys["integration"] = {"target": b, "op": "invoke"} if tb == "lambda" else {"target": b}
        a.key_lines.setdefault("integration", line)
    elif ta in _CALLERS:
        op = DEFAULT_OPS.get(tb, "")
        _add(a, "handler", {"call": f"{b.name}.{op}" if op else b.name}, line)
    elif ta == "sns":
        _add(a, "subscriptions", {"target": b}, line)
    elif ta == "sqs" and tb == "lambda":
        _add(b, "event_sources", {"queue": a}, line)
    elif ta == "sqs" and tb == "ecs":
        b.keys["consumes"] = {"queue": a}
        b.key_lines.setdefault("consumes", line)
    elif ta == "kinesis" and tb == "lambda":
        _add(a, "consumers", {"function": b}, line)
    elif ta == "dynamodb" and tb == "lambda":
        stream = a.keys.setdefault("stream", {})
        stream.setdefault("consumers", []).append({"function": b})
        a.key_lines.setdefault("stream", line)
    elif ta == "s3" and tb in ("lambda", "sqs", "sns"):
        _add(a, "notifications", {"target": b}, line)
    else:
        from cloudtwin.dsl.model import current

        raise SpecError([Issue(f"components.{a.name}", f"{ta} >> {tb}: no default link from a {ta} to a {tb}; set "
                               "the spec key that links them on the component", current().file, line)])
