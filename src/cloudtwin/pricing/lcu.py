"""Load-balancer capacity units from simulated traffic, with every assumption stated.

An ALB bills LCU-hours: each hour, the highest of four dimensions, where one
LCU is 25 new connections/s, 3,000 active connections/min, 1 GB/h processed
(EC2/IP targets) or 1,000 rule evaluations/s [aws-facts §1, third party; the
same definition is transcribed from the AWS pricing page in
api-evangelist/amazon-elastic-load-balancing, 2026-09-20]. An NLB bills
NLCU-hours with 800 new TCP connections/s, 100,000 active connections or
1 GB/h (same transcription). A CLB bills GB processed.

The simulation has requests, not connections or bytes, so:
- one new connection per request (clients without keep-alive: an upper bound
  on the connection dimension);
- a connection lasts its request, so active connections = requests/s x mean
  latency through the LB (Little's law);
- bytes processed per request = request_size + response_size of the workloads
  that reach the LB, weighted by their requests; a workload without sizes adds
  no bytes and the bill lists the bytes dimension as unmeasured;
- no listener rules are modelled, so the rule-evaluation dimension is 0;
- 1 GB = 2^30 bytes (assumption).
Every dimension is proportional to the requests in an hour, so the per-hour
maximum summed over hours equals the maximum of the window totals, which is
what :func:`lcu_hours` computes.
"""

from __future__ import annotations

GIB = float(2**30)  # bytes per billed GB (assumption)
# (new connections/s, active connections, GB/h) per capacity unit
ALB_UNIT = (25.0, 3000.0, 1.0)  # [aws-facts §1]
NLB_UNIT = (800.0, 100_000.0, 1.0)  # TCP, api-evangelist transcription of the AWS pricing page


def lcu_hours(requests: float, mean_latency_s: float, bytes_per_request: float, unit: tuple[float, float, float],
              ) -> tuple[float, str]:
    """Capacity-unit-hours for ``requests`` over the window, and the dimension that set them."""
    new_conn, active, gb_h = unit
    dims = {
        "new connections": requests / (3600.0 * new_conn),
        "active connections": requests * mean_latency_s / (3600.0 * active),
        "processed bytes": requests * bytes_per_request / GIB / gb_h,
    }
    top = max(dims, key=lambda k: dims[k])
    return dims[top], top


def lb_traffic(name: str, kind: str, requests: int, latency: float, per_request: float,
               ) -> tuple[dict[str, float], str]:
    """Usage-based units of load balancer ``name`` of type ``kind`` (LCU-hours, NLCU-hours or CLB
    GB processed) for ``requests`` of mean ``latency`` seconds carrying ``per_request`` bytes, and a note."""
    n = float(requests)
    if n <= 0:
        return {}, ""
    if kind == "clb":
        return {"DataProcessing-Bytes:classic": n * per_request / GIB}, ""
    unit = ALB_UNIT if kind == "alb" else NLB_UNIT
    hours, top = lcu_hours(n, latency, per_request, unit)
    what = "LCU" if kind == "alb" else "NLCU"
    note = f"{name}: {hours:.4g} {what}-hours, set by {top} ({n:,.0f} requests, one connection each)"
    return {f"LCUUsage:{'application' if kind == 'alb' else 'network'}": hours}, note
