"""Live service models, one AWS service per module, registered by spec ``type``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudtwin.component import Component

REGISTRY: dict[str, type[Component]] = {}


def register(*kinds: str):  # type: ignore[no-untyped-def]
    """Class decorator: build components of these spec types with this class."""

    def deco(cls: type[Component]) -> type[Component]:
        for k in kinds:
            REGISTRY[k] = cls
        return cls

    return deco


def load_all() -> dict[str, type[Component]]:
    """Import every service module so each registers itself."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    return REGISTRY
