"""The hook semantics plugins rely on, observed through a running gateway and the openai SDK."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway import (
    AuthenticationError,
    Deployment,
    Gateway,
    JSONResponseBody,
    PluginError,
    Principal,
    RequestContext,
    fake_openai,
    hookimpl,
)
from gateway._plugins import PluginManager
from gateway.testing import FakeUpstream, LogCollector

from .conftest import MASTER, openai_config

MESSAGES = [{"role": "user", "content": "base"}]


class Named:
    def __init__(self, name: str) -> None:
        self.gateway_plugin_name = name


def _append(ctx: RequestContext, marker: str) -> None:
    ctx.body["messages"][-1]["content"] += f"|{marker}"


class First(Named):
    @hookimpl(tryfirst=True)
    async def gateway_pre_call(self, ctx: RequestContext) -> None:
        await asyncio.sleep(0)
        _append(ctx, "first")


class Middle(Named):
    @hookimpl
    def gateway_pre_call(self, ctx: RequestContext) -> None:
        _append(ctx, "middle")


class Last(Named):
    @hookimpl(trylast=True)
    async def gateway_pre_call(self, ctx: RequestContext) -> None:
        _append(ctx, "last")


def test_pre_call_runs_every_implementation_in_order(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream), plugins=[Last("last"), Middle("middle"), First("first")])
    proxy.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "base"}])
    assert fake_upstream.requests[-1].json["messages"][-1]["content"] == "base|first|middle|last"


class AsyncNone(Named):
    @hookimpl(tryfirst=True)
    async def gateway_auth(self, api_key: str | None) -> Principal | None:
        await asyncio.sleep(0)
        return None  # not mine: the next implementation decides


class TeamKeys(Named):
    @hookimpl
    async def gateway_auth(self, api_key: str | None) -> Principal | None:
        if api_key == "sk-team-1":
            return Principal(id="team-1", kind="test", models=frozenset({"gpt-4o"}))
        if api_key == "sk-revoked":
            raise AuthenticationError("Authentication Error, this key was revoked")
        return None


class AcceptsEverything(Named):
    @hookimpl(trylast=True)
    def gateway_auth(self) -> Principal:
        return Principal(id="anyone", kind="test")


def test_auth_first_result_wins_with_async_implementations(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream), plugins=[AsyncNone("none"), TeamKeys("team")])
    reply = proxy.openai(api_key="sk-team-1").chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices
    # the team key may use gpt-4o only
    with pytest.raises(openai.AuthenticationError) as denied:  # 401, as LiteLLM answers it
        proxy.openai(api_key="sk-team-1").embeddings.create(model="text-embedding-3-small", input="x")
    assert denied.value.body["type"] == "key_model_access_denied"
    assert [m.id for m in proxy.openai(api_key="sk-team-1").models.list()] == ["gpt-4o"]


def test_recognised_but_refused_credential_fails_closed(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream), plugins=[TeamKeys("team"), AcceptsEverything("open")])
    with pytest.raises(openai.AuthenticationError) as err:
        proxy.openai(api_key="sk-revoked").chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert "revoked" in err.value.body["message"]
    assert fake_upstream.requests == []
    # an unknown credential falls through to the last plugin, which accepts it
    assert proxy.openai(api_key="sk-other").chat.completions.create(model="gpt-4o", messages=MESSAGES).choices


class RouteToEmbeddings(Named):
    @hookimpl
    async def gateway_route(self, ctx: RequestContext, gateway: Gateway) -> list[Deployment] | None:
        if ctx.body["messages"][-1]["content"] == "route me":
            return [gateway.router.groups["gpt-4o"][0]]
        return None


class CacheHit(Named):
    @hookimpl(tryfirst=True)
    async def gateway_call(self, ctx: RequestContext) -> JSONResponseBody | None:
        if ctx.body["messages"][-1]["content"] != "cached?":
            return None
        return JSONResponseBody(data=fake_openai.chat_completion("gpt-4o", "from cache", prompt=1))


class Shout(Named):
    @hookimpl
    def gateway_post_call(self, response: Any) -> None:
        if isinstance(response, JSONResponseBody):
            message = response.data["choices"][0]["message"]
            message["content"] = message["content"].upper()
            response.changed()


def test_route_call_and_post_call_semantics(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(
        openai_config(fake_upstream), plugins=[RouteToEmbeddings("router"), CacheHit("cache"), Shout("shout")]
    )
    client = proxy.openai()
    cached = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "cached?"}])
    assert cached.choices[0].message.content == "FROM CACHE"
    assert fake_upstream.requests == []  # the first call implementation answered
    normal = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert normal.choices[0].message.content == fake_upstream.content.upper()
    assert len(fake_upstream.requests) == 1


class BrokenLog(Named):
    @hookimpl
    def gateway_log(self, event: Any) -> None:
        raise RuntimeError("sink exploded")


class SlowLog(Named):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()
        self.delivered = 0

    @hookimpl
    async def gateway_log(self, event: Any) -> None:
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        self.delivered += 1


def test_log_failures_and_slowness_never_reach_the_client(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    slow = SlowLog("slow")
    collector = LogCollector()
    proxy = gateway_factory(openai_config(fake_upstream), plugins=[BrokenLog("broken"), slow, collector])
    client = proxy.openai()
    for _ in range(3):
        # answered while the slow sink is still blocked on the first event
        assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices
    assert slow.delivered == 0
    events = collector.wait_for(3)
    assert {e["status"] for e in events} == {200}
    assert events[0]["model_group"] == "gpt-4o" and events[0]["usage"]["total_tokens"] > 0
    assert events[0]["principal"]["kind"] == "master" and MASTER not in str(events[0])
    slow.release.set()


class Explodes(Named):
    @hookimpl
    def gateway_pre_call(self) -> None:
        raise ValueError("boom")


def test_plugin_exception_is_named_in_the_error(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream), plugins=[Explodes("exploder")])
    with pytest.raises(openai.InternalServerError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert "exploder" in err.value.body["message"] and "gateway_pre_call" in err.value.body["message"]


# --------------------------------------------------------------------------- loading


def _fake_distribution(root: Path, dist: str, entry_name: str, module: str, source: str) -> None:
    """A minimal installed distribution (dist-info with an entry point) on sys.path."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gateway]\n{entry_name} = {module}\n")
    (root / f"{module}.py").write_text(source)


