"""topics.yaml and schemas/ are the contract (SPEC §2): every topic declared, every value has a
checked-in JSON schema that matches its model, and every event validates against it."""

from __future__ import annotations

import copy
import json
import os
import re
import typing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from agents.campaigns.health import HealthPolicy, ScopeHealth
from agents.campaigns.health import decide as health_decide
from agents.campaigns.health_input import observations
from agents.campaigns.health_packing import packed_observations
from agents.gate.core import CompanyGateState
from agents.gate.core import decide as gate_decide
from agents.gate.packing import packed_verdicts
from agents.gate.policy import GatePolicy
from agents.intake.core import decide as intake_decide
from agents.intake.core import read_batch
from agents.intake.packing import packed
from streams import cli, schemas
from streams.contracts.exceptions import ConfigurationError, TopicNotDeclared
from streams.contracts.ids import STABLE_IDS, StableIds
from streams.contracts.models import (
    MODELS,
    AuditFinding,
    BitScoreEvaluated,
    CampaignAudited,
    CampaignCommand,
    CampaignCommandRecord,
    CampaignCommandRejected,
    CampaignCommands,
    CampaignEvent,
    CampaignHealthEvaluated,
    CampaignHealthInput,
    CampaignHealthObservations,
    CampaignStateChanged,
    CheckDuePeople,
    CheckDueTouches,
    EngagementRecorded,
    EngagementSignalled,
    EnrollContact,
    EnrollContacts,
    GateVerdictRecord,
    HubEvent,
    LeadBatchEnvelope,
    LeadCard,
    LeadCardReceived,
    LeadCardRecord,
    LeadCardsReceived,
    LeadsGated,
    MessagePlacement,
    MessagePlacements,
    PendingSignalsCheckDue,
    PlacementRecord,
    ProviderEventNormalized,
    SendRecorded,
    SequenceEventAppended,
    TouchRequested,
    WaitingLeadsExpiryDue,
)
from streams.contracts.models.base import PROCESS_ID_PATTERN
from streams.contracts.models.campaign_audit import AuditEntry
from streams.contracts.models.sequence import SequenceCommand, command_key
from streams.contracts.records import SourceRef
from streams.contracts.topics import TOPICS_FILE, load_catalog, parse_catalog
from streams.sample import bit_score, lead_batch

NOW = datetime(2026, 1, 11, 18, 25, tzinfo=UTC)
CATALOG = load_catalog()
RAW_TOPICS = yaml.safe_load(TOPICS_FILE.read_text())


# ---- topics.yaml -------------------------------------------------------------------------------

def test_the_handoff_topic_is_named_by_the_contract() -> None:
    spec = CATALOG.by_name("social-xpress.lead-batch.ready")
    assert (spec.key, spec.value) == ("batch_id", "LeadBatchEnvelope")
    assert "social-xpress" in spec.producers and "intake" in spec.consumers


# SPEC §2 minimum set: (what it carries, key).
SPEC_TOPICS = [
    ("LeadBatchEnvelope", "batch_id"),
    ("BitScoreEvaluated", "company_sov_id"),
    ("ProviderEventNormalized", "any"),
    ("CampaignCommand", "campaign_id"),
    ("CampaignEvent", "campaign_id"),
    ("TouchRequested", "contact_key"),
    ("SendRecorded", "contact_key"),
    ("EngagementRecorded", "contact_key"),
    ("EngagementSignalled", "company_sov_id"),
    ("OutreachErrorRaised", "any"),
    ("BatchAudited", "batch_id"),
]


@pytest.mark.parametrize(("value", "key"), SPEC_TOPICS)
def test_every_spec_topic_is_declared_with_its_key(value: str, key: str) -> None:
    # One topic carries it per SPEC §2; the hub may also re-key it onto internal topics.
    # A union topic (the audit topic) carries it as one of its members, under that member's key.
    matches = [s for s in CATALOG
               if value in (s.value, *(m.__name__ for m in _members(MODELS[s.value])))]
    assert matches, value
    assert any(key in m.key_fields for m in matches)


