"""Shell completion values: cluster names, profile names, explain topics, --info attributes.

click calls these ``shell_complete`` callbacks when the shell asks (every TAB
re-runs wsdiag), so this module imports only click and stdlib at the top; what
a callback needs (the cluster table, the config file, the explain catalogue)
it imports when it runs. Option values with a fixed set (``--fail-on``) are
``click.Choice`` and complete by themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import click
from click.shell_completion import CompletionItem

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def complete_target(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """TARGET: the public Pusher clusters, with their region (URLs are the user's to type)."""
    from wsdiag.target import PUBLIC_CLUSTERS

    return [
        CompletionItem(name, help=region)
        for name, region in PUBLIC_CLUSTERS.items()
        if name.startswith(incomplete)
    ]


def complete_target_or_settings(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """TARGET of tail/publish/channels: the clusters, and ``-`` for "from the settings"."""
    items = complete_target(ctx, param, incomplete)
    if "-".startswith(incomplete):
        items.append(CompletionItem("-", help="from --host/--env-file/PUSHER_* settings"))
    return items


def complete_profile(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """--profile: the profiles of the config file this command would read."""
    import tomllib

    try:
        document = tomllib.loads(_config_path(ctx).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # no file or a broken one: nothing to offer (the command says why)
    profiles = document.get("profiles")
    if not isinstance(profiles, dict):
        return []
    items = []
    for name, table in profiles.items():
        if not name.startswith(incomplete):
            continue
        values = table if isinstance(table, dict) else {}
        where = values.get("target") or values.get("cluster") or values.get("host")
        items.append(CompletionItem(name, help=str(where) if where else None))
    return items


def complete_explain_topic(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """explain's CODE|KIND: close codes and HTTP statuses for digits, error kinds otherwise."""
    from wsdiag.explain import catalogue

    known = catalogue()
    if incomplete[:1].isdigit():
        topics = known["close_code"] + known["http_status"]
    else:
        topics = known["error_kind"]
    return [
        CompletionItem(topic.value, help=topic.title)
        for topic in topics
        if topic.value.startswith(incomplete.lower())
    ]


def comma_list(*values: str) -> Completer:
    """A completer for a comma-separated option value: the values not given yet, after the
    ones already typed (``--info user_count,s`` → ``user_count,subscription_count``)."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        given, _, last = incomplete.rpartition(",")
        taken = set(given.split(",")) if given else set()
        prefix = f"{given}," if given else ""
        return [
            CompletionItem(prefix + value)
            for value in values
            if value.startswith(last) and value not in taken
        ]

    return complete


def _config_path(ctx: click.Context) -> Path:
    """--config given before --profile, else WSDIAG_CONFIG, else the default path."""
    from wsdiag.config import default_path

    environ = _environ(ctx)
    given = ctx.params.get("config_path") or environ.get("WSDIAG_CONFIG")
    return Path(given) if given else default_path(environ)


def _environ(ctx: click.Context) -> Mapping[str, str]:
    from wsdiag.environment import Environment

    obj = ctx.find_root().obj
    return obj.environ if isinstance(obj, Environment) else os.environ
