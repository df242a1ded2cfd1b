-- The campaign audit (SPEC §3 "Campaigns"): what the auditor reads and where its verdicts go.
-- IF NOT EXISTS on the send_log columns: another migration may add the same evidence.

-- Which campaign a touch was for and which approved content it carried (TouchRequested), so
-- the audit reads a campaign's sends in one indexed query and checks each digest.
ALTER TABLE outreach.send_log
    ADD COLUMN IF NOT EXISTS campaign_id text,
    ADD COLUMN IF NOT EXISTS content_digest text;
CREATE INDEX IF NOT EXISTS send_log_campaign_id_idx ON outreach.send_log (campaign_id)
    WHERE campaign_id IS NOT NULL;

-- The approval terms in force after each transition are campaign_events.terms (0003).
CREATE INDEX IF NOT EXISTS campaign_events_campaign_id_idx
    ON outreach.campaign_events (campaign_id, version);

-- The audit log holds the campaign verdicts (CampaignAudited) beside the batch handoff rows:
-- a row is one or the other, never neither.
ALTER TABLE outreach.audit_log
    ALTER COLUMN batch_id DROP NOT NULL,
    ALTER COLUMN received_at DROP NOT NULL,
    ALTER COLUMN checksum DROP NOT NULL,
    ALTER COLUMN status DROP NOT NULL,
    ADD COLUMN campaign_id text,
    ADD COLUMN verdict text CHECK (verdict IN ('PASS', 'FAIL', 'INCONCLUSIVE')),
    ADD COLUMN findings jsonb,
    ADD CONSTRAINT audit_log_batch_or_campaign CHECK (
        (batch_id IS NOT NULL AND received_at IS NOT NULL AND checksum IS NOT NULL
         AND status IS NOT NULL)
        OR (campaign_id IS NOT NULL AND verdict IS NOT NULL AND findings IS NOT NULL));
CREATE INDEX audit_log_campaign_id_idx ON outreach.audit_log (campaign_id, occurred_at)
    WHERE campaign_id IS NOT NULL;
