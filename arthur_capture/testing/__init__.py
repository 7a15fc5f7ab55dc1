"""Test doubles for users' own tests: a local Arthur server that speaks Arthur's v3 API.

:class:`LocalArthur` runs on loopback, stores what it is sent, checks it as Arthur does
(:mod:`arthur_capture.arthur.contract`), and injects faults on demand (:class:`Faults`).
Run it from the shell with ``python -m arthur_capture.testing``.
"""

from __future__ import annotations

from arthur_capture.testing.local_arthur import Faults, LocalArthur, RequestLog

__all__ = ["Faults", "LocalArthur", "RequestLog"]
