"""Which campaign a system request belongs to: one per company and tier strategy."""

from __future__ import annotations

from streams.contracts.ids import uuid5


def campaign_id_for(company_sov_id: str, strategy: str) -> str:
    """Deterministic, so every gate verdict of one company and strategy names one campaign,
    on any worker, after any replay."""
    return "cmp-" + uuid5(f"campaign|{company_sov_id}|{strategy}").replace("-", "")[:16]
