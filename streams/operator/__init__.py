"""Operator tools: dead letters (`outreach-hub dlq`) and a person's state (`state show`).

Pure formatting lives in `*_view.py`; the PostgreSQL and Kafka reads in `dlq.py`, `state.py`.
"""
