"""Text for the terminal: help reflowed as paragraphs, lists wrapped between items.

Docstrings are wrapped at the source's line length; the terminal is wider or narrower. Help is
therefore rewritten as whole paragraphs (the terminal wraps them), and a list of names is wrapped
between its items, so a name is never cut.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import typer


def reflow(text: str) -> str:
    r"""Join the lines of each paragraph of ``text``; keep paragraphs and ``- `` bullets.

    Examples
    --------
    >>> reflow("Only masked updates\nleave it.\n\n- one\n- two\n  more")
    'Only masked updates leave it.\n\n- one\n- two more'
    """
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            stripped = line.strip()
            if lines and not stripped.startswith("- "):
                lines[-1] += " " + stripped
            else:
                lines.append(stripped)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def reflow_help(app: typer.Typer) -> None:
    """Give every command of ``app`` (and of its sub-apps) its docstring as whole paragraphs."""
    for command in app.registered_commands:
        doc = command.help if command.help is not None else inspect.getdoc(command.callback)
        if doc:
            command.help = reflow(doc)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)


def wrap_items(items: Sequence[str], *, width: int, indent: str = "  ") -> list[str]:
    """Lay ``items`` out comma-separated in lines of at most ``width``, breaking between items.

    An item longer than a line gets a line of its own; no item is ever cut.

    Examples
    --------
    >>> wrap_items(["meridian-line 0.41", "silk-corridor-rail 0.52", "aurora-air 0.38"],
    ...            width=44)
    ['  meridian-line 0.41,', '  silk-corridor-rail 0.52, aurora-air 0.38']
    """
    lines: list[str] = []
    current = ""
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        candidate = f"{current} {piece}" if current else indent + piece
        if current and len(candidate) > width:
            lines.append(current)
            candidate = indent + piece
        current = candidate
    if current:
        lines.append(current)
    return lines
