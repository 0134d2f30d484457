"""Request bodies of the admin API, with LiteLLM's field names, and 400s that name the field.

Unknown fields are refused (with a did-you-mean) rather than ignored, because a misspelt
``max_buget`` that silently does nothing is how budgets get lost.  LiteLLM fields this plugin
does not implement are accepted only when empty, and otherwise refused with that explanation.

Every value is checked here against what the database can hold, so that no input reaches a
statement that would fail there (a 500): no NUL character in any text or object key (PostgreSQL
text cannot hold one), integers within their column (BIGINT, or INTEGER for
``max_parallel_requests``), money within ``MAX_MONEY`` and ``MONEY_CHARS``, durations and expiry
times within 100 years, JSON objects at most ``MAX_DEPTH`` levels deep, lists of ids at most
``MAX_IDS`` long (one bound parameter each).  Query parameters get the NUL check in
``routes.common.admin_route``.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gateway import BadRequestError
from gateway.durations import MAX_DURATION, MAX_DURATION_TEXT, DurationError, parse_duration

from .principal import USER_ROLES

Body = TypeVar("Body", bound="Strict")

#: LiteLLM request fields that are accepted when empty (so copied scripts keep working)
UNSUPPORTED = frozenset(
    {
        "organization_id",
        "project_id",
        "agent_id",
        "budget_id",
        # keys take LiteLLM's tags (KeyFields); teams, users and customers only when empty
        "tags",
        "key_type",
        "access_group_ids",
        "config",
        "router_settings",
        "spend",
        "model_max_budget",
        "budget_fallbacks",
        "budget_limits",
        "throttle_on_budget_exceeded",
        "tpd_limit",
        "model_rpm_limit",
        "model_tpm_limit",
        "tag_rpm_limit",
        "mcp_rpm_limit",
        "rpm_limit_type",
        "tpm_limit_type",
        "allowed_routes",
        "allowed_passthrough_routes",
        "denied_passthrough_routes",
        "allowed_cache_controls",
        "policies",
        "disable_global_guardrails",
        "enforced_params",
        "prompts",
        "object_permission",
        "allowed_vector_store_indexes",
        "enable_prompt_caching",
        "send_invite_email",
        "temp_budget_increase",
        "temp_budget_expiry",
        "team_member_budget",
        "team_member_budget_duration",
        "team_member_rpm_limit",
        "team_member_tpm_limit",
        "team_member_key_duration",
        "default_team_member_models",
        "secret_manager_settings",
        "organizations",
        "password",
        "sso_user_id",
        "max_budget_in_team",
        "allowed_models",
        "new_master_key",
        "user_api_key_dict",
        "soft_budget_cooldown",
        "allowed_model_region",
    }
)

#: the largest budget accepted (a trillion); no budget at all is ``null``
MAX_MONEY = 10**12
#: budgets are stored as decimal text in a 40-character column (any float's digits fit)
MONEY_CHARS = 40
BIGINT_MAX = 2**63 - 1
INTEGER_MAX = 2**31 - 1
#: nesting of JSON objects and lists inside a body (``metadata``, ``permissions`` ...)
MAX_DEPTH = 32
#: ids in one list (``keys``, ``team_ids`` ...): each becomes one bound parameter of a statement
MAX_IDS = 1000


def _fits_column(value: Decimal) -> Decimal:
    if len(str(value)) > MONEY_CHARS:
        raise ValueError(f"has more digits than its {MONEY_CHARS}-character column holds; round it")
    return value


Money = Annotated[Decimal, Field(ge=0, le=MAX_MONEY), AfterValidator(_fits_column)] | None
#: ``tpm_limit``, ``rpm_limit`` (BIGINT columns)
Count = Annotated[int, Field(ge=0, le=BIGINT_MAX)] | None
#: ``max_parallel_requests`` (an INTEGER column)
SmallCount = Annotated[int, Field(ge=0, le=INTEGER_MAX)] | None
#: a user, team or alias id (the columns hold 255 characters)
Id = Annotated[str, Field(min_length=1, max_length=255)]
Ids = Annotated[list[Id], Field(max_length=MAX_IDS)]
#: the built-in user that shows the whole gateway's budget (``litellm_settings.max_budget``), as in LiteLLM
PROXY_BUDGET_USER = "litellm-proxy-budget"


def _not_reserved(value: str | None) -> str | None:
    if value == PROXY_BUDGET_USER:
        raise ValueError(
            f"{PROXY_BUDGET_USER!r} is the built-in user that shows the whole gateway's budget "
            "(litellm_settings.max_budget); choose another id"
        )
    return value


#: a user id a key, a membership or a new user may be given (never the built-in one)
UserId = Annotated[Id, AfterValidator(_not_reserved)]


def _is_duration(value: str | None, info: ValidationInfo) -> str | None:
    if value is not None:
        try:
            parse_duration(value, info.field_name or "duration")
        except DurationError as exc:
            raise ValueError(exc.reason) from None  # the error names the field already
    return value


#: ``30s``, ``15m``, ``24h``, ``30d``, ``1mo`` (calendar months): LiteLLM's units, read by ``gateway.durations``
Duration = Annotated[str | None, AfterValidator(_is_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)


class Limits(Strict):
    max_budget: Money = None
    soft_budget: Money = None
    budget_duration: Duration = None
    tpm_limit: Count = None
    rpm_limit: Count = None
    max_parallel_requests: SmallCount = None
    metadata: dict[str, Any] | None = None


#: a request tag (as ``gateway.routing.request_tags`` accepts one); a key carries at most 64
TagName = Annotated[str, Field(min_length=1, max_length=255)]
Tags = Annotated[list[TagName], Field(max_length=64)]


class KeyFields(Limits):
    key_alias: str | None = Field(default=None, max_length=255)
    #: LiteLLM's key ``tags``: stored as ``metadata.tags``, every request of the key carries them
    tags: Tags | None = None
    user_id: UserId | None = None
    team_id: Id | None = None
    models: list[str] | None = None
    aliases: dict[str, str] | None = None
    duration: Duration = None
    expires: datetime | None = None
    blocked: bool | None = None
    permissions: dict[str, Any] | None = None
    guardrails: list[str] | None = None
    #: its budget tier (``/budget/new``)
    budget_id: Id | None = None
    #: scheduled rotation (LiteLLM's fields; the job is ``plugins.virtual_keys.key_rotation``)
    auto_rotate: bool | None = None
    rotation_interval: Duration = None

    @field_validator("metadata")
    @classmethod
    def _metadata_tags(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """``metadata.tags`` are the key's request tags (LiteLLM's ``tags`` field lands there)."""
        tags = (value or {}).get("tags")
        if tags is not None and (
            not isinstance(tags, list)
            or len(tags) > 64
            or not all(isinstance(tag, str) and 0 < len(tag) <= 255 for tag in tags)
        ):
            raise ValueError('tags must be a list of at most 64 tag names of 1 to 255 characters, for example ["paid"]')
        return value

    @field_validator("expires")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        """In UTC (no zone means UTC), and not further ahead than the longest ``duration``."""
        if value is None:
            return None
        try:
            value = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
            raise ValueError("is outside the calendar once converted to UTC (years 1 to 9999)") from None
        if value - datetime.now(UTC) > MAX_DURATION:
            raise ValueError(f"is more than {MAX_DURATION_TEXT} ahead; use null for a key that never expires")
        return value

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
    keys: Ids | None = None
    key_aliases: Ids | None = None

    @model_validator(mode="after")
    def _something(self) -> DeleteKeys:
        if not self.keys and not self.key_aliases:
            raise BadRequestError(
                "'keys' is required: a list of keys or key hashes to delete (or 'key_aliases')", param="keys"
            )
        return self


class Member(Strict):
    role: Literal["admin", "user"] = "user"
    user_id: UserId | None = None
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
    #: its budget tier (``/budget/new``)
    budget_id: Id | None = None
    #: the organization it belongs to (``/organization/new``)
    organization_id: Id | None = None


class NewTeam(TeamFields):
    team_id: str | None = Field(default=None, min_length=1, max_length=255)
    members_with_roles: Annotated[list[Member], Field(max_length=MAX_IDS)] | None = None


class UpdateTeam(TeamFields):
    team_id: str = Field(min_length=1, max_length=255)


class DeleteTeams(Strict):
    team_ids: Ids = Field(min_length=1)


class MemberAdd(Strict):
    team_id: Id
    member: Member | Annotated[list[Member], Field(max_length=MAX_IDS)]

    def members(self) -> list[Member]:
        return self.member if isinstance(self.member, list) else [self.member]


class MemberDelete(Strict):
    team_id: Id
    user_id: Id | None = None
    user_email: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _identified(self) -> MemberDelete:
        if not self.user_id and not self.user_email:
            raise BadRequestError("'user_id' (or 'user_email') of the member to remove is required", param="user_id")
        return self


class MemberUpdate(Strict):
    team_id: Id
    user_id: Id | None = None
    user_email: str | None = Field(default=None, max_length=255)
    #: the member's new role in the team; none: unchanged
    role: Literal["admin", "user"] | None = None

    @model_validator(mode="after")
    def _identified(self) -> MemberUpdate:
        if not self.user_id and not self.user_email:
            raise BadRequestError("'user_id' (or 'user_email') of the member to update is required", param="user_id")
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


def _team_entry(index: int, entry: Any) -> tuple[str, str]:
    """One entry of ``/user/new``'s ``teams``: a team id, or LiteLLM's object form
    ``{"team_id", "user_role": "admin"|"user", "max_budget_in_team": null}``; -> (team id, role)."""
    where = f"teams.{index}"
    role = "user"
    team_id = entry
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - {"team_id", "user_role", "max_budget_in_team"})
        if unknown:
            raise ValueError(f"{where} has unknown field {unknown[0]!r} (team_id, user_role, max_budget_in_team)")
        if entry.get("max_budget_in_team") is not None:
            raise ValueError(f"{where}.max_budget_in_team: team member budgets are not supported; remove it")
        role = entry.get("user_role") or "user"
        if role not in ("admin", "user"):
            raise ValueError(f"{where}.user_role must be 'admin' or 'user', got {str(role)[:40]!r}")
        team_id = entry.get("team_id")
    if not isinstance(team_id, str) or not 1 <= len(team_id) <= 255:
        raise ValueError(f"{where} must be a team id (1 to 255 characters) or an object with 'team_id'")
    return team_id, role


class NewUser(UserFields):
    user_id: UserId | None = None
    #: teams to join: ids, or LiteLLM's ``{"team_id", "user_role"}`` objects
    teams: Annotated[list[Any], Field(max_length=MAX_IDS)] | None = None
    #: a team the user joins and whose key the auto-created key is (as LiteLLM's /user/new does)
    team_id: Id | None = None
    auto_create_key: bool = True
    # the auto-created key's own fields
    key_alias: str | None = Field(default=None, max_length=255)
    duration: Duration = None
    aliases: dict[str, str] | None = None
    permissions: dict[str, Any] | None = None
    guardrails: list[str] | None = None
    blocked: bool | None = None

    @field_validator("teams")
    @classmethod
    def _teams(cls, value: list[Any] | None) -> list[Any] | None:
        for index, entry in enumerate(value or ()):
            _team_entry(index, entry)
        return value

    def memberships(self) -> dict[str, str]:
        """Team id -> role for every team named in ``teams`` and ``team_id``."""
        joined: dict[str, str] = {}
        for index, entry in enumerate(self.teams or ()):
            team_id, role = _team_entry(index, entry)
            joined[team_id] = role
        if self.team_id:
            joined.setdefault(self.team_id, "user")
        return joined


class UpdateUser(UserFields):
    user_id: Id | None = None

    @model_validator(mode="after")
    def _identified(self) -> UpdateUser:
        if not self.user_id and not self.user_email:
            raise BadRequestError("'user_id' is required (or 'user_email' to find the user by email)", param="user_id")
        return self


class DeleteUsers(Strict):
    user_ids: Ids = Field(min_length=1)


class CustomerFields(Limits):
    """A customer (LiteLLM's end user); ``allowed_model_region`` is a LiteLLM field not served
    (refused unless empty, see ``UNSUPPORTED``)."""

    #: its budget tier (``/budget/new``)
    budget_id: Id | None = None

    alias: str | None = Field(default=None, max_length=255)
    blocked: bool | None = None
    #: the models the customer may use (empty: every model its key allows)
    models: Annotated[list[Id], Field(max_length=MAX_IDS)] | None = None
    default_model: str | None = Field(default=None, min_length=1, max_length=255)


class NewCustomer(CustomerFields):
    user_id: Id


class UpdateCustomer(CustomerFields):
    user_id: Id


class CustomerIds(Strict):
    user_ids: Ids = Field(min_length=1)


#: roles a user may have in an organization (LiteLLM's ``LitellmUserRoles`` an org member takes)
ORG_ROLES = ("org_admin", "internal_user", "internal_user_viewer")
OrgRole = Literal["org_admin", "internal_user", "internal_user_viewer"]


def _no_member_budget(value: Any) -> Any:
    if value is not None:
        raise ValueError("organization member budgets are not supported; remove it (or send null)")
    return value


#: LiteLLM's ``max_budget_in_organization``: accepted when null
NoMemberBudget = Annotated[Any, AfterValidator(_no_member_budget)]


class OrgFields(Limits):
    """An organization (LiteLLM's ``/organization/new`` body, without the fields it does not serve)."""

    organization_alias: str | None = Field(default=None, min_length=1, max_length=255)
    #: the models its teams may use (empty: every model)
    models: Annotated[list[Id], Field(max_length=MAX_IDS)] | None = None
    blocked: bool | None = None
    #: its budget tier (``/budget/new``): the limits it leaves unset
    budget_id: Id | None = None


class NewOrg(OrgFields):
    organization_id: Id | None = None
    organization_alias: str = Field(min_length=1, max_length=255)


class UpdateOrg(OrgFields):
    organization_id: Id


class DeleteOrgs(Strict):
    organization_ids: Ids = Field(min_length=1)


class OrgInfo(Strict):
    """LiteLLM's deprecated ``POST /organization/info``: ``{"organizations": [...]}``."""

    organizations: Ids = Field(min_length=1)


class OrgMember(Strict):
    role: OrgRole = "internal_user"
    user_id: UserId | None = None
    user_email: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _identified(self) -> OrgMember:
        if not self.user_id and not self.user_email:
            raise BadRequestError("a member needs 'user_id' or 'user_email'", param="member")
        return self


class OrgMemberAdd(Strict):
    organization_id: Id
    member: OrgMember | Annotated[list[OrgMember], Field(max_length=MAX_IDS)]
    max_budget_in_organization: NoMemberBudget = None

    def members(self) -> list[OrgMember]:
        return self.member if isinstance(self.member, list) else [self.member]


class OrgMemberRef(Strict):
    organization_id: Id
    user_id: Id | None = None
    user_email: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _identified(self) -> OrgMemberRef:
        if not self.user_id and not self.user_email:
            raise BadRequestError("'user_id' (or 'user_email') of the member is required", param="user_id")
        return self


class OrgMemberUpdate(OrgMemberRef):
    #: the member's new role in the organization; none: unchanged
    role: OrgRole | None = None
    max_budget_in_organization: NoMemberBudget = None


class BudgetFields(Strict):
    """A budget tier's limits (LiteLLM's ``/budget/new`` body)."""

    max_budget: Money = None
    soft_budget: Money = None
    budget_duration: Duration = None
    tpm_limit: Count = None
    rpm_limit: Count = None
    max_parallel_requests: SmallCount = None


class NewBudget(BudgetFields):
    budget_id: Id | None = None


class UpdateBudget(BudgetFields):
    budget_id: Id


class BudgetInfo(Strict):
    budgets: Ids = Field(min_length=1)


class DeleteBudget(Strict):
    id: Id


# --------------------------------------------------------------------------- parsing


def parse(model: type[Body], data: dict[str, Any]) -> Body:
    """Validate a request body; a 400 naming every wrong field (``param`` = the first)."""
    check_storable(data)
    data = _drop_empty_unsupported(model, data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(model, err) for err in exc.errors()]
        raise BadRequestError("; ".join(p for _, p in problems), param=problems[0][0]) from None


def sent(body: Strict, *exclude: str) -> dict[str, Any]:
    """The fields the client actually sent (partial updates touch only these)."""
    return {name: getattr(body, name) for name in body.model_fields_set if name not in exclude}


def check_storable(data: dict[str, Any]) -> None:
    """Refuse (400, naming the field) what no column can hold, wherever it is in the body: NUL
    characters in text or object keys, and nesting deeper than ``MAX_DEPTH``."""
    for name, value in data.items():
        field = _path_part(name)
        if "\x00" in name:
            raise BadRequestError(f"a field name {field!r} contains a NUL character (\\u0000); remove it", param="body")
        _check_value(value, field, field, 1)


def _check_value(value: Any, path: str, field: str, depth: int) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequestError(f"'{path}': text must not contain NUL characters (\\u0000)", param=path)
        return
    if not isinstance(value, dict | list):
        return
    if depth > MAX_DEPTH:
        raise BadRequestError(f"'{field}': nested deeper than {MAX_DEPTH} levels; flatten it", param=field)
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise BadRequestError(f"'{path}': object keys must not contain NUL characters (\\u0000)", param=path)
            _check_value(item, f"{path}.{_path_part(key)}", field, depth + 1)
    else:
        for index, item in enumerate(value):
            _check_value(item, f"{path}.{index}", field, depth + 1)


def _path_part(name: str) -> str:
    """A field name as shown in an error (a hostile 70,000-character key is cut short)."""
    name = name.replace("\x00", "")
    return name if len(name) <= 40 else name[:40] + "..."


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
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than") and "input" in err:
        message = f"{message} (got {str(err['input'])[:40]})"
    if field == "body":
        return "body", message
    return field, f"'{field}': {message[:1].lower()}{message[1:]}"
