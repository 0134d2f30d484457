"""Loading and validating the config file.

``load_config`` turns a YAML file (or a dict, in tests) into a :class:`GatewayConfig`.  Every
problem found is reported at once, each line naming the key, its place in the file and the fix.
Values are never echoed in messages: many of them are secrets.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway._config.keys import present_paths
from gateway._config.schema import (
    INERT_KEYS,
    ConfigFile,
    GeneralSettings,
    GuardrailEntry,
    LitellmSettings,
    ModelEntry,
    RouterSettings,
)
from gateway._config.source import ConfigPath, SourceMap, format_path, read_config_file
from gateway._errors import ConfigError

ENV_PREFIX = "os.environ/"

__all__ = ["GatewayConfig", "load_config", "ConfigProblems", "ENV_PREFIX", "format_path"]


class ConfigProblems:
    """Collects config mistakes so that one start-up reports all of them."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.messages: list[str] = []

    def add(self, path: ConfigPath, message: str) -> None:
        self.messages.append(f"{self.source.where(path)}: {format_path(path)}: {message}")

    def unknown_key(self, path: ConfigPath, known: set[str] | list[str]) -> None:
        key = str(path[-1])
        guess = difflib.get_close_matches(key, list(known), n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else "remove it, or check the spelling"
        self.add(path, f"unknown key; {hint}")

    def raise_if_any(self) -> None:
        if self.messages:
            count = len(self.messages)
            head = "the config has 1 problem" if count == 1 else f"the config has {count} problems"
            raise ConfigError(head + ":\n  " + "\n  ".join(self.messages))


def _resolve_env(value: Any, path: ConfigPath, environ: Mapping[str, str], problems: ConfigProblems) -> Any:
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        var = value[len(ENV_PREFIX) :]
        if var in environ:
            return environ[var]
        problems.add(path, f"reads the environment variable {var}, which is not set; export {var}=... before starting")
        return None
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*path, k), environ, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*path, i), environ, problems) for i, v in enumerate(value)]
    return value


def _describe_type(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def report_validation_error(
    exc: ValidationError, base: ConfigPath, problems: ConfigProblems, model: type[BaseModel] | None = None
) -> None:
    """Translate pydantic's errors into config messages with lines and fixes."""
    for err in exc.errors():
        path = (*base, *err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            known = _known_fields_at(model, err["loc"][:-1]) if model else []
            problems.unknown_key(path, known)
        elif kind == "missing":
            problems.add(path, "is required; add it")
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            problems.add(path, f"{msg} (got {_describe_type(err.get('input'))})")


def _known_fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc`` inside ``model``, for did-you-mean hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        current = _unwrap_model(annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", {})
    return list(fields)


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


@dataclass
class GatewayConfig:
    """The validated config: typed sections plus the raw plugin sections and where keys stand."""

    model_list: list[ModelEntry]
    general_settings: GeneralSettings
    litellm_settings: LitellmSettings
    router_settings: RouterSettings
    guardrails: list[GuardrailEntry]
    plugins: dict[str, Any]
    callback_settings: dict[str, Any]
    source: SourceMap
    path: Path | None = None
    #: keys accepted for compatibility that have no effect here (reported at start-up)
    inert: list[str] = field(default_factory=list)
    #: the schema's keys the file sets (dotted paths, ``gateway._config.keys``), for the start-up
    #: report of keys that have no effect
    present: list[str] = field(default_factory=list)

    def problems(self) -> ConfigProblems:
        return ConfigProblems(self.source)

    @property
    def master_key(self) -> str | None:
        return self.general_settings.master_key


def load_config(
    source: str | Path | Mapping[str, Any] | None,
    *,
    environ: MutableMapping[str, str] | None = None,
) -> GatewayConfig:
    """Read, resolve ``os.environ/`` references in, and validate a config file or dict."""
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    path: Path | None = None
    if source is None:
        data: dict[str, Any] = {}
        smap = SourceMap("config")
    elif isinstance(source, Mapping):
        data = dict(source)
        smap = SourceMap("config")
    else:
        path = Path(source)
        data, smap = read_config_file(path)
    problems = ConfigProblems(smap)

    # LiteLLM exports this section into the environment before anything else is read
    exported = data.get("environment_variables") or {}
    if isinstance(exported, dict):
        for key, value in exported.items():
            env[str(key)] = str(value)

    present = present_paths(data)
    inert: list[str] = []
    for section, inert_keys in INERT_KEYS.items():
        block = data.get(section)
        if isinstance(block, dict):
            for key in [k for k in block if k in inert_keys]:
                inert.append(f"{section}.{key}")
                block = {k: v for k, v in block.items() if k != key}
            data[section] = block

    resolved = _resolve_env(data, (), env, problems)
    problems.raise_if_any()
    try:
        parsed = ConfigFile.model_validate(resolved)
    except ValidationError as exc:
        report_validation_error(exc, (), problems, ConfigFile)
        problems.raise_if_any()
        raise  # pragma: no cover - raise_if_any always raises here

    general = parsed.general_settings
    if general.master_key is None:
        general.master_key = env.get("GATEWAY_MASTER_KEY") or env.get("LITELLM_MASTER_KEY") or None
    if general.database_url is None:
        general.database_url = env.get("DATABASE_URL") or None
    return GatewayConfig(
        model_list=parsed.model_list,
        general_settings=general,
        litellm_settings=parsed.litellm_settings,
        router_settings=parsed.router_settings,
        guardrails=parsed.guardrails,
        plugins=dict(parsed.plugins),
        callback_settings=parsed.callback_settings,
        source=smap,
        path=path,
        inert=inert,
        present=present,
    )
