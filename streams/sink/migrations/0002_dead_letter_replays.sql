-- Replaying dead letters (`outreach-hub dlq replay`). The two new columns come from the
-- optional fields of OutreachErrorRaised: rows written before them stay not replayable.
ALTER TABLE outreach.outreach_errors
    ADD COLUMN source_key text,
    ADD COLUMN replayable boolean NOT NULL DEFAULT false;
CREATE INDEX outreach_errors_occurred_at_idx ON outreach.outreach_errors (occurred_at);

-- One row per replayed dead letter: the primary key is what makes a replay happen once. The
-- row is inserted in the transaction that produces the record, and committed only after the
-- broker acknowledged it, so a failed produce leaves the dead letter replayable.
CREATE TABLE outreach.dead_letter_replays (
    dead_letter_id text PRIMARY KEY REFERENCES outreach.outreach_errors (event_id),
    topic          text NOT NULL,
    partition      integer,
    "offset"       bigint,
    replayed_by    text NOT NULL,
    replayed_at    timestamptz NOT NULL DEFAULT now()
);
