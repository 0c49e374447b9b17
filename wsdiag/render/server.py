"""``wsdiag server`` as text and as JSON."""

from __future__ import annotations

from typing import Any

from wsdiag.capabilities import SUPPORTED, UNSUPPORTED, ServerReport

MEANING = {
    "largest event (bytes of data)": "events with more data are refused",
    "channels per publish": "a publish to more channels is refused",
    "events per batch": "a larger batch is refused",
    "presence member info (bytes)": "a presence member with more user_info is refused",
}


def server_lines(report: ServerReport) -> list[str]:
    lines = [f"wsdiag server {report.target}: {report.identity}"]
    if report.error:
        return [*lines, f"FAIL: {report.error}"]
    lines += [f"  evidence: {e}" for e in report.evidence]
    shown = ", ".join(f"{route} {status or 'no reply'}" for route, status in report.health.items())
    lines += ["", f"health routes: {shown}"]
    if report.capabilities:
        lines += ["", "capabilities:"]
        for capability in report.capabilities:
            mark = {SUPPORTED: "yes", UNSUPPORTED: "no "}.get(capability.status, "?  ")
            lines.append(f"  {mark}  {capability.name:<22} {capability.detail}")
    if report.limits:
        lines += ["", "limits (found by trying):"]
        for limit in report.limits:
            value = "-" if limit.value is None else f"{limit.value:,}"
            bound = {"found": "", "at least": " or more"}.get(limit.bound, f" ({limit.bound})")
            lines.append(f"  {limit.name:<30} {value}{bound}")
            meaning = MEANING.get(limit.name)
            if limit.value is not None and limit.bound == "found" and meaning:
                refused = f" ({limit.refused_with})" if limit.refused_with else ""
                lines.append(f"      {meaning} beyond {limit.value:,}{refused}; {limit.detail}")
            else:
                lines.append(f"      {limit.detail}")
    if report.origins:
        lines += ["", "origins:"]
        lines += [f"  {origin}: {verdict}" for origin, verdict in report.origins.items()]
    return lines


def server_document(report: ServerReport, exit_code: int) -> dict[str, Any]:
    from wsdiag import __version__

    return {
        "schema_version": 1,
        "tool": {"name": "wsdiag", "version": __version__},
        "command": "server",
        "target": report.target,
        "exit_code": exit_code,
        "error": report.error,
        "identity": report.identity,
        "evidence": report.evidence,
        "health": report.health,
        "capabilities": [
            {"name": c.name, "status": c.status, "detail": c.detail} for c in report.capabilities
        ],
        "limits": [
            {
                "name": limit.name,
                "value": limit.value,
                "bound": limit.bound,
                "detail": limit.detail,
                "refused_with": limit.refused_with,
            }
            for limit in report.limits
        ],
        "origins": report.origins,
    }
