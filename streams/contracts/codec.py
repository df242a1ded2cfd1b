"""The wire format of every topic: orjson, for pydantic models and plain JSON values."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, tuple | frozenset | set):
        return list(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    if isinstance(obj, BaseModel):
        # pydantic's own JSON writer: the same bytes as orjson over model_dump(mode="json")
        # (tests/unit/test_codec_bytes.py holds it to that), at a quarter of the cost, and
        # every emit is a model.
        return obj.__pydantic_serializer__.to_json(obj)
    return orjson.dumps(obj, default=_default)


def loads(data: bytes) -> Any:
    return orjson.loads(data)
