"""``python -m arthur_capture.testing``: serve a local Arthur until interrupted."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.errors import CaptureError
from arthur_capture.testing.local_arthur import LocalArthur

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m arthur_capture.testing",
        description="Serve a local stand-in for Arthur's v3 inference API on 127.0.0.1.",
    )
    parser.add_argument("--schema", required=True, metavar="MODEL.json", help="model schema JSON")
    parser.add_argument("--model-id", default=None, help="model ID (default: the schema's id)")
    parser.add_argument(
        "--token",
        default=None,
        help="the token to accept (default: $ARTHUR_ACCESS_TOKEN; visible to ps when given here)",
    )
    parser.add_argument("--org-id", default=None, help="organization ID to check, if any")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--lenient-types", action="store_true", help="coerce values instead of strict JSON types"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM, printing the URL on stdout; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with open(args.schema, "rb") as handle:  # noqa: PTH123
            data = handle.read()
        schema = ModelSchema.from_json(data)
    except OSError as exc:
        print(f"local_arthur: cannot read {args.schema}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except CaptureError as exc:
        print(f"local_arthur: {exc.message}", file=sys.stderr)
        return 2
    document = json.loads(data)  # a model's own fields are answered as they are
    model = document if isinstance(document, dict) and "attributes" in document else None
    token = args.token or os.environ.get("ARTHUR_ACCESS_TOKEN")
    model_id = args.model_id or schema.model_id
    if not token or not model_id:
        print("local_arthur: give --token (or ARTHUR_ACCESS_TOKEN) and --model-id", file=sys.stderr)
        return 2
    try:
        server = LocalArthur(
            schema,
            model_id=model_id,
            token=token,
            organization_id=args.org_id,
            port=args.port,
            strict_types=not args.lenient_types,
            model=model,
        )
        server.start()
    except (OSError, ValueError) as exc:
        print(f"local_arthur: cannot start: {exc}", file=sys.stderr)
        return 2
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    print(server.url, flush=True)
    print(
        f"local_arthur: serving model {model_id!r} at {server.url}/api/v3 "
        "(Ctrl-C or SIGTERM stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        terminated.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    arrivals = server.arrivals
    print(
        f"local_arthur: {len(arrivals)} inference(s) stored, "
        f"{sum(arrivals.values()) - len(arrivals)} duplicate arrival(s)",
        file=sys.stderr,
    )
    return 0
