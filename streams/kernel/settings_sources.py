"""Where the settings come from: the OUTREACH_* environment over an optional `.env` file, read
by pydantic-settings, and the refusal of an OUTREACH_* name that is no setting.

The names are those the hub always read: `OUTREACH_<FIELD>`, and `OUTREACH_<GROUP>_<FIELD>` for
a group (gate, window, caps, kafka); lists are comma-separated. pydantic-settings splits a
nested name on "_" once (`env_nested_max_split=1`), and a name under a group's prefix that is no
field of the group (OUTREACH_GATE_EXPIRY_CHECK_SECONDS, OUTREACH_KAFKA_BOOTSTRAP) belongs to the
plain setting of that name, not to the group.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, get_origin

from dotenv import dotenv_values
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource

from streams.contracts.exceptions import ConfigurationError

PREFIX = "OUTREACH_"
ENV_FILE = f"{PREFIX}ENV_FILE"
ALLOW_UNKNOWN = f"{PREFIX}ALLOW_UNKNOWN_SETTINGS"
DEFAULT_ENV_FILE = ".env"
# How the variables are read, not settings themselves: (type, default, description) for the
# reference table.
LOADER: dict[str, tuple[str, str, str]] = {
    ENV_FILE: (
        "path", f"`{DEFAULT_ENV_FILE}`",
        "a file of `OUTREACH_*=value` lines read before the environment, which wins over it; "
        f"relative to the working directory; empty: no file. The default `{DEFAULT_ENV_FILE}` "
        "is skipped when absent, a file named here must exist. Read from the environment only; "
        "values are taken literally (no `${VAR}` expansion, so a `$` in a secret stays)"),
    ALLOW_UNKNOWN: (
        "bool", "false",
        "an `OUTREACH_*` variable that is no setting stops every command with one line naming it "
        "and the closest setting (a misspelt sending setting would otherwise fall back to its "
        "default unnoticed); true: start anyway, and the worker logs a warning per name"),
}
# OUTREACH_* names that other programs read: never reported as unknown.
NOT_SETTINGS = frozenset({
    "OUTREACH_TEST_KAFKA_BOOTSTRAP",  # the test suite's external broker (tests/conftest.py)
    "OUTREACH_TEST_DATABASE_URL",  # and its external PostgreSQL
})

# The variables the settings being built read; None: only the defaults and the arguments.
_READING: ContextVar[Mapping[str, str] | None] = ContextVar("outreach_settings", default=None)


def group_of(field: FieldInfo) -> type[BaseModel] | None:
    """The model of a settings group (read as OUTREACH_<GROUP>_<FIELD>), None for a plain one."""
    annotation = field.annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
        else None


def is_list(field: FieldInfo) -> bool:
    return get_origin(field.annotation) is tuple


def setting_names(model: type[BaseModel]) -> dict[str, tuple[FieldInfo, tuple[str, ...]]]:
    """Every variable of the settings, with its field and the attribute path it sets."""
    names: dict[str, tuple[FieldInfo, tuple[str, ...]]] = {}
    for name, field in model.model_fields.items():
        group = group_of(field)
        if group is None:
            names[f"{PREFIX}{name.upper()}"] = (field, (name,))
            continue
        for sub, subfield in group.model_fields.items():
            names[f"{PREFIX}{name.upper()}_{sub.upper()}"] = (subfield, (name, sub))
    return names


class OutreachVariables(EnvSettingsSource):
    """pydantic-settings' environment source over the variables `gather` collected."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {k.lower(): v for k, v in variables.items()}  # case-insensitive source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if group_of(field) is not None:
            return None, field_name, False  # a group is read field by field, never as JSON
        return super().get_field_value(field, field_name)

    def explode_env_vars(self, field_name: str, field: FieldInfo,
                         env_vars: Mapping[str, str | None]) -> dict[str, Any]:
        group = group_of(field)
        found = super().explode_env_vars(field_name, field, env_vars)
        return {k: v for k, v in found.items() if group is not None and k in group.model_fields}

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        # Lists were always comma-separated, never JSON; `field` is None for a raw type.
        if isinstance(field, FieldInfo) and is_list(field) and isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return super().decode_complex_value(field_name, field, value)


@contextlib.contextmanager
def reading(variables: Mapping[str, str]) -> Iterator[None]:
    token = _READING.set(variables)
    try:
        yield
    finally:
        _READING.reset(token)


def sources(settings_cls: type[BaseSettings], init: Any) -> tuple[Any, ...]:
    """Arguments first, then the variables; `Settings(...)` outside `from_env` reads nothing
    from the environment (tests and benchmarks build settings from arguments alone)."""
    variables = _READING.get()
    return (init,) if variables is None else (init, OutreachVariables(settings_cls, variables))


def gather(environ: Mapping[str, str], *, default_file: bool) -> tuple[dict[str, str], Path | None]:
    """The OUTREACH_* variables of the env file overridden by those of the environment, and the
    file read (None: none)."""
    raw = environ.get(ENV_FILE)
    path = Path(raw) if raw else None
    if raw is None and default_file:
        path = Path(DEFAULT_ENV_FILE)
        if not path.is_file():
            path = None
    from_file: dict[str, str] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigurationError(f"{ENV_FILE}: no such file: {path}")
        try:
            values = dotenv_values(path, interpolate=False, encoding="utf-8")
        except (OSError, UnicodeError):
            raise ConfigurationError(f"{ENV_FILE}: cannot read {path}") from None
        from_file = {k: v for k, v in values.items() if v is not None}
    merged = {**from_file, **environ}
    return {k: v for k, v in merged.items() if k.upper().startswith(PREFIX)}, path


def unknown_names(variables: Mapping[str, str], known: set[str], env_file: Path | None,
                  environ: Mapping[str, str]) -> list[str]:
    """Each OUTREACH_* variable that is no setting, with the closest setting. Never the value
    (it may be a secret)."""
    candidates = sorted(known | LOADER.keys())
    out = []
    for name in sorted(variables):
        upper = name.upper()
        if upper in known or upper in LOADER or upper in NOT_SETTINGS:
            continue
        where = f" (in {env_file})" if name not in environ and env_file else ""
        close = difflib.get_close_matches(upper, candidates, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        out.append(f"{name}{where}{hint}")
    return out


def allow_unknown(variables: Mapping[str, str]) -> bool:
    raw = variables.get(ALLOW_UNKNOWN)
    if raw is None:
        return False
    try:
        return TypeAdapter(bool).validate_python(raw)
    except ValidationError:
        raise ConfigurationError(f"{ALLOW_UNKNOWN}: must be true or false") from None
