"""Campaign audit trigger: a timer of the campaign stage audits campaigns whose sequences have
all ended.

Which campaigns: active ones on partitions this worker owns (so one worker audits each), whose
persons are enrolled in PostgreSQL, none of whose sequences is still active, whose sequences
and sends have not changed for the settle period (send results arrive after the last touch),
and which have no audit verdict recorded since their sequences last changed. Each is audited
from its record (streams/adapters/campaign_record.py, agents/campaigns/audit.py); the verdict
goes to outreach.audit, the campaign gets complete / fail from system:audit, and a FAIL or an
INCONCLUSIVE verdict raises its incident or escalation on outreach.errors. A verdict's id comes
from the record it judged, so a verdict emitted twice is stored and decided once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from agents.campaigns.aggregate import CampaignAggregate
from agents.campaigns.audit import audit, verdict_emits
from agents.campaigns.audit_input import AuditLimits
from streams.adapters.campaign_record import RecordTooLarge, load_record
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.kernel.hub import Hub
from streams.kernel.store import TableStore
from streams.kernel.timer import follow_marked, nudge_every

log = logging.getLogger(__name__)

# Of the given campaigns, those whose sequences have all ended and settled, not audited since.
SETTLED = """
WITH seqs AS (
    SELECT campaign_id, bool_or(status = 'active') AS live, max(updated_at) AS changed
    FROM outreach.sequences WHERE campaign_id = ANY($1::text[]) GROUP BY campaign_id
), sends AS (
    SELECT campaign_id, max(updated_at) AS changed
    FROM outreach.send_log WHERE campaign_id = ANY($1::text[]) GROUP BY campaign_id
)
SELECT s.campaign_id FROM seqs s LEFT JOIN sends l USING (campaign_id)
WHERE NOT s.live
  AND greatest(s.changed, l.changed) < now() - make_interval(secs => $2)
  AND NOT EXISTS (SELECT 1 FROM outreach.audit_log a
                  WHERE a.campaign_id = s.campaign_id
                    AND a.recorded_at >= greatest(s.changed, l.changed))
ORDER BY s.campaign_id
"""


def register_audit(hub: Hub, campaigns: TableStore[CampaignAggregate],
                   limits: AuditLimits) -> None:
    s = hub.settings
    # The active campaigns, kept on every write: reading and decoding every campaign ever
    # made each round grew with the campaigns (kernel/timer.py, MarkedKeys).
    active_here = follow_marked(hub, campaigns, "campaign_commands", "state",
                                wanted=lambda state: state == "active")

    async def due(now: datetime) -> AsyncIterator[Emit]:
        active = sorted(await active_here())
        if not active:
            return
        try:
            conn = await asyncpg.connect(hub.database_url, timeout=10)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("campaign audit skipped: PostgreSQL unreachable (%s)",
                        type(exc).__name__)
            return
        try:
            settled = [r[0] for r in await conn.fetch(
                SETTLED, active, s.campaign_audit_settle_seconds)]
            for campaign_id in settled:
                try:
                    record = await load_record(conn, campaign_id, limits)
                except RecordTooLarge as exc:
                    log.error("campaign %s not audited: %s", campaign_id, exc)
                    continue
                verdict = audit(record, now, STABLE_IDS)
                log.info("campaign %s audited: %s", campaign_id, verdict.verdict)
                for emit in verdict_emits(verdict, STABLE_IDS):
                    yield emit
        except asyncpg.PostgresError as exc:
            log.warning("campaign audit stopped for this round (%s)", type(exc).__name__)
        finally:
            await conn.close()

    nudge_every(hub, "campaign-audit", s.campaign_audit_check_seconds, due)
