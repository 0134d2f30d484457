"""``plugins.prometheus``: label dimensions, cardinality cap, multiprocess directory, buckets, auth."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ExtraLabel = Literal["team", "key_alias", "key_hash", "user", "end_user", "requested_model"]

#: seconds; covers cache hits (ms) to long generations (minutes)
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class PrometheusConfig(BaseModel):
    """The ``plugins.prometheus`` section."""

    model_config = ConfigDict(extra="forbid")

    #: caller dimensions added to request, token and spend metrics (none by default: bounded cardinality)
    extra_labels: list[ExtraLabel] = Field(default_factory=list)
    #: distinct values kept per label (teams, keys, users, deployments ...); the rest count as "__other__"
    max_label_values: int = Field(default=500, ge=1, le=100_000)
    #: directory shared by worker processes; default PROMETHEUS_MULTIPROC_DIR, or a per-run directory
    #: created automatically when the gateway runs several workers
    multiprocess_dir: str | None = None
    #: ``/metrics`` needs an admin key (the master key, or a key whose user is a proxy admin).
    #: Unset: true, unless LiteLLM's ``litellm_settings.require_auth_for_metrics_endpoint`` says
    #: false.  false: anyone who can reach the port may scrape (metrics name model groups,
    #: deployments, error classes and, with ``extra_labels``, teams and keys).
    require_auth: bool | None = None
    latency_buckets: list[float] = Field(default_factory=lambda: list(DEFAULT_BUCKETS), min_length=1)
