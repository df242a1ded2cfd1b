"""One package per pipeline stage: a pure core (`core.py`) and a thin Faust shell (`agent.py`)."""