def test_topic_names_are_unique_and_nonempty() -> None:
    names = [s.name for s in CATALOG]
    assert len(names) == len(set(names)) == len(RAW_TOPICS["topics"])
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9._-]*", n) for n in names)


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda s: s.alias)
def test_every_topic_value_has_a_schema_file_and_its_key_is_a_field(spec: Any) -> None:
    path = schemas.SOURCE_ROOT / spec.schema_file
    assert path.is_file(), path
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == spec.value
    # A union (the sequencer's commands): the key is a field of each member but the nudge of
    # many persons, keyed by its first one (test_a_command_is_keyed_by_its_person), and packed
    # lead cards, verdicts, enrollments and health observations, keyed by their first item's
    # key (streams/contracts/packing.py).
    packed = (LeadCardsReceived, LeadsGated, EnrollContacts, CampaignHealthObservations,
              MessagePlacements, CampaignCommands)
    members = [m for m in _members(MODELS[spec.value]) if m not in (CheckDuePeople, *packed)]
    assert spec.key == "any" or all(any(k in m.model_fields for k in spec.key_fields)
                                    for m in members)
    assert spec.partitions >= 1 and spec.producers and spec.consumers
    assert spec.config()["cleanup.policy"] in ("delete", "compact")


def _members(model: Any) -> tuple[Any, ...]:
    root = model.model_fields.get("root")
    if root is None:
        return (model,)
    args = typing.get_args(root.annotation)
    if args and typing.get_origin(root.annotation) is typing.Annotated:
        args = typing.get_args(args[0])  # a union tagged by a callable discriminator
    return tuple(typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a
                 for a in args)


COMMANDS = [
    EnrollContact(enrollment_id="e-1", contact_key="ck-1", lead_id="lead-1",
                  strategy="PERSONALIZED_EMAIL", to_email="jane@example.invalid",
                  correlation_id="corr-1", requested_at=NOW),
    CheckDueTouches(contact_key="ck-1", issued_at=NOW),
    CheckDuePeople(partition=0, contact_keys=("ck-1", "ck-2"), issued_at=NOW),
]
# Packed enrollments came after the tag: every one was written with it.
PACKED_ENROLLMENTS = EnrollContacts(enrollments=(COMMANDS[0], COMMANDS[0].model_copy(
    update={"enrollment_id": "e-2", "contact_key": "ck-2"})))


@pytest.mark.parametrize("command", [*COMMANDS, PACKED_ENROLLMENTS], ids=lambda c: c.type)
def test_a_command_is_read_back_by_its_type_tag(command: Any) -> None:
    doc = json.loads(orjson.dumps(command.model_dump(mode="json")))
    assert doc["type"] == command.type
    assert SequenceCommand.model_validate(doc).root == command
    _validator("SequenceCommand").validate(doc)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.type)
def test_a_command_written_before_the_tag_still_decodes(command: Any) -> None:
    # Upgrade path: records already on the topic when the tag was introduced carry no type.
    doc = json.loads(orjson.dumps(command.model_dump(mode="json")))
    del doc["type"]
    assert SequenceCommand.model_validate(doc).root == command


def test_a_command_with_an_unknown_type_is_refused() -> None:
    doc = json.loads(orjson.dumps(COMMANDS[1].model_dump(mode="json"))) | {"type": "enroll"}
    with pytest.raises(ValidationError):
        SequenceCommand.model_validate(doc)
    assert not _validator("SequenceCommand").is_valid(doc)


def test_a_command_is_keyed_by_its_person() -> None:
    # topics.yaml declares contact_key: a nudge of many persons of one partition is keyed by its
    # first person (the sequencer sends it to that person's partition); so are enrollments
    # packed by their persons' partition.
    assert [command_key(c) for c in [*COMMANDS, PACKED_ENROLLMENTS]] == ["ck-1"] * 4
    assert CATALOG["sequence_commands"].key == "contact_key"


def test_joined_topics_are_copartitioned() -> None:
    # BIT scores are re-keyed by the hub (outside producers may hash keys differently), and the
    # re-keyed topic is what the gate joins with lead cards.
    assert "lead_cards" in CATALOG["gate_scores"].copartitioned_with
    assert CATALOG["gate_scores"].partitions == CATALOG["lead_cards"].partitions
    assert CATALOG["bit_scores"].cleanup_policy == "compact"
    commands = CATALOG["sequence_commands"]
    assert {"send_events", "engagement_events"} <= set(commands.copartitioned_with)


def test_unknown_aliases_and_names_are_refused() -> None:
    with pytest.raises(TopicNotDeclared, match="nope"):
        CATALOG["nope"]
    with pytest.raises(TopicNotDeclared, match=r"no\.such\.topic"):
        CATALOG.by_name("no.such.topic")


def test_partitions_override_applies_to_every_topic() -> None:
    catalog = parse_catalog(copy.deepcopy(RAW_TOPICS), partitions_override=1)
    assert {s.partitions for s in catalog} == {1}
    assert len(catalog) == len(CATALOG)


