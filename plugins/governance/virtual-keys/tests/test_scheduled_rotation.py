"""Scheduled key rotation (LiteLLM's ``auto_rotate`` / ``rotation_interval``; issue 18 item 7), with
two real ``gateway`` processes on one database (SQLite and PostgreSQL), both running the rotation
job every 0.2 s:

* each due key is rotated exactly once (one delivery, ``rotation_count`` 1), whichever process
  claims it, round after round;
* the new secret reaches its owner through the rotation webhook only, and never a log line;
* the old secret keeps working on both processes during the grace period, the new one at once;
* the key keeps its id, alias and metadata; ``/key/info`` shows LiteLLM's rotation fields.

A key is made due by moving its ``key_rotation_at`` into the past in the database (what the passing
of ``rotation_interval`` does), so the test waits for the job, never for a clock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from gateway.testing import FakeUpstream, free_port

sys.path.insert(0, str(Path(__file__).parent))
from test_offboarding import GatewayProcess
from vk_testkit import MASTER, Api, Database, error_of

pytest.importorskip("gateway_openai", reason="the two processes serve the model through gateway-openai")

KEYS = 12
ROUNDS = 2
#: bound on waiting for the job (it scans every 0.2 s; generous for a loaded machine)
WAIT = 60.0


class Receiver:
    """The rotation webhook: a local HTTP server recording every delivery it answers 200 to."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        #: deliveries answered with an error (``status`` other than 200)
        self.refused: list[dict[str, Any]] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.status
                with receiver.lock:
                    delivery = {**orjson.loads(body), "_auth": self.headers.get("Authorization")}
                    (receiver.deliveries if status == 200 else receiver.refused).append(delivery)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rotated"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def for_key(self, token_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [d for d in self.deliveries if d["token_id"] == token_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def rotating_gateways(
    database: Database, fake_upstream: FakeUpstream, receiver: Receiver, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    rotation = {
        "enabled": True,
        "check_interval": 0.2,
        "grace_period": "1h",
        "webhook_url": receiver.url,
        "webhook_headers": {"Authorization": "Bearer receiver-secret"},
    }
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "gpt-4o",
                        "litellm_params": {
                            "model": "openai/gpt-4o",
                            "api_base": fake_upstream.base_url,
                            "api_key": "sk-upstream",
                        },
                    }
                ],
                "general_settings": {"master_key": MASTER, "database_url": database.url},
                "plugins": {"virtual_keys": {"key_rotation": rotation}},
            }
        )
    )
    first = GatewayProcess(config, tmp_path / "first.log")
    second = GatewayProcess(config, tmp_path / "second.log")
    try:
        first.wait_ready()
        second.wait_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


def run_sql(database: Database, statement: str) -> list[tuple[Any, ...]]:
    """One statement on the test's database, outside the gateways (rows it returns, if any)."""
    if database.kind == "sqlite":
        with sqlite3.connect(database.url.removeprefix("sqlite:///")) as conn:
            return list(conn.execute(statement).fetchall())
    import asyncpg

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(database.url)
        try:
            return [tuple(row) for row in await conn.fetch(statement)]
        finally:
            await conn.close()

    return asyncio.run(run())


def make_due(database: Database) -> None:
    """Every auto-rotating key is due now: its ``key_rotation_at`` moves into the past."""
    past = "2000-01-01 00:00:00.000000" if database.kind == "sqlite" else "2000-01-01T00:00:00Z"
    run_sql(database, f"UPDATE vk_keys SET key_rotation_at = '{past}' WHERE auto_rotate")


