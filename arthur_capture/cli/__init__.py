"""The ``arthur-capture`` command: preview, convert, validate and upload capture files.

One module per command (:mod:`.preview`, :mod:`.convert`, :mod:`.validate`, :mod:`.upload`),
and what they share in :mod:`._common`.

Exit status: 0 when nothing was rejected, 1 when something was (good records are
still written), 2 for usage and I/O errors. Errors go to stderr as one sentence.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, NamedTuple

from arthur_capture.cli import convert, preview, upload, validate
from arthur_capture.cli._common import EXIT_OK, EXIT_USAGE, Parser, UsageError, common_parser
from arthur_capture.errors import CaptureError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

__all__ = ["build_parser", "main"]


class _Command(NamedTuple):
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None


_COMMANDS = {
    "preview": _Command(preview.HELP, preview.configure, preview.run),
    "convert": _Command(convert.HELP, convert.configure, convert.run),
    "validate": _Command(validate.HELP, validate.configure, validate.run),
    "upload": _Command(upload.HELP, upload.configure, upload.run, upload.DESCRIPTION),
}


def _version() -> str:
    from arthur_capture._version import __version__  # noqa: PLC0415

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
    for name, command in _COMMANDS.items():
        command.configure(
            commands.add_parser(
                name, parents=[common], help=command.help, description=command.description
            )
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return _COMMANDS[args.command].run(args)
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
