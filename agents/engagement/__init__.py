"""Engagement: email-provider webhook events read back into the hub's own normalized form.

``agents.engagement.normalize`` turns a raw SendGrid / Mailgun / Amazon SES (SNS) / Postmark
webhook body, or the hub's own form, into ``ProviderEventNormalized`` values. It is pure: no
I/O, no clock, no randomness, so a redelivered body always yields the same events.
"""
