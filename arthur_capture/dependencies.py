"""Optional dependencies, in one place: what each extra brings and how to ask for it.

``import arthur_capture`` imports none of these. A feature that needs one calls
:func:`require`, which imports it or raises :class:`~arthur_capture.MissingDependencyError`
naming the ``pip install`` that adds it; :func:`available` says whether it is installed
without importing it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Final

from arthur_capture.errors import MissingDependencyError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["EXTRAS", "available", "require"]

EXTRAS: Final = {
    "numpy": "pandas",
    "pandas": "pandas",
    "pyarrow": "parquet",
    "httpx": "arthur",
    "tenacity": "arthur",
    "tqdm": "arthur",
    "pyspark": "spark",
    "boto3": "aws",
    "botocore": "aws",
    "aws_lambda_powertools": "lambda",
}
"""Top-level module → the extra of ``arthur-capture`` that installs it."""


def available(module: str) -> bool:
    """Whether ``module`` (e.g. ``"pyarrow"``) is installed; nothing is imported."""
    try:
        return importlib.util.find_spec(module.partition(".")[0]) is not None
    except ValueError:  # a module whose __spec__ is None (set by some test tools)
        return False


def require(module: str, purpose: str) -> ModuleType:
    """Import an optional module, or say in one sentence how to install it.

    Args:
        module: The module to import, e.g. ``"pyarrow.parquet"``.
        purpose: What needs it, for the message (``"Parquet output"``).

    Raises:
        MissingDependencyError: The module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        extra = EXTRAS.get(top, top)
        msg = f"{purpose} needs {top}: pip install 'arthur-capture[{extra}]'"
        raise MissingDependencyError(msg) from exc
