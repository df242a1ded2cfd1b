"""The README's pictures of the review desk are committed, are PNGs of the browser test's
window, and stay small enough to keep in the repository."""

from __future__ import annotations

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
SHOWN = {"campaigns", "draft-review", "campaign-health"}  # what the review desk's issue names


def test_every_image_the_readme_shows_is_a_committed_small_png() -> None:
    links = IMAGE.findall((ROOT / "README.md").read_text())
    assert {Path(link).stem for link in links} >= SHOWN, links
    for link in links:
        assert not link.startswith(("/", "http")), f"{link}: not relative to the checkout"
        data = (ROOT / link).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", link
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (1280, 900), (link, width, height)
        assert len(data) < 400_000, (link, len(data))
