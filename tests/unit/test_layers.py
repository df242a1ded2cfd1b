"""Every module of the hub sits in a layer of the import contract (pyproject.toml).

import-linter checks only the modules a layer names: a new top-level module of `streams`
left out of the contract could import in any direction unnoticed.
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layered() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}


def test_every_module_of_streams_and_agents_is_in_a_layer() -> None:
    layered = _layered()
    modules = {"agents"} | {
        f"streams.{p.stem}" for p in (ROOT / "streams").iterdir()
        if p.stem != "__init__" and (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    assert modules - layered == set()
