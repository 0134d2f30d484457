"""Hooks declared by plugins (``gateway_add_hookspecs``), as gateway-spend declares ``gateway_get_spend``.

A plugin adds its own hook; other plugins implement and call it whatever the registration order;
a caller works when the owner is not installed; implementing an undeclared hook, or declaring a
hook twice, stops the gateway with an error naming the hook.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Route

from gateway import Gateway, PluginError, hookimpl, hookspec
from gateway._hooks import acall_first
from gateway.http import json_response

from .conftest import MASTER


class BalanceSpecs:
    @hookspec(firstresult=True)
    def gateway_get_balance(self, account: str, gateway: Any) -> int | None:
        """The balance of ``account``; first non-None result wins."""


class Bank:
    """Owns ``gateway_get_balance`` and answers it."""

    gateway_plugin_name = "bank"

    @hookimpl
    def gateway_add_hookspecs(self, pluginmanager: Any) -> None:
        pluginmanager.add_hookspecs(BalanceSpecs)

    @hookimpl
    async def gateway_get_balance(self, account: str) -> int | None:
        return {"alice": 42}.get(account)


class Teller:
    """Implements nothing of the bank's; asks the hook from an HTTP route."""

    gateway_plugin_name = "teller"

    @hookimpl
    def gateway_register_routes(self, gateway: Gateway) -> list[Any]:
        async def balance(request: Any) -> Any:
            account = request.query_params["account"]
            found = await acall_first(gateway.pm, "gateway_get_balance", account=account, gateway=gateway)
            return json_response({"balance": found})

        return [Route("/teller/balance", balance, methods=["GET"])]


class Auditor:
    """Implements the bank's hook without owning it: needs the bank."""

    gateway_plugin_name = "auditor"

    @hookimpl
    def gateway_get_balance(self, account: str) -> int | None:
        return 0 if account == "bob" else None


class RivalSpecs:
    @hookspec(firstresult=True)
    def gateway_get_balance(self, account: str, gateway: Any) -> int | None:
        """Another plugin's hook of the same name."""


class RivalBank:
    gateway_plugin_name = "rival_bank"

    @hookimpl
    def gateway_add_hookspecs(self, pluginmanager: Any) -> None:
        pluginmanager.add_hookspecs(RivalSpecs)


def balance(gw: Any, account: str) -> Any:
    response = httpx.get(f"{gw.url}/teller/balance", params={"account": account}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["balance"]


@pytest.mark.parametrize("order", ["owner first", "owner last"])
def test_a_plugin_declares_a_hook_that_others_implement_and_call(gateway_factory: Any, order: str) -> None:
    plugins = [Bank(), Auditor(), Teller()]
    gw = gateway_factory(
        {"general_settings": {"master_key": MASTER}},
        plugins=plugins if order == "owner first" else plugins[::-1],
        load_entrypoints=False,
    )
    assert balance(gw, "alice") == 42 and balance(gw, "bob") == 0 and balance(gw, "carol") is None


def test_without_the_owner_the_hook_does_not_exist_and_callers_get_none(gateway_factory: Any) -> None:
    gw = gateway_factory({"general_settings": {"master_key": MASTER}}, plugins=[Teller()], load_entrypoints=False)
    assert balance(gw, "alice") is None


def test_implementing_an_undeclared_hook_or_declaring_one_twice_stops_the_gateway() -> None:
    with pytest.raises(PluginError, match="auditor.*gateway_get_balance"):
        Gateway({}, plugins=[Auditor()], load_entrypoints=False)
    with pytest.raises(PluginError, match="'gateway_get_balance' is declared twice.*BalanceSpecs.*RivalSpecs"):
        Gateway({}, plugins=[Bank(), RivalBank()], load_entrypoints=False)
