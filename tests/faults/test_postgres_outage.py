"""PostgreSQL refusing connections, then hanging, under load: through a TCP forwarder the test controls.

The gateway's database URL points at the forwarder, in front of the shared server (which keeps
serving the other tests).  ``refuse`` closes the listening socket and resets every connection (a
database that is down); ``hang`` accepts connections and passes no byte either way (a network
that black-holes packets: the harder case, nothing ever fails by itself).  Requests of a key the
gateway already knows keep being served; their ledger rows wait on local disk and every served
request reaches the ledger exactly once when the database is back.  Admin calls that need the
database get an answer (not a hang).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
from faults_support import (
    Load,
    TcpForwarder,
    duplicates,
    gateway_config,
    mock_model,
    report,
    wait_for_ledger,
    wait_until,
)

#: seconds of each phase: 6 keeps the folder within its time budget (the gateway's behaviour does not
#: change after its first failed attempts); GATEWAY_FAULTS_PG_PHASE=20 runs the issue's 20 s phases
PHASE = float(os.environ.get("GATEWAY_FAULTS_PG_PHASE", "6"))


def admin_probe(gw: Any) -> tuple[int, float]:
    """An admin call that reads the database: (status, seconds); status 0 when there was no answer in 30 s."""
    start = time.monotonic()
    try:
        status = gw.admin("GET", "/spend/logs", params={"page_size": 1}, timeout=30).status_code
    except httpx.HTTPError:
        status = 0
    return status, round(time.monotonic() - start, 2)


def test_postgres_refusing_then_hanging_under_load(database: str, redis: Any, gateways: Any, tmp_path: Path) -> None:
    forwarder = TcpForwarder(5432).start()
    try:
        proxied = database.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
        (gw,) = gateways(gateway_config(proxied, redis.url, tmp_path / "wal", [mock_model("m")]))
        key = gw.admin("POST", "/key/generate", json={"key_alias": "load"}).json()["key"]
        load = Load([gw.url], api_key=key, clients=4, pause=0.01).start()
        wait_until(lambda: load.statuses()[200] >= 20, 30)

        forwarder.refuse()
        refused_at = load.now()
        time.sleep(1)
        admin_refused = admin_probe(gw)
        time.sleep(max(0.0, PHASE - (load.now() - refused_at)))
        forwarder.hang()
        hung_at = load.now()
        time.sleep(1)
        admin_hung = admin_probe(gw)
        time.sleep(max(0.0, PHASE - (load.now() - hung_at)))
        forwarder.forward()
        back_at = load.now()
        time.sleep(2)
        answers = load.stop()
        admin_back = admin_probe(gw)

        served = [a.call_id for a in answers if a.status == 200]
        during = [a for a in answers if refused_at < a.at < back_at]
        rows = wait_for_ledger(database, {i for i in served if i}, timeout=90)
        arrived = load.now()
        report(
            "postgres outage",
            requests_answered=len(answers),
            served_200=len(served),
            served_during_outage=sum(a.status == 200 for a in during),
            other_statuses=sorted({a.status for a in answers} - {200}),
            ledger_rows=len(rows),
            duplicates=duplicates(served) + len(rows) - len(set(rows)),
            admin_call_refusing=admin_refused,
            admin_call_hanging=admin_hung,
            admin_call_after=admin_back,
            ledger_complete_after_s=round(arrived - back_at, 2),
        )
        assert {a.status for a in answers} == {200}  # a known key keeps being served
        assert sum(a.status == 200 for a in during) > 0
        answered = [a.call_id for a in answers]
        assert sorted(rows) == sorted(i for i in answered if i)  # every served request once, nothing else
        assert duplicates(answered) == 0
        # an admin call that needs the database: 503, neither a 500 nor a hang (its time is printed above)
        assert admin_refused[0] == 503 and admin_hung[0] == 503
        assert admin_back[0] == 200
    finally:
        forwarder.stop()
