"""App credentials (id, key, secret) from flags, the environment and ``.env`` files.

Precedence: flags > environment > ``--env-file``. The secret is kept here and
in the signing code only; everything that shows credentials calls
``Credentials.describe`` or ``signing.mask_secret``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from wsdiag.pusher.signing import mask_secret
from wsdiag.records import record

ENV_NAMES = (
    "PUSHER_APP_ID",
    "PUSHER_APP_KEY",
    "PUSHER_APP_SECRET",
    "PUSHER_APP_CLUSTER",
    "PUSHER_HOST",
    "PUSHER_PORT",
    "PUSHER_SCHEME",
    "PUSHER_ENCRYPTION_MASTER_KEY",
    # Laravel's other names for them (wsdiag.settings.ALIASES) and the broadcaster choice
    "REVERB_APP_ID",
    "REVERB_APP_KEY",
    "REVERB_APP_SECRET",
    "REVERB_HOST",
    "REVERB_PORT",
    "REVERB_SCHEME",
    "REVERB_SERVER_HOST",
    "REVERB_SERVER_PORT",
    "REVERB_SERVER_PATH",
    "VITE_REVERB_APP_KEY",
    "VITE_REVERB_HOST",
    "VITE_REVERB_PORT",
    "VITE_REVERB_SCHEME",
    "VITE_PUSHER_APP_KEY",
    "VITE_PUSHER_APP_CLUSTER",
    "VITE_PUSHER_HOST",
    "VITE_PUSHER_PORT",
    "VITE_PUSHER_SCHEME",
    "MIX_PUSHER_APP_KEY",
    "MIX_PUSHER_APP_CLUSTER",
    "BROADCAST_CONNECTION",
    "BROADCAST_DRIVER",
)
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def key_hint(key: str | None) -> str | None:
    """The most common mistake, in the same words in every command (a note; issue 14)."""
    if key and key.isdigit():
        return f"the key {key!r} is all digits: that looks like the app *id*, not the key"
    return None


class CredentialsError(ValueError):
    """Credentials that cannot work; the message says what to change."""


@record
class Credentials:
    app_id: str | None = None
    key: str | None = None
    secret: str | None = None

    def __repr__(self) -> str:  # never let a secret reach a log through repr()
        return (
            f"Credentials(app_id={self.app_id!r}, key={self.key!r}, "
            f"secret={mask_secret(self.secret)!r})"
        )

    __str__ = __repr__

    @property
    def complete(self) -> bool:
        return bool(self.app_id and self.key and self.secret)

    def describe(self) -> dict[str, str | None]:
        return {"app_id": self.app_id, "key": self.key, "secret": mask_secret(self.secret)}

    def warnings(self) -> list[str]:
        """Mistakes worth saying before anything is sent."""
        notes = [hint] if (hint := key_hint(self.key)) else []
        if self.app_id and not self.app_id.isdigit():
            notes.append(f"the app id {self.app_id!r} is not a number; Pusher app ids are numeric")
        return notes

    def require(self, what: str) -> Credentials:
        missing = [
            flag
            for flag, value in (
                ("--app-id / PUSHER_APP_ID", self.app_id),
                ("--key / PUSHER_APP_KEY", self.key),
                ("--secret / PUSHER_APP_SECRET", self.secret),
            )
            if not value
        ]
        if missing:
            raise CredentialsError(f"{what} needs {', '.join(missing)}")
        return self


def read_env_file(path: str, *, all_keys: bool = False) -> dict[str, str]:
    """The settings of a dotenv file (Laravel's ``.env``): those of ``ENV_NAMES``, or all."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise CredentialsError(f"cannot read env file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CredentialsError(f"env file {path} is not UTF-8 text") from None
    parsed: dict[str, str] = {}
    for line in lines:
        match = _ENV_LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        name, value = match.groups()
        text = _unquote(value)
        # Laravel (phpdotenv) expands ${NAME} from earlier lines, except in single quotes:
        # VITE_REVERB_APP_KEY="${REVERB_APP_KEY}" is how its .env.example writes it.
        parsed[name] = text if value[:1] == "'" else _expand(text, parsed)
    if all_keys:
        return parsed
    return {name: value for name, value in parsed.items() if name in ENV_NAMES}


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(text: str, earlier: Mapping[str, str]) -> str:
    return _REFERENCE.sub(lambda m: earlier.get(m.group(1), ""), text)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()  # an unquoted value may carry a trailing comment


def merged_environment(environ: Mapping[str, str], env_file: str | None) -> dict[str, str]:
    """``PUSHER_*`` settings: the process environment wins over the env file."""
    merged = read_env_file(env_file) if env_file else {}
    merged.update({k: v for k, v in environ.items() if k in ENV_NAMES and v})
    return merged


def credentials_from(
    env: Mapping[str, str],
    *,
    app_id: str | None = None,
    key: str | None = None,
    secret: str | None = None,
) -> Credentials:
    return Credentials(
        app_id=app_id or env.get("PUSHER_APP_ID") or None,
        key=key or env.get("PUSHER_APP_KEY") or None,
        secret=secret or env.get("PUSHER_APP_SECRET") or None,
    )
