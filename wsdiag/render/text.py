"""Lines laid out for a width: broken at spaces only, never through a token (issue 14).

A token is what a user copies or searches for: an address, ``host:443,80``, a
cipher name, a socket id, a URL. One longer than the line gets a line of its own
and runs past the width (a terminal wraps it softly and copies it whole). No line
ends in spaces.
"""

from __future__ import annotations

import textwrap

from rich.text import Text

_GLUE = "\x00"  # a space that textwrap does not break at (it breaks at ASCII whitespace only)


def wrap(text: str, width: int, indent: str = "", hang: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces only.

    ``indent`` starts the first line, ``hang`` (default: ``indent``) every other
    one; newlines in ``text`` start new lines (indented with ``hang``).
    """
    hang = indent if hang is None else hang
    lines: list[str] = []
    for paragraph in text.split("\n"):
        first = indent if not lines else hang
        wrapper = textwrap.TextWrapper(
            width=max(width, len(first) + 1, len(hang) + 1),
            initial_indent=first,
            subsequent_indent=hang,
            break_long_words=False,
            break_on_hyphens=False,
            replace_whitespace=False,
            expand_tabs=False,
        )
        lines += wrapper.wrap(paragraph) or [first]
    return [line.rstrip() for line in lines]


def wrap_items(
    items: list[str], width: int, indent: str = "", hang: str | None = None, sep: str = ", "
) -> list[str]:
    """``items`` joined by ``sep``, broken between items (``connect 0.1 ms`` stays whole).

    An item too long for a line of its own is broken at its spaces like any text.
    """
    room = width - max(len(indent), len(indent if hang is None else hang)) - len(sep.rstrip())
    glued = sep.join(item.replace(" ", _GLUE) if len(item) <= room else item for item in items)
    return [line.replace(_GLUE, " ") for line in wrap(glued, width, indent, hang)]


def longest_token(texts: list[str]) -> int:
    """The length of the longest space-separated token: the narrowest column that splits none."""
    return max((len(token) for text in texts for token in text.split()), default=0)


def longest_line(texts: list[str]) -> int:
    return max((len(line) for text in texts for line in text.split("\n")), default=0)


def labelled(label: str, text: str, width: int, style: str = "bold") -> list[Text]:
    """``  cause: …`` with the text hanging under itself, the label styled."""
    lines = wrap(text, width, indent=label, hang=" " * len(label))
    first = Text(lines[0])
    first.stylize(style, 0, len(label.rstrip()))
    return [first, *(Text(line) for line in lines[1:])]


def styled(lines: list[str], style: str) -> list[Text]:
    return [Text(line, style=style) for line in lines]
