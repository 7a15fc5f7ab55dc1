# ruff: noqa: INP001  (a script beside the templates, not a package)
"""Invoke the function's handler once, as the Lambda runtime would, in this process.

    PYTHONPATH=UNZIPPED python deploy/invoke.py EVENT.json [--timeout-seconds 900]

Run it with an interpreter that has only what the Lambda Python runtime has (boto3) and with
``PYTHONPATH`` set to the unzipped dist/arthur-capture-lambda.zip: it proves the zip is complete.
The handler's configuration comes from the environment (ARTHUR_HOST...). Prints one JSON
line, the last on stdout (the handler logs there too): the handler's answer (or its error), the
seconds the import took (the cold init), the seconds the call took and this process's peak RSS
in bytes. Exit status 0 when the handler
returned, 1 when it raised. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any


class Context:
    """The parts of the Lambda context object handlers use, with a real deadline."""

    def __init__(self, timeout_seconds: float) -> None:
        """A context whose remaining time runs out ``timeout_seconds`` from now."""
        self.function_name = "arthur-capture"
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:arthur-capture"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/aws/lambda/arthur-capture"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (simulated) timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def main(argv: list[str] | None = None) -> int:
    """Import the handler, call it with the event, print the JSON summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("event", type=Path, nargs="?", help="the event (JSON file)")
    parser.add_argument("--timeout-seconds", type=float, default=900.0)
    parser.add_argument(
        "--import-only", action="store_true", help="import the handler and stop (cold init)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from arthur_capture.aws import lambda_handler  # noqa: PLC0415 - the import is measured

    import_seconds = time.perf_counter() - started
    summary: dict[str, Any] = {"import_seconds": import_seconds}
    status = 0
    if not args.import_only:
        if args.event is None:
            parser.error("give the event (a JSON file), or --import-only")
        event = json.loads(args.event.read_text(encoding="utf-8"))
        context = Context(args.timeout_seconds)
        started = time.perf_counter()
        try:
            summary["result"] = lambda_handler(event, context)
        except Exception as exc:  # noqa: BLE001 - reported, as the runtime would
            summary["error"] = f"{type(exc).__name__}: {exc}"
            status = 1
        summary["handler_seconds"] = time.perf_counter() - started
    summary["peak_rss_bytes"] = _peak_rss_bytes()
    summary["modules"] = sorted({name.partition(".")[0] for name in sys.modules})
    print(json.dumps(summary, default=str), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
