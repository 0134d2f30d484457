"""Request bodies of the admin API, with LiteLLM's field names, and 400s that name the field.

Unknown fields are refused (with a did-you-mean) rather than ignored, because a misspelt
``max_buget`` that silently does nothing is how budgets get lost.  LiteLLM fields this plugin
does not implement are accepted only when empty, and otherwise refused with that explanation.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway import BadRequestError

from .durations import parse_duration
from .principal import USER_ROLES

Body = TypeVar("Body", bound="Strict")

#: LiteLLM request fields that are accepted when empty (so copied scripts keep working)
UNSUPPORTED = frozenset({
    "organization_id", "project_id", "agent_id", "budget_id", "tags", "key_type", "auto_rotate",
    "rotation_interval", "access_group_ids", "config", "router_settings", "spend", "model_max_budget",
    "budget_fallbacks", "budget_limits", "throttle_on_budget_exceeded", "tpd_limit", "model_rpm_limit",
    "model_tpm_limit", "tag_rpm_limit", "mcp_rpm_limit", "rpm_limit_type", "tpm_limit_type",
    "allowed_routes", "allowed_passthrough_routes", "denied_passthrough_routes", "allowed_cache_controls",
    "policies", "disable_global_guardrails", "enforced_params", "prompts", "object_permission",
    "allowed_vector_store_indexes", "enable_prompt_caching", "send_invite_email", "temp_budget_increase",
    "temp_budget_expiry", "team_member_budget", "team_member_budget_duration", "team_member_rpm_limit",
    "team_member_tpm_limit", "team_member_key_duration", "default_team_member_models",
    "secret_manager_settings", "organizations", "password", "sso_user_id", "max_budget_in_team",
    "allowed_models", "new_master_key", "user_api_key_dict", "soft_budget_cooldown",
})

Money = Decimal | None


def _is_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


#: ``30s``, ``24h``, ``30d``, ``1mo`` ...
Duration = Annotated[str | None, AfterValidator(_is_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)


class Limits(Strict):
    max_budget: Money = Field(default=None, ge=0)
    soft_budget: Money = Field(default=None, ge=0)
    budget_duration: Duration = None
    tpm_limit: int | None = Field(default=None, ge=0)
    rpm_limit: int | None = Field(default=None, ge=0)
    max_parallel_requests: int | None = Field(default=None, ge=0)
    metadata: dict[str, Any] | None = None


class KeyFields(Limits):
    key_alias: str | None = Field(default=None, max_length=255)
    user_id: str | None = Field(default=None, min_length=1, max_length=255)
    team_id: str | None = Field(default=None, min_length=1, max_length=255)
    models: list[str] | None = None
    aliases: dict[str, str] | None = None
    duration: Duration = None
    expires: datetime | None = None
    blocked: bool | None = None
    permissions: dict[str, Any] | None = None
    guardrails: list[str] | None = None

    @field_validator("expires")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _one_lifetime(self) -> KeyFields:
        if self.duration is not None and self.expires is not None:
            raise BadRequestError("give either 'duration' or 'expires', not both", param="duration")
        return self


class GenerateKey(KeyFields):
    #: a caller-chosen key (``sk-`` + at least 32 characters)
    key: str | None = None


class UpdateKey(KeyFields):
    key: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> UpdateKey:
        if not self.key and not self.key_alias:
            raise BadRequestError(
                "'key' (the key or its hash) is required; or give 'key_alias' to find the key by alias", param="key"
            )
        return self


class RegenerateKey(KeyFields):
    key: str | None = None
    new_key: str | None = None
    #: how long the old key keeps working (``24h``); none: it stops at once
    grace_period: Duration = None


class KeyRef(Strict):
    key: str = Field(min_length=1)


class DeleteKeys(Strict):
    keys: list[str] | None = None
    key_aliases: list[str] | None = None

    @model_validator(mode="after")
    def _something(self) -> DeleteKeys:
        if not self.keys and not self.key_aliases:
            raise BadRequestError(
                "'keys' is required: a list of keys or key hashes to delete (or 'key_aliases')", param="keys"
            )
        return self


class Member(Strict):
    role: Literal["admin", "user"] = "user"
    user_id: str | None = Field(default=None, min_length=1, max_length=255)
    user_email: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _identified(self) -> Member:
        if not self.user_id and not self.user_email:
            raise BadRequestError("a member needs 'user_id' or 'user_email'", param="member")
        return self


class TeamFields(Limits):
    team_alias: str | None = Field(default=None, max_length=255)
    models: list[str] | None = None
    model_aliases: dict[str, str] | None = None
    guardrails: list[str] | None = None
    blocked: bool | None = None


class NewTeam(TeamFields):
    team_id: str | None = Field(default=None, min_length=1, max_length=255)
    members_with_roles: list[Member] | None = None


class UpdateTeam(TeamFields):
    team_id: str = Field(min_length=1, max_length=255)


class DeleteTeams(Strict):
    team_ids: list[str] = Field(min_length=1)


class MemberAdd(Strict):
    team_id: str = Field(min_length=1)
    member: Member | list[Member]

    def members(self) -> list[Member]:
        return self.member if isinstance(self.member, list) else [self.member]


class MemberDelete(Strict):
    team_id: str = Field(min_length=1)
    user_id: str | None = None
    user_email: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> MemberDelete:
        if not self.user_id and not self.user_email:
            raise BadRequestError("'user_id' (or 'user_email') of the member to remove is required", param="user_id")
        return self


class UserFields(Limits):
    user_email: str | None = Field(default=None, max_length=255)
    user_alias: str | None = Field(default=None, max_length=255)
    user_role: str | None = None
    models: list[str] | None = None

    @field_validator("user_role")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and value not in USER_ROLES:
            raise ValueError(f"must be one of {', '.join(USER_ROLES)}")
        return value


class NewUser(UserFields):
    user_id: str | None = Field(default=None, min_length=1, max_length=255)
    teams: list[str] | None = None
    auto_create_key: bool = True
    key_alias: str | None = Field(default=None, max_length=255)
    duration: Duration = None


class UpdateUser(UserFields):
    user_id: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> UpdateUser:
        if not self.user_id and not self.user_email:
            raise BadRequestError("'user_id' is required (or 'user_email' to find the user by email)", param="user_id")
        return self


class DeleteUsers(Strict):
    user_ids: list[str] = Field(min_length=1)


# --------------------------------------------------------------------------- parsing


def parse(model: type[Body], data: dict[str, Any]) -> Body:
    """Validate a request body; a 400 naming every wrong field (``param`` = the first)."""
    data = _drop_empty_unsupported(model, data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(model, err) for err in exc.errors()]
        raise BadRequestError("; ".join(p for _, p in problems), param=problems[0][0]) from None


def sent(body: Strict, *exclude: str) -> dict[str, Any]:
    """The fields the client actually sent (partial updates touch only these)."""
    return {name: getattr(body, name) for name in body.model_fields_set if name not in exclude}


def _drop_empty_unsupported(model: type[Strict], data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for name, value in data.items():
        if name in UNSUPPORTED and name not in model.model_fields:
            if value in (None, [], {}, "", False):
                continue
            raise BadRequestError(
                f"'{name}' is a LiteLLM field that gateway-virtual-keys does not support; remove it (see the "
                "plugin README for the supported fields)",
                param=name,
            )
        cleaned[name] = value
    return cleaned


def _describe(model: type[Strict], err: Any) -> tuple[str, str]:
    loc = [str(part) for part in err["loc"] if not str(part).startswith(("function-", "tagged-union"))]
    field = ".".join(loc) or "body"
    kind = err["type"]
    if kind == "extra_forbidden":
        guess = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else "remove it"
        return field, f"unknown field '{field}'; {hint}"
    message = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in ("greater_than_equal", "greater_than") and "input" in err:
        message = f"{message} (got {err['input']})"
    if field == "body":
        return "body", message
    return field, f"'{field}': {message[:1].lower()}{message[1:]}"
