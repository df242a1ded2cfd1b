"""Stable ids: the same input gives the same id, and ids are standard uuid5 strings."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from streams.contracts.ids import _NAMESPACE, STABLE_IDS, uuid5


@given(st.text())
def test_uuid5_is_the_standard_library_uuid5(name: str) -> None:
    assert uuid5(name) == str(uuid.uuid5(_NAMESPACE, name))


def test_an_event_id_depends_on_its_parts_only() -> None:
    first = STABLE_IDS.event_id("touch-requested", "seq-1:abc:step2")
    assert first == STABLE_IDS.event_id("touch-requested", "seq-1:abc:step2")
    assert first != STABLE_IDS.event_id("touch-requested", "seq-1:abc:step3")
    assert uuid.UUID(first).version == 5
