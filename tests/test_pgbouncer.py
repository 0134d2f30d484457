"""The gateway's PostgreSQL through PgBouncer in transaction mode: keys, ledger and admin API.

The test starts ``pgbouncer`` (the Debian package) on a free port with ``pool_mode = transaction``
in front of the local PostgreSQL, with a server pool smaller than the gateway's own, so the
gateway's connections really share server connections.  That is where prepared statements break:
asyncpg names and caches them per client connection, and PgBouncer hands the next transaction to
another server connection, which does not have them (or has another client's statement of the same
name).  The database URL says ``?pgbouncer=true`` (Prisma's and so LiteLLM's spelling), and the
gateway then prepares nothing it reuses (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.testing import free_port, postgres_database

MASTER = "sk-pgbouncer-master"
PRICE = {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}


def _find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    """PgBouncer in transaction mode on a free port, 2 server connections per database."""
    binary = _find_pgbouncer()
    if binary is None:
        pytest.skip("pgbouncer not installed (make test installs the Debian package: scripts/services.sh)")
    port = free_port()
    # PgBouncer refuses to run as root: it switches to the postgres user, which must read the config
    folder = Path(tempfile.mkdtemp(prefix="gateway-pgbouncer-"))
    folder.chmod(0o755)
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n* = host=127.0.0.1 port=5432 user=postgres\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    config.chmod(0o644)
    command = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr and process.poll() is not None else ""
                    raise RuntimeError(f"pgbouncer did not start: {err[-500:]}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def start_through_pgbouncer(
    pgbouncer: int, tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """``start(query, own_ledger_engine)``: a gateway whose database URL goes through PgBouncer."""
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with postgres_database("pgbouncer") as direct:

        def start(query: str, own_ledger_engine: bool = False) -> Any:
            url = direct.replace("127.0.0.1:5432", f"127.0.0.1:{pgbouncer}") + query
            spend: dict[str, Any] = {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}
            if own_ledger_engine:  # plugins.spend.database_url: the ledger's own engine
                spend["database_url"] = url
            config = {
                "model_list": [{"model_name": "m", "litellm_params": {"model": "mock/m", **PRICE}}],
                "general_settings": {"master_key": MASTER, "database_url": url},
                "plugins": {"spend": spend},
            }
            return gateway_factory(config)

        yield start


def admin(gw: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30, **kwargs)


async def generate_keys(gw: Any, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {MASTER}"}, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(
                    gw.url + "/key/generate",
                    json={"key_alias": f"k{i}-{uuid.uuid4().hex[:6]}", "models": ["m"], "max_budget": 1},
                )
                for i in range(count)
            )
        )


@pytest.mark.parametrize("own_ledger_engine", [False, True], ids=["shared-engine", "ledger-engine"])
def test_keys_ledger_and_admin_api_through_pgbouncer_in_transaction_mode(
    start_through_pgbouncer: Any, own_ledger_engine: bool
) -> None:
    gw = start_through_pgbouncer("?pgbouncer=true", own_ledger_engine)
    # many admin writes and reads at once: the gateway's pool (10) over PgBouncer's 2 server connections
    created = asyncio.run(generate_keys(gw, 12))
    assert [r.status_code for r in created] == [200] * 12, [r.text[:300] for r in created if r.status_code != 200]
    keys = [r.json()["key"] for r in created]

    async def chat() -> list[Any]:
        clients = [openai.AsyncOpenAI(base_url=gw.url + "/v1", api_key=k, max_retries=0) for k in keys]
        return await asyncio.gather(
            *(c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}]) for c in clients * 3)
        )

    answers = asyncio.run(chat())
    assert len(answers) == 36

    # every request in the ledger once, its spend on the key
    deadline = time.monotonic() + 30
    while True:
        rows = admin(gw, "GET", "/spend/logs/v2", params={"page_size": 1000}).json()["data"]
        if len(rows) >= 36 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(rows) == 36 and len({r["request_id"] for r in rows}) == 36
    per_call = Decimal(str(rows[0]["spend_exact"]))
    assert per_call > 0 and all(Decimal(str(r["spend_exact"])) == per_call for r in rows)
    info = admin(gw, "GET", "/key/info", params={"key": keys[0]})
    assert info.status_code == 200 and Decimal(str(info.json()["info"]["spend"])) == per_call * 3

    # update and delete through the same pool
    updated = admin(gw, "POST", "/key/update", json={"key": keys[1], "max_budget": 0.0000001})
    assert updated.status_code == 200, updated.text
    deleted = admin(gw, "POST", "/key/delete", json={"keys": [keys[2]]})
    assert deleted.status_code == 200, deleted.text
    with pytest.raises(openai.AuthenticationError):
        asyncio.run(
            openai.AsyncOpenAI(base_url=gw.url + "/v1", api_key=keys[2], max_retries=0).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
        )
    listed = admin(gw, "GET", "/key/list", params={"size": 100})
    assert listed.status_code == 200 and len(listed.json()["keys"]) == 11


def test_without_the_flag_the_log_says_what_to_add(start_through_pgbouncer: Any, server_logs: Any) -> None:
    """The trap itself: asyncpg's cached statements do not survive PgBouncer's transaction pooling.
    The gateway cannot tell PgBouncer from PostgreSQL before it fails, so it says what to change once
    it sees the error (and the failing requests are 5xx, never a wrong answer)."""
    gw = start_through_pgbouncer("")
    hints: list[dict[str, Any]] = []
    for _ in range(10):  # concurrent admin calls until two of them shared a server connection
        statuses = {r.status_code for r in asyncio.run(generate_keys(gw, 12))}
        assert statuses <= {200, 500, 503}
        hints = [line for line in server_logs if line.get("event") == "database_behind_transaction_pooler"]
        if hints:
            break
    assert len(hints) == 1
    assert "add ?pgbouncer=true to DATABASE_URL" in hints[0]["hint"]
