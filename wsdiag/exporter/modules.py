"""Probe modules for ``wsdiag exporter``: ``[modules.NAME]`` tables of the config file.

The same TOML file as the profiles (``wsdiag config path``)::

    [modules.end_to_end]
    target = "mt1"                      # used when the probe names no target
    key = "278d425bdf160c739803"        # the app key is public: literal, env: or file:
    app_id = "env:PUSHER_APP_ID"
    secret = "file:/run/secrets/pusher_secret"   # secrets only by reference
    timeout = 5                         # seconds per network step
    pings = 3
    events = 3                          # end-to-end events (with app_id, key, secret)
    ca_bundle = "/etc/ssl/corp-ca.pem"
    enabled_transports = ["ws", "wss"]  # the client's enabledTransports
    stages = ["resolve", "reach", "tls", "websocket", "ping"]  # default: every stage

A module without credentials checks connectivity as ``wsdiag check TARGET``
does without them (the placeholder key's 4001 proves the path). References
are read at each probe, so a rotated secret is picked up without a restart,
and a missing one fails that probe with its name, never the exporter.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsdiag.models import Stage
from wsdiag.records import record

DEFAULT = "default"
_TRANSPORTS = ("ws", "wss", "xhr_streaming", "xhr_polling")


class ModuleError(ValueError):
    """A module that cannot be used; the message names the module and the setting."""


@record
class Module:
    name: str = DEFAULT
    target: str | None = None
    key: str | None = None  # literal, env:NAME or file:PATH
    app_id: str | None = None
    secret: str | None = None  # env:NAME or file:PATH only
    timeout: float = 5.0
    pings: int = 3
    events: int = 3
    ca_bundle: str | None = None
    enabled_transports: tuple[str, ...] | None = None
    stages: tuple[Stage, ...] = tuple(Stage)

    def credential(self, setting: str, environ: Mapping[str, str]) -> str | None:
        """A credential's value, its reference read now; ModuleError names a missing one."""
        value: str | None = getattr(self, setting)
        if value is None:
            return None
        if value.startswith("env:"):
            name = value[4:]
            if name not in environ:
                raise ModuleError(f"module {self.name}: {setting}: ${name} is not set")
            return environ[name].strip()
        if value.startswith("file:"):
            path = Path(value[5:])
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ModuleError(
                    f"module {self.name}: {setting}: cannot read {path}: {exc.strerror}"
                ) from None
            except UnicodeDecodeError:
                raise ModuleError(
                    f"module {self.name}: {setting}: {path} is not UTF-8 text"
                ) from None
        return value


def load_modules(path: Path | None) -> dict[str, Module]:
    """Every module of the file, and ``default`` (connectivity only) unless the file has one."""
    modules = {DEFAULT: Module()}
    if path is None:
        return modules
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModuleError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModuleError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ModuleError(f"{path} is not UTF-8 text") from None
    tables = document.get("modules", {})
    if not isinstance(tables, dict):
        raise ModuleError(f"{path}: [modules] must be a table of [modules.NAME] tables")
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ModuleError(f"{path}: modules.{name} must be a table")
        modules[name] = _module(name, table)
    return modules


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "target": str,
    "key": str,
    "app_id": str,
    "secret": str,
    "timeout": (int, float),
    "pings": int,
    "events": int,
    "ca_bundle": str,
    "enabled_transports": list,
    "stages": list,
}


def _module(name: str, table: Mapping[str, Any]) -> Module:
    values: dict[str, Any] = {}
    for setting, value in table.items():
        wanted = _FIELDS.get(setting)
        if wanted is None:
            known = ", ".join(_FIELDS)
            raise ModuleError(f"module {name}: unknown setting {setting!r} (known: {known})")
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise ModuleError(f"module {name}: {setting} has the wrong type ({value!r})")
        values[setting] = value
    secret = values.get("secret")
    if secret is not None and not secret.startswith(("env:", "file:")):
        # A literal secret would sit in a file scraped configs get copied around in.
        raise ModuleError(
            f"module {name}: secret must be a reference, env:NAME or file:PATH, not the secret"
        )
    if "timeout" in values and not 0 < values["timeout"] <= 120:
        raise ModuleError(f"module {name}: timeout must be in (0, 120] seconds")
    if not 0 <= values.get("pings", 3) <= 100 or not 1 <= values.get("events", 3) <= 100:
        raise ModuleError(f"module {name}: pings must be 0-100 and events 1-100")
    transports = values.get("enabled_transports")
    if transports is not None:
        unknown = [t for t in transports if t not in _TRANSPORTS]
        if unknown or not transports:
            raise ModuleError(
                f"module {name}: enabled_transports: {unknown or 'empty'} "
                f"(use {', '.join(_TRANSPORTS)})"
            )
        values["enabled_transports"] = tuple(transports)
    bundle = values.get("ca_bundle")
    if bundle is not None and not Path(bundle).exists():
        raise ModuleError(f"module {name}: ca_bundle {bundle} does not exist")
    stages = values.get("stages")
    if stages is not None:
        by_name = {stage.value: stage for stage in Stage}
        unknown = [s for s in stages if s not in by_name]
        if unknown or not stages:
            raise ModuleError(
                f"module {name}: stages: {unknown or 'empty'} (use {', '.join(by_name)})"
            )
        values["stages"] = tuple(by_name[s] for s in stages)
    return Module(name=name, **values)
