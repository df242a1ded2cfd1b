"""Files the code reads at run time ship inside the packages, so a normal (non-editable) install
runs; `.ci/wheel_smoke.py` proves it on a built wheel, these checks catch a slip early."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import streams
from streams.contracts.topics import TOPICS_FILE

ROOT = Path(__file__).resolve().parents[2]
SOURCE_SUFFIXES = {".py", ".pyc", ".typed"}


def test_the_packaged_topics_file_is_the_top_level_one() -> None:
    assert TOPICS_FILE.parent == Path(streams.__file__).parent / "contracts"
    # One file to edit: the package's copy is a symlink to it, the wheel build copies its content.
    assert TOPICS_FILE.is_symlink()
    assert TOPICS_FILE.resolve() == (ROOT / "topics.yaml").resolve()


def test_every_data_file_of_the_packages_is_declared_package_data() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    missing = []
    for package in ("streams", "agents"):
        base = ROOT / package
        for path in base.rglob("*"):
            if path.is_dir() or path.suffix in SOURCE_SUFFIXES or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(base).as_posix()
            if not any(fnmatch.fnmatch(relative, g) for g in declared.get(package, [])):
                missing.append(f"{package}/{relative}")
    assert missing == [], "add these to [tool.setuptools.package-data] in pyproject.toml"
