-- Campaign health verdicts (CampaignHealthEvaluated on outreach.campaign.health): one row per
-- verdict change, keyed by its deterministic verdict_id, so a redelivered verdict is a no-op.
-- The latest row of a campaign is its health; `outreach-hub campaigns show` reads the history.
CREATE TABLE outreach.campaign_health (
    verdict_id      text PRIMARY KEY,
    campaign_id     text NOT NULL,
    sending_domain  text NOT NULL,
    verdict         text NOT NULL CHECK (verdict IN ('HEALTHY', 'PAUSE', 'REVIEW')),
    reasons         text[] NOT NULL DEFAULT '{}',
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,
    sends           integer NOT NULL CHECK (sends >= 0),
    hard_bounces    integer NOT NULL CHECK (hard_bounces >= 0),
    complaints      integer NOT NULL CHECK (complaints >= 0),
    opens           integer NOT NULL CHECK (opens >= 0),
    replies         integer NOT NULL CHECK (replies >= 0),
    bounce_rate     double precision NOT NULL,
    complaint_rate  double precision NOT NULL,
    engagement_rate double precision NOT NULL,
    evaluated_at    timestamptz NOT NULL,
    correlation_id  text NOT NULL,
    process_id      text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_health_campaign_idx
    ON outreach.campaign_health (campaign_id, evaluated_at DESC);
CREATE INDEX campaign_health_domain_idx
    ON outreach.campaign_health (sending_domain, evaluated_at DESC);
