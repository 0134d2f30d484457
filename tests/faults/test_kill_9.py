"""``kill -9`` under load: of one worker, then of the master and every worker, then a restart.

gateway-spend appends each request's ledger row to a write-ahead file (one ``os.write``) before
the client gets the last byte; a dead worker's file is adopted by the next worker to start (and
every 10 s by running ones) and shipped, idempotent by request id.  So after the kills every
request a client saw served is in the ledger exactly once; a request killed after its row was
written but before its answer reached the client may be there too, never twice.

The budget reservations of the killed in-flight requests are never settled: they expire after
``reservation_ttl_seconds`` (set to 5 here; the default is 900) and the next admission reclaims
them.  The test measures when the held reservations are back to zero.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from faults_support import (
    MESSAGES,
    GatewayProcess,
    Load,
    duplicates,
    gateway_config,
    mock_model,
    report,
    wait_for_ledger,
    wait_until,
)

TTL = 5  # reservation_ttl_seconds of this test


def test_kill_9_of_a_worker_then_of_everything_under_load(
    database: str, redis: Any, gateways: Any, tmp_path: Path
) -> None:
    # each answer takes 150 ms, so several requests are in flight at every kill
    config = gateway_config(
        database, redis.url, tmp_path / "wal", [mock_model("m", mock_latency_ms=150)], reservation_ttl_seconds=TTL
    )
    (gw,) = gateways(config, workers=2)
    key = gw.admin("POST", "/key/generate", json={"key_alias": "load", "max_budget": 1000}).json()["key"]
    load = Load([gw.url], api_key=key, clients=8, timeout=20).start()
    wait_until(lambda: load.statuses()[200] >= 30, 30)

    # one worker: the supervisor's other worker (and a replacement) keep serving
    workers = gw.worker_pids()
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    worker_killed_at = load.now()
    wait_until(lambda: any(a.status == 200 and a.at > worker_killed_at + 1 for a in load.answers), 30)
    time.sleep(2)

    # everything: the master and its workers, then a new gateway on the same port and files
    held_at_kill = redis.integer("ZCARD", "{gateway}:resx")
    gw.kill()
    killed_at = load.now()
    time.sleep(1)
    heir = GatewayProcess(config, tmp_path, workers=2, port=gw.port)
    gw.proc = heir.launch().proc  # the fixture stops it at the end
    heir.wait_ready()
    restarted_at = load.now()
    wait_until(lambda: any(a.status == 200 and a.at > restarted_at for a in load.answers), 30)
    first_ok = min(a.at for a in load.answers if a.status == 200 and a.at > killed_at)
    time.sleep(1)
    answers = load.stop()

    # the killed requests' reservations: reclaimed by admissions once their TTL passed
    def reclaimed() -> bool:
        httpx.post(
            gw.url + "/v1/chat/completions",
            json={"model": "m", "messages": MESSAGES, "max_tokens": 7},
            headers={"Authorization": f"Bearer {key}"},
            timeout=20,
        )
        return redis.integer("ZCARD", "{gateway}:resx") == 0

    reclaimed_in_time = wait_until(reclaimed, TTL + 30, 0.5)
    reclaimed_after = load.now() - killed_at

    served = [a.call_id for a in answers if a.status == 200]
    unanswered = sum(a.status == 0 for a in answers)
    rows = wait_for_ledger(database, {i for i in served if i}, timeout=60)
    answered = {a.call_id for a in answers if a.call_id}
    extra = [r for r in rows if r not in answered]
    report(
        "kill -9",
        requests_sent=len(answers),
        served_200=len(served),
        no_answer=unanswered,
        other_statuses=sorted({a.status for a in answers} - {200, 0}),
        ledger_rows=len(rows),
        rows_of_unanswered_requests=len(extra),
        duplicates=duplicates(served) + len(rows) - len(set(rows)),
        reservations_held_at_kill=held_at_kill,
        reservations_reclaimed_after_s=round(reclaimed_after, 1),
        down_until_first_200_s=round(first_ok - killed_at, 2),
        restart_s=round(restarted_at - killed_at, 2),
    )
    assert set(served) <= set(rows)  # every served request is in the ledger ...
    assert duplicates(served) == 0 and len(rows) == len(set(rows))  # ... once
    assert len(extra) <= unanswered  # and the only others are requests whose answer the kill lost
    assert {a.status for a in answers} <= {200, 0}
    assert reclaimed_in_time, "reservations of killed requests were not reclaimed"
