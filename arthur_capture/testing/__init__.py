"""Test doubles for users' own tests: a local Arthur server that speaks Arthur's v3 API.

:class:`LocalArthur` runs on loopback, stores what it is sent, checks it as Arthur does
(:mod:`arthur_capture.arthur.contract`), and injects faults on demand (:class:`Faults`).
Run it from the shell with ``python -m arthur_capture.testing``.

Modules: :mod:`~arthur_capture.testing.local_arthur` (the API and the server's lifecycle),
``_faults`` (fault kinds and the queue), ``_state`` (what is stored, and the request log),
``_checks`` (the model's rules on top of Arthur's contract), ``_bodies`` (JSON, multipart and
Parquet bodies), ``_http`` (the loopback HTTP server) and ``_command`` (the command line).
"""

from __future__ import annotations

from arthur_capture.testing._faults import Faults
from arthur_capture.testing._state import RequestLog
from arthur_capture.testing.local_arthur import LocalArthur

__all__ = ["Faults", "LocalArthur", "RequestLog"]
