"""The Lambda handler's configuration, read from the environment (the seed's names first).

Standard library only: the token's secret is fetched by the handler, not here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from arthur_capture.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_IDEMPOTENCY_TTL_SECONDS",
    "DEFAULT_TIME_MARGIN_SECONDS",
    "ENV",
    "HandlerConfig",
    "Sink",
    "secret_store_of",
]

Sink = Literal["inferences", "forward", "engine"]
SINKS: Final = ("inferences", "forward", "engine")

DEFAULT_TIME_MARGIN_SECONDS: Final = 60.0
"""An object is not started (and an upload stops) when less time than this remains."""
DEFAULT_IDEMPOTENCY_TTL_SECONDS: Final = 7 * 24 * 3600
"""How long a processed object is remembered in the idempotency table."""


class ENV:
    """The environment variables the handler reads."""

    HOST: Final = "ARTHUR_HOST"
    MODEL_ID: Final = "ARTHUR_MODEL_ID"
    TOKEN: Final = "ARTHUR_ACCESS_TOKEN"  # noqa: S105 - a variable's name
    TOKEN_SECRET: Final = "ARTHUR_ACCESS_TOKEN_SECRET"  # noqa: S105 - a variable's name
    ORGANIZATION_ID: Final = "ARTHUR_ORGANIZATION_ID"
    SINK: Final = "ARTHUR_CAPTURE_SINK"
    SCHEMA: Final = "ARTHUR_CAPTURE_SCHEMA"
    ENGINE_URI: Final = "ARTHUR_CAPTURE_ENGINE_URI"
    REJECTS_URI: Final = "ARTHUR_CAPTURE_REJECTS_URI"
    IDEMPOTENCY_TABLE: Final = "ARTHUR_CAPTURE_IDEMPOTENCY_TABLE"
    IDEMPOTENCY_TTL: Final = "ARTHUR_CAPTURE_IDEMPOTENCY_TTL_SECONDS"
    TIME_MARGIN: Final = "ARTHUR_CAPTURE_TIME_MARGIN_SECONDS"
    CHUNK_SIZE: Final = "ARTHUR_CAPTURE_CHUNK_SIZE"


def secret_store_of(name: str) -> Literal["ssm", "secretsmanager"]:
    """Where ``ARTHUR_ACCESS_TOKEN_SECRET`` points: an SSM parameter or a Secrets Manager secret.

    A name starting with ``/`` or an ``arn:aws:ssm:`` ARN is an SSM parameter; anything else
    (a name, an ``arn:aws:secretsmanager:`` ARN) a Secrets Manager secret.
    """
    if name.startswith(("/", "arn:aws:ssm:")) or ":ssm:" in name[:24]:
        return "ssm"
    return "secretsmanager"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be a finite number of seconds, at least 0")
    return value


def _s3_uri(env: Mapping[str, str], name: str) -> str | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    if not text.startswith("s3://") or len(text) <= len("s3://"):
        raise ConfigError(f"{name} must be an s3://bucket/prefix URI, got {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    """What the handler does, from the environment. The token itself is not held here."""

    sink: Sink
    host: str | None
    model_id: str | None
    token_env: bool
    """Whether ``ARTHUR_ACCESS_TOKEN`` holds the token."""
    token_secret: str | None
    """The secret or SSM parameter holding the token, when it is not in the environment."""
    organization_id: str | None
    schema: str | None
    engine_uri: str | None
    rejects_uri: str | None
    idempotency_table: str | None
    idempotency_ttl: int
    time_margin: float
    chunk_size: int

    @property
    def needs_arthur(self) -> bool:
        """Whether Arthur must be configured.

        The ``inferences`` and ``forward`` sinks talk to it. The ``engine`` sink asks it for the
        schema when ``ARTHUR_CAPTURE_SCHEMA`` is unset and any of its variables is set; with
        none set, values are typed as they come.
        """
        if self.sink != "engine":
            return True
        named = self.host or self.model_id or self.token_env or self.token_secret
        return self.schema is None and bool(named)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HandlerConfig:
        """Read and check the configuration.

        Raises:
            ConfigError: A variable is missing or malformed; the message names it.
        """
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(name, "").strip() or None

        sink = (get(ENV.SINK) or "inferences").lower()
        if sink not in SINKS:
            raise ConfigError(f"{ENV.SINK} must be one of {', '.join(SINKS)}, got {sink!r}")
        chunk_text = get(ENV.CHUNK_SIZE) or "1000"
        try:
            chunk_size = int(chunk_text)
        except ValueError:
            raise ConfigError(f"{ENV.CHUNK_SIZE} must be an integer, got {chunk_text!r}") from None
        ttl = _seconds(env, ENV.IDEMPOTENCY_TTL, DEFAULT_IDEMPOTENCY_TTL_SECONDS)
        config = cls(
            sink=sink,  # type: ignore[arg-type]  # checked against SINKS above
            host=get(ENV.HOST),
            model_id=get(ENV.MODEL_ID),
            token_env=get(ENV.TOKEN) is not None,
            token_secret=get(ENV.TOKEN_SECRET),
            organization_id=get(ENV.ORGANIZATION_ID),
            schema=get(ENV.SCHEMA),
            engine_uri=_s3_uri(env, ENV.ENGINE_URI),
            rejects_uri=_s3_uri(env, ENV.REJECTS_URI),
            idempotency_table=get(ENV.IDEMPOTENCY_TABLE),
            idempotency_ttl=max(1, int(ttl)),
            time_margin=_seconds(env, ENV.TIME_MARGIN, DEFAULT_TIME_MARGIN_SECONDS),
            chunk_size=chunk_size,
        )
        config._check()
        return config

    def _check(self) -> None:
        if self.sink == "engine" and self.engine_uri is None:
            raise ConfigError(f"{ENV.SINK}=engine needs {ENV.ENGINE_URI} (an s3:// prefix)")
        if not self.needs_arthur:
            return
        missing = [
            name
            for name, value in ((ENV.HOST, self.host), (ENV.MODEL_ID, self.model_id))
            if not value
        ]
        if not (self.token_env or self.token_secret):
            missing.append(f"{ENV.TOKEN} or {ENV.TOKEN_SECRET}")
        if missing:
            why = "" if self.sink != "engine" else f" (to fetch the schema; or set {ENV.SCHEMA})"
            raise ConfigError(f"set {', '.join(missing)}{why}")
