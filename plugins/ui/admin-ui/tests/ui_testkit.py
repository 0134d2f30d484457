"""Helpers for the admin UI's tests (conftest.py puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

MASTER = "sk-ui-master-0123456789abcdef"
MODEL = "gpt-4o"
REPLY = "Hello from the mock gpt-4o!"


def ui_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": "mock/gpt-4o",
                    "mock_response": REPLY,
                    "input_cost_per_token": 0.0000025,
                    "output_cost_per_token": 0.00001,
                },
            },
            {"model_name": "gpt-4o-mini", "litellm_params": {"model": "mock/gpt-4o-mini"}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": database_url},
        "plugins": {"spend": {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}},
    }


def admin(gw: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The admin API called directly with the master key (to set things up)."""
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10, **kwargs)


def browser_like(gw: Any) -> httpx.Client:
    """A client that sends what a browser on the UI's page sends: its Origin."""
    host = gw.url.split("://", 1)[1]
    return httpx.Client(base_url=gw.url, headers={"Origin": gw.url, "Host": host}, timeout=10)


def login(client: httpx.Client, key: str) -> dict[str, Any]:
    response = client.post("/ui/login", json={"key": key})
    assert response.status_code == 200, response.text
    return dict(response.json())
