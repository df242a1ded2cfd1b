"""Wiring of the Outreach Execution Hub: settings, topics, models, codecs, sink, runtime, CLI."""
