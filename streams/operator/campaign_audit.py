"""`outreach-hub campaigns audit CAMPAIGN_ID`: audit one campaign from PostgreSQL, on demand.

Prints the verdict (ids and counts only, never an address) and exits 0 on PASS, 1 on FAIL,
3 on INCONCLUSIVE, so a script can tell them apart; errors exit 2 with one line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from agents.campaigns.audit import audit
from agents.campaigns.audit_input import AuditLimits
from agents.sequencer.definition import load_definitions
from streams.contracts.exceptions import InvalidInput
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.campaign_audit import CampaignAudited
from streams.kernel.settings import Settings

EXIT = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}


def limits_of(settings: Settings) -> AuditLimits:
    """The hub's own limits. Cooling-off is the shortest any sequence keeps: the audit must not
    fail a send that the sequence it belongs to was allowed to make."""
    definitions = (load_definitions(settings.sequences_file) if settings.sequences_file
                   else load_definitions())
    return AuditLimits(
        cooling_off_days=min(d.rules.cooling_off_days for d in definitions.values()),
        cap_per_mailbox=settings.caps.per_mailbox, cap_per_domain=settings.caps.per_domain)


def verdict_text(verdict: CampaignAudited) -> str:
    lines = [f"campaign {verdict.campaign_id}: {verdict.verdict}",
             f"verdict id {verdict.verdict_id}, audited at {verdict.audited_at:%Y-%m-%d %H:%M:%SZ}"]
    if verdict.findings:
        lines.append(f"{'rule':<22} {'count':>6}  sample ids")
        lines += [f"{f.rule:<22} {f.count:>6}  {', '.join(f.sample_ids)}"
                  for f in verdict.findings]
    return "\n".join(lines)


def cmd_campaigns_audit(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.campaign_record import load_record
    from streams.operator.db import connection

    if settings.database_url is None:
        raise InvalidInput("set OUTREACH_DATABASE_URL")
    url = settings.database_url.get_secret_value()
    limits = limits_of(settings)

    async def run() -> CampaignAudited:
        async with connection(url) as conn:
            record = await load_record(conn, args.campaign_id, limits)
        return audit(record, datetime.now(UTC), STABLE_IDS)

    verdict = asyncio.run(run())
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(verdict.model_dump(mode="json"),
                                             option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    else:
        print(verdict_text(verdict))
    return EXIT[verdict.verdict]


def add_campaign_audit(sub: Any) -> None:
    """Register `campaigns audit` under the `campaigns` command (made here if absent)."""
    campaigns = sub.choices.get("campaigns")
    if campaigns is None:
        campaigns = sub.add_parser("campaigns", help="governed campaigns",
                                   description="Governed campaigns.")
        verbs = campaigns.add_subparsers(dest="campaigns_command", required=True,
                                         metavar="SUBCOMMAND")
    else:
        verbs = next(a for a in campaigns._actions if isinstance(a, argparse._SubParsersAction))
    p = verbs.add_parser("audit", help="audit one campaign's sends now (PostgreSQL)",
                         description=__doc__)
    p.add_argument("campaign_id", help="the campaign to audit (cmp-...)")
    p.add_argument("--json", action="store_true", help="the verdict as JSON")
    p.set_defaults(func=cmd_campaigns_audit)
