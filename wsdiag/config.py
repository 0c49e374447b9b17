"""Named profiles in ``~/.config/wsdiag/config.toml`` and where each setting came from.

Precedence, highest first: command-line flags > ``--env-file`` > environment
> profile (``wsdiag.settings`` applies it). A profile holds the target and credentials of one app::

    [profiles.staging]
    target = "eu"              # or "wss://ws.example.com:443"
    app_id = "123456"
    key = "278d425bdf160c739803"
    secret = "…"               # keep the file private: chmod 600

Only stdlib: ``tomllib`` reads, a small writer below writes (profiles are flat
string tables, so no TOML library is needed for it).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the problem."""


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(
        Path(environ.get("HOME", "~")).expanduser() / ".config"
    )
    return Path(base) / "wsdiag" / "config.toml"


@dataclass(frozen=True)
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


def toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " or c == "\t" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def write_profile(path: Path, name: str, values: Mapping[str, str]) -> None:
    """Add or replace one profile; the file is created 0600 because it may hold secrets."""
    unknown = sorted(set(values) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(f"unknown profile keys {unknown}")
    document: dict[str, dict[str, str]] = {}
    if path.exists():
        try:
            loaded = tomllib.loads(path.read_text(encoding="utf-8")).get("profiles", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML, not touching it: {exc}") from None
        document = {k: {kk: str(vv) for kk, vv in v.items()} for k, v in loaded.items()}
    document[name] = dict(values)
    lines = ["# wsdiag profiles: see `wsdiag config --help`. Holds secrets: keep it mode 600.", ""]
    for profile_name in sorted(document):
        lines.append(f"[profiles.{toml_string(profile_name)}]")
        lines += [f"{k} = {toml_string(v)}" for k, v in document[profile_name].items()]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also tighten a file that existed with looser bits
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
