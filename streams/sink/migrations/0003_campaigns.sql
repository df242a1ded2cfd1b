-- Governed campaigns (seed 004): the draft's eligibility and content, the approval's terms,
-- the health and audit verdicts that moved it, and every refused command.
ALTER TABLE outreach.campaigns
    ADD COLUMN strategy           text,
    ADD COLUMN sequence_id        text,
    ADD COLUMN draft_version      integer,
    ADD COLUMN eligibility        jsonb,
    ADD COLUMN content_digests    jsonb,
    ADD COLUMN terms              jsonb,
    ADD COLUMN window_start       timestamptz,
    ADD COLUMN window_end         timestamptz,
    ADD COLUMN max_sends_per_hour integer,
    ADD COLUMN max_sends_per_day  integer,
    ADD COLUMN health_verdict_id  text,
    ADD COLUMN audit_verdict_id   text,
    ADD COLUMN audience           integer;

ALTER TABLE outreach.campaign_events
    ADD COLUMN command            text,
    ADD COLUMN command_id         text,
    ADD COLUMN draft_version      integer,
    ADD COLUMN eligibility        jsonb,
    ADD COLUMN terms              jsonb,
    ADD COLUMN content_digests    jsonb,
    ADD COLUMN health_verdict_id  text,
    ADD COLUMN audit_verdict_id   text,
    ADD COLUMN audience           integer,
    ADD COLUMN note               text;

-- A command the campaign refused, and why (the campaign's state did not change).
CREATE TABLE outreach.campaign_command_rejections (
    event_id       text PRIMARY KEY,
    campaign_id    text NOT NULL,
    command_id     text NOT NULL,
    command        text NOT NULL,
    actor          text NOT NULL,
    state          text,
    version        integer NOT NULL,
    code           text NOT NULL,
    reason         text NOT NULL,
    correlation_id text NOT NULL,
    process_id     text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_command_rejections_campaign_idx
    ON outreach.campaign_command_rejections (campaign_id, occurred_at);
