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

__all__ = ["EXTRAS", "available", "install_command", "missing_message", "require"]

EXTRAS: Final = {
    "numpy": "pandas",
    "pandas": "pandas",
    "pyarrow": "parquet",
    "httpx": "arthur",
    "tenacity": "arthur",
    "pyspark": "spark",
    "boto3": "aws",
    "botocore": "aws",
    "aws_lambda_powertools": "lambda",
    "altair": "report",
    "vl_convert": "report",
}
"""Top-level module → the extra of ``arthur-capture`` that installs it (the one mapping)."""


def install_command(module: str) -> str:
    """The ``pip install`` that adds ``module``: ``pip install "arthur-capture[parquet]"``.

    Double quotes, so that the line runs as shown in POSIX shells, PowerShell and cmd.exe.
    A module of no extra is named itself (``pip install "name"``).
    """
    top = module.partition(".")[0]
    extra = EXTRAS.get(top)
    return f'pip install "arthur-capture[{extra}]"' if extra else f'pip install "{top}"'


def missing_message(module: str, purpose: str) -> str:
    """One sentence: ``{purpose} needs {module}: pip install "arthur-capture[extra]"``."""
    return f"{purpose} needs {module.partition('.')[0]}: {install_command(module)}"


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
        raise MissingDependencyError(missing_message(module, purpose)) from exc