def info(gateway: GatewayProcess, key: str) -> dict[str, Any]:
    answer = gateway.http.get("/key/info", params={"key": key}, headers={"Authorization": f"Bearer {MASTER}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["info"])


def wait_for_rotations(gateway: GatewayProcess, token_ids: list[str], count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while True:
        infos = [info(gateway, token_id) for token_id in token_ids]
        if all(i["rotation_count"] >= count for i in infos) or time.monotonic() > deadline:
            return infos
        time.sleep(0.2)


def test_each_due_key_is_rotated_exactly_once_across_two_processes_with_its_grace_period(
    rotating_gateways: tuple[GatewayProcess, GatewayProcess], receiver: Receiver, database: Database
) -> None:
    first, second = rotating_gateways
    made = [
        first.admin(
            "/key/generate",
            {
                "key_alias": f"rotating-{i}",
                "metadata": {"app": "billing"},
                "auto_rotate": True,
                "rotation_interval": "1h",
            },
        )
        for i in range(KEYS)
    ]
    ids = [m["token_id"] for m in made]
    secrets = {m["token_id"]: [m["key"]] for m in made}
    scheduled = info(second, ids[0])
    assert scheduled["auto_rotate"] is True and scheduled["rotation_interval"] == "1h"
    assert scheduled["rotation_count"] == 0 and scheduled["last_rotation_at"] is None
    due_at = datetime.fromisoformat(scheduled["key_rotation_at"])
    assert timedelta(minutes=59) < due_at - datetime.now(UTC) <= timedelta(hours=1)
    for m in made:  # both processes serve (and cache) every key before it rotates
        assert first.chat(m["key"]) == 200 and second.chat(m["key"]) == 200
    assert receiver.deliveries == []  # nothing is due yet

    for round_ in range(1, ROUNDS + 1):
        started = datetime.now(UTC)
        make_due(database)
        infos = wait_for_rotations(first, ids, round_)
        assert [i["rotation_count"] for i in infos] == [round_] * KEYS, infos
        for token_id, rotated in zip(ids, infos, strict=True):
            delivered = receiver.for_key(token_id)
            assert len(delivered) == round_, delivered  # exactly once per due time, by one process
            latest = delivered[-1]
            assert latest["_auth"] == "Bearer receiver-secret" and latest["event"] == "key_rotated"
            assert latest["key"].startswith("sk-") and latest["key"] not in secrets[token_id]
            assert latest["key_alias"] == rotated["key_alias"]
            secrets[token_id].append(latest["key"])
            # LiteLLM's record: when, how often, and the next due time one interval on
            assert datetime.fromisoformat(rotated["last_rotation_at"]) >= started - timedelta(seconds=1)
            assert datetime.fromisoformat(rotated["key_rotation_at"]) > datetime.now(UTC) + timedelta(minutes=59)
            assert rotated["key_alias"].startswith("rotating-") and rotated["metadata"] == {"app": "billing"}
            assert rotated["key_name"] == latest["key_name"]

    # a round later, nothing else was delivered: the job never rotates a key that is not due
    assert len(receiver.deliveries) == KEYS * ROUNDS
    for token_id in ids:
        current, *older = reversed(secrets[token_id])
        for gateway in (first, second):
            assert gateway.chat(current) == 200  # the delivered secret works at once, everywhere
            for old in older:
                assert gateway.chat(old) == 200  # the replaced ones, during their grace period (1h)
        assert info(second, current)["token_id"] == token_id  # the same key

    # the secrets went to the webhook and nowhere else: not in either process's log
    logs = (first.log.name, second.log.name)
    first.stop()
    second.stop()
    text = "".join(Path(name).read_text() for name in logs)
    assert "key_rotated" in text  # the job did log its rotations (without the secret)
    for token_id in ids:
        for secret in secrets[token_id]:
            assert secret not in text


def test_a_key_without_grace_period_loses_its_old_secret_at_rotation(
    database: Database, fake_upstream: FakeUpstream, receiver: Receiver, tmp_path: Path
) -> None:
    """No ``grace_period`` (LiteLLM's default): the replaced secret is refused at once."""
    config = tmp_path / "config.yaml"
    rotation = {"enabled": True, "check_interval": 0.2, "webhook_url": receiver.url}
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "gpt-4o",
                        "litellm_params": {
                            "model": "openai/gpt-4o",
                            "api_base": fake_upstream.base_url,
                            "api_key": "sk-upstream",
                        },
                    }
                ],
                "general_settings": {"master_key": MASTER, "database_url": database.url},
                "plugins": {"virtual_keys": {"key_rotation": rotation}},
            }
        )
    )
    gateway = GatewayProcess(config, tmp_path / "gateway.log")
    try:
        gateway.wait_ready()
        made = gateway.admin("/key/generate", {"auto_rotate": True, "rotation_interval": "30d"})
        assert gateway.chat(made["key"]) == 200
        # a secret replaced long ago, its grace period over for more than the 7 days it is kept
        past = "2000-01-01 00:00:00.000000" if database.kind == "sqlite" else "2000-01-01T00:00:00Z"
        run_sql(
            database,
            "INSERT INTO vk_old_tokens (token, key_id, expires_at) "
            f"VALUES ('{'0' * 64}', '{made['token_id']}', '{past}')",
        )
        make_due(database)
        [rotated] = wait_for_rotations(gateway, [made["token_id"]], 1)
        assert rotated["rotation_count"] == 1
        [delivered] = receiver.for_key(made["token_id"])
        assert delivered["old_key_valid_until"] is None
        assert gateway.chat(made["key"]) == 401
        assert gateway.chat(delivered["key"]) == 200
        # the job deletes the long-expired secret (LiteLLM's clean-up of deprecated keys), after its rotations
        deadline = time.monotonic() + WAIT
        while run_sql(database, "SELECT token FROM vk_old_tokens") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert run_sql(database, "SELECT token FROM vk_old_tokens") == []
    finally:
        gateway.stop()


