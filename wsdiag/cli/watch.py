"""``watch``: the check again and again, live, with a summary at the end (issue 12)."""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from wsdiag.cli.check import check_credentials
from wsdiag.cli.complete import complete_target_or_settings
from wsdiag.cli.options import (
    CheckFlags,
    CredentialFlags,
    Invocation,
    NetworkFlags,
    Seconds,
    ServerFlags,
    check_run_options,
    events_option,
    exit_code_of,
    transport_list,
)

if TYPE_CHECKING:
    from wsdiag.models import Report
    from wsdiag.watch import History, Run


class _Terminated(KeyboardInterrupt):
    """SIGTERM: end as on Ctrl-C, summary included."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated


@click.command()
@click.argument("target", metavar="TARGET", shell_complete=complete_target_or_settings)
@check_run_options
@click.option(
    "--interval",
    type=Seconds(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds from the start of one check to the start of the next.",
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many checks.")
@click.option("--json", "as_json", is_flag=True, help="One JSON report per check (NDJSON).")
@events_option(3)
@click.option(
    "--enabled-transports",
    "transports",
    callback=transport_list,
    metavar="LIST",
    help="The client's enabledTransports, as for check.",
)
def watch(
    target: str,
    server: ServerFlags,
    network: NetworkFlags,
    checks: CheckFlags,
    creds: CredentialFlags,
    interval: float,
    count: int | None,
    as_json: bool,
    events: int,
    transports: tuple[str, ...] | None,
) -> None:
    """Check again every --interval seconds: a live dashboard, then a summary.

    On a terminal: each stage's state and its history as a strip, ping and
    delivery latency over time, flaps, the last failure with cause and fix.
    Elsewhere one line per check; --json one JSON report per line (the
    summary then goes to stderr). Ctrl-C, SIGTERM or --count N end it with
    the summary: uptime, failures by kind, latency percentiles over the whole
    watch. Exit 1 when any check failed (130/143 when stopped by a signal).

    \b
    Examples:
      wsdiag watch mt1 --key KEY --interval 60
      wsdiag watch ws://127.0.0.1:6001 --key app-key --interval 5 --count 12 --json
    """
    from wsdiag.checks.runner import check_target
    from wsdiag.exit_codes import ExitCode
    from wsdiag.models import Report, Stage
    from wsdiag.render.verdict import verdict
    from wsdiag.render.watch import summary_lines
    from wsdiag.watch import History

    run = Invocation(server, creds, network)
    resolved = run.target(target)
    credentials = check_credentials(run)
    options = run.check_options(resolved, checks)
    history = History()
    screen = _Screen(as_json, resolved.label, interval)
    started = time.monotonic()
    stopped: ExitCode | None = None
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        while count is None or history.count < count:
            began, wall = time.monotonic(), time.time()
            report = Report(command="watch", target=resolved.label)
            check_target(
                resolved,
                options,
                report,
                stages=tuple(Stage),
                credentials=credentials,
                events=events,
                transports=transports,
            )
            if history.count == 0:  # said once: the target and the proxy do not change
                for note in [*run.notes, *report.notes]:
                    click.echo(f"note: {note}", err=True)
            code = exit_code_of(report)
            done = history.add(report, wall, time.monotonic() - began, verdict(report))
            screen.show(history, report, int(code), done)
            if count is not None and history.count >= count:
                break
            time.sleep(max(0.0, began + interval - time.monotonic()))
    except KeyboardInterrupt as stop:
        stopped = ExitCode.TERMINATED if isinstance(stop, _Terminated) else ExitCode.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        screen.close()
    for line in summary_lines(history, time.monotonic() - started):
        click.echo(line, err=as_json)
    if stopped is None:
        failed = history.working < history.count
        stopped = ExitCode.CHECK_FAILED if failed else ExitCode.OK
    click.get_current_context().exit(int(stopped))


class _Screen:
    """Where each check goes: the live dashboard (a terminal), a line, or an NDJSON report."""

    def __init__(self, as_json: bool, target: str, interval: float) -> None:
        from rich.console import Console
        from rich.live import Live

        self.as_json, self.target, self.interval = as_json, target, interval
        self.console = Console(highlight=False)
        self.live: Live | None = None
        if self.console.is_terminal and not as_json:
            self.live = Live(console=self.console, auto_refresh=False)
            self.live.start()

    def show(self, history: History, report: Report, code: int, done: Run) -> None:
        from rich.console import Group

        from wsdiag.render.json import report_to_dict
        from wsdiag.render.watch import dashboard, run_line

        if self.as_json:
            document = report_to_dict(report, code)
            click.echo(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
        elif self.live is not None:
            lines = dashboard(history, self.target, self.interval, self.console.width)
            self.live.update(Group(*lines), refresh=True)
        else:
            click.echo(run_line(done))
        sys.stdout.flush()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


COMMANDS: tuple[click.Command, ...] = (watch,)
