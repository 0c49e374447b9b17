"""``wsdiag explain``: what a close code, HTTP API status or error kind means, offline."""

from __future__ import annotations

import json
import shutil
import textwrap
from typing import TYPE_CHECKING

import click

from wsdiag.cli.complete import complete_explain_topic

if TYPE_CHECKING:
    from wsdiag.explain import Explanation, TopicType

# The listing's sections, in order: catalogue key → JSON key and heading.
_SECTIONS: dict[TopicType, tuple[str, str]] = {
    "close_code": ("close_codes", "Close codes (wsdiag explain CODE)"),
    "close_code_range": ("close_code_ranges", "Close code ranges (any other code in them)"),
    "http_status": (
        "http_statuses",
        "HTTP API statuses (wsdiag explain STATUS; any other 4xx is unexpected, 5xx a server "
        "error)",
    ),
    "error_kind": ("error_kinds", "Error kinds, as in reports (wsdiag explain KIND)"),
}


@click.command()
@click.argument(
    "topic", metavar="[CODE|KIND]", required=False, shell_complete=complete_explain_topic
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of text.")
def explain(topic: str | None, as_json: bool) -> None:
    """Explain a Pusher or WebSocket close code, an HTTP API status or a wsdiag error kind.

    Without an argument, list every code, status and kind wsdiag knows. A
    close code's fix ends with what a client should do next (as pusher-js
    does: reconnect at once, back off, switch to TLS, or give up).

    \b
    Examples:
      wsdiag explain 4201
      wsdiag explain 429
      wsdiag explain tls_untrusted_issuer --json
      wsdiag explain
    """
    from wsdiag.explain import catalogue
    from wsdiag.explain import explain as look_up

    if topic is None:
        known = catalogue()
        if as_json:
            document = {
                key: [entry.to_dict() for entry in known[section]]
                for section, (key, _) in _SECTIONS.items()
            }
            click.echo(json.dumps(document, indent=2, ensure_ascii=False))
            return
        for index, (section, (_, heading)) in enumerate(_SECTIONS.items()):
            entries = known[section]
            width = max(len(entry.value) for entry in entries)
            if index:
                click.echo()
            click.echo(f"{heading}:")
            for entry in entries:
                click.echo(f"  {entry.value:<{width}}  {entry.title}")
        return
    found = look_up(topic)
    if found is None:
        raise click.UsageError(
            f"{topic!r} is not a close code (1000-4999), an HTTP status (400-599) or an error "
            "kind (e.g. tcp_filtered); `wsdiag explain` lists them all"
        )
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo("\n".join(_text(found)))


def _text(found: Explanation) -> list[str]:
    """The explanation for a reader, wrapped to the terminal (COLUMNS; 80 when not known)."""
    width = max(60, shutil.get_terminal_size().columns)
    lines = [f"{found.topic}: {found.title}"]
    rows = [("meaning", found.meaning), ("fix", found.fix)]
    if found.kind is not None and found.type != "error_kind":
        rows.append(("kind", f"{found.kind.value} (how a report names it)"))
    for label, text in rows:
        lines += textwrap.wrap(
            text,
            width=width,
            initial_indent=f"  {label + ':':<9}",
            subsequent_indent=" " * 11,
            break_long_words=False,  # names, variables and URLs stay whole
            break_on_hyphens=False,
        )
    return lines


COMMANDS: tuple[click.Command, ...] = (explain,)
