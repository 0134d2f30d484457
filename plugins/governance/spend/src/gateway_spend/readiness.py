"""gateway-spend's entry on ``/health/readiness/details``: the ledger's backlog and where budgets are counted."""

from __future__ import annotations

from typing import Any

from .governor import Governor


async def ledger_readiness(gov: Governor) -> dict[str, Any]:
    """``spend_ledger``: how much spend is written locally but not yet in the database (the
    backlog), the rows given up on (dead letters), and whether the database is down now."""
    counters = "redis" if gov.counters.shared else "memory"
    if gov.ledger is None:
        return {"status": "ok", "ledger": "off (disable_spend_logs)", "counters": counters}
    status = gov.ledger.status()
    down = status.get("database_down_seconds")
    return {
        # spend still lands in the local log while the database is down: reported, not lost
        "status": "degraded" if down is not None else "ok",
        "counters": counters,
        "backlog_bytes": status.get("pending_bytes"),
        "dead_letters": status.get("dead_letters"),
        "database_down_seconds": down,
        "last_error": status.get("last_error"),
    }
