"""Handler steps: what one request does on an instance. Data only, never code.

``cpu: <dist>`` holds a worker slot for the drawn time. ``sleep: <dist>`` waits
without a slot (I/O to something not modelled). ``call: <component>[.<op>]``
sends a synchronous request and waits for the answer, with an optional timeout
and retries (exponential backoff with full jitter); ``on_miss`` runs only when a
cache ``get`` misses.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from cloudtwin.spec.base import Dist, Duration, KeyDist, Model, Size
from cloudtwin.spec.message import MessageSpec


class CpuStep(Model):
    cpu: Dist


class SleepStep(Model):
    sleep: Dist


class CallStep(Model):
    call: str = Field(pattern=r"^[a-z][a-z0-9_-]*(\.[a-z_]+)?$")
    key: KeyDist | None = None
    ttl: Duration | None = None
    timeout: Duration | None = None
    retries: int = Field(0, ge=0, le=10)
    backoff: Duration = 0.1  # base of exponential backoff with full jitter (assumption)
    size: Size | None = None
    message: MessageSpec | None = None  # what a send/publish/invoke_async call sends
    batch: int | None = Field(None, ge=2, le=500)  # entries per call, through the target's batch API
    on_miss: list[Step] | None = None

    @property
    def target(self) -> str:
        return self.call.split(".", 1)[0]

    @property
    def op(self) -> str:
        return self.call.split(".", 1)[1] if "." in self.call else ""


def _step_kind(v: Any) -> str | None:
    if isinstance(v, dict):
        for k in ("cpu", "call", "sleep"):
            if k in v:
                return k
        return None
    if isinstance(v, CpuStep):
        return "cpu"
    if isinstance(v, CallStep):
        return "call"
    if isinstance(v, SleepStep):
        return "sleep"
    return None


Step = Annotated[
    Annotated[CpuStep, Tag("cpu")] | Annotated[CallStep, Tag("call")] | Annotated[SleepStep, Tag("sleep")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a handler step needs one of the keys cpu, call or sleep",
    ),
]

CallStep.model_rebuild()
