"""Intake of Social XPress lead-card batches (seed 003)."""
