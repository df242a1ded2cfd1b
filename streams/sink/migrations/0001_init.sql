-- The durable record of the Outreach Execution Hub (SPEC §4). Every event table is keyed on the
-- event's stable event_id, so a replayed event hits ON CONFLICT DO NOTHING and changes nothing.
-- CHECK constraints mirror the Literal types of streams/models; change both together.
-- migrate() creates the schema itself (under its advisory lock) before running this file.

-- Handoff audit rows of seed 003 §8, one per batch handoff (success or failure).
CREATE TABLE outreach.audit_log (
    event_id            text PRIMARY KEY,
    batch_id            text NOT NULL,
    schema_version      text,
    target              text,
    received_at         timestamptz NOT NULL,
    checksum            text NOT NULL,
    status              text NOT NULL CHECK (status IN ('success', 'failure')),
    reason              text,
    cards_total         integer NOT NULL DEFAULT 0,
    cards_forwarded     integer NOT NULL DEFAULT 0,
    cards_not_forwarded integer NOT NULL DEFAULT 0,
    cards_rejected      integer NOT NULL DEFAULT 0,
    correlation_id      text NOT NULL,
    process_id          text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_batch_id_idx ON outreach.audit_log (batch_id);

-- Lead cards stored verbatim (the hub never rewrites a card, seed 003 §9). Keyed on
-- (batch_id, lead_id) so a re-delivered batch stores nothing twice, whatever its event_id.
CREATE TABLE outreach.lead_cards (
    batch_id          text NOT NULL,
    lead_id           text NOT NULL,
    event_id          text NOT NULL UNIQUE,
    schema_version    text NOT NULL,
    company_sov_id    text,
    enrichment_status text NOT NULL,
    disposition       text NOT NULL
        CHECK (disposition IN ('FORWARDED', 'AWAITING_ENRICHMENT', 'NOT_EXECUTABLE')),
    reason            text,
    checksum          text NOT NULL,
    card              jsonb NOT NULL,
    correlation_id    text NOT NULL,
    process_id        text NOT NULL,
    received_at       timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, lead_id)
);
CREATE INDEX lead_cards_lead_id_idx ON outreach.lead_cards (lead_id);
CREATE INDEX lead_cards_company_sov_id_idx ON outreach.lead_cards (company_sov_id)
    WHERE company_sov_id IS NOT NULL;

