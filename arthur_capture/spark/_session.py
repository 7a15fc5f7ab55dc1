"""Spark session settings: read one as bytes, or set some for a block and restore them."""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from pyspark.sql import SparkSession

__all__ = ["conf_bytes", "session_conf"]

_BYTES: Final = re.compile(r"\s*([0-9]+)\s*([kmgtp]?)i?b?\s*", re.IGNORECASE)


def conf_bytes(spark: SparkSession, key: str, default: int) -> int:
    """A size setting (``128m``, ``134217728b``…) in bytes, or ``default`` when unset or odd."""
    value = spark.conf.get(key, None)
    match = _BYTES.fullmatch(value or "")
    if match is None:
        return default
    unit = "bkmgtp".index((match.group(2) or "b").lower())
    return int(match.group(1)) << (10 * unit)


@contextlib.contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """Set the session ``settings`` for the block, then restore (or unset) each one."""
    saved = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)
