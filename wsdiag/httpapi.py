"""Signed requests to the Pusher HTTP API, timed phase by phase (dns, connect, tls, request).

stdlib ``http.client`` on a socket we connect ourselves, so each phase has its
own timeout and timing. Network failures raise ``ApiError`` with an error
kind; an HTTP reply of any status is a normal ``ApiResponse`` for the caller
to judge (``wsdiag.checks.api`` explains the statuses).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from wsdiag import trace
from wsdiag.classify import classify_dial
from wsdiag.credentials import Credentials
from wsdiag.dialer import DialError
from wsdiag.exchange import http_exchange
from wsdiag.models import ErrorKind, Phase, Stopwatch
from wsdiag.proxy import Proxy
from wsdiag.pusher.signing import sign_api_request
from wsdiag.records import record
from wsdiag.target import Endpoint
from wsdiag.transport import tls_context


class ApiError(Exception):
    """The request never got an HTTP reply."""

    def __init__(self, kind: ErrorKind, message: str, phases: tuple[Phase, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.phases = phases


@record
class ApiResponse:
    method: str
    path: str  # without the query: the query carries the signature
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    phases: tuple[Phase, ...]
    string_to_sign: str  # safe to show: it holds the key, never the secret
    sent_at: float  # local wall clock when the request went out
    server_date: float | None = None  # the server's Date header, as a timestamp
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def clock_skew_s(self) -> float | None:
        """Server clock minus local clock (seconds; Date has 1 s resolution)."""
        if self.server_date is None:
            return None
        return self.server_date - self.sent_at


def api_request(
    endpoint: Endpoint,
    credentials: Credentials,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 5.0,
    ca_bundle: str | None = None,
    verify_tls: bool = True,
    proxy: Proxy | None = None,
    clock: Any = time.time,
    addresses: Sequence[str] | None = None,
) -> ApiResponse:
    """Send one signed request and read the whole reply."""
    if not (credentials.key and credentials.secret):
        raise ApiError(ErrorKind.INVALID_INPUT, "the HTTP API needs the app key and secret")
    sent_at = clock()
    signed = sign_api_request(
        key=credentials.key,
        secret=credentials.secret,
        method=method,
        path=path,
        params=params,
        body=body,
        timestamp=int(sent_at),
    )
    watch = Stopwatch()
    trace.trace(">>", "http", f"{method} {endpoint}{path}?{signed.query} {_body(body)}")
    try:
        reply = http_exchange(
            endpoint,
            method,
            f"{path}?{signed.query}",
            body=body,
            timeout=timeout,
            watch=watch,
            tls=tls_context(ca_bundle, verify_tls) if endpoint.tls else None,
            proxy=proxy,
            addresses=addresses,
        )
    except DialError as err:
        raise _dial_failed(err, endpoint, timeout, watch) from None
    except TimeoutError:
        raise ApiError(
            ErrorKind.API_TIMEOUT, f"no reply within {timeout:g} s", watch.frozen()
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise ApiError(
            ErrorKind.API_BAD_REPLY, f"the connection broke: {_describe(exc)}", watch.frozen()
        ) from None
    trace.trace("<<", "http", f"{reply.status} {reply.reason} {_body(reply.body)}")
    return ApiResponse(
        method=method,
        path=path,
        status=reply.status,
        reason=reply.reason,
        headers=reply.headers,
        body=reply.body,
        phases=watch.frozen(),
        string_to_sign=signed.string_to_sign,
        sent_at=sent_at,
        server_date=_parse_date(reply.headers.get("date")),
    )


def _dial_failed(err: DialError, endpoint: Endpoint, timeout: float, watch: Stopwatch) -> ApiError:
    """No connection: the one classifier names why, as for every other stage."""
    found = classify_dial(err, endpoint.host, endpoint.port, timeout)
    message = found.cause
    if err.phase == "tls":
        message = f"TLS with {endpoint}: {found.cause} (run `wsdiag tls` for the whole chain)"
    elif err.phase == "tunnel":
        message = f"{found.summary.removeprefix('proxy: ')}: {found.cause}"
    return ApiError(found.kind, message, watch.frozen())


def _body(data: bytes | None) -> str:
    text = (data or b"").decode("utf-8", "replace")
    return text if len(text) <= 500 else text[:500] + "…"


def _parse_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
