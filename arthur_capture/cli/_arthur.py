"""What ``upload`` and ``schema`` share: the token, plain http, the model fetched from Arthur.

Every failure is one sentence (a :class:`~._common.UsageError`, exit status 2): a missing
token, plain http to a host that is not loopback without ``--allow-insecure``, and a model that
cannot be fetched (401/403, 404, not reachable, an answer that is no model schema).
"""

from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.cli._common import UsageError

if TYPE_CHECKING:
    import argparse

    from arthur_capture.arthur import ArthurClient

__all__ = [
    "ALLOW_INSECURE_HELP",
    "TOKEN_ENV",
    "add_connection",
    "check_host",
    "connection",
    "fetch_failure",
    "fetch_model",
    "seconds",
    "token_from_env",
]

TOKEN_ENV: Final = "ARTHUR_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable the token is read from (the name Arthur's SageMaker Lambda uses)."""

ALLOW_INSECURE_HELP: Final = (
    "allow plain http to a host that is not loopback (the token then travels unencrypted; "
    "a warning says so)"
)
"""The help of ``--allow-insecure``."""

SCHEMA_HINT: Final = "or pass --schema MODEL.json (arthur-capture schema -o MODEL.json writes it)"
"""How ``upload`` can do without fetching the schema."""


def seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    import argparse  # noqa: PLC0415

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        msg = f"must be a positive, finite number of seconds, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def connection(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """Arthur's address, the model ID and the organization ID, from the options or the env.

    Raises:
        UsageError: The address or the model ID is given neither way.
    """
    host = args.host or os.environ.get("ARTHUR_HOST")
    model_id = args.model_id or os.environ.get("ARTHUR_MODEL_ID")
    org_id = args.org_id or os.environ.get("ARTHUR_ORGANIZATION_ID") or None
    if not host or not model_id:
        raise UsageError("give --host and --model-id (or set ARTHUR_HOST and ARTHUR_MODEL_ID).")
    return host, model_id, org_id


def add_connection(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--model-id``, ``--org-id`` and ``--allow-insecure``."""
    parser.add_argument(
        "--host", help="Arthur's address, e.g. https://app.arthur.ai (default: $ARTHUR_HOST)"
    )
    parser.add_argument("--model-id", help="the Arthur model ID (default: $ARTHUR_MODEL_ID)")
    parser.add_argument(
        "--org-id", help="sent as Arthur-Organization-ID (default: $ARTHUR_ORGANIZATION_ID)"
    )
    parser.add_argument("--allow-insecure", action="store_true", help=ALLOW_INSECURE_HELP)


def token_from_env(use: str) -> str:
    """The token from :data:`TOKEN_ENV` (never from the command line).

    Raises:
        UsageError: It is not set; ``use`` says what the token must allow.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        msg = (
            f"set {TOKEN_ENV} to an Arthur API token {use} "
            "(it is never taken from the command line)."
        )
        raise UsageError(msg)
    return token


def check_host(host: str, args: argparse.Namespace) -> None:
    """Refuse plain http to a host that is not loopback, unless ``--allow-insecure``.

    With ``--allow-insecure`` it goes on, and says on stderr that the token is sent in clear.

    Raises:
        UsageError: Plain http to a host that is not loopback, without ``--allow-insecure``.
    """
    from arthur_capture.arthur.client import insecure_host  # noqa: PLC0415

    hostname = insecure_host(host)
    if hostname is None:
        return
    if not args.allow_insecure:
        msg = (
            f"refusing to send the token over plain http to {hostname}; use https, "
            "or pass --allow-insecure to send it unencrypted"
        )
        raise UsageError(msg)
    print(
        f"arthur-capture: warning: --allow-insecure: the token goes to {hostname} over plain "
        "http, unencrypted",
        file=sys.stderr,
    )


def fetch_model(client: ArthurClient) -> tuple[dict[str, Any], Any]:
    """The model Arthur answers (its JSON, with ``attributes``) and its checked schema.

    Raises:
        ArthurError: Arthur refused or could not be reached (:func:`fetch_failure` words it).
        SchemaError: The answer is no model schema.
    """
    from arthur_capture.arthur.schema import ModelSchema  # noqa: PLC0415

    document = client.fetch_model()
    return document, ModelSchema.from_json(document)


def fetch_failure(exc: Exception, client: ArthurClient, *, for_upload: bool) -> str:
    """The one sentence for a model that could not be fetched (``exc`` from :func:`fetch_model`).

    ``for_upload``: said by ``upload`` without ``--schema``, which then says how to pass one.
    """
    from arthur_capture.arthur.errors import (  # noqa: PLC0415
        ArthurAPIError,
        ArthurUnavailableError,
    )
    from arthur_capture.errors import CaptureError  # noqa: PLC0415

    model = client.model_id
    host = client.base_url
    detail = exc.message if isinstance(exc, CaptureError) else str(exc)
    status = exc.status if isinstance(exc, ArthurAPIError) else None
    said = _arthur_said(detail, status, model)
    hint = f"; {SCHEMA_HINT}"
    if status == 401:
        text = (
            f"Arthur answered 401 for model {model!r}: the token in {TOKEN_ENV} is missing, "
            f"wrong or expired ({said})"
        )
        hint = ""  # the same token would be refused for the upload too
    elif status == 403:
        text = (
            f"Arthur answered 403 for model {model!r}: the token in {TOKEN_ENV} may not read "
            f"this model ({said})"
        )
        hint = (
            "; fetch the schema with a token that may (arthur-capture schema -o MODEL.json) "
            "and pass --schema MODEL.json"
        )
    elif status == 404:
        text = (
            f"model {model!r} not found at {host} (Arthur answered 404: {said}); check --model-id"
        )
        hint = f", {SCHEMA_HINT}"
    elif isinstance(exc, ArthurUnavailableError):
        text = f"cannot reach Arthur at {host} for model {model!r}: {said}"
    else:
        text = f"cannot use model {model!r} from {host}: {detail}"
    if not for_upload:
        return text
    return f"cannot fetch the model's schema, which upload needs without --schema: {text}{hint}"


def _arthur_said(message: str, status: int | None, model: str) -> str:
    """The client's error message without what the sentence says already."""
    prefixes = {
        401: "Arthur answered 401: the token is missing or wrong: ",
        403: "Arthur answered 403: the token lacks permission (raw_data write) for this model: ",
        404: f"Arthur answered 404 for model {model!r}: ",
    }
    prefix = prefixes.get(status, f"model {model}: ") if status is not None else f"model {model}: "
    return message.removeprefix(prefix)
