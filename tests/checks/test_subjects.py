"""Subjects name an IPv6 address with its port as [::1]:443, in every record (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from wsdiag.checks import CheckOptions, reach
from wsdiag.checks.api import explain_response
from wsdiag.checks.runner import Run, tls_all
from wsdiag.credentials import Credentials
from wsdiag.httpapi import ApiResponse
from wsdiag.models import Report, Stage, Status
from wsdiag.proxy import Proxy
from wsdiag.target import server_target


@pytest.mark.parametrize(
    ("host", "subject"),
    [("::1", "[::1]:8443"), ("localhost", "localhost [::1]:8443")],
)
def test_a_tls_record_that_crashed_keeps_the_tls_subject(
    monkeypatch: pytest.MonkeyPatch, host: str, subject: str
) -> None:
    """An internal error in the tls stage is named as handshake_tls names its records."""

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("wsdiag.checks.tls.handshake_tls", broken)
    report = Report(command="tls", target=f"wss://{host}:8443")
    target = server_target(host, 8443, True)
    tls_all(Run(report), target, CheckOptions(), {host: ["::1"]}, {("::1", 8443)})
    (result,) = report.results
    assert (result.stage, result.status, result.subject) == (Stage.TLS, Status.FAIL, subject)


def test_a_tunnel_to_an_ipv6_literal_is_bracketed(monkeypatch: pytest.MonkeyPatch) -> None:
    class Connection:
        def close(self) -> None:
            pass

    monkeypatch.setattr(reach, "dial_stage", lambda *args, **kwargs: Connection())
    options = CheckOptions(proxy=Proxy("proxy.internal", 3128))
    result = reach.probe_tunnel("2001:db8::1", 443, options)
    assert result.subject == "[2001:db8::1]:443 via proxy"


@pytest.mark.parametrize(("skew", "shown"), [(-1.9, -2), (-0.4, 0), (12.6, 13), (0.0, 0)])
def test_clock_skew_has_the_date_headers_one_second_resolution(skew: float, shown: int) -> None:
    response = ApiResponse(
        "GET", "/apps/1/channels", 200, "OK", {}, b"{}", (), "", sent_at=1000.0,
        server_date=1000.0 + skew,
    )  # fmt: skip
    result = explain_response(response, Credentials("1", "key", "secret"), "channels")
    assert result.details["clock_skew_s"] == shown
    assert isinstance(result.details["clock_skew_s"], int)
