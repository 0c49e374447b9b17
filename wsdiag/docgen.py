"""Man pages and shell completions from the click command tree: ``python -m wsdiag.docgen``.

One generator for every derived file, so they cannot drift from the options;
``tests/test_docgen.py`` regenerates into a temporary folder and fails when a
committed copy is stale. Roff is written here rather than with click-man:
click-man has no EXIT STATUS, ENVIRONMENT or EXAMPLES sections and would be
one more dependency for ~150 lines.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

import click
from click.shell_completion import BashComplete, FishComplete, ZshComplete

from wsdiag import __version__
from wsdiag.cli import cli, load_commands
from wsdiag.exit_codes import ExitCode

EXIT_STATUS = {
    ExitCode.OK: "Every check passed (warnings allowed unless --fail-on warn).",
    ExitCode.CHECK_FAILED: "A check failed; the report names the first failure, cause and fix.",
    ExitCode.USAGE: "Usage error: bad arguments or options; nothing was checked or sent.",
    ExitCode.INTERRUPTED: "Interrupted with Ctrl-C; what was measured so far is printed.",
    ExitCode.TERMINATED: "tail ended by SIGTERM; as on Ctrl-C, its summary is printed.",
}
# Every variable wsdiag reads, by name (tests/test_docgen.py greps the package for
# reads and fails on one missing here). A key may name several spellings.
ENVIRONMENT = {
    "PUSHER_APP_ID": "App id (the HTTP API needs it); --app-id wins.",
    "PUSHER_APP_KEY": "App key; --key wins.",
    "PUSHER_APP_SECRET": "App secret, used to sign; never printed; --secret wins.",
    "PUSHER_APP_CLUSTER": "Cluster name when no TARGET is given.",
    "PUSHER_HOST": "Self-hosted server host when no TARGET is given; --host wins.",
    "PUSHER_PORT": "Self-hosted server port; --port wins.",
    "PUSHER_SCHEME": "http or https for the self-hosted server.",
    "PUSHER_ENCRYPTION_MASTER_KEY": "Base64 key of private-encrypted- channels: tail decrypts "
    "and publish encrypts with it; --encryption-master-key wins. Never printed.",
    "REVERB_APP_ID, REVERB_APP_KEY, REVERB_APP_SECRET, REVERB_HOST, REVERB_PORT, "
    "REVERB_SCHEME": "Laravel Reverb's names for the app and the server the app publishes "
    "to; read after the PUSHER_* ones, or before them when BROADCAST_CONNECTION (or "
    "BROADCAST_DRIVER) is reverb.",
    "VITE_REVERB_APP_KEY, VITE_PUSHER_APP_KEY, MIX_PUSHER_APP_KEY": "The front end's copy of "
    "the app key, read when no other names it.",
    "VITE_PUSHER_APP_CLUSTER, MIX_PUSHER_APP_CLUSTER": "The front end's copy of the cluster.",
    "BROADCAST_CONNECTION, BROADCAST_DRIVER": "reverb puts the REVERB_* names first.",
    "WSDIAG_PROFILE": "Profile to start from when --profile is not given.",
    "WSDIAG_CONFIG": "Config file to read when --config is not given.",
    "XDG_CONFIG_HOME": "Where the config file lives: $XDG_CONFIG_HOME/wsdiag/config.toml.",
    "HOME": "The config file is ~/.config/wsdiag/config.toml when XDG_CONFIG_HOME is not set.",
    "https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, http_proxy": "HTTP proxy to tunnel "
    "every connection through, the first one set winning (as in curl); --proxy wins, "
    "--proxy direct ignores them.",
    "no_proxy, NO_PROXY": "Hosts to reach directly, not through the proxy (names and their "
    "subdomains, .suffixes, IP/CIDR, *).",
    "SSL_CERT_FILE": "PEM file of the CAs to trust when --ca-bundle is not given.",
    "SSL_CERT_DIR": "Directory of hashed CA certificates to trust when --ca-bundle is not given "
    "(with SSL_CERT_FILE, both are used).",
    "REQUESTS_CA_BUNDLE": "CAs to trust when neither --ca-bundle nor SSL_CERT_FILE/SSL_CERT_DIR "
    "is set (a file or a directory); else certifi's bundle.",
    "GITHUB_ACTIONS": "When true, failures and warnings are also printed as GitHub Actions "
    "annotations.",
    "NO_COLOR": "Turn colour off.",
    "FORCE_COLOR": "Colour even when the output is not a terminal.",
    "COLUMNS": "Width of the report when the output is not a terminal.",
    "_WSDIAG_COMPLETE": "Set by the shell completion scripts to ask wsdiag for completions.",
}
FILES = {
    "~/.config/wsdiag/config.toml": "Profiles: [profiles.NAME] tables of target, app_id, key, "
    "secret and the other settings (wsdiag config add writes them). "
    "$XDG_CONFIG_HOME/wsdiag/config.toml when XDG_CONFIG_HOME is set; --config FILE or "
    "WSDIAG_CONFIG names another file; wsdiag config path prints the one in use. Keep it "
    "private (mode 600): it holds secrets.",
    ".env": "A Laravel env file, read when named with --env-file FILE: its PUSHER_* lines "
    "win over the environment.",
}
# Characters groff knows on every output device (-Tascii and -Tlatin1 as well as
# -Tutf8); any other non-ASCII character is spelt in ASCII (issue 14: u2026 warned).
_ROFF_GLYPHS = {
    "\u2026": "...",
    "\u2014": "\\(em",
    "\u2013": "\\(en",
    "\u2192": "\\(->",
    "\u2265": "\\(>=",
    "\u2264": "\\(<=",
    "\u00d7": "\\(mu",
    "\u2018": "\\(oq",
    "\u2019": "\\(cq",
    "\u201c": "\\(lq",
    "\u201d": "\\(rq",
    "\u00a0": "\\ ",
}
DATE = "2026-11"  # fixed, so regenerating does not churn the pages


def roff_escape(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else _roff_glyph(c) for c in text)
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in text.splitlines())


def _roff_glyph(char: str) -> str:
    """A non-ASCII character as groff shows it on every device: a named glyph, or ASCII."""
    if char in _ROFF_GLYPHS:
        return _ROFF_GLYPHS[char]
    # "é" → "e": the letter without its accent beats a warning and a blank on -Tascii.
    ascii_form = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return ascii_form or "?"


def _split_help(help_text: str) -> tuple[str, list[str]]:
    """Description paragraphs and example lines out of a command's docstring."""
    text = help_text.replace("\b\n", "").replace("\b", "")
    if "Examples:" in text:
        body, examples = text.split("Examples:", 1)
        lines = [line.strip() for line in examples.strip().splitlines() if line.strip()]
        return body.strip(), lines
    return text.strip(), []