def test_a_failed_delivery_rotates_nothing_and_the_key_is_rotated_once_the_claim_lapses(
    database: Database, fake_upstream: FakeUpstream, receiver: Receiver, tmp_path: Path
) -> None:
    """The receiver answers 500: the key keeps its secret (nobody is locked out by a secret that went
    nowhere); once it answers again and the claim (``claim_ttl``: 8 s) lapses, the key is rotated, once."""
    config = tmp_path / "config.yaml"
    rotation = {
        "enabled": True,
        "check_interval": 0.2,
        "webhook_url": receiver.url,
        "webhook_timeout": 1,
        "claim_ttl": 8,
    }
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "gpt-4o",
                        "litellm_params": {
                            "model": "openai/gpt-4o",
                            "api_base": fake_upstream.base_url,
                            "api_key": "sk-upstream",
                        },
                    }
                ],
                "general_settings": {"master_key": MASTER, "database_url": database.url},
                "plugins": {"virtual_keys": {"key_rotation": rotation}},
            }
        )
    )
    gateways = [GatewayProcess(config, tmp_path / f"gateway-{n}.log") for n in (1, 2)]
    try:
        for gateway in gateways:
            gateway.wait_ready()
        first, second = gateways
        made = first.admin("/key/generate", {"auto_rotate": True, "rotation_interval": "30d"})
        receiver.status = 500
        make_due(database)
        deadline = time.monotonic() + WAIT
        while len(receiver.refused) < 3 and time.monotonic() < deadline:  # the three attempts of one claimant
            time.sleep(0.1)
        assert len(receiver.refused) == 3
        assert info(second, made["token_id"])["rotation_count"] == 0
        assert first.chat(made["key"]) == 200 and second.chat(made["key"]) == 200  # nothing changed
        receiver.status = 200
        [rotated] = wait_for_rotations(second, [made["token_id"]], 1)
        assert rotated["rotation_count"] == 1
        [delivered] = receiver.for_key(made["token_id"])  # once, after the claim lapsed
        assert first.chat(delivered["key"]) == 200 and second.chat(delivered["key"]) == 200
        # no grace period: the old secret is refused everywhere once each process has read the change
        # log (without Redis within one poll_interval of the commit; the commit follows the delivery)
        deadline = time.monotonic() + WAIT
        while {first.chat(made["key"]), second.chat(made["key"])} != {401} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.chat(made["key"]) == 401 and second.chat(made["key"]) == 401
        # every refused delivery carried a secret that never became valid
        assert all(first.chat(refused["key"]) == 401 for refused in receiver.refused)
        text = "".join(Path(g.log.name).read_text() for g in gateways)
        assert "key_rotation_not_delivered" in text
        assert all(refused["key"] not in text for refused in receiver.refused)
    finally:
        for gateway in gateways:
            gateway.stop()


def test_auto_rotate_is_refused_where_no_rotation_job_runs(api: Api) -> None:
    """Without the job (``LITELLM_KEY_ROTATION_ENABLED`` unset) a key asking to rotate would never
    rotate: a 400 naming ``auto_rotate``, never a key silently left alone."""
    for path, body in (
        ("/key/generate", {"auto_rotate": True, "rotation_interval": "30d"}),
        ("/key/update", {"key": api.new_key()["key"], "auto_rotate": True, "rotation_interval": "30d"}),
    ):
        refused = api.post(path, body)
        assert refused.status_code == 400 and error_of(refused)["param"] == "auto_rotate", refused.text
        assert "LITELLM_KEY_ROTATION_ENABLED" in error_of(refused)["message"]
    assert api.new_key(auto_rotate=False)["key"]  # the empty value LiteLLM clients send is accepted


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"auto_rotate": True}, "rotation_interval"),
        ({"auto_rotate": True, "rotation_interval": "soon"}, "rotation_interval"),
        ({"auto_rotate": "yes please", "rotation_interval": "30d"}, "auto_rotate"),
    ],
)
def test_bad_rotation_settings_name_the_field(api: Api, body: dict[str, Any], param: str) -> None:
    refused = api.post("/key/generate", body)
    assert refused.status_code == 400 and error_of(refused)["param"] == param, refused.text


def test_rotation_on_without_a_webhook_does_not_start(tmp_path: Path) -> None:
    """A rotation job whose secrets would reach nobody is a start-up error naming the setting."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [],
                "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp_path / 'g.db'}"},
                "plugins": {"virtual_keys": {"key_rotation": {"enabled": True}}},
            }
        )
    )
    gateway = GatewayProcess(config, tmp_path / "gateway.log")
    try:
        with pytest.raises(AssertionError, match="exited"):
            gateway.wait_ready(timeout=30)
        assert "key_rotation.webhook_url" in Path(gateway.log.name).read_text()
    finally:
        gateway.stop()
