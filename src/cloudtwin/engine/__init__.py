"""The discrete-event engine: a clock, an event heap and seeded random streams.

It knows nothing about AWS. Everything above it schedules plain callbacks.
"""

from cloudtwin.compiled import extend as _extend

_extend(__path__, __name__)  # the compiled layer (make fast), when built and current

from cloudtwin.engine.core import Engine, Ghosts, StopSimulation, Timer  # noqa: E402
from cloudtwin.engine.rng import stream  # noqa: E402
from cloudtwin.engine.sampling import Sampler, make_sampler  # noqa: E402

__all__ = ["Engine", "Ghosts", "Sampler", "StopSimulation", "Timer", "make_sampler", "stream"]
