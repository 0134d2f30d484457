"""The admin API routes (LiteLLM's paths, methods and field names)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from gateway.http import describe

from . import budgets, customers, keys, organizations, tags, teams, users
from .common import admin_route
from .openapi import OPERATIONS

if TYPE_CHECKING:
    from gateway import Gateway

ROUTES = (
    ("/key/generate", "POST", keys.generate),
    ("/key/info", "GET", keys.info),
    ("/key/update", "POST", keys.update),
    ("/key/delete", "POST", keys.delete),
    ("/key/block", "POST", keys.block),
    ("/key/unblock", "POST", keys.unblock),
    ("/key/regenerate", "POST", keys.regenerate),
    ("/key/{key}/regenerate", "POST", keys.regenerate),
    ("/key/list", "GET", keys.list_keys),
    ("/team/new", "POST", teams.new),
    ("/team/info", "GET", teams.info),
    ("/team/update", "POST", teams.update),
    ("/team/delete", "POST", teams.delete),
    ("/team/member_add", "POST", teams.member_add),
    ("/team/member_delete", "POST", teams.member_delete),
    ("/team/member_update", "POST", teams.member_update),
    ("/team/list", "GET", teams.list_teams),
    ("/user/new", "POST", users.new),
    ("/user/info", "GET", users.info),
    ("/user/update", "POST", users.update),
    ("/user/delete", "POST", users.delete),
    ("/user/list", "GET", users.list_users),
    ("/budget/new", "POST", budgets.new),
    ("/budget/info", "POST", budgets.info),
    ("/budget/update", "POST", budgets.update),
    ("/budget/delete", "POST", budgets.delete),
    ("/budget/list", "GET", budgets.list_budgets),
    ("/budget/settings", "GET", budgets.settings),
    ("/tag/new", "POST", tags.new),
    ("/tag/info", "POST", tags.info),
    ("/tag/update", "POST", tags.update),
    ("/tag/delete", "POST", tags.delete),
    ("/tag/list", "GET", tags.list_tags),
    # organizations, with LiteLLM's methods (PATCH to change, DELETE to delete)
    ("/organization/new", "POST", organizations.new),
    ("/organization/info", "GET", organizations.info),
    ("/organization/info", "POST", organizations.info_many),
    ("/organization/update", "PATCH", organizations.update),
    ("/organization/delete", "DELETE", organizations.delete),
    ("/organization/list", "GET", organizations.list_orgs),
    ("/organization/member_add", "POST", organizations.member_add),
    ("/organization/member_update", "PATCH", organizations.member_update),
    ("/organization/member_delete", "DELETE", organizations.member_delete),
    # customers, under both of LiteLLM's names
    *(
        (f"/{prefix}/{name}", method, handler)
        for prefix in ("customer", "end_user")
        for name, method, handler in (
            ("new", "POST", customers.new),
            ("info", "GET", customers.info),
            ("update", "POST", customers.update),
            ("delete", "POST", customers.delete),
            ("block", "POST", customers.block),
            ("unblock", "POST", customers.unblock),
            ("list", "GET", customers.list_customers),
        )
    ),
)


def admin_routes(gateway: Gateway) -> list[Route]:
    routes = [admin_route(gateway, path, method, handler) for path, method, handler in ROUTES]
    for route, (path, method, _) in zip(routes, ROUTES, strict=True):
        operation = OPERATIONS.get((path, method))
        if operation is not None:
            describe(route, operation)
    return routes
