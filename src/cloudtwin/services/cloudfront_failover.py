"""CloudFront origin groups: which answers of the primary origin send a request to the secondary.

The model's outcomes map to the HTTP status CloudFront would see (assumption, as each service
answers): ``timeout`` 504 (no answer within the response timeout, or no connection after
every attempt), ``server_error`` 500, ``unavailable`` 503 (a load balancer with no healthy
target, S3 or an instance that refuses), ``throttled`` 503 (S3 SlowDown; API Gateway answers
429, which is not a failover code), ``rejected`` 403. A failover fires when the status is one
of the group's codes [aws-facts §13 Origin-group failover codes]; the secondary's answer,
whatever it is, goes to the viewer.
"""

from __future__ import annotations

from cloudtwin.request import REJECTED, SERVER_ERROR, THROTTLED, TIMEOUT, UNAVAILABLE

STATUS = {TIMEOUT: 504, SERVER_ERROR: 500, UNAVAILABLE: 503, THROTTLED: 503, REJECTED: 403}


def status_of(err: str, origin_type: str) -> int:
    """The HTTP status CloudFront sees for outcome ``err`` of an origin of ``origin_type``."""
    if err == THROTTLED and origin_type == "apigateway":
        return 429
    return STATUS.get(err, 500)
