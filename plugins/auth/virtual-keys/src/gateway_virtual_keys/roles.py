"""Who may call which admin route (the README's permission matrix, in code).

* ``admin``: the master key, or a key whose user has ``user_role: proxy_admin``: everything.
* ``viewer``: a key whose user is ``proxy_admin_viewer``: every read route, no writes.
* ``team admin``: a key whose user is an ``admin`` member of a team: manages that team's keys and
  members, reads that team; for everything else it is a plain key.
* a plain key: model routes, and reading its own key (``/key/info``) and user (``/user/info``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway import PermissionDeniedError, Principal

from . import tables as t
from .principal import ADMIN_VIEWER_ROLE
from .store import Store


@dataclass
class Caller:
    principal: Principal
    role: str  # "admin", "viewer" or "user"
    #: teams whose admin the caller's user is
    admin_teams: frozenset[str] = field(default_factory=frozenset)

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

    def denied(self, route: str, why: str) -> PermissionDeniedError:
        return PermissionDeniedError(f"{route}: {why}", type="auth_error", code="403")

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

    def may_read_team(self, team_id: str | None) -> bool:
        return self.reads_everything or (team_id is not None and team_id in self.admin_teams)


async def caller_for(principal: Principal, store: Store) -> Caller:
    if principal.is_admin:
        return Caller(principal, "admin")
    if principal.extra.get("user_role") == ADMIN_VIEWER_ROLE:
        return Caller(principal, "viewer")
    admin_teams: frozenset[str] = frozenset()
    if principal.kind == "virtual_key" and principal.user_id:
        async with store.read() as conn:
            admin_teams = frozenset(
                await store.select_column(
                    conn, t.members.c.team_id, t.members.c.user_id == principal.user_id, t.members.c.role == "admin"
                )
            )
    return Caller(principal, "user", admin_teams)
