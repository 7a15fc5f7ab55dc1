"""``arthur-capture schema``: fetch a model's attributes from Arthur, for ``--schema``.

``GET /api/v3/models/{id}?expand=attributes``, with the token from ``ARTHUR_ACCESS_TOKEN`` (as
``upload``); the answer (the model's fields and its attributes) is checked as ``--schema``
reads it, then written as JSON: to stdout, or with ``-o FILE`` whole or not at all.

Exit status: 0 when the schema was written; 2 for usage and I/O errors, 401/403, a model not
found, Arthur not reachable, and an answer that is no usable schema (one sentence on stderr);
128 + N when signal N stopped it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

import orjson

from arthur_capture.cli import _arthur
from arthur_capture.cli._common import EXIT_OK, UsageError, open_out

if TYPE_CHECKING:
    import argparse

__all__ = ["DESCRIPTION", "HELP", "configure", "run", "uses_stdout"]

HELP: Final = "fetch a model's attributes from Arthur, as the file --schema reads"
"""The one-line help of ``schema``."""
DESCRIPTION: Final = (
    "Fetch the model's attributes from Arthur (GET /api/v3/models/{id}?expand=attributes) and "
    "write Arthur's answer as JSON, the MODEL.json that --schema of every command reads. The "
    f"token is read from ${_arthur.TOKEN_ENV} only."
)
"""What ``schema --help`` says of it."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``schema``."""
    _arthur.add_connection(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="MODEL.json",
        help="write it to this file, whole or not at all (default: stdout)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=5,
        metavar="N",
        help="times the request is sent at most (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=_arthur.seconds,
        default=120.0,
        metavar="SECONDS",
        help="the longest one attempt may take (default: %(default)s)",
    )


def uses_stdout(args: argparse.Namespace) -> bool:
    """Whether the schema goes to stdout (no ``-o``, or ``-o -``)."""
    return args.output is None or args.output == "-"


def run(args: argparse.Namespace) -> int:
    """Run ``schema``; returns the exit status."""
    host, model_id, org_id = _arthur.connection(args)
    if args.attempts < 1:
        raise UsageError("--attempts must be positive")
    token = _arthur.token_from_env("that may read the model")
    import httpx  # noqa: PLC0415

    from arthur_capture.arthur import ArthurClient, ArthurError, RetryPolicy  # noqa: PLC0415
    from arthur_capture.errors import SchemaError  # noqa: PLC0415

    _arthur.check_host(host, args)
    try:
        client = ArthurClient(
            host,
            token,
            model_id,
            organization_id=org_id,
            retry=RetryPolicy(attempts=args.attempts),
            timeout=httpx.Timeout(args.timeout, connect=min(10.0, args.timeout)),
            request_deadline=args.timeout,
            allow_insecure=args.allow_insecure,
        )
    except ValueError as exc:
        raise UsageError(f"{exc}.") from None
    with client:
        try:
            document, schema = _arthur.fetch_model(client)
        except (ArthurError, SchemaError) as exc:
            raise UsageError(_arthur.fetch_failure(exc, client, for_upload=False)) from None
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    with open_out(args.output) as out:
        out.write(data)
    if not uses_stdout(args):
        print(
            f"arthur-capture: wrote {args.output}: model {model_id!r}, "
            f"{len(schema.attributes)} attribute(s)",
            file=sys.stderr,
        )
    return EXIT_OK
