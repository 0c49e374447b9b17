"""The one classifier: what went wrong, from the phase and the error, as kind + cause + fix.

Every stage and command names its failures here — a connect errno, a DNS or
dial phase, an OpenSSL verify code or handshake error, an HTTP status and body
of an upgrade or an API call — so two of them can never disagree about the
same fault (issue 9). One module per layer; all pure but ``local_gap``, which
asks the kernel for a route (no packet leaves).
"""

from __future__ import annotations

from wsdiag.classify.diagnosis import Diagnosis
from wsdiag.classify.http import classify_api_status, classify_upgrade_status
from wsdiag.classify.network import (
    classify_connect_error,
    classify_dial,
    connect_summary,
    endpoint_label,
    family_of,
    is_local_gap,
    local_gap,
)
from wsdiag.classify.tls import classify_tls, tls_verify_kind

__all__ = [
    "Diagnosis",
    "classify_api_status",
    "classify_connect_error",
    "classify_dial",
    "classify_tls",
    "classify_upgrade_status",
    "connect_summary",
    "endpoint_label",
    "family_of",
    "is_local_gap",
    "local_gap",
    "tls_verify_kind",
]
