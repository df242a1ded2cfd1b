from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fault_harness import Relay

from streams.embedded import EmbeddedBroker, free_port


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    # Its own broker: the reconciliation reads every record of the hub's topics.
    b = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield b.bootstrap
    b.stop()


@pytest.fixture
def relay(broker: str) -> Iterator[tuple[Relay, int]]:
    handler, port = Relay(broker), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()
    handler.close()
