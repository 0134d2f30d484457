"""``plugins.model_store``: how often each worker looks for changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelStoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: seconds between two reads of the version counter (one primary-key read); a change made on
    #: any worker or instance is served everywhere within this plus one reload
    poll_interval: float = Field(default=0.5, gt=0, le=1.0)
