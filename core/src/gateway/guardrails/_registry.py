"""Building the configured guardrails at start-up, with located, fix-it config errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway._catalog import distribution_for
from gateway._config import ConfigProblems, report_validation_error
from gateway._errors import ConfigError
from gateway._hooks import PerPlugin, call_startup_hook
from gateway._registry import Registry
from gateway.guardrails._base import Guardrail, GuardrailSpec
from gateway.guardrails._settings import COMMON_KEYS, GuardrailSettings

if TYPE_CHECKING:
    from gateway._gateway import Gateway

Factory = Callable[[GuardrailSpec, "Gateway"], Guardrail]


class GuardrailTypes(Registry[Any]):
    """``type name -> factory`` as registered through ``gateway_register_guardrails``."""

    def __init__(self) -> None:
        super().__init__("guardrail type", remedy="uninstall one of them")


def collect_types(gateway: Gateway) -> GuardrailTypes:
    types = GuardrailTypes()
    call_startup_hook(gateway.pm, "gateway_register_guardrails", register=PerPlugin(types.registrar), gateway=gateway)
    return types


def _missing_type_message(type_name: str, gateway: Gateway, types: GuardrailTypes) -> str:
    known = distribution_for("guardrails", type_name)
    dist = known.name if known is not None else None
    record = gateway.pm.records.get(known.entry_point) if known is not None else None
    if record is not None and record.status == "failed":
        return f"the plugin providing {type_name!r} is installed but failed to import ({(record.error or '').splitlines()[0]})"
    install = (
        f"pip install {dist}" if dist else f"install the gateway plugin that provides the guardrail type {type_name!r}"
    )
    installed = ", ".join(types.names()) or "none"
    return f"no installed plugin provides the guardrail type {type_name!r}; {install} (installed types: {installed})"


def build_guardrails(gateway: Gateway) -> dict[str, Guardrail]:
    """One guardrail per ``guardrails:`` entry, in config order; every problem reported at once."""
    entries = gateway.config.guardrails
    problems: ConfigProblems = gateway.config.problems()
    types = collect_types(gateway)
    built: dict[str, Guardrail] = {}
    for index, entry in enumerate(entries):
        path = ("guardrails", index, "litellm_params")
        raw = entry.litellm_params.model_dump()
        name = entry.guardrail_name
        if name in built:
            problems.add(
                ("guardrails", index, "guardrail_name"), f"the name {name!r} is used twice; names must be unique"
            )
            continue
        type_name = raw["guardrail"]
        factory = types.get(type_name)
        if factory is None:
            problems.add(
                (*path, "guardrail"), f"guardrail {name!r}: {_missing_type_message(type_name, gateway, types)}"
            )
            continue
        common = {k: v for k, v in raw.items() if k in COMMON_KEYS and v is not None}
        specific = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
        try:
            settings = GuardrailSettings.model_validate(common)
        except ValidationError as exc:
            report_validation_error(exc, path, problems, GuardrailSettings)
            continue
        params_model = getattr(factory, "params_model", None)
        params: Any = specific
        if params_model is not None:
            try:
                params = params_model.model_validate(specific)
            except ValidationError as exc:
                report_validation_error(exc, path, problems, params_model)
                continue
        supported = getattr(factory, "supported_modes", None)
        if supported is not None:
            for mode in settings.mode:
                if mode not in supported:
                    problems.add(
                        (*path, "mode"),
                        f"guardrail type {type_name!r} cannot run in mode {mode!r}; "
                        f"it supports {', '.join(sorted(supported))}",
                    )
        spec = GuardrailSpec(name, type_name, settings, params, entry.guardrail_info)
        try:
            built[name] = factory(spec, gateway)
        except (ValueError, ConfigError) as exc:
            problems.add((*path, *getattr(exc, "key", ())), f"guardrail {name!r}: {exc}")
    problems.raise_if_any()
    return built
