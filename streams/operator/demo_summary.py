"""The demo's summary: what the pipeline recorded, table by table, and each campaign's verdicts."""

from __future__ import annotations

import orjson


def print_summary(summary: dict[str, list[tuple[object, ...]]], wall: float, code: int,
                   min_sends: int = 200) -> None:
    print("\nHandoff audit (audit_log):")
    for status, n in summary["audit"]:
        print(f"  {status:10} {n:5}")
    print("Lead cards stored verbatim (lead_cards):")
    for disposition, n in summary["cards"]:
        print(f"  {disposition:22} {n:5}")
    print("Gate verdicts, latest per lead (gate_verdicts):")
    for verdict, tier, n in summary["verdicts"]:
        print(f"  {verdict:15} {tier:8} {n:5}")
    print("Errors and dead letters (outreach_errors):")
    for code_, severity, n in summary["errors"]:
        print(f"  {code_:20} {severity:9} {n:5}")
    print("Sequences (sequences):")
    for status, index, n in summary["sequences"]:
        print(f"  {status:10} after touch {index}: {n:5}")
    print("Touches requested from the sender (send_log), hub time:")
    for index, n, first, last in summary["touches"]:
        print(f"  touch {index}: {n:4}   {first:%a %b %d %H:%M} .. {last:%a %b %d %H:%M} UTC")
    print("Sends (send_log) by status and provider:")
    for status, provider, n in summary["sends"]:
        print(f"  {status:10} {provider:18} {n:5}")
    print("Engagement from the sandbox provider's webhooks (engagement_events):")
    for kind, n in summary["engagement"]:
        print(f"  {kind:15} {n:5}")
    print("ENGAGEMENT_RATE = (opens + replies) / sends, healthy >= 30%:")
    for sequence, sent, engaged in summary["rate"]:
        rate = int(engaged) / int(sent) if sent else 0.0  # type: ignore[call-overload]
        mark = "healthy" if rate >= 0.30 else "BELOW 30%"
        print(f"  {sequence:20} {engaged:4} / {sent:4} = {rate:6.1%}  {mark}")
    print("Suppression list (by address hash):")
    for reason, n in summary["suppressed"]:
        print(f"  {reason:15} {n:5}")
    print("CL engagement signals (cl.engagement.signals):")
    for signal, n in summary.get("signals", []):
        print(f"  {signal:15} {n:5}")
    print("Campaigns (campaigns) by tier, state and approver:")
    for tier, state, approver, n, audience in summary["campaigns"]:
        print(f"  {tier:8} {state:10} {approver:27} {n:4} campaigns, {audience or 0:4} persons")
    print("Campaign verdicts (campaign_health, audit_log): health, then audit:")
    for cid, tier, state, sends, health, reasons, audit, findings in summary[
            "verdicts_by_campaign"]:
        print(f"  {cid} {tier:8} {state:10} {_health_text(health, reasons, sends, min_sends):44} "
              f"{_audit_text(audit, findings)}")
    print(f"\nDemo finished in {wall:.1f}s (worker exit code {code}).")


def _health_text(verdict: object, reasons: object, sends: object, min_sends: int) -> str:
    if verdict is None:  # below the minimum sample nothing is decided
        return f"health -: {sends} sends < {min_sends} minimum, no verdict"
    why = "; ".join(str(r) for r in reasons) if isinstance(reasons, list | tuple) else ""
    return f"health {verdict}" + (f" ({why})" if why else "")


def _audit_text(verdict: object, findings: object) -> str:
    if verdict is None:
        return "audit -: not audited yet"
    found: list[dict[str, object]] = (
        orjson.loads(findings) if isinstance(findings, str | bytes) else [])
    rules = ", ".join(f"{f['rule']} x{f['count']}" for f in found)
    return f"audit {verdict}" + (f" ({rules})" if rules else "")
