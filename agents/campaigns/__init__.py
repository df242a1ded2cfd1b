"""The campaign aggregate (SPEC §3 "Campaigns"): seed 000's state machine under seed 004's
governed launch. Pure: no Kafka, PostgreSQL, clock or random ids."""
