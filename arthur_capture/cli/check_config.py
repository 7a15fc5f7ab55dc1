"""``arthur-capture check-config``: a Data Capture config against the integration's rules."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from arthur_capture.aws.checks import capture_config_shape, check_capture_config, load_document
from arthur_capture.cli import _common

if TYPE_CHECKING:
    import argparse

__all__ = ["DESCRIPTION", "HELP", "configure", "read_document", "run"]


HELP: Final = "check an endpoint's Data Capture config against the integration's rules"
"""The one-line help of ``check-config``."""

DESCRIPTION: Final = (
    "Check a CreateEndpointConfig request, a DescribeEndpointConfig response (aws sagemaker "
    "describe-endpoint-config), or a SageMaker Python SDK DataCaptureConfig as JSON: capture "
    "enabled, Input and Output captured, sampling 100, CSV or JSON content types listed (else "
    "SageMaker captures BASE64, which Arthur refuses), a destination S3 URI. Prints one line "
    "per broken rule and exits 1; exits 0 when every rule holds."
)
"""The description ``check-config --help`` shows."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``check-config`` takes one FILE (``-``: standard input)."""
    parser.add_argument("file", metavar="FILE", help="the configuration as JSON (-: stdin)")


def read_document(path: str) -> object:
    """The JSON document in ``path`` (``-``: standard input); a usage error if unreadable."""
    if path == "-":
        data = sys.stdin.buffer.read()
        return load_document(data, "standard input")
    try:
        with open(path, "rb") as file:  # noqa: PTH123
            data = file.read()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise _common.UsageError(msg) from None
    return load_document(data, path)


def run(args: argparse.Namespace) -> int:
    """Run ``check-config``; returns the exit status."""
    doc = read_document(args.file)
    shape = capture_config_shape(doc)
    problems = check_capture_config(doc)
    out = sys.stdout
    for problem in problems:
        print(problem, file=out)
    if problems:
        return _common.EXIT_REJECTS
    print(f"ok: the {shape} meets every rule of the integration", file=out)
    return _common.EXIT_OK
