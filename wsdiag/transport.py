"""The TLS client context every connection uses (connections themselves: ``wsdiag.dialer``)."""

from __future__ import annotations

import ssl


def tls_context(
    ca_bundle: str | None = None, verify: bool = True, alpn: tuple[str, ...] = ("http/1.1",)
) -> ssl.SSLContext:
    """The shared client context: verifying unless ``verify`` is off, trusting ``ca_bundle``.

    Without ``ca_bundle``: SSL_CERT_FILE/SSL_CERT_DIR, then REQUESTS_CA_BUNDLE,
    then certifi (``wsdiag.trust``, issue 9). Built once per source, verify and
    ALPN; do not modify it. Raises ``wsdiag.trust.TrustError`` for a bundle that
    cannot be loaded (the CLI checks it up front).
    """
    from wsdiag.trust import ca_source, client_context

    return client_context(ca_source(ca_bundle), verify, tuple(alpn))
