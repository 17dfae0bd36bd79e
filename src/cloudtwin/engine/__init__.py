"""The discrete-event engine: a clock, an event heap and seeded random streams.

It knows nothing about AWS. Everything above it schedules plain callbacks.
"""

from cloudtwin.engine.core import Engine, Ghosts, StopSimulation, Timer
from cloudtwin.engine.rng import stream
from cloudtwin.engine.sampling import Sampler, make_sampler

__all__ = ["Engine", "Ghosts", "Sampler", "StopSimulation", "Timer", "make_sampler", "stream"]
