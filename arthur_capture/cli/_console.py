"""How wide the command line draws, and rich consoles for stdout and stderr (rich loaded lazily).

The width of stdout's tables is, in this order: ``COLUMNS`` when it is set to a positive
whole number (as :func:`shutil.get_terminal_size` and rich read it: ``COLUMNS=200
arthur-capture preview … | less`` draws 200 wide); else the width of the terminal stdout is;
else :data:`DEFAULT_WIDTH`. So piped or redirected output is 80 columns wide, the same on every
machine, unless ``COLUMNS`` says otherwise.

Only :mod:`arthur_capture.cli` imports this module, and it imports rich only inside its
functions: ``import arthur_capture`` never loads rich.
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Final

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["DEFAULT_WIDTH", "console_for", "is_terminal", "width_of"]

DEFAULT_WIDTH: Final = 80
"""The width of output that is not a terminal, when ``COLUMNS`` is not set."""


def is_terminal(stream: IO[str] | None) -> bool:
    """Whether ``stream`` is an open terminal."""
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (ValueError, AttributeError, OSError):  # closed, or not a real file
        return False


def width_of(stream: IO[str] | None) -> int:
    """The columns to draw to ``stream``: ``COLUMNS``, else the terminal's, else 80."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if stream is not None and is_terminal(stream):
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        if columns > 0:
            return columns
    return DEFAULT_WIDTH


def console_for(stream: IO[str], *, width: int | None = None) -> Console:
    """A rich console writing to ``stream``: colours only on a terminal, no markup, no emoji.

    Nothing in the data is read as rich markup or highlighted.
    """
    from rich.console import Console  # noqa: PLC0415 - rich only when drawing

    terminal = is_terminal(stream)
    return Console(
        file=stream,
        width=width if width is not None else width_of(stream),
        force_terminal=terminal,
        force_interactive=terminal,
        force_jupyter=False,
        color_system="auto" if terminal else None,
        no_color=not terminal or None,
        markup=False,
        emoji=False,
        highlight=False,
        legacy_windows=False,
        soft_wrap=False,
    )
