"""The ``arthur-capture`` command: preview, convert, validate and upload capture files.

One module per command (:mod:`.preview`, :mod:`.convert`, :mod:`.validate`, :mod:`.upload`),
and what they share in :mod:`._common`.

Exit status: 0 when nothing was rejected, 1 when something was (good records are
still written), 2 for usage and I/O errors. Errors go to stderr as one sentence.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from arthur_capture.cli import convert, preview, upload, validate
from arthur_capture.cli._common import EXIT_OK, EXIT_USAGE, Parser, UsageError, common_parser
from arthur_capture.errors import CaptureError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["main"]

_COMMANDS = {
    "preview": preview.run,
    "convert": convert.run,
    "validate": validate.run,
    "upload": upload.run,
}


def _version() -> str:
    from arthur_capture import __version__  # noqa: PLC0415

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser, every command included."""
    common = common_parser()
    parser = Parser(
        prog="arthur-capture",
        description="Turn SageMaker Data Capture files into Arthur inference records.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    preview.add_parser(commands, common)
    convert.add_parser(commands, common)
    validate.add_parser(commands, common)
    upload.add_parser(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"arthur-capture: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CaptureError as exc:
        print(f"arthur-capture: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = None  # type: ignore[assignment,unused-ignore]
        return EXIT_OK
    except KeyboardInterrupt:
        print("arthur-capture: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