def _synopsis(name: str, command: click.Command) -> str:
    ctx = click.Context(command, info_name=name)
    pieces = command.collect_usage_pieces(ctx)
    return f".B {name}\n" + roff_escape(" ".join(pieces))


def _option_lines(command: click.Command, ctx: click.Context) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is None:
            continue
        names, text = record
        lines += [".TP", f".B {roff_escape(names)}", roff_escape(text or "")]
    return lines


def man_page(name: str, command: click.Command, parent: str | None = None) -> str:
    title = name.replace(" ", "-")
    ctx = click.Context(command, info_name=name)
    description, examples = _split_help(command.help or "")
    summary = command.get_short_help_str(limit=200).rstrip(".")
    out = [
        f'.TH {title.upper()} 1 "{DATE}" "wsdiag {__version__}" "User Commands"',
        ".nh",  # no hyphenation and a ragged right edge: names and values stay copyable
        ".ad l",
        ".SH NAME",
        f"{roff_escape(title)} \\- {roff_escape(summary)}",
        ".SH SYNOPSIS",
        _synopsis(name, command),
        ".SH DESCRIPTION",
    ]
    for paragraph in re.split(r"\n\s*\n", description):
        out += [roff_escape(" ".join(paragraph.split())), ".PP"]
    out.pop()
    if isinstance(command, click.Group):
        out.append(".SH COMMANDS")
        for sub_name, sub in sorted(command.commands.items()):
            out += [".TP", f".B {sub_name}", roff_escape(sub.get_short_help_str(limit=200))]
    out += [".SH OPTIONS", *_option_lines(command, ctx), ".SH EXIT STATUS"]
    for code, meaning in EXIT_STATUS.items():
        out += [".TP", f".B {int(code)}", roff_escape(meaning)]
    out.append(".SH ENVIRONMENT")
    for variable, meaning in ENVIRONMENT.items():
        out += [".TP", f".B {roff_escape(variable)}", roff_escape(meaning)]
    out.append(".SH FILES")
    for path, meaning in FILES.items():
        out += [".TP", f".I {roff_escape(path)}", roff_escape(meaning)]
    if examples:
        out.append(".SH EXAMPLES")
        for example in examples:
            out += [".PP", ".nf", roff_escape(example), ".fi"]
    see_also = ["wsdiag(1)"] if parent else []
    if isinstance(command, click.Group):
        see_also += [f"wsdiag-{n}(1)" for n in sorted(command.commands)]
    see_also += ["dig(1)", "openssl-s_client(1)", "curl(1)"]
    out += [".SH SEE ALSO", roff_escape(", ".join(see_also))]
    return "\n".join(out) + "\n"


def completion_scripts() -> dict[str, str]:
    complete_var = "_WSDIAG_COMPLETE"
    return {
        "wsdiag.bash": BashComplete(cli, {}, "wsdiag", complete_var).source(),
        "_wsdiag": ZshComplete(cli, {}, "wsdiag", complete_var).source(),
        "wsdiag.fish": FishComplete(cli, {}, "wsdiag", complete_var).source(),
    }


def generated_files() -> dict[str, str]:
    """Relative path → content of every generated file."""
    commands = load_commands()  # built first: the group's page lists them
    files = {"man/wsdiag.1": man_page("wsdiag", cli)}
    for name, command in sorted(commands.items()):
        files[f"man/wsdiag-{name}.1"] = man_page(f"wsdiag {name}", command, parent="wsdiag")
    files.update({f"completions/{n}": text for n, text in completion_scripts().items()})
    return files


def write_all(root: Path) -> list[Path]:
    written = []
    for relative, content in generated_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate man pages and shell completions.")
    parser.add_argument("--root", default=".", help="repository root to write into")
    args = parser.parse_args(argv)
    for path in write_all(Path(args.root)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
