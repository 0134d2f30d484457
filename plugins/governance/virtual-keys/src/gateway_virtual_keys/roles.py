"""Who may call which admin route (the README's permission matrix, in code).

* ``admin``: the master key, or a key whose user has ``user_role: proxy_admin``: everything.
* ``viewer``: a key whose user is ``proxy_admin_viewer``: every read route, no writes.
* ``team admin``: a key whose user is an ``admin`` member of a team: manages that team's keys and
  members, reads that team; for everything else it is a plain key.
* ``org admin``: a key whose user is an ``org_admin`` member of an organization: is a team admin
  of every team of that organization, creates, changes and deletes teams in it, and manages its
  members (not other org admins); reads that organization.  Nothing of other organizations.
* a plain key: model routes, reading its own key (``/key/info``) and user (``/user/info``), and
  reading the teams its user belongs to or its key is in (``/team/info``, as LiteLLM allows it),
  and the organizations its user belongs to.

A key has its owner's powers (the user's role, and admin rights over the teams the user
administers), so a delegated admin must never make, change or re-key a key whose owner stands
above a plain member: it would hand itself, or whoever gets the key, powers it does not hold.
A team admin therefore acts only for itself and for *plain members* of its team: users whose
``user_role`` is ``internal_user`` / ``internal_user_viewer``, who are ``user`` members of the
team and who administer no team.  Everything above that is a proxy admin's act.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import PermissionDeniedError, Principal

from . import tables as t
from .principal import ADMIN_VIEWER_ROLE

if TYPE_CHECKING:
    from .store import Store

#: user roles with no power beyond their own keys
PLAIN_ROLES = frozenset({"internal_user", "internal_user_viewer"})
#: the organization role that administers an organization
ORG_ADMIN = "org_admin"


@dataclass(frozen=True)
class Standing:
    """Where a user stands: their role, and their role in each team (``user`` or ``admin``)."""

    user_id: str
    #: None: no such user
    user_role: str | None
    teams: dict[str, str] = field(default_factory=dict)
    #: organization id -> role in it (``org_admin``, ``internal_user`` ...)
    orgs: dict[str, str] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.user_role is not None

    @property
    def is_org_admin(self) -> bool:
        return ORG_ADMIN in self.orgs.values()

    def is_plain_member_of(self, team_id: str | None) -> bool:
        """A plain member: a plain role, a ``user`` member of ``team_id``, admin of no team and of
        no organization (an org admin's key administers a whole organization)."""
        return (
            self.user_role in PLAIN_ROLES
            and team_id is not None
            and self.teams.get(team_id) == "user"
            and "admin" not in self.teams.values()
            and not self.is_org_admin
        )


async def standing_of(conn: AsyncConnection, store: Store, user_id: str) -> Standing:
    role = await store.select_column(conn, t.users.c.user_role, t.users.c.user_id == user_id)
    rows = (
        await conn.execute(sa.select(t.members.c.team_id, t.members.c.role).where(t.members.c.user_id == user_id))
    ).all()
    orgs = (
        await conn.execute(
            sa.select(t.organization_members.c.organization_id, t.organization_members.c.user_role).where(
                t.organization_members.c.user_id == user_id
            )
        )
    ).all()
    return Standing(
        user_id,
        str(role[0]) if role else None,
        {str(team): str(r) for team, r in rows},
        {str(org): str(r) for org, r in orgs},
    )


@dataclass
class Caller:
    principal: Principal
    role: str  # "admin", "viewer" or "user"
    #: teams whose admin the caller's user is
    admin_teams: frozenset[str] = field(default_factory=frozenset)
    #: every team the caller's user belongs to (any role)
    member_teams: frozenset[str] = field(default_factory=frozenset)
    #: organizations whose ``org_admin`` the caller's user is
    admin_orgs: frozenset[str] = field(default_factory=frozenset)
    #: every organization the caller's user belongs to (any role)
    member_orgs: frozenset[str] = field(default_factory=frozenset)
    #: the teams of ``admin_orgs`` (also in ``admin_teams``)
    org_teams: frozenset[str] = field(default_factory=frozenset)

    def manages_team(self, team_id: str) -> bool:
        """Admins, and org admins of the team's organization: may make team admins, change the team."""
        return self.is_admin or team_id in self.org_teams

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_everything(self) -> bool:
        return self.role in ("admin", "viewer")

    @property
    def actor(self) -> str:
        """Recorded as ``created_by`` / ``updated_by``."""
        return self.principal.user_id or self.principal.id

    @property
    def user_id(self) -> str | None:
        return self.principal.user_id if self.principal.kind == "virtual_key" else None

    def denied(self, route: str, why: str, param: str | None = None) -> PermissionDeniedError:
        return PermissionDeniedError(f"{route}: {why}", type="auth_error", param=param, code="403")

    def require_admin(self, route: str) -> None:
        if not self.is_admin:
            raise self.denied(route, "needs an admin key (the master key, or a key of a proxy_admin user)")

    def require_reader(self, route: str) -> None:
        if not self.reads_everything:
            raise self.denied(route, "needs an admin or admin-viewer key")

    def require_team_admin(self, route: str, team_id: str | None) -> None:
        """Admins, or admins of ``team_id``."""
        if self.is_admin:
            return
        if team_id is None or team_id not in self.admin_teams:
            raise self.denied(
                route,
                "needs an admin key or a key of an admin of the team concerned"
                + ("" if team_id is None else f" ({team_id!r})"),
            )

    def require_org_admin(self, route: str, org_id: str | None) -> None:
        """Admins, or org admins of ``org_id``."""
        if self.is_admin:
            return
        if org_id is None or org_id not in self.admin_orgs:
            raise self.denied(
                route,
                "needs an admin key or a key of an org_admin of the organization concerned"
                + ("" if org_id is None else f" ({org_id!r})"),
                param="organization_id",
            )

    def may_read_org(self, org_id: str) -> bool:
        """``/organization/info``: readers and the organization's members."""
        return self.reads_everything or org_id in self.member_orgs

    def may_read_team_keys(self, team_id: str | None) -> bool:
        """Every key of ``team_id``: readers and that team's admins."""
        return self.reads_everything or (team_id is not None and team_id in self.admin_teams)

    def may_read_team(self, team_id: str) -> bool:
        """``/team/info``: readers, the team's members, and keys of the team (LiteLLM's rule)."""
        return (
            self.reads_everything
            or team_id in self.member_teams
            or team_id in self.admin_teams
            or (self.principal.kind == "virtual_key" and self.principal.team_id == team_id)
        )

    def acts_for(self, owner: Standing | None, team_id: str | None) -> bool:
        """May this caller make, change or re-key a key of ``team_id`` owned by ``owner`` (None:
        nobody)?  Admins: always.  Team admins: keys of their teams owned by nobody, by
        themselves, or by a plain member of that team."""
        if self.is_admin:
            return True
        if team_id is None or team_id not in self.admin_teams:
            return False
        if owner is None or owner.user_id == self.user_id or owner.is_plain_member_of(team_id):
            return True
        return team_id in self.org_teams and self._below_org_admin(owner)

    def _below_org_admin(self, user: Standing) -> bool:
        """A user an org admin manages in its organization's teams: a plain role, no org admin, and
        admin (if at all) only of teams of the caller's organizations, so nothing it holds reaches
        beyond them."""
        return (
            user.user_role in PLAIN_ROLES
            and not user.is_org_admin
            and all(team in self.org_teams for team, role in user.teams.items() if role == "admin")
        )

    def may_add(self, user: Standing, team_id: str) -> bool:
        """May this caller add ``user`` to ``team_id`` as a plain member?  Team admins: new users,
        themselves, and existing users with a plain role who are in no other team (so it cannot
        pull in another team's user, nor demote a fellow team admin)."""
        if self.is_admin or not user.exists or user.user_id == self.user_id:
            return True
        if user.user_role not in PLAIN_ROLES:
            return False
        # already a plain member here: nothing changes; otherwise only users of no team
        return user.teams.get(team_id) == "user" or not user.teams

    def may_remove(self, user: Standing, team_id: str) -> bool:
        """May this caller remove ``user`` from ``team_id``?  Team admins: themselves, and members
        with a plain role who are not admins of that team."""
        if self.is_admin or user.user_id == self.user_id:
            return True
        if team_id in self.org_teams:
            return self._below_org_admin(user)
        return user.user_role in PLAIN_ROLES and user.teams.get(team_id) == "user" and not user.is_org_admin

    def may_change_org_member(self, user: Standing, org_id: str) -> bool:
        """May this caller remove ``user`` from ``org_id`` or change its role there?  Org admins:
        themselves and members with a plain role who are not org admins (of any organization)."""
        if self.is_admin or user.user_id == self.user_id:
            return True
        return user.user_role in PLAIN_ROLES and not user.is_org_admin


async def caller_for(principal: Principal, store: Store) -> Caller:
    if principal.is_admin:
        return Caller(principal, "admin")
    if principal.extra.get("user_role") == ADMIN_VIEWER_ROLE:
        return Caller(principal, "viewer")
    roles: dict[str, str] = {}
    org_roles: dict[str, str] = {}
    org_teams: list[str] = []
    if principal.kind == "virtual_key" and principal.user_id:
        async with store.read() as conn:
            rows = await conn.execute(
                sa.select(t.members.c.team_id, t.members.c.role).where(t.members.c.user_id == principal.user_id)
            )
            roles = {str(team): str(role) for team, role in rows.all()}
            org_rows = await conn.execute(
                sa.select(t.organization_members.c.organization_id, t.organization_members.c.user_role).where(
                    t.organization_members.c.user_id == principal.user_id
                )
            )
            org_roles = {str(org): str(role) for org, role in org_rows.all()}
            admin_orgs = [org for org, role in org_roles.items() if role == ORG_ADMIN]
            if admin_orgs:
                org_teams = [
                    str(team)
                    for team in await store.select_column(
                        conn, t.teams.c.team_id, t.teams.c.organization_id.in_(admin_orgs)
                    )
                ]
    # an org admin is a team admin of every team of its organizations
    admin_teams = frozenset([*(team for team, role in roles.items() if role == "admin"), *org_teams])
    return Caller(
        principal,
        "user",
        admin_teams,
        frozenset(roles),
        frozenset(org for org, role in org_roles.items() if role == ORG_ADMIN),
        frozenset(org_roles),
        frozenset(org_teams),
    )
