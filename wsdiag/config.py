"""Named profiles in ``~/.config/wsdiag/config.toml`` and where each setting came from.

Precedence, highest first: command-line flags > ``--env-file`` > environment
> profile (``wsdiag.settings`` applies it). A profile holds the target and credentials of one app::

    [profiles.staging]
    target = "eu"              # or "wss://ws.example.com:443"
    app_id = "123456"
    key = "278d425bdf160c739803"
    secret = "…"               # keep the file private: chmod 600

``tomllib`` reads (on every run, so reading stays stdlib-only). ``wsdiag config
add`` edits a file people also edit by hand, so it writes with tomlkit, which
round-trips what a rewrite from a dict would lose: comments, the order of
tables and keys, quoting, and value types (``port = 6001`` stays an integer).
The edit merges into an existing profile (``replace=True`` starts it afresh),
is checked by reading the result back with ``tomllib``, and lands atomically
(a temporary file in the same directory, mode 0600, renamed over the old).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from wsdiag.records import record

# Profile key → the PUSHER_* name it stands for (target is wsdiag's own).
PROFILE_KEYS = {
    "target": None,
    "app_id": "PUSHER_APP_ID",
    "key": "PUSHER_APP_KEY",
    "secret": "PUSHER_APP_SECRET",
    "cluster": "PUSHER_APP_CLUSTER",
    "host": "PUSHER_HOST",
    "port": "PUSHER_PORT",
    "scheme": "PUSHER_SCHEME",
    "auth_endpoint": None,
    "encryption_master_key": None,
}
SECRET_KEYS = ("secret", "encryption_master_key")
HEADER = "wsdiag profiles: see `wsdiag config --help`. Holds secrets: keep it mode 600."


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the problem."""


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(
        Path(environ.get("HOME", "~")).expanduser() / ".config"
    )
    return Path(base) / "wsdiag" / "config.toml"


@record
class Profile:
    name: str
    values: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    warnings: tuple[str, ...] = ()


def load_profile(path: Path, name: str | None, *, required: bool) -> Profile:
    """The named profile (or ``default`` when it exists); a missing file is fine unless required."""
    if not path.exists():
        if required:
            raise ConfigError(
                f"config file {path} does not exist (create it with `wsdiag config add`)"
            )
        return Profile(name or "default")
    import tomllib  # only with a config file: most runs have none (issue 13)

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: [profiles] must be a table of tables")
    wanted = name or "default"
    if wanted not in profiles:
        if name is not None:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"no profile {name!r} in {path} (profiles: {known})")
        return Profile(wanted, path=path)
    raw = profiles[wanted]
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [profiles.{wanted}] must be a table")
    unknown = sorted(set(raw) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: profile {wanted!r} has unknown keys {unknown} "
            f"(known: {', '.join(PROFILE_KEYS)})"
        )
    values = {k: str(v) for k, v in raw.items()}
    return Profile(wanted, values, path, tuple(_permission_warnings(path, values)))


def _permission_warnings(path: Path, values: Mapping[str, str]) -> list[str]:
    if not any(values.get(k) for k in SECRET_KEYS):
        return []
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [
            f"{path} holds a secret and others can read it (mode {stat.S_IMODE(mode):o}): "
            f"chmod 600 {path}"
        ]
    return []


def profile_environment(profile: Profile) -> dict[str, str]:
    """The profile's settings under their PUSHER_* names (lowest precedence)."""
    return {
        env: profile.values[k] for k, env in PROFILE_KEYS.items() if env and k in profile.values
    }


@record
class ProfileChange:
    """What ``write_profile`` did: ``action`` is created, updated or replaced."""

    path: Path
    action: str
    changed: tuple[str, ...]  # keys set to a new value
    kept: tuple[str, ...]  # keys left as they were
    dropped: tuple[str, ...] = ()  # keys a replace removed