def test_plugin_that_fails_to_import_is_named_and_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(
        tmp_path, "gateway-broken", "broken_thing", "broken_thing_mod", "raise ImportError('missing dep xyz')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = PluginManager()
    pm.load_entrypoints(strict=False, allow=["broken_thing"])
    record = pm.records["broken_thing"]
    assert record.status == "failed" and record.distribution == "gateway-broken"
    assert "missing dep xyz" in (record.error or "")
    with pytest.raises(PluginError, match="broken_thing.*gateway-broken.*missing dep xyz"):
        PluginManager().load_entrypoints(strict=True, allow=["broken_thing"])


def test_gateway_starts_without_the_broken_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_upstream: FakeUpstream
) -> None:
    _fake_distribution(tmp_path, "gateway-broken2", "broken_two", "broken_two_mod", "1/0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "broken_two,openai")
    gateway = Gateway(openai_config(fake_upstream))
    assert [r.name for r in gateway.pm.failed()] == ["broken_two"]
    assert "openai" in gateway.plugin_names()


def test_duplicate_entry_point_names_fail_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(tmp_path / "a", "gateway-dup-a", "dup_name", "dup_a", "")
    _fake_distribution(tmp_path / "b", "gateway-dup-b", "dup_name", "dup_b", "")
    monkeypatch.syspath_prepend(str(tmp_path / "a"))
    monkeypatch.syspath_prepend(str(tmp_path / "b"))
    with pytest.raises(PluginError, match="dup_name.*gateway-dup-"):
        PluginManager().load_entrypoints(strict=False, allow=["dup_name"])


class Typo(Named):
    @hookimpl
    def gateway_rout(self) -> None: ...


class Wrapper(Named):
    @hookimpl(wrapper=True)
    def gateway_pre_call(self) -> Any:
        return (yield)


def test_unknown_hook_names_and_request_hook_wrappers_are_refused() -> None:
    with pytest.raises(PluginError, match="gateway_rout"):
        Gateway({}, plugins=[Typo("typo")], load_entrypoints=False)
    with pytest.raises(PluginError, match="wrapper"):
        Gateway({}, plugins=[Wrapper("wrapper")], load_entrypoints=False)


def test_no_master_key_refuses_public_address_unless_told() -> None:
    from gateway import ConfigError

    with pytest.raises(ConfigError, match="without authentication"):
        Gateway({}, host="0.0.0.0", load_entrypoints=False)
    assert Gateway({}, host="0.0.0.0", allow_unauthenticated=True, load_entrypoints=False).open_access
    assert Gateway({}, host="127.0.0.1", load_entrypoints=False).open_access
    assert not Gateway({"general_settings": {"master_key": MASTER}}, host="0.0.0.0", load_entrypoints=False).open_access
