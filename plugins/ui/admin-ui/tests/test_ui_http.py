"""The admin UI over HTTP against a real gateway: sessions, cookie flags, CSRF, CSP, what the proxy
reaches, and that what a login sees is what the API lets its key see."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from ui_testkit import MASTER, MODEL, REPLY, admin, browser_like, login, ui_config

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def set_cookie(response: httpx.Response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    assert len(cookies) == 1, cookies
    return cookies[0]


def test_login_gives_an_httponly_samesite_strict_session_that_logout_ends(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        response = ui.post("/ui/login", json={"key": MASTER})
        assert response.status_code == 200, response.text
        cookie = set_cookie(response)
        assert cookie.startswith("gateway_ui_session=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/ui"} <= flags
        assert "secure" not in flags  # plain HTTP: a Secure cookie would never come back
        body = response.json()
        assert body["role"] == "proxy_admin" and body["master_key"] is True
        assert MASTER not in response.text  # the key is never handed back to the page
        token = body["csrf_token"]

        session = ui.get("/ui/session")
        assert session.status_code == 200 and session.json()["csrf_token"] == token
        assert ui.get("/ui/api/key/list").status_code == 200
        old = dict(ui.cookies)

        refused = ui.post("/ui/logout")  # no CSRF token
        assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
        assert ui.get("/ui/session").status_code == 200

        assert ui.post("/ui/logout", headers={"X-CSRF-Token": token}).status_code == 200
        assert ui.get("/ui/session").status_code == 401
    # the ended session's cookie, replayed, is refused: the session is gone server-side
    with browser_like(ui_gateway) as replay:
        replay.cookies.update(old)
        ended = replay.get("/ui/api/key/list")
        assert ended.status_code == 401
        assert "log in again at /ui/" in ended.json()["error"]["message"]


def test_the_cookie_is_secure_when_the_request_came_over_tls(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        response = ui.post("/ui/login", json={"key": MASTER}, headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 200
        assert "secure" in {part.strip().lower() for part in set_cookie(response).split(";")}


def test_a_wrong_key_or_none_is_refused_without_a_session(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        wrong = ui.post("/ui/login", json={"key": "sk-not-a-key"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        missing = ui.post("/ui/login", json={})
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "key"
        assert "set-cookie" not in missing.headers


def test_a_forged_cookie_is_sent_to_login(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        ui.cookies.set("gateway_ui_session", "forged-0123456789abcdefghijklmnopqrstuvwxyzABCDE")
        for path in ("/ui/session", "/ui/api/key/list"):
            response = ui.get(path)
            assert response.status_code == 401
            assert "log in again at /ui/" in response.json()["error"]["message"]


def test_state_changing_calls_without_csrf_protection_are_refused_and_change_nothing(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        token = login(ui, MASTER)["csrf_token"]
        before = ui.get("/ui/api/key/list").json()["total_count"]
        no_token = ui.post("/ui/api/key/generate", json={"key_alias": "csrf-1"})
        assert no_token.status_code == 403 and "x-csrf-token" in no_token.json()["error"]["message"]
        wrong_token = ui.post("/ui/api/key/generate", json={"key_alias": "csrf-2"}, headers={"X-CSRF-Token": "x" * 43})
        assert wrong_token.status_code == 403
        other_site = ui.post(
            "/ui/api/key/generate",
            json={"key_alias": "csrf-3"},
            headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403 and "Origin" in other_site.json()["error"]["message"]
        assert ui.get("/ui/api/key/list").json()["total_count"] == before
        made = ui.post("/ui/api/key/generate", json={"key_alias": "csrf-ok"}, headers={"X-CSRF-Token": token})
        assert made.status_code == 200, made.text
        assert ui.get("/ui/api/key/list").json()["total_count"] == before + 1
    # a login posted from another site (login CSRF) or with no Origin at all
    for origin in ("https://evil.example", None):
        headers = {"Origin": origin} if origin else {}
        refused = httpx.post(ui_gateway.url + "/ui/login", json={"key": MASTER}, headers=headers, timeout=10)
        assert refused.status_code == 403 and "set-cookie" not in refused.headers


def test_every_ui_answer_carries_a_strict_csp_and_the_page_has_no_inline_script(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        page = ui.get("/ui/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for response in (page, ui.get("/ui/assets/app.js"), ui.get("/ui/session"), ui.get("/ui/api/key/list")):
            assert response.headers["content-security-policy"] == CSP
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page.text, re.S)
        assert scripts and all(body.strip() == "" for body in scripts)
        assert all('src="/ui/assets/' in tag for tag in re.findall(r"<script\b[^>]*>", page.text))
        assert " style=" not in page.text and "<style" not in page.text
        assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
        assert ui.get("/ui").status_code == 308
        assert ui.get("/ui/assets/../__init__.py").status_code == 404
        assert ui.get("/ui/assets/index.html").status_code == 404


def test_the_proxy_reaches_the_admin_api_only(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        token = login(ui, MASTER)["csrf_token"]
        for path in ("v1/chat/completions", "ui/session", "config/reload", "key/../v1/chat/completions"):
            response = ui.post(f"/ui/api/{path}", json={}, headers={"X-CSRF-Token": token})
            assert response.status_code == 404, (path, response.text)
        assert "/key/" in response.json()["error"]["message"]
        assert ui.get("/ui/api/model/info").json()["data"]


def test_an_internal_user_sees_only_their_own_keys(ui_gateway: Any) -> None:
    for user in ("alice", "bob"):
        assert (
            admin(ui_gateway, "POST", "/user/new", json={"user_id": user, "user_role": "internal_user"}).status_code
            == 200
        )
    alice_key = admin(ui_gateway, "POST", "/key/generate", json={"user_id": "alice", "key_alias": "alice-key"}).json()
    bob_key = admin(ui_gateway, "POST", "/key/generate", json={"user_id": "bob", "key_alias": "bob-key"}).json()
    with browser_like(ui_gateway) as ui:
        me = login(ui, alice_key["key"])
        assert me["role"] == "internal_user" and me["user_id"] == "alice" and me["master_key"] is False
        own = ui.get("/ui/api/user/info", params={"user_id": "alice"})
        assert own.status_code == 200
        keys = own.json()["keys"]  # /user/new made one too, as LiteLLM's does
        assert "alice-key" in [k["key_alias"] for k in keys] and {k["user_id"] for k in keys} == {"alice"}
        assert "bob-key" not in own.text
        assert ui.get("/ui/api/key/list").status_code == 403
        assert ui.get("/ui/api/user/info", params={"user_id": "bob"}).status_code == 403
        other = ui.get("/ui/api/key/info", params={"key": bob_key["token_id"]})
        assert other.status_code in (403, 404) and "bob-key" not in other.text
        assert ui.get("/ui/api/global/spend/report").status_code == 403
        assert ui.get("/ui/api/spend/logs/v2").status_code == 403


def test_a_key_created_through_the_ui_is_shown_once_then_works_until_blocked(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        token = login(ui, MASTER)["csrf_token"]
        created = ui.post(
            "/ui/api/key/generate",
            json={"key_alias": "made-in-ui", "models": [MODEL], "max_budget": 5},
            headers={"X-CSRF-Token": token},
        ).json()
        secret = created["key"]
        assert secret.startswith("sk-")
        info = ui.get("/ui/api/key/info", params={"key": created["token_id"]})
        assert info.status_code == 200 and secret not in info.text
        listed = ui.get("/ui/api/key/list", params={"return_full_object": "true"})
        assert secret not in listed.text

        client = openai.OpenAI(base_url=ui_gateway.base_url, api_key=secret, max_retries=0)
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert answer.choices[0].message.content == REPLY

        blocked = ui.post("/ui/api/key/block", json={"key": created["token_id"]}, headers={"X-CSRF-Token": token})
        assert blocked.status_code == 200 and blocked.json()["blocked"] is True
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])


def test_a_session_made_on_one_instance_is_served_by_another_on_the_same_database(
    ui_gateway: Any, database_url: str, tmp_path: Path, gateway_factory: Any
) -> None:
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = gateway_factory(ui_config(database_url, second_dir))
    with browser_like(ui_gateway) as first:
        token = login(first, MASTER)["csrf_token"]
        cookies = dict(first.cookies)
    with browser_like(second) as other:
        other.cookies.update(cookies)
        assert other.get("/ui/session").json()["csrf_token"] == token
        made = other.post("/ui/api/key/generate", json={"key_alias": "via-second"}, headers={"X-CSRF-Token": token})
        assert made.status_code == 200, made.text


def test_a_team_admin_sees_their_teams_keys_and_no_other(ui_gateway: Any) -> None:
    for team in ("red", "blue"):
        assert admin(ui_gateway, "POST", "/team/new", json={"team_id": team}).status_code == 200
        admin(ui_gateway, "POST", "/key/generate", json={"team_id": team, "key_alias": f"{team}-key"})
    admin(ui_gateway, "POST", "/user/new", json={"user_id": "lead", "user_role": "internal_user"})
    added = admin(
        ui_gateway, "POST", "/team/member_add", json={"team_id": "red", "member": {"user_id": "lead", "role": "admin"}}
    )
    assert added.status_code == 200, added.text
    lead = admin(ui_gateway, "POST", "/key/generate", json={"user_id": "lead", "key_alias": "lead-key"}).json()
    with browser_like(ui_gateway) as ui:
        login(ui, lead["key"])
        listed = ui.get("/ui/api/key/list", params={"return_full_object": "true"})
        assert listed.status_code == 200, listed.text
        assert {k["team_id"] for k in listed.json()["keys"]} == {"red"}
        assert "red-key" in listed.text and "blue-key" not in listed.text
        assert ui.get("/ui/api/key/list", params={"team_id": "blue"}).status_code == 403


def test_logout_from_another_site_is_refused(ui_gateway: Any) -> None:
    with browser_like(ui_gateway) as ui:
        token = login(ui, MASTER)["csrf_token"]
        for origin in ("https://evil.example", ""):
            refused = ui.post("/ui/logout", headers={"X-CSRF-Token": token, "Origin": origin})
            assert refused.status_code == 403
        assert ui.get("/ui/session").status_code == 200


def test_a_key_regenerated_through_the_ui_is_shown_once_and_the_old_one_stops(ui_gateway: Any) -> None:
    made = admin(ui_gateway, "POST", "/key/generate", json={"key_alias": "to-rotate"}).json()
    with browser_like(ui_gateway) as ui:
        token = login(ui, MASTER)["csrf_token"]
        fresh = ui.post("/ui/api/key/regenerate", json={"key": made["token_id"]}, headers={"X-CSRF-Token": token})
        assert fresh.status_code == 200, fresh.text
        new_secret = fresh.json()["key"]
        assert new_secret.startswith("sk-") and new_secret != made["key"]
        assert new_secret not in ui.get("/ui/api/key/info", params={"key": made["token_id"]}).text
    for secret, works in ((made["key"], False), (new_secret, True)):
        client = openai.OpenAI(base_url=ui_gateway.base_url, api_key=secret, max_retries=0)
        if works:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        else:
            with pytest.raises(openai.AuthenticationError):
                client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_session_ends_after_session_ttl(
    database_url: str, tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend,admin_ui")
    config = ui_config(database_url, tmp_path)
    config["plugins"]["admin_ui"] = {"session_ttl": "1s"}
    gw = gateway_factory(config)
    with browser_like(gw) as ui:
        login(ui, MASTER)
        assert ui.get("/ui/session").status_code == 200
        time.sleep(1.5)  # past the session's end (no assertion on time: only that it has ended)
        assert ui.get("/ui/session").status_code == 401


def test_a_session_ttl_that_is_not_a_duration_stops_the_start_naming_it(tmp_path: Path) -> None:
    from gateway import Gateway

    config = ui_config(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", tmp_path)
    config["plugins"]["admin_ui"] = {"session_ttl": "soon"}
    import gateway_admin_ui

    from gateway import ConfigError

    with pytest.raises(ConfigError, match=r"plugins\.admin_ui\.session_ttl: 'soon' is not a duration"):
        Gateway(config, plugins=[gateway_admin_ui], load_entrypoints=False)