def profile_problems(name: str, values: Mapping[str, str]) -> list[str]:
    """Why this profile must not be written; [] when it may (the file is not read)."""
    from wsdiag.target import TargetError, parse_target

    problems = []
    if not name.strip() or _has_control_characters(name):
        problems.append(f"{name!r} is not a usable profile name")
    unknown = sorted(set(values) - set(PROFILE_KEYS))
    if unknown:
        problems.append(f"unknown profile keys {unknown} (known: {', '.join(PROFILE_KEYS)})")
    problems += [
        f"{key}: {value!r} contains control characters"
        for key, value in values.items()
        if _has_control_characters(value)
    ]
    if target := values.get("target"):
        try:
            parse_target(target)
        except TargetError as exc:
            problems.append(f"target: {exc}")
    endpoint = values.get("auth_endpoint")
    if endpoint and not re.match(r"https?://[^/\s]+", endpoint):
        problems.append(f"auth_endpoint: {endpoint!r} is not an http:// or https:// URL")
    if master_key := values.get("encryption_master_key"):
        from wsdiag.channels.encryption import parse_master_key

        try:
            parse_master_key(master_key)
        except ValueError as exc:
            problems.append(f"encryption_master_key: {exc}")
    return problems


def write_profile(
    path: Path, name: str, values: Mapping[str, str], *, replace: bool = False
) -> ProfileChange:
    """Merge ``values`` into profile ``name`` (``replace``: only ``values`` remain).

    Raises ``ConfigError`` — and leaves the file as it was — when the profile
    is invalid or the existing file is not TOML that wsdiag can edit safely.
    """
    import tomllib

    import tomlkit

    if problems := profile_problems(name, values):
        raise ConfigError("; ".join(problems))
    target = Path(os.path.realpath(path))  # a symlinked config (dotfiles) stays a symlink
    text = _read_text(target)
    try:
        before = tomllib.loads(text)
        document = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError(f"{path} is not valid TOML, not touching it: {exc}") from None
    profiles = before.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise ConfigError(f"{path}: [profiles] must be a table of tables, not touching it")
    old: dict[str, Any] = profiles.get(name, {})
    new = {**({} if replace else old), **{k: _typed_like(old.get(k), v) for k, v in values.items()}}
    _edit(document, name, new, merge=bool(old) and not replace)
    new_text = tomlkit.dumps(document)
    # The one change wanted, and nothing else: read back as every run will read it.
    if tomllib.loads(new_text) != {**before, "profiles": {**profiles, name: new}}:
        raise ConfigError(
            f"editing {path} would change more than profile {name!r}; not touching it"
        )
    _write_atomically(target, new_text)
    return ProfileChange(
        path=path,
        action="created" if not old else "replaced" if replace else "updated",
        changed=tuple(k for k in values if k not in old or old[k] != new[k]),
        kept=tuple(k for k in old if k in new and k not in values),
        dropped=tuple(k for k in old if k not in new),
    )


def _edit(document: Any, name: str, values: Mapping[str, object], *, merge: bool) -> None:
    """Set profile ``name`` in the tomlkit ``document``, in place, keeping what surrounds it."""
    import tomlkit
    import tomlkit.items

    if not document.body:
        document.add(tomlkit.comment(HEADER))
        document.add(tomlkit.nl())
    if "profiles" not in document:
        document["profiles"] = tomlkit.table(is_super_table=True)
    tables = document["profiles"]
    if merge:  # key by key: the others keep their place, comments and types
        for key, value in values.items():
            tables[name][key] = value
        return
    inline = isinstance(tables.get(name), tomlkit.items.InlineTable)
    table = tomlkit.inline_table() if inline else tomlkit.table()
    table.update(values)
    tables[name] = table


def _has_control_characters(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}, not touching it: {exc}") from None


def _typed_like(current: object, value: str) -> object:
    """``value`` as the type the file already gives this key (``app_id = 123`` stays a number)."""
    if isinstance(current, bool):
        return {"true": True, "false": False}.get(value.lower(), value)
    if isinstance(current, int) and re.fullmatch(r"-?[0-9]+", value) and str(int(value)) == value:
        return int(value)
    return value


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one; private from the start."""
    import tempfile  # only here: every run imports this module to read its profile

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # also when the old file was looser
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
