"""The wire bytes of a model: codec.dumps writes a model with pydantic's JSON writer, which
must give exactly the bytes orjson wrote over `model_dump(mode="json")` before, or a consumer
(and a dedupe on raw values) would see a record change for nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import orjson
import pytest

from streams.contracts import codec
from streams.contracts.models.base import Frozen, OpenRecord


class Inner(Frozen):
    at: datetime
    ratio: float


class Nasty(Frozen):
    text: str
    number: float
    count: int
    flag: bool
    kind: Literal["a", "b"]
    missing: str | None
    items: tuple[str, ...]
    detail: dict[str, Any]
    inner: Inner
    many: list[Inner]


AWKWARD = ["", "plain", "naïve café ☕ 日本", "quote \" back \\ slash", "tab\tnew\nline\r",
           "\x00\x01\x1f\x7f", "\u2028\u2029", "</script>", "emoji 🧪", "a/b"]
NUMBERS = [0.0, -0.0, 1.0, 0.1, 1e-7, 123456789.123, 1e16, 1e21, 2.5e-308, -3.75, 1 / 3]
TIMES = [datetime(2026, 11, 25, 12, tzinfo=UTC),
         datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC),
         datetime(2026, 3, 29, 1, 30, 5, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))]


@pytest.mark.parametrize("text", AWKWARD)
@pytest.mark.parametrize("number", NUMBERS)
def test_model_bytes_are_what_orjson_wrote(text: str, number: float) -> None:
    inners = [Inner(at=t, ratio=number) for t in TIMES]
    model = Nasty(text=text, number=number, count=2**62, flag=True, kind="b", missing=None,
                  items=(text, "x"), detail={"k": text, "n": number, "nested": [1, None, text],
                                             text: {"deep": number}},
                  inner=inners[0], many=inners)
    assert codec.dumps(model) == orjson.dumps(model.model_dump(mode="json"))


def test_open_records_keep_their_extras_in_the_same_bytes() -> None:
    card = OpenRecord.model_validate({"lead_id": "l-1", "score": 0.5, "tags": ["a", "ü"],
                                      "nested": {"x": [1, 2.25, None]}})
    assert codec.dumps(card) == orjson.dumps(card.model_dump(mode="json"))


def test_values_that_are_not_models_still_take_models_inside() -> None:
    inner = Inner(at=TIMES[1], ratio=0.1)
    assert codec.loads(codec.dumps({"inner": inner, "pair": (1, 2)})) == {
        "inner": {"at": "2026-11-25T12:00:00.123456Z", "ratio": 0.1}, "pair": [1, 2]}
