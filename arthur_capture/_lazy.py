"""Names a package exports but loads on first use: the layers above, and their dependencies."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[name]`` when ``name`` is first used.

    Args:
        package: The package's ``__name__`` (for the error message and the cache).
        names: Exported name → the absolute module it is defined in.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - it is the module's __getattr__
        module = names.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        vars(importlib.import_module(package))[name] = value  # later look-ups skip this
        return value

    return __getattr__