def _doc(**topics: dict[str, Any]) -> dict[str, Any]:
    base = {"name": "t", "key": "batch_id", "value": "BatchAudited", "partitions": 4,
            "replication_factor": 1, "cleanup_policy": "delete", "retention_ms": 1,
            "producers": ["a"], "consumers": ["b"]}
    return {"topics": {alias: base | {"name": alias.replace("_", ".")} | t
                       for alias, t in topics.items()}}


@pytest.mark.parametrize(("document", "message"), [
    (_doc(a={"partitions": 4}, b={"partitions": 8, "copartitioned_with": ["a"]}),
     r"b and a are joined on one key and must have the same partition count"),
    (_doc(a={"value": "NoSuchModel"}), r"topic 'a': unknown model 'NoSuchModel'"),
    (_doc(a={"copartitioned_with": ["ghost"]}), r"copartitioned with unknown ghost"),
    (_doc(a={"name": "same"}, b={"name": "same"}), r"declared twice"),
    (_doc(a={"partitions": 0}), r"topic 'a'"),
    (_doc(a={"cleanup_policy": "forever"}), r"topic 'a'"),
    (_doc(a={"surprise": 1}), r"topic 'a'"),
    ({"topics": {"a": {"name": "x"}}}, r"topic 'a'"),
    ({"defaults": {}}, r"'topics' mapping"),
    ([], r"'topics' mapping"),
    (None, r"'topics' mapping"),
])
def test_parse_catalog_refuses_a_bad_catalog_clearly(document: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_catalog(document)


def test_a_valid_minimal_catalog_parses() -> None:
    catalog = parse_catalog(_doc(a={}, b={"copartitioned_with": ["a"]}))
    assert [s.name for s in catalog] == ["a", "b"]


def test_an_unreadable_topics_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_catalog(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [unclosed\n")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_catalog(bad)


# ---- schema drift ------------------------------------------------------------------------------

def test_checked_in_schemas_match_the_models() -> None:
    assert schemas.drift() == []
    checked_in = {p.name for p in schemas.SCHEMA_DIR.glob("*.json")}
    assert {f"{name}.json" for name in MODELS} == checked_in


def test_drift_detects_a_stale_a_missing_and_an_extra_file(tmp_path: Path) -> None:
    assert schemas.generate(tmp_path) == sorted(f"{n}.json" for n in MODELS)
    assert schemas.drift(tmp_path) == []
    assert schemas.generate(tmp_path) == []  # idempotent
    stale = json.loads((tmp_path / "LeadGated.json").read_text())
    stale["properties"].pop("verdict")
    (tmp_path / "LeadGated.json").write_text(json.dumps(stale))
    (tmp_path / "TouchRequested.json").unlink()
    (tmp_path / "Retired.json").write_text("{}")
    assert schemas.drift(tmp_path) == ["LeadGated.json", "Retired.json", "TouchRequested.json"]


def test_schemas_generate_check_exits_0(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for name in [n for n in os.environ if n.startswith("OUTREACH_")]:
        monkeypatch.delenv(name)
    assert cli.main(["schemas", "generate", "--check"]) == 0
    assert "out of date" not in capsys.readouterr().err


# ---- every event validates against its schema --------------------------------------------------

def _pid(kind: str = "campaign") -> str:
    return STABLE_IDS.process_id(kind, NOW, "x")  # type: ignore[arg-type]


def _hub(kind: str = "campaign") -> dict[str, Any]:
    return {"event_id": "e-1", "occurred_at": NOW, "correlation_id": "bit-1",
            "process_id": _pid(kind)}


def _core_events() -> list[BaseModel]:
    """Events produced by the real intake and gate cores from the sample data."""
    source = SourceRef("social-xpress.lead-batch.ready", 0, 7)
    batch = lead_batch("sxp_contract", cards=40, companies=4)
    batch["records"].append({"lead_id": "broken", "source_platform": "myspace"})
    parsed = read_batch(orjson.dumps(batch), source, NOW, STABLE_IDS)
    decision = intake_decide(None, parsed, source, NOW, STABLE_IDS)  # type: ignore[arg-type]
    rejected = read_batch(b"not json", source, NOW, STABLE_IDS)
    events = [e.event for e in (*decision.emits, *rejected.emits)]  # type: ignore[union-attr]
    state = CompanyGateState(company_sov_id="cmp_0000")
    slots: dict[int, Any] = {}
    for event in list(events):
        if isinstance(event, LeadCardReceived) and event.company_sov_id == "cmp_0000":
            d = gate_decide(state, event, NOW, GatePolicy(), STABLE_IDS, slots.get)
            state = d.state.company
            slots.update(d.state.slots)
            events += [e.event for e in d.emits]
    score = BitScoreEvaluated.model_validate(bit_score("cmp_0000", 30, NOW))
    d = gate_decide(state, score, NOW, GatePolicy(), STABLE_IDS, slots.get)
    # What intake sends: the cards packed, and the topic's value around one of them.
    cards = packed(decision.emits, lambda _key: 0, 100, 1_000_000, STABLE_IDS)
    record = LeadCardRecord(cards[0].event)  # type: ignore[arg-type]
    verdicts, _ = packed_verdicts(d.emits, lambda _key: 0, 100, 1_000_000, STABLE_IDS)
    return events + [e.event for e in d.emits] + [
        cards[0].event, record, verdicts[0].event,
        GateVerdictRecord(verdicts[0].event)]  # type: ignore[arg-type]


def _health_samples() -> list[BaseModel]:
    """An observation (alone, packed, and as the topic reads either) and a verdict from the real
    health cores (a minimum sample of one)."""
    send = SendRecorded(**_hub("send"), aggregate_id="seq-1:jane", contact_key="jane",
                        campaign_id="cmp-1", touch_index=1, idempotency_key="k-1", status="sent")
    emits = observations(send, "hub.example")
    observed = emits[0].event
    d = health_decide(ScopeHealth(), observed, NOW,  # type: ignore[arg-type]
                      HealthPolicy(min_sends=1), STABLE_IDS)
    [packed], _ = packed_observations(emits, lambda _key: 0, 100, 1_000_000)
    return [observed, packed.event, CampaignHealthInput(packed.event),  # type: ignore[arg-type]
            d.emits[0].event]


def _hand_built() -> list[BaseModel]:
    batch = lead_batch("sxp_contract", cards=3, companies=2)
    return [
        LeadBatchEnvelope.model_validate(batch),
        LeadCard.model_validate(batch["records"][0]),
        BitScoreEvaluated.model_validate(bit_score("cmp_0001", 80, NOW)),
        WaitingLeadsExpiryDue(company_sov_id="cmp_0001", issued_at=NOW),
        CampaignCommand(command_id="c-1", command="approve", campaign_id="cmp-camp-1",
                        actor="ops@hub", issued_at=NOW, tier="HOT"),
        CampaignCommands(commands=(CampaignCommand(
            command_id="gate:v-1", command="request", campaign_id="cmp-camp-1",
            actor="system:gate", issued_at=NOW, tier="HOT", audience=1),)),
        CampaignCommandRecord(CampaignCommand(command_id="c-9", command="pause",
                                              campaign_id="cmp-camp-1", actor="operator:ann",
                                              issued_at=NOW)),
        CampaignStateChanged(**_hub(), campaign_id="camp-1", version=2, from_state="draft",
                             to_state="scheduled", actor="ops", expires_at=NOW + timedelta(days=7)),
        CampaignEvent(CampaignCommandRejected(
            **_hub(), campaign_id="camp-1", command_id="c-2", command="resume",
            actor="operator:ann", state="paused", version=4, code="health_pause",
            reason="a health pause is lifted only by a new approval")),
        CampaignCommandRejected(**_hub(), campaign_id="camp-1", command_id="c-3",
                                command="approve", actor="operator:ann", state=None, version=0,
                                code="unknown_campaign", reason="no such campaign"),
        CampaignHealthEvaluated(**_hub(), verdict_id="hv-1", campaign_id="camp-1",
                                sending_domain="hub.example", window_start=NOW,
                                window_end=NOW + timedelta(hours=1), sends=1000,
                                hard_bounces=60, complaints=0, opens=300, replies=10,
                                bounce_rate=0.06, complaint_rate=0.0, engagement_rate=0.31,
                                verdict="PAUSE", reasons=("hard_bounce_rate",),
                                evaluated_at=NOW),
        CampaignAudited(**_hub(), verdict_id="av-1", campaign_id="camp-1", verdict="FAIL",
                        findings=(AuditFinding(rule="send_outside_window", count=1,
                                               sample_ids=("k-1",)),), audited_at=NOW),
        TouchRequested(**_hub("sequence"), aggregate_id="seq-1:jane", sequence_id="seq-1",
                       contact_key="jane", touch_index=1, channel="email", subject="Hi",
                       to_email="jane@example.invalid", due_at=NOW, idempotency_key="k-1"),
        SendRecorded(**_hub("send"), aggregate_id="seq-1:jane", contact_key="jane",
                     touch_index=1, idempotency_key="k-1", status="sent", provider="ses",
                     provider_message_id="m-1"),
        ProviderEventNormalized(provider="sendgrid", provider_event_id="p-1", type="bounced",
                                bounce_kind="hard", occurred_at=NOW),
        EngagementRecorded(**_hub("engage"), aggregate_id="seq-1:jane", contact_key="jane",
                           provider="sendgrid", provider_event_id="p-1", type="replied"),
        EngagementSignalled(**_hub("engage"), company_sov_id="cmp_0001", signal="meeting_booked"),
        EnrollContact(enrollment_id="e-1", contact_key="ck-1", lead_id="lead-1",
                      strategy="PERSONALIZED_EMAIL", to_email="jane@example.invalid",
                      correlation_id="corr-1", requested_at=NOW),
        CheckDueTouches(contact_key="ck-1", issued_at=NOW),
        CheckDuePeople(partition=0, contact_keys=("ck-1", "ck-2"), issued_at=NOW),
        PACKED_ENROLLMENTS,
        SequenceCommand(CheckDueTouches(contact_key="ck-1", issued_at=NOW)),
        PendingSignalsCheckDue(contact_key="ck-1", issued_at=NOW),
        MessagePlacement(provider_message_id="m-1", aggregate_id="seq-1:ck-1", issued_at=NOW),
        MessagePlacements(placements=(MessagePlacement(
            provider_message_id="m-1", aggregate_id="seq-1:ck-1", issued_at=NOW),)),
        PlacementRecord(MessagePlacement(provider_message_id="m-2", issued_at=NOW)),
        SequenceEventAppended(**_hub("sequence"), aggregate_id="seq-1:ck-1", version=1,
                              idempotency_key="seq-1:ck-1:step1", type="touch_requested",
                              touch_index=1, sequence_id="seq-1", contact_key="ck-1",
                              status="active", current_touch_index=1),
        _campaign_audited(),
        AuditEntry(_campaign_audited()),
    ]


def _campaign_audited() -> CampaignAudited:
    return CampaignAudited(**_hub(), verdict_id="v-1", campaign_id="cmp-1", verdict="FAIL",
                           findings=(AuditFinding(rule="outside_window", count=1,
                                                  sample_ids=("seq-1:ck-1:step1",)),),
                           audited_at=NOW)


def test_the_audit_topic_reads_back_both_of_its_records() -> None:
    batch = next(e for e in _core_events() if type(e).__name__ == "BatchAudited")
    for event in (batch, _campaign_audited()):
        doc = json.loads(orjson.dumps(event.model_dump(mode="json")))
        assert AuditEntry.model_validate(doc).root == event
        _validator("AuditEntry").validate(doc)


SAMPLES = _core_events() + _hand_built() + _health_samples()


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((schemas.SCHEMA_DIR / f"{name}.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_the_samples_cover_every_model() -> None:
    assert {type(s).__name__ for s in SAMPLES} == set(MODELS)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_validates_against_its_checked_in_schema(event: BaseModel) -> None:
    instance = json.loads(orjson.dumps(event.model_dump(mode="json")))
    _validator(type(event).__name__).validate(instance)
    # And the model reads its own JSON back unchanged (what a consumer does).
    assert type(event).model_validate(instance) == event


@pytest.mark.parametrize(("name", "field", "bad"), [
    ("LeadGated", "verdict", "MAYBE"),
    ("LeadGated", "tier", "LUKEWARM"),
    ("OutreachErrorRaised", "code", "OUT-999"),
    ("OutreachErrorRaised", "process_id", "outreach-execution-gate-20260111-0123abcd"),
    ("BatchAudited", "status", "partial"),
    ("LeadCardReceived", "disposition", "DROPPED"),
])
def test_the_schemas_reject_what_the_models_reject(name: str, field: str, bad: Any) -> None:
    sample = next(s for s in SAMPLES if type(s).__name__ == name)
    instance = json.loads(orjson.dumps(sample.model_dump(mode="json"))) | {field: bad}
    assert not _validator(name).is_valid(instance)
    with pytest.raises(ValidationError):
        MODELS[name].model_validate(instance)


@pytest.mark.parametrize("name", ["LeadGated", "BatchAudited", "OutreachErrorRaised",
                                  "LeadCardReceived"])
@pytest.mark.parametrize("field", ["event_id", "occurred_at", "correlation_id", "process_id"])
def test_emitted_events_require_the_hub_fields(name: str, field: str) -> None:
    sample = next(s for s in SAMPLES if type(s).__name__ == name)
    instance = json.loads(orjson.dumps(sample.model_dump(mode="json")))
    del instance[field]
    assert not _validator(name).is_valid(instance)


# ---- HubEvent and process ids ------------------------------------------------------------------

@pytest.mark.parametrize("process_id", [
    "outreach-execution-campaign-20260111-0a1b2c3d",
    "outreach-execution-sequence-20260111-00000000",
    "outreach-execution-send-19991231-ffffffff",
    "outreach-execution-engage-20260229-12345678",
])
def test_hub_event_accepts_the_spec_process_id(process_id: str) -> None:
    assert HubEvent(event_id="e", occurred_at=NOW, correlation_id="c",
                    process_id=process_id).process_id == process_id


@pytest.mark.parametrize("process_id", [
    "outreach-execution-gate-20260111-0a1b2c3d",  # not a process type
    "outreach-execution-campaign-20260111-0A1B2C3D",  # upper-case hex
    "outreach-execution-campaign-20260111-0a1b2c3",  # 7 hex
    "outreach-execution-campaign-20260111-0a1b2c3d9",  # 9 hex
    "outreach-execution-campaign-2026011-0a1b2c3d",  # 7-digit date
    "outreach-execution-campaign-2026-01-11-0a1b2c3d",
    "execution-campaign-20260111-0a1b2c3d",
    " outreach-execution-campaign-20260111-0a1b2c3d",
    "outreach-execution-campaign-20260111-0a1b2c3d\n",
    "",
])
def test_hub_event_rejects_a_bad_process_id(process_id: str) -> None:
    with pytest.raises(ValidationError, match="process_id"):
        HubEvent(event_id="e", occurred_at=NOW, correlation_id="c", process_id=process_id)


@pytest.mark.parametrize("occurred_at", [datetime(2026, 1, 11, 18, 25), "2026-01-11T18:25:00"])
def test_hub_event_rejects_a_naive_datetime(occurred_at: Any) -> None:
    with pytest.raises(ValidationError, match="time zone"):
        HubEvent(event_id="e", occurred_at=occurred_at, correlation_id="c", process_id=_pid())


@pytest.mark.parametrize("field", ["event_id", "correlation_id"])
def test_hub_event_rejects_empty_ids(field: str) -> None:
    values = {"event_id": "e", "occurred_at": NOW, "correlation_id": "c", "process_id": _pid()}
    with pytest.raises(ValidationError, match=field):
        HubEvent(**(values | {field: ""}))


def test_hub_events_are_frozen_and_closed() -> None:
    event = HubEvent(event_id="e", occurred_at=NOW, correlation_id="c", process_id=_pid())
    with pytest.raises(ValidationError):
        event.event_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        HubEvent(event_id="e", occurred_at=NOW, correlation_id="c", process_id=_pid(), x=1)


@pytest.mark.parametrize("kind", ["campaign", "sequence", "send", "engage"])
def test_stable_ids_process_id_matches_the_pattern(kind: str) -> None:
    ids = StableIds()
    pid = ids.process_id(kind, NOW, "lead-1", "batch-1")  # type: ignore[arg-type]
    assert re.fullmatch(PROCESS_ID_PATTERN, pid)
    assert pid.startswith(f"outreach-execution-{kind}-20260111-")
    assert pid == STABLE_IDS.process_id(kind, NOW, "lead-1", "batch-1")  # type: ignore[arg-type]
    assert pid != ids.process_id(kind, NOW, "lead-2", "batch-1")  # type: ignore[arg-type]


def test_stable_event_ids_are_deterministic_and_distinct() -> None:
    ids = StableIds()
    assert ids.event_id("lead-card", "b1", "l1") == STABLE_IDS.event_id("lead-card", "b1", "l1")
    assert ids.event_id("lead-card", "b1", "l1") != ids.event_id("lead-card", "b1", "l2")
    assert ids.event_id("a", "b") != ids.event_id("ab")
    assert re.fullmatch(r"[0-9a-f-]{36}", ids.event_id("x"))


def test_process_id_date_is_the_given_day() -> None:
    late = datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=0)))
    assert "-20261231-" in STABLE_IDS.process_id("send", late, "x")
