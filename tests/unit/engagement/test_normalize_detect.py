"""Provider detection by shape, body parsing, the named-provider path, and two properties over
every fixture: normalizing is deterministic (same body, same events, same ids), and no error
message ever contains an email address from the body."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.engagement.exceptions import MalformedWebhook, NotAnEvent, UnrecognisedWebhook
from agents.engagement.normalize import PROVIDERS, detect_provider, normalize, parse_body
from agents.engagement.normalize.cli import run
from streams.contracts.exceptions import InvalidInput

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_EMAIL = "jane.doe@example.com"
VALID = sorted(
    p.name for p in FIXTURES.glob("*.json")
    if not re.search(r"missing|unknown|empty|not_json|confirmation", p.name)
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize("name", VALID)
def test_every_valid_fixture_is_detected_as_its_provider(name: str) -> None:
    provider = name.split("_")[0]
    assert detect_provider(load(name)) == provider
    assert detect_provider((FIXTURES / name).read_bytes()) == provider
    assert normalize((FIXTURES / name).read_text()) == normalize(load(name), provider)


def test_the_fixture_set_covers_every_provider() -> None:
    assert {name.split("_")[0] for name in VALID} == set(PROVIDERS)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"hello": "world"}, "JSON object of no known provider"),
        ([{"event": "delivered"}], "neither sg_event_id"),
        ([1, 2], "neither sg_event_id"),
        ({"sg_event_id": "x", "event": "open"}, "SendGrid posts a JSON array"),
        ("42", "body is a JSON int"),
        ("null", "body is a JSON null"),
        ('"text"', "body is a JSON str"),
    ],
)
def test_unrecognised_shapes_say_why(doc: Any, reason: str) -> None:
    with pytest.raises(UnrecognisedWebhook, match=re.escape(reason)):
        normalize(doc)


def test_unrecognised_object_lists_plain_keys_only() -> None:
    doc = {"Records": [], FIXTURE_EMAIL: 1, "x y": 2}
    with pytest.raises(UnrecognisedWebhook) as info:
        detect_provider(doc)
    assert str(info.value).endswith("its keys include Records")


def test_not_json_is_malformed_with_the_position_only() -> None:
    with pytest.raises(MalformedWebhook) as info:
        normalize((FIXTURES / "not_json.txt").read_bytes())
    assert str(info.value) == "body is not JSON (line 1, column 1)"
    assert info.value.__cause__ is None


@pytest.mark.parametrize("body", [b"", "   \n", b"\t"])
def test_an_empty_body_is_malformed(body: bytes | str) -> None:
    with pytest.raises(MalformedWebhook, match=r"^body is empty$"):
        normalize(body)


def test_empty_array_is_malformed_whatever_the_provider() -> None:
    with pytest.raises(MalformedWebhook, match="empty array"):
        detect_provider(b"[]")
    for provider in ("sendgrid", "hub"):
        with pytest.raises(MalformedWebhook, match="empty array"):
            normalize(b"[]", provider)


def test_a_named_provider_is_used_as_is_and_case_insensitively() -> None:
    assert normalize(load("ses_delivery.json"), " SES ") == normalize(load("ses_delivery.json"))
    with pytest.raises(MalformedWebhook, match=r"^postmark: RecordType is missing$"):
        normalize(load("ses_delivery.json"), "postmark")


def test_an_unknown_provider_name_is_unrecognised() -> None:
    with pytest.raises(UnrecognisedWebhook) as info:
        normalize(load("ses_delivery.json"), "jane.doe@example.com")
    assert str(info.value) == (
        "unknown provider name; expected one of sendgrid, mailgun, ses, postmark, hub")


def test_every_error_is_invalid_input_for_the_cli() -> None:
    for exc in (UnrecognisedWebhook, NotAnEvent, MalformedWebhook):
        assert issubclass(exc, InvalidInput)
    with pytest.raises(InvalidInput):
        run(b"{}", None)


def test_parse_body_rejects_other_python_types() -> None:
    with pytest.raises(TypeError):
        parse_body(42)  # type: ignore[arg-type]


# ---- properties --------------------------------------------------------------------------

# Addresses a sender could meet: plain, plus-tagged, subdomains, .invalid TLDs.
local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,14}[a-z0-9]", fullmatch=True)
domain = st.sampled_from(["example.com", "mail.example.com", "acme-roofing.invalid", "x.invalid"])
emails = st.builds(lambda a, b: f"{a}@{b}", local, domain)


def with_email(name: str, email: str) -> str:
    """The fixture's text with its recipient replaced (also inside SES's Message string)."""
    return (FIXTURES / name).read_text().replace(FIXTURE_EMAIL, email)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=st.sampled_from(VALID), email=emails)
def test_normalizing_twice_yields_identical_events(name: str, email: str) -> None:
    text = with_email(name, email)
    first = normalize(text)
    assert first == normalize(text.encode()) == normalize(json.loads(text))
    assert [e.provider_event_id for e in first] == [e.provider_event_id for e in normalize(text)]


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items: Any = ()
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


def expand(doc: Any) -> Any:
    """SES's Message string as an object, so mutations reach inside it too."""
    if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
        try:
            return {**doc, "Message": json.loads(doc["Message"])}
        except ValueError:
            return doc
    return doc


def collapse(doc: Any) -> Any:
    if isinstance(doc, dict) and isinstance(doc.get("Message"), dict | list):
        return {**doc, "Message": json.dumps(doc["Message"])}
    return doc


def mutate(doc: Any, path: tuple[Any, ...], how: str, email: str) -> Any:
    doc = copy.deepcopy(doc)
    *parents, last = path
    target = doc
    for key in parents:
        target = target[key]
    replacements: dict[str, Any] = {
        "email": email, "list": [email], "object": {"x": email}, "number": 12,
        "null": None, "true": True, "blank": "", "angle": f"<{email}>",
    }
    if how == "delete":
        del target[last]
    elif how == "rename" and isinstance(target, dict):
        target[email] = target.pop(last)
    elif how in replacements:
        target[last] = replacements[how]
    return doc


def addresses(value: Any) -> set[str]:
    text = json.dumps(value)
    return set(re.findall(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+", text.replace("\\\"", '"')))


ALL = sorted(p.name for p in FIXTURES.glob("*.json"))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    name=st.sampled_from(ALL),
    email=emails,
    pick=st.integers(min_value=0),
    how=st.sampled_from(
        ["delete", "rename", "email", "list", "object", "number", "null", "true", "blank", "angle"]
    ),
)
def test_error_messages_never_contain_an_address_from_the_body(
    name: str, email: str, pick: int, how: str
) -> None:
    doc = expand(json.loads(with_email(name, email)))
    every = paths(doc)
    if every:
        doc = mutate(doc, every[pick % len(every)], how, email)
    body = collapse(doc)
    try:
        normalize(json.dumps(body))
    except InvalidInput as exc:
        message = str(exc)
        assert email not in message
        for address in addresses(body):
            assert address not in message
        assert "@" not in message
