"""The ``arthur-capture`` command: preview, convert, validate, upload, export and report.

One module per command (:mod:`.preview`, :mod:`.convert`, :mod:`.validate`, :mod:`.upload`,
:mod:`.export`, :mod:`.report` (an HTML page of the captures), :mod:`.schema` (a model's
attributes fetched from Arthur), and :mod:`.check_config`, :mod:`.check_triggers` for the AWS
deployment), and what they share in :mod:`._common`.

Exit status: 0 when nothing was rejected, 1 when something was (good records are
still written), 2 for usage and I/O errors (a file or stdout that cannot be written
included), 128 + N when signal N (SIGINT, SIGTERM, SIGHUP) stopped the command. Errors go
to stderr as one sentence. Files are written whole or not at all (:mod:`._outputs`).
A command whose optional extra is not installed exits 2 with one line naming the
``pip install`` that adds it, before it reads or writes anything.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NamedTuple

from arthur_capture.cli import (
    _outputs,
    check_config,
    check_triggers,
    convert,
    export,
    preview,
    report,
    schema,
    upload,
    validate,
)
from arthur_capture.cli._common import (
    EXIT_OK,
    EXIT_USAGE,
    OutputError,
    Parser,
    UsageError,
    common_parser,
)
from arthur_capture.dependencies import EXTRAS, available, missing_message
from arthur_capture.errors import CaptureError, MissingDependencyError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["build_parser", "main"]


def _always(args: argparse.Namespace) -> bool:  # noqa: ARG001
    return True


class _Command(NamedTuple):
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None
    uses_stdout: Callable[[argparse.Namespace], bool] = _always
    reads_captures: bool = True
    """Whether the command takes the capture files and reading options (:func:`common_parser`)."""


_COMMANDS = {
    "preview": _Command(preview.HELP, preview.configure, preview.run),
    "convert": _Command(convert.HELP, convert.configure, convert.run, None, convert.uses_stdout),
    "validate": _Command(validate.HELP, validate.configure, validate.run),
    "upload": _Command(upload.HELP, upload.configure, upload.run, upload.DESCRIPTION),
    "schema": _Command(
        schema.HELP,
        schema.configure,
        schema.run,
        schema.DESCRIPTION,
        schema.uses_stdout,
        reads_captures=False,
    ),
    "export": _Command(export.HELP, export.configure, export.run, export.DESCRIPTION),
    "report": _Command(
        report.HELP, report.configure, report.run, report.DESCRIPTION, report.uses_stdout
    ),
    "check-config": _Command(
        check_config.HELP,
        check_config.configure,
        check_config.run,
        check_config.DESCRIPTION,
        reads_captures=False,
    ),
    "check-triggers": _Command(
        check_triggers.HELP,
        check_triggers.configure,
        check_triggers.run,
        check_triggers.DESCRIPTION,
        reads_captures=False,
    ),
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
                name,
                parents=[common] if command.reads_captures else [],
                help=command.help,
                description=command.description,
            )
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    SIGINT, SIGTERM and SIGHUP stop the command cleanly while it runs (no file is left half
    written); the previous handlers are back when this returns.
    """
    with _outputs.handled_signals():
        try:
            return _run(argv)
        except KeyboardInterrupt as exc:
            message, status = _outputs.interrupted_message(exc)
            _complain(message)
            return status


def _complain(message: str) -> None:
    print(f"arthur-capture: {message}", file=sys.stderr)


def _extras_needed(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """``(module, what needs it)`` for each optional module these arguments will import."""
    command = args.command
    if command == "convert" and args.format == "parquet":
        yield "pyarrow", "convert --format parquet"
    if command == "export":
        yield "pyarrow", "export"
        if str(args.output).startswith("s3://"):
            yield "boto3", "export to s3://"
    if command == "upload":
        yield from ((module, "upload") for module in ("httpx", "tenacity"))
    if command == "schema":
        yield from ((module, "schema") for module in ("httpx", "tenacity"))
    if command == "report":
        yield from ((module, "report") for module in ("altair", "vl_convert"))
    if any(str(f).startswith("s3://") for f in getattr(args, "files", ())):
        yield "boto3", f"{command} of s3:// locations"


def _check_extras(args: argparse.Namespace) -> None:
    """Stop before any work when an optional module the command needs is not installed.

    Raises:
        MissingDependencyError: Naming the ``pip install`` that adds the module.
    """
    for module, what in _extras_needed(args):
        if not available(module):
            raise MissingDependencyError(missing_message(module, what))


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    name = "arthur-capture"
    try:
        args = parser.parse_args(argv)
        name = args.command
        command = _COMMANDS[args.command]
        _check_extras(args)
        if sys.stdout is None and command.uses_stdout(args):
            raise OutputError("cannot write to stdout: it is closed", stdout=True)
        status = command.run(args)
        _outputs.flush_stdout()  # a write error is the command's, not lost at exit
    except UsageError as exc:
        if isinstance(exc, OutputError) and exc.stdout:
            _outputs.drop_stdout()
        _complain(_outputs.described(exc, str(exc)))
        return EXIT_USAGE
    except MissingDependencyError as exc:  # an extra's module, imported through require()
        _complain(_outputs.described(exc, exc.message))
        return EXIT_USAGE
    except CaptureError as exc:
        _complain(_outputs.described(exc, exc.message))
        return EXIT_USAGE
    except ModuleNotFoundError as exc:  # an extra's module, imported directly
        if (exc.name or "").partition(".")[0] not in EXTRAS:
            raise
        _complain(_outputs.described(exc, missing_message(exc.name or "", name)))
        return EXIT_USAGE
    except BrokenPipeError:
        _outputs.drop_stdout()
        return EXIT_OK
    except OSError as exc:
        # every file a command writes names its own write errors: what is left is stdout
        _outputs.drop_stdout()
        _complain(_outputs.described(exc, f"cannot write to stdout: {exc.strerror or exc}"))
        return EXIT_USAGE
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
