"""The figures that matter for each component type, as one line of the summary's component
table (and what a component "handled"), from its results."""

from __future__ import annotations

from typing import Any

from cloudtwin.render.formats import (
    DASH,
    as_dict,
    fmt_int,
    fmt_ms,
    fmt_pct,
    num,
    pct_or_none,
    range_text,
)

__all__ = ["handled", "key_figures"]


def handled(c: dict[str, Any]) -> Any:
    """What a component of this type handled: the count its ``handled`` column shows.

    ``requests`` counts calls made to the component; some types are fed otherwise
    (a Firehose reading a stream, a DLQ filled by its source queue, a topic fed by a bus),
    so the count that matters for them is their records, messages or events in.
    """
    t = c.get("type")
    if t == "firehose":
        return c.get("records_in")
    if t == "sqs":
        sent, dead = num(c.get("sent")), num(c.get("dead_letters_in"))
        return None if sent is None and dead is None else (sent or 0) + (dead or 0)
    if t == "sns":
        return c.get("publishes", c.get("requests"))
    if t == "eventbridge":
        put, svc = num(c.get("put_events")), num(c.get("service_events"))
        return c.get("requests") if put is None and svc is None else (put or 0) + (svc or 0)
    if t == "lambda":
        return c.get("invocations", c.get("requests"))
    return c.get("requests")


def _kv(parts: list[tuple[str, str | None]]) -> str:
    return ", ".join(f"{k} {v}" for k, v in parts if v is not None and v != DASH)


def _nonzero(c: dict[str, Any], *keys: str) -> list[tuple[str, str | None]]:
    """``(key with spaces, count)`` for the keys whose value is a positive number."""
    return [(k.replace("_", " "), fmt_int(c[k])) for k in keys if (num(c.get(k)) or 0) > 0]


def key_figures(c: dict[str, Any]) -> str:
    """The few figures that matter for a component of this type, as one line of text."""
    t = c.get("type")
    util = pct_or_none(c.get("utilization"))
    if t == "firehose":
        return _kv([("delivered", fmt_int(c.get("records_delivered"))),
                    ("to error prefix", fmt_int(c.get("delivered_to_error_prefix"))),
                    ("objects", fmt_int(c.get("objects"))), ("buffered", fmt_int(c.get("buffered"))),
                    *_nonzero(c, "throttled", "rejected", "lost")])
    if t == "sqs":
        e2e = fmt_ms(as_dict(c.get("end_to_end_ms")).get("p99"))
        parts: list[tuple[str, str | None]] = [
            ("depth", fmt_int(c.get("visible"))), ("max", fmt_int(c.get("max_visible"))),
            ("in flight", fmt_int(c.get("in_flight")))]
        if (num(c.get("dead_letters_in")) or 0) > 0:
            parts.append(("dead letters in", fmt_int(c.get("dead_letters_in"))))
        parts += [("delivered", fmt_int(c.get("delivered"))),
                  ("age at delivery p99", None if e2e == DASH else f"{e2e} ms"),
                  *_nonzero(c, "moved_to_dlq", "expired", "throttled", "rejected")]
        return _kv(parts)
    if t == "lambda":
        return _kv([("peak concurrency", fmt_int(c.get("max_concurrency"))),
                    ("throttles", fmt_int(c.get("throttles"))),
                    ("cold starts", fmt_int(c.get("cold_starts"))),
                    *_nonzero(c, "timeouts", "function_errors")])
    if t in ("elasticache", "dax", "cloudfront"):
        return _kv([("hit ratio", pct_or_none(c.get("hit_ratio"))),
                    ("hits", fmt_int(c.get("hits"))), ("misses", fmt_int(c.get("misses"))),
                    *_nonzero(c, "evictions", "origin_requests", "stale_reads", "failovers")])
    if t == "beanstalk":  # each deployment: policy, downtime, lowest capacity, failed requests
        deps = [f"{d['policy']} {d['status']}" + (f", downtime {d['downtime_s']:.0f} s, capacity "
                f"{d['capacity_before']}->{d['min_capacity']}, {d['failed_requests']:,} failed"
                if "downtime_s" in d else "") for d in c.get("deployments", [])]
        return _kv([("version", str(c["version"]) if "version" in c else None),
                    ("deployments", "; ".join(deps) or None)])
    if t in ("asg", "ec2"):
        return _kv([("in service", range_text(c.get("instances"))), ("utilisation", util),
                    *_nonzero(c, "launched", "terminated")])
    if t == "ecs":
        return _kv([("running", range_text(c.get("running"))), ("utilisation", util),
                    *_nonzero(c, "launched", "killed", "spot_interruptions", "scale_actions")])
    if t == "rds":
        return _kv([("utilisation", util), ("reads", fmt_int(c.get("reads"))),
                    ("writes", fmt_int(c.get("writes"))),
                    *_nonzero(c, "failovers", "refused_connections", "stale_reads")])
    if t == "kinesis":
        share = num(c.get("hot_shard_share"))
        return _kv([("shards", fmt_int(c.get("shards"))), ("accepted", fmt_int(c.get("accepted"))),
                    ("throttled", fmt_int(c.get("throttled"))),
                    ("hot shard share", None if share is None else fmt_pct(share)),
                    *_nonzero(c, "expired", "rejected")])
    if t == "dynamodb":
        return _kv([("capacity", str(c["capacity"]) if "capacity" in c else None),
                    ("consumed RCU", fmt_int(c.get("consumed_rcu"))),
                    ("WCU", fmt_int(c.get("consumed_wcu"))),
                    ("throttled", fmt_int(c.get("throttled"))),
                    *_nonzero(c, "partition_splits")])
    if t in ("alb", "nlb", "clb", "elb"):
        return _kv([("healthy targets", range_text(c.get("healthy_targets"))),
                    *_nonzero(c, "no_target_errors")])
    if t == "apigateway":
        return _kv(_nonzero(c, "throttled", "integration_errors", "integration_timeouts"))
    if t == "s3":
        return _kv([("puts", fmt_int(c.get("puts"))), ("gets", fmt_int(c.get("gets"))),
                    *_nonzero(c, "throttled", "denied", "events_sent")])
    if t == "sns":
        return _kv(_nonzero(c, "unmatched", "rejected", "pending"))
    if t == "cloudwatch_alarm":
        return _kv([("state", str(c.get("state", DASH))), ("to ALARM", fmt_int(as_dict(c.get("changes")).get("ALARM"))),
                    ("actions", fmt_int(c.get("actions"))), *_nonzero(c, "missing_datapoints")])
    if t == "eventbridge":
        return _kv(_nonzero(c, "unmatched", "rejected", "throttled", "pending"))
    if t in ("directconnect", "vpn"):
        from cloudtwin.render.flows_summary import link_figures

        return _kv(link_figures(c))
    if t in ("athena", "redshift"):
        return _kv([("queries", fmt_int(c.get("queries"))), *_nonzero(c, "queued", "timeouts")])
    return _kv([("utilisation", util)])
