"""The `render` fixture: the chart's manifests for given values (see chart_render.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from chart_render import Manifest, manifests


@pytest.fixture
def render() -> Callable[..., list[Manifest]]:
    return manifests
