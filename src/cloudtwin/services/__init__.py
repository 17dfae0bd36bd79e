"""Live service models, one AWS service per module.

Which class simulates a spec ``type:`` is the catalogue's ``live_model`` column
(:mod:`cloudtwin.catalogue`); a run imports only the modules its spec uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudtwin.catalogue import ROWS, resolve
from cloudtwin.compiled import extend as _extend

_extend(__path__, __name__)  # the compiled layer (make fast), when built and current

if TYPE_CHECKING:
    from cloudtwin.component import Component


def load(kinds: set[str]) -> dict[str, type[Component]]:
    """The live model of each type in ``kinds``, importing only the modules that serve them."""
    return {k: resolve(ROWS[k].live_model) for k in sorted(kinds)}
