"""Which sinks the config enables: ``litellm_settings`` callback lists and ``general_settings.alerting``.

Names are LiteLLM's (``langfuse``, ``prometheus``, ``otel``, ``generic_api`` ...).  A name that
no installed plugin registers is a start-up error naming the list entry, its line and the
distribution to install, because a sink that silently does nothing is worse than a refusal to
start.  A name that is some loaded plugin's own name (LiteLLM's older guardrail callbacks such as
``presidio``) is that plugin's business and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway._catalog import CATALOG, distribution_for

if TYPE_CHECKING:
    from gateway._config import ConfigProblems
    from gateway._gateway import Gateway

#: LiteLLM callbacks no gateway plugin implements (yet): a clearer message than "unknown"
LITELLM_ONLY_CALLBACKS = frozenset(
    {
        "langsmith",
        "datadog",
        "datadog_llm_observability",
        "arize",
        "arize_phoenix",
        "braintrust",
        "galileo",
        "opik",
        "mlflow",
        "lunary",
        "logfire",
        "langtrace",
        "weave_otel",
        "gcs_bucket",
        "gcs_pubsub",
        "s3",
        "s3_v2",
        "azure_storage",
        "aws_sqs",
        "dynamodb",
        "clickhouse",
        "pagerduty",
        "posthog",
        "newrelic",
        "signoz",
        "openmeter",
        "lago",
        "cloudzero",
        "vantage",
        "focus",
        "resend_email",
        "sendgrid_email",
        "smtp_email",
        "email",
    }
)

LISTS = ("success_callback", "failure_callback", "callbacks")


@dataclass
class EnabledSink:
    """One sink the config names, and which finished requests it receives."""

    name: str
    on_success: bool = False
    on_failure: bool = False
    #: where it was first named, for messages
    path: tuple[str | int, ...] = field(default_factory=tuple)


def enabled_sinks(gateway: Gateway, registered: set[str], problems: ConfigProblems) -> dict[str, EnabledSink]:
    """The sinks named in the config, in first-mention order; unknown names go to ``problems``."""
    litellm = gateway.config.litellm_settings
    enabled: dict[str, EnabledSink] = {}
    for list_name in LISTS:
        for index, raw in enumerate(getattr(litellm, list_name)):
            path = ("litellm_settings", list_name, index)
            name = str(raw).strip()
            if not _check(gateway, name, registered, problems, path):
                continue
            sink = enabled.setdefault(name, EnabledSink(name, path=path))
            sink.on_success |= list_name != "failure_callback"
            sink.on_failure |= list_name != "success_callback"
    for index, raw in enumerate(gateway.config.general_settings.alerting or []):
        # alerting names need a plugin that handles them (through gateway_alert), not a sink
        _check(gateway, str(raw).strip(), registered, problems, ("general_settings", "alerting", index))
    return enabled


def _check(
    gateway: Gateway, name: str, registered: set[str], problems: ConfigProblems, path: tuple[str | int, ...]
) -> bool:
    """True when ``name`` is a registered sink; otherwise report why not (or ignore it)."""
    if name in registered:
        return True
    record = gateway.pm.records.get(name)
    if record is not None and record.status == "loaded":
        return False  # a plugin's own name that is not a sink: that plugin reads the list itself
    known_distribution = distribution_for("sinks", name)
    distribution = known_distribution.name if known_distribution is not None else None
    if record is not None and record.status == "failed":
        why = f"the plugin {name!r} is installed but failed to import ({(record.error or '').splitlines()[0]})"
    elif record is not None and record.status == "disabled":
        why = (
            f"the plugin {name!r} is installed but not loaded (see GATEWAY_LOAD_PLUGINS, GATEWAY_DISABLE_PLUGINS "
            f"and plugins.{name}.enabled)"
        )
    elif distribution:
        why = f"no installed plugin provides the sink {name!r}; install it with: pip install {distribution}"
    elif name in LITELLM_ONLY_CALLBACKS:
        why = (
            f"{name!r} is a LiteLLM callback that no gateway plugin implements yet; remove it, or write a sink "
            "plugin (see docs/log-event.md)"
        )
    elif "." in name:
        why = (
            "custom Python callbacks (module.instance) are not loaded by the gateway; package the logger as a "
            "sink plugin registered through gateway_register_sinks (see docs/log-event.md)"
        )
    else:
        known = sorted(registered | {sink for d in CATALOG for sink in d.sinks})
        why = f"unknown sink {name!r}; known sinks: {', '.join(known)}"
    problems.add(path, why)
    return False
