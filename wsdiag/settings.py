"""Every setting a command uses, built once, each with where its value came from.

Precedence, highest first (issue 9): command-line flags > ``--env-file`` >
environment > profile > defaults. An env file named on the command line is
an explicit choice, so it wins over whatever the shell happens to export.
Every command and ``wsdiag config show`` read the same ``Settings``, so what
``config show`` prints is what ``check`` uses. Pure code: no click, no I/O
beyond reading the env file.
"""

from __future__ import annotations

from collections.abc import Mapping

from wsdiag.config import Profile
from wsdiag.credentials import Credentials, read_env_file
from wsdiag.pusher.signing import mask_secret
from wsdiag.records import record
from wsdiag.target import Target, parse_target

# (setting, its flag or None, its PUSHER_* name, its profile key)
SETTINGS: tuple[tuple[str, str | None, str, str], ...] = (
    ("app_id", "--app-id", "PUSHER_APP_ID", "app_id"),
    ("key", "--key", "PUSHER_APP_KEY", "key"),
    ("secret", "--secret", "PUSHER_APP_SECRET", "secret"),
    ("cluster", None, "PUSHER_APP_CLUSTER", "cluster"),
    ("host", "--host", "PUSHER_HOST", "host"),
    ("port", "--port", "PUSHER_PORT", "port"),
    ("scheme", None, "PUSHER_SCHEME", "scheme"),
    # publish encrypts private-encrypted- channels with it (issue 14); the server
    # libraries call it encryption_master_key_base64.
    (
        "encryption_master_key",
        "--encryption-master-key",
        "PUSHER_ENCRYPTION_MASTER_KEY",
        "encryption_master_key",
    ),
)
_SECRETS = ("secret", "encryption_master_key")

# Laravel's other names for the same settings, read after the PUSHER_* one (issue 11):
# Reverb's (REVERB_HOST/PORT/SCHEME are what the publishing app uses), and the front
# end's build-time copies of the key and cluster (VITE_*, Laravel Mix's MIX_*).
# With BROADCAST_CONNECTION (Laravel 11) or BROADCAST_DRIVER set to reverb, the
# REVERB_* names come first.
ALIASES: dict[str, tuple[str, ...]] = {
    "app_id": ("REVERB_APP_ID",),
    "key": ("REVERB_APP_KEY", "VITE_REVERB_APP_KEY", "VITE_PUSHER_APP_KEY", "MIX_PUSHER_APP_KEY"),
    "secret": ("REVERB_APP_SECRET",),
    "cluster": ("VITE_PUSHER_APP_CLUSTER", "MIX_PUSHER_APP_CLUSTER"),
    "host": ("REVERB_HOST",),
    "port": ("REVERB_PORT",),
    "scheme": ("REVERB_SCHEME",),
}
DRIVER_NAMES = ("BROADCAST_CONNECTION", "BROADCAST_DRIVER")


def env_names(setting: str, primary: str, values: Mapping[str, str]) -> tuple[str, ...]:
    """The variables a setting is read from, in order, for these values (Reverb first if chosen)."""
    aliases = ALIASES.get(setting, ())
    reverb = any(values.get(name, "").strip().lower() == "reverb" for name in DRIVER_NAMES)
    if reverb:
        first = tuple(a for a in aliases if a.startswith("REVERB_"))
        return (*first, primary, *(a for a in aliases if a not in first))
    return (primary, *aliases)


@record
class Setting:
    name: str
    value: str | None
    source: str  # "flag --key", "env file .env", "environment PUSHER_APP_KEY", "profile …"

    def shown(self) -> str:
        if self.value is None:
            return "-"
        return mask_secret(self.value) if self.name in _SECRETS else self.value


@record
class Settings:
    """The resolved settings of one run (``items`` in the order ``config show`` prints)."""

    items: tuple[Setting, ...]
    profile: Profile

    def get(self, name: str) -> Setting:
        return next(s for s in self.items if s.name == name)

    def value(self, name: str) -> str | None:
        return self.get(name).value

    def pusher_environment(self) -> dict[str, str]:
        """The resolved values under their ``PUSHER_*`` names (what ``parse_target`` reads)."""
        names = {name: env_name for name, _, env_name, _ in SETTINGS}
        return {names[s.name]: s.value for s in self.items if s.name in names and s.value}

    def credentials(self) -> Credentials:
        return Credentials(self.value("app_id"), self.value("key"), self.value("secret"))

    def target(
        self, argument: str | None, *, tls: bool | None = None, port: int | None = None
    ) -> tuple[Target, str]:
        """The target every command uses, and where it came from; TargetError if none.

        The argument wins; then a host or cluster from flags, env file or
        environment; the profile's ``target`` only when nothing else names one.
        ``port`` and ``tls`` are the flags (they shape a host, not pick one).
        """
        host, cluster = self.get("host"), self.get("cluster")
        from_profile = self.profile.values.get("target")
        named_elsewhere = any(
            s.value and not s.source.startswith("profile") for s in (host, cluster)
        )
        source = "argument"
        if not argument and not named_elsewhere and from_profile:
            argument, source = from_profile, f"profile {self.profile.name}"
        elif not argument:
            source = host.source if host.value else cluster.source
        flag_host = host.value if host.source == "flag --host" else None
        key = self.get("key")
        target = parse_target(
            argument,
            host=flag_host,
            port=port,
            tls=tls,
            key=key.value if key.source == "flag --key" else None,
            env=self.pusher_environment(),
        )
        return target, source


def resolve_settings(
    flags: Mapping[str, str | None],
    environ: Mapping[str, str],
    env_file: str | None,
    profile: Profile,
) -> Settings:
    """``flags``: setting name → the flag's value (None when not given).

    Raises ``CredentialsError`` when the env file cannot be read.
    """
    file_values = read_env_file(env_file) if env_file else {}
    items = []
    for name, flag, env_name, profile_key in SETTINGS:
        in_file = env_names(name, env_name, file_values)
        in_environment = env_names(name, env_name, environ)
        candidates = [
            (flags.get(name), f"flag {flag}"),
            *((file_values.get(n), _file_source(env_file, n, env_name)) for n in in_file),
            *((environ.get(n), f"environment {n}") for n in in_environment),
            (profile.values.get(profile_key), _profile_source(profile)),
        ]
        value, source = next(((str(v), s) for v, s in candidates if v), (None, "not set"))
        items.append(Setting(name, value, source))
    return Settings(tuple(items), profile)


def _file_source(env_file: str | None, name: str, primary: str) -> str:
    return f"env file {env_file}" + ("" if name == primary else f" ({name})")


def _profile_source(profile: Profile) -> str:
    return f"profile {profile.name} ({profile.path})" if profile.path else f"profile {profile.name}"
