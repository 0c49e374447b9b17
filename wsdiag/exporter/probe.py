"""One exporter probe: a module and a target in, a check run within a time budget, metrics out.

The check is ``wsdiag check``'s own (checks/runner.py) with the module's
settings; without credentials it checks connectivity, with them it goes end
to end. It runs on a daemon thread so the answer can leave at the deadline
with what was measured by then; ``on_done`` is called when the check itself
ends, which may be later (the exporter holds the probe's slot until then).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from wsdiag.checks import CheckOptions
from wsdiag.credentials import Credentials, CredentialsError
from wsdiag.exporter.modules import Module, ModuleError
from wsdiag.models import Report, Status
from wsdiag.records import record
from wsdiag.target import Target, TargetError

CONFIG_FAILURE = ("config", "invalid_input")  # wsdiag_failure_info when nothing could be checked


@record
class ProbeOutcome:
    report: Report  # a copy: a probe that ran out of time keeps filling its own
    duration_s: float
    timed_out: bool = False
    error: str | None = None  # the module or target cannot be used: nothing was checked

    @property
    def success(self) -> bool:
        healthy = self.report.status in (Status.OK, Status.WARN)
        return healthy and not self.timed_out and self.error is None

    def metrics(self) -> bytes:
        from wsdiag.render.prometheus import PROBE_TIMEOUT_KIND, probe_metrics

        failure = None
        if self.error is not None:
            failure = CONFIG_FAILURE
        elif self.timed_out:
            last = self.report.results[-1].stage.value if self.report.results else "start"
            failure = (last, PROBE_TIMEOUT_KIND)
        return probe_metrics(self.report, self.duration_s, failure=failure)

    def debug_text(self) -> str:
        """The report as ``wsdiag check`` prints it (no colour), secrets masked."""
        from rich.console import Console

        from wsdiag import trace
        from wsdiag.render.console import ConsoleRenderer

        buffer = io.StringIO()
        console = Console(file=buffer, width=120, color_system=None, highlight=False)
        renderer = ConsoleRenderer(console, err_console=console, detailed=True)
        renderer.start(self.report)
        renderer.finish(self.report, 0 if self.success else 1)
        lines = [f"probe of {self.report.target}: {self.duration_s:.3f} s"]
        if self.error:
            lines.append(f"not checked: {self.error}")
        if self.timed_out:
            lines.append("the probe ran out of time: what follows was measured by then")
        return trace.redact("\n".join(lines) + "\n\n" + buffer.getvalue())


def run_probe(
    target_text: str,
    module: Module,
    environ: Mapping[str, str],
    budget_s: float,
    on_done: Callable[[], None],
) -> ProbeOutcome:
    from wsdiag.checks.runner import check_target
    from wsdiag.concurrency import Pending

    started = time.monotonic()
    report = Report(command="probe", target=target_text)
    try:
        target, credentials, options = _setup(target_text, module, environ, budget_s)
    except (ModuleError, TargetError, CredentialsError) as exc:
        on_done()
        return ProbeOutcome(report, time.monotonic() - started, error=str(exc))
    report.target = target.label

    def check() -> None:
        try:
            check_target(
                target,
                options,
                report,
                stages=module.stages,
                credentials=credentials,
                events=module.events,
                transports=module.enabled_transports,
            )
        finally:
            on_done()

    running = Pending(check, name="wsdiag-probe")
    timed_out = False
    try:
        running.result(max(0.0, budget_s - (time.monotonic() - started)))
    except TimeoutError:
        timed_out = True
    snapshot = replace(report, results=list(report.results), notes=list(report.notes))
    return ProbeOutcome(snapshot, time.monotonic() - started, timed_out=timed_out)


def _setup(
    target_text: str, module: Module, environ: Mapping[str, str], budget_s: float
) -> tuple[Target, Credentials | None, CheckOptions]:
    from wsdiag import trace
    from wsdiag.target import parse_target

    key = module.credential("key", environ)
    app_id = module.credential("app_id", environ)
    secret = module.credential("secret", environ)
    trace.add_secret(secret)  # masked in every debug answer
    target = parse_target(target_text, key=key)
    credentials = None
    if app_id or secret:
        credentials = Credentials(app_id, key, secret)
        if not credentials.complete:
            raise ModuleError(
                f"module {module.name}: end-to-end probes need app_id, key and secret"
            )
    # Each network step gets at most half the probe's time, so a silent step
    # leaves room for the others to report.
    options = CheckOptions(
        timeout=min(module.timeout, max(0.5, budget_s / 2)),
        ca_bundle=module.ca_bundle,
        ping_count=module.pings,
    )
    return target, credentials, options
