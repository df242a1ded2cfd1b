"""Every Kafka client the hub constructs gets the security settings: a client that forgot
would speak PLAINTEXT to a SASL_SSL cluster, and only production would tell."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "AIOKafkaClient"}


def _sources() -> list[Path]:
    return sorted(p for d in ("streams", "agents") for p in (ROOT / d).rglob("*.py"))


def _called(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _passes(node: ast.Call, function: str, keyword: str | None) -> bool:
    """`**client_kwargs(...)` (keyword None) or `broker_credentials=faust_credentials(...)`."""
    return any(k.arg == keyword and isinstance(k.value, ast.Call)
               and _called(k.value) == function for k in node.keywords)


def _constructions() -> tuple[list[str], list[str]]:
    passing, forgetting = [], []
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name, where = _called(node), f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in CLIENTS:
                ok = _passes(node, "client_kwargs", None)
            elif name == "App" and isinstance(node.func, ast.Attribute):  # faust.App(...)
                ok = _passes(node, "faust_credentials", "broker_credentials")
            else:
                continue
            (passing if ok else forgetting).append(f"{name} at {where}")
    return passing, forgetting


def test_every_kafka_client_and_the_faust_app_get_the_security_settings() -> None:
    passing, forgetting = _constructions()
    assert forgetting == []
    # Not vacuous: admin, produce, group guard (2), campaign view, dlq, state, demo, the app.
    assert len(passing) >= 9, passing


def test_no_other_kafka_client_library_is_used() -> None:
    """confluent-kafka or kafka-python clients would need their own translation."""
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]
                assert not any(n.split(".")[0] in ("confluent_kafka", "kafka") for n in names), (
                    f"{path.relative_to(ROOT)} imports {names}")