-- One row per gate decision (a newer score re-gates, so a lead can have several). The contact's
-- name and email are deliberately absent: lead_cards already holds them, once.
CREATE TABLE outreach.gate_verdicts (
    event_id           text PRIMARY KEY,
    lead_id            text NOT NULL,
    batch_id           text NOT NULL,
    company_sov_id     text,
    bit_score          double precision,
    score_evaluated_at timestamptz,
    verdict            text NOT NULL
        CHECK (verdict IN ('ALLOW', 'CONTENT_ONLY', 'DO_NOT_CONTACT', 'BLOCKED')),
    tier               text CHECK (tier IN ('SUSPECT', 'WARM', 'HOT', 'BURNING')),
    strategy           text
        CHECK (strategy IN ('PERSONALIZED_EMAIL', 'PHONE_AND_EMAIL', 'NEWSLETTER_CONTENT')),
    reasons            text[] NOT NULL DEFAULT '{}',
    error_code         text,
    correlation_id     text NOT NULL,
    process_id         text NOT NULL,
    occurred_at        timestamptz NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gate_verdicts_lead_id_occurred_at_idx
    ON outreach.gate_verdicts (lead_id, occurred_at);
CREATE INDEX gate_verdicts_company_sov_id_idx ON outreach.gate_verdicts (company_sov_id)
    WHERE company_sov_id IS NOT NULL;

-- OUT-00x errors and dead letters. No CHECK on code: new dead-letter codes must never wedge
-- the sink on a table constraint.
CREATE TABLE outreach.outreach_errors (
    event_id         text PRIMARY KEY,
    code             text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    stage            text NOT NULL,
    reason           text NOT NULL,
    source_topic     text,
    source_partition integer,
    source_offset    bigint,
    subject_id       text,
    record           jsonb,
    correlation_id   text NOT NULL,
    process_id       text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outreach_errors_code_idx ON outreach.outreach_errors (code);
CREATE INDEX outreach_errors_correlation_id_idx ON outreach.outreach_errors (correlation_id);

-- Campaign projection: one row per campaign at its latest version. Writers must only move
-- version forward (UPDATE ... WHERE version < new), which makes replays harmless.
CREATE TABLE outreach.campaigns (
    campaign_id    text PRIMARY KEY,
    state          text NOT NULL CHECK (state IN (
        'requested', 'draft', 'scheduled', 'active', 'paused', 'completed', 'cancelled',
        'rejected', 'expired', 'failed')),
    version        integer NOT NULL CHECK (version >= 1),
    tier           text CHECK (tier IN ('SUSPECT', 'WARM', 'HOT', 'BURNING')),
    company_sov_id text,
    expires_at     timestamptz,
    approved_by    text,
    approved_at    timestamptz,
    correlation_id text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_state_idx ON outreach.campaigns (state);
CREATE INDEX campaigns_company_sov_id_idx ON outreach.campaigns (company_sov_id)
    WHERE company_sov_id IS NOT NULL;

-- Every campaign transition (CampaignStateChanged); (campaign_id, version) is the CAS key.
CREATE TABLE outreach.campaign_events (
    event_id       text PRIMARY KEY,
    campaign_id    text NOT NULL,
    version        integer NOT NULL CHECK (version >= 1),
    from_state     text,
    to_state       text NOT NULL,
    actor          text NOT NULL,
    reason         text,
    expires_at     timestamptz,
    correlation_id text NOT NULL,
    process_id     text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, version)
);

-- Sequence projection per aggregate ({sequence_id}:{contact}), at its latest version.
CREATE TABLE outreach.sequences (
    aggregate_id        text PRIMARY KEY,
    sequence_id         text NOT NULL,
    campaign_id         text,
    contact_key         text NOT NULL,
    company_sov_id      text,
    status              text NOT NULL,
    current_touch_index integer NOT NULL DEFAULT 0,
    version             integer NOT NULL CHECK (version >= 0),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sequences_contact_key_idx ON outreach.sequences (contact_key);
CREATE INDEX sequences_campaign_id_idx ON outreach.sequences (campaign_id)
    WHERE campaign_id IS NOT NULL;

-- The sequence event log: the PK is the compare-and-set on expected_version, the unique
-- idempotency_key makes a replayed decision append nothing.
CREATE TABLE outreach.sequence_events (
    aggregate_id    text NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    idempotency_key text NOT NULL UNIQUE,
    type            text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_id, version)
);

-- Where a send status may move: scheduled -> failed -> sent, never backwards, so a late or
-- replayed report cannot undo a newer one. IMMUTABLE so it can sit in upsert WHERE clauses.
CREATE FUNCTION outreach.send_status_rank(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT CASE status WHEN 'scheduled' THEN 1 WHEN 'failed' THEN 2 WHEN 'sent' THEN 3 END $$;

-- One row per touch handed to a sender, keyed on the sender's idempotency key.
CREATE TABLE outreach.send_log (
    idempotency_key     text PRIMARY KEY,
    aggregate_id        text NOT NULL,
    touch_index         integer NOT NULL,
    status              text NOT NULL CHECK (status IN ('scheduled', 'sent', 'failed')),
    provider            text,
    provider_message_id text,
    failure_reason      text,
    scheduled_at        timestamptz,
    sent_at             timestamptz,
    opened_at           timestamptz,
    clicked_at          timestamptz,
    replied_at          timestamptz,
    event_id            text,  -- the event that last moved status
    correlation_id      text,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX send_log_aggregate_id_idx ON outreach.send_log (aggregate_id);
CREATE INDEX send_log_provider_message_id_idx ON outreach.send_log (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Normalized provider events. UNIQUE (provider, provider_event_id) drops webhook redeliveries
-- even when they arrive under a different event_id.
CREATE TABLE outreach.engagement_events (
    event_id            text PRIMARY KEY,
    provider            text NOT NULL,
    provider_event_id   text NOT NULL,
    aggregate_id        text NOT NULL,
    campaign_id         text,
    type                text NOT NULL,
    bounce_kind         text CHECK (bounce_kind IN ('hard', 'soft')),
    provider_message_id text,
    correlation_id      text NOT NULL,
    process_id          text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_event_id)
);
CREATE INDEX engagement_events_aggregate_id_idx ON outreach.engagement_events (aggregate_id);
CREATE INDEX engagement_events_campaign_type_idx ON outreach.engagement_events (campaign_id, type)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX engagement_events_provider_message_id_idx
    ON outreach.engagement_events (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Replies and where they were routed.
CREATE TABLE outreach.reply_tracking (
    event_id            text PRIMARY KEY,
    aggregate_id        text NOT NULL,
    provider_message_id text,
    replied_at          timestamptz NOT NULL,
    routed_to           text,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reply_tracking_aggregate_id_idx ON outreach.reply_tracking (aggregate_id);

-- Addresses never to contact again, by hash only: the list itself holds no email address.
CREATE TABLE outreach.suppression_list (
    address_hash    text PRIMARY KEY,
    reason          text NOT NULL,
    source_event_id text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
