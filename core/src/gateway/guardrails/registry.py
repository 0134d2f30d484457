"""Building the configured guardrails at start-up, with located, fix-it config errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..config import ConfigProblems, report_validation_error
from ..errors import ConfigError, PluginError
from ..hooks import PerPlugin, call_startup_hook
from .base import Guardrail, GuardrailSpec
from .settings import COMMON_KEYS, KNOWN_GUARDRAIL_DISTRIBUTIONS, GuardrailSettings

if TYPE_CHECKING:
    from ..gateway import Gateway

Factory = Callable[[GuardrailSpec, "Gateway"], Guardrail]


class GuardrailTypes:
    """``type name -> (factory, plugin)`` as registered through ``gateway_register_guardrails``."""

    def __init__(self) -> None:
        self.factories: dict[str, tuple[Any, str]] = {}

    def registrar(self, plugin: str) -> Callable[[str, Any], None]:
        def register(type_name: str, factory: Any) -> None:
            if type_name in self.factories:
                other = self.factories[type_name][1]
                raise PluginError(
                    f"guardrail type {type_name!r} is registered by both {other!r} and {plugin!r}; uninstall one of them"
                )
            self.factories[type_name] = (factory, plugin)

        return register


def collect_types(gateway: Gateway) -> GuardrailTypes:
    types = GuardrailTypes()
    call_startup_hook(gateway.pm, "gateway_register_guardrails", register=PerPlugin(types.registrar), gateway=gateway)
    return types


def _missing_type_message(type_name: str, gateway: Gateway, types: GuardrailTypes) -> str:
    dist = KNOWN_GUARDRAIL_DISTRIBUTIONS.get(type_name)
    record = gateway.pm.records.get(dist.removeprefix("gateway-").replace("-", "_")) if dist else None
    if record is not None and record.status == "failed":
        return f"the plugin providing {type_name!r} is installed but failed to import ({(record.error or '').splitlines()[0]})"
    install = (
        f"pip install {dist}" if dist else f"install the gateway plugin that provides the guardrail type {type_name!r}"
    )
    known = ", ".join(sorted(types.factories)) or "none"
    return f"no installed plugin provides the guardrail type {type_name!r}; {install} (installed types: {known})"


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
        found = types.factories.get(type_name)
        if found is None:
            problems.add(
                (*path, "guardrail"), f"guardrail {name!r}: {_missing_type_message(type_name, gateway, types)}"
            )
            continue
        factory = found[0]
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
