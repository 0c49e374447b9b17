"""``tail``, ``publish`` and ``channels``: the commands that work with channels and events."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
