"""docs/migrating-from-litellm.md stays true: every config key and every served route is in it, and
what it calls supported is what the gateway has.

The doc's tables describe themselves: a table whose first header cell names a config section
(`` `general_settings` key``, ``top-level key``) lists that section's keys; one whose first header
cell is ``route`` lists routes.  The first cell of a row holds one or more backticked keys or
``METHOD /path`` routes, the second its status.

The config keys and where each stands come from core's published table, ``gateway.config_keys()``:
every key of the schema (walked recursively), implemented by core or by a plugin that declares it,
or reported as having no effect.  The routes are the ones a gateway with every installed plugin
serves, read from ``gateway.create_app``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

import gateway

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "migrating-from-litellm.md"

KEY_STATUSES = {"supported", "reported", "not planned", "refused"}
ROUTE_STATUSES = {"supported", "planned", "not planned"}
ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*)$")
SECTION_HEADER = re.compile(r"^`([^`]+)` key$")


@dataclass(frozen=True)
class Row:
    names: tuple[str, ...]
    status: str
    notes: str
    line: int


# --- the doc ------------------------------------------------------------------------------------------


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def doc_tables() -> dict[str, list[Row]]:
    """Rows by table kind: ``"route"``, or the config section path ("" for the top level)."""
    tables: dict[str, list[Row]] = {}
    kind: str | None = None
    lines = DOC.read_text("utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.startswith("|"):
            kind = None
            continue
        row = cells(line)
        if kind is None:  # a table's header
            header = row[0]
            if header == "route":
                kind = "route"
            elif header == "top-level key":
                kind = ""
            elif match := SECTION_HEADER.match(header):
                kind = match.group(1)
            else:
                raise AssertionError(
                    f"{DOC.name} line {number}: a table whose first header cell says nothing: {header!r}"
                )
            tables.setdefault(kind, [])
            continue
        if set(row[0]) <= {"-", " ", ":"}:
            continue
        assert len(row) == 3, f"{DOC.name} line {number}: a row needs three cells (name, status, notes): {line}"
        names = tuple(re.findall(r"`([^`]+)`", row[0]))
        assert names, f"{DOC.name} line {number}: the first cell names nothing in backticks: {line}"
        tables[kind].append(Row(names, row[1], row[2], number))
    return tables


def doc_keys() -> dict[tuple[str, str], Row]:
    """(section, key) -> its row, for every config key the doc lists."""
    keys: dict[tuple[str, str], Row] = {}
    for section, rows in doc_tables().items():
        if section == "route":
            continue
        for row in rows:
            for key in row.names:
                assert (section, key) not in keys, f"{DOC.name} line {row.line}: {section}.{key} is listed twice"
                keys[(section, key)] = row
    return keys


def doc_routes() -> dict[tuple[str, str], Row]:
    """(method, path) -> its row, for every route the doc lists."""
    routes: dict[tuple[str, str], Row] = {}
    for row in doc_tables().get("route", []):
        for name in row.names:
            match = ROUTE.match(name)
            assert match, f"{DOC.name} line {row.line}: {name!r} is not 'METHOD /path'"
            route = (match.group(1), match.group(2))
            assert route not in routes, f"{DOC.name} line {row.line}: {name} is listed twice"
            routes[route] = row
    return routes


# --- the schema ---------------------------------------------------------------------------------------


def schema_keys() -> dict[tuple[str, str], str]:
    """(section, key) -> its status in core's published table (``gateway.config_keys()``): ``core``,
    ``plugin`` (a plugin implements it and declares so), ``reported`` or ``not planned``."""
    table = gateway.config_keys()
    assert len(table) > 150, "gateway.config_keys() should list every key of the schema"
    keys = {}
    for path, entry in table.items():
        section, _, key = path.rpartition(".")
        keys[(section, key)] = entry.status
    return keys


# --- the routes ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served_routes(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """(method, path) of every route a gateway serves with every installed plugin (found by entry
    point, as `make run` finds them) and every optional route on (gateway-prometheus's /metrics)."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("GATEWAY_LOAD_PLUGINS", "DATABASE_URL", "REDIS_URL"):
            env.delenv(name, raising=False)
        workdir = tmp_path_factory.mktemp("routes")
        config = workdir / "default.yaml"
        shutil.copyfile(ROOT / "examples" / "default.yaml", config)
        config.write_text(config.read_text() + "litellm_settings:\n  callbacks: [prometheus]\n")
        env.chdir(workdir)
        app = gateway.create_app(gateway.Gateway(str(config)))
    found = {("POST", path) for path in app.fast_routes}

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                found.update((method, prefix + route.path) for method in route.methods or () if method != "HEAD")

    walk(list(app.starlette.routes), "")
    return found


# --- the checks ---------------------------------------------------------------------------------------


def test_the_doc_uses_the_status_words_it_defines() -> None:
    keys, routes = doc_keys(), doc_routes()
    assert len(keys) > 150 and len(routes) > 100  # the whole doc was read, not a table of it
    wrong = [f"line {row.line}: {row.status!r}" for row in keys.values() if row.status not in KEY_STATUSES]
    wrong += [f"line {row.line}: {row.status!r}" for row in routes.values() if row.status not in ROUTE_STATUSES]
    assert wrong == [], f"statuses are one of {sorted(KEY_STATUSES)} for keys, {sorted(ROUTE_STATUSES)} for routes"


def test_every_key_of_the_schema_is_in_the_doc() -> None:
    missing = sorted(".".join(filter(None, key)) for key in set(schema_keys()) - set(doc_keys()))
    assert missing == [], f"add these config keys to {DOC.name}, with their status: {missing}"


def test_the_doc_gives_each_key_the_status_the_gateway_reports() -> None:
    """supported = implemented by core or a plugin; reported and not planned = what start-up and
    ``gateway check-config`` say about the key; refused = the schema does not accept it."""
    statuses = schema_keys()
    wrong = []
    for (section, key), row in doc_keys().items():
        name = ".".join(filter(None, (section, key)))
        status = statuses.get((section, key))
        if row.status == "refused":
            if status is not None:
                wrong.append(f"line {row.line}: {name} is refused, but the schema accepts it now: give its real status")
        elif status is None:
            wrong.append(
                f"line {row.line}: {name} is {row.status}, but start-up refuses it: the schema does not know it"
            )
        elif row.status == "supported" and status not in ("core", "plugin"):
            wrong.append(f"line {row.line}: {name} is supported, but the gateway reports it as {status}")
        elif row.status in ("reported", "not planned") and row.status != status:
            wrong.append(f"line {row.line}: {name} is {row.status}, but the gateway says {status}")
    assert not wrong, "\n" + "\n".join(wrong)


def test_reported_and_planned_rows_say_what_brings_them() -> None:
    """A reported key or a planned route names the issue (or plugin) that brings it; a key or route
    that is not planned says why, so a reader knows what to do instead."""
    rows = [*doc_keys().values(), *doc_routes().values()]
    vague = [
        f"line {row.line}: {row.names[0]} ({row.status})"
        for row in rows
        if (row.status in ("reported", "planned") and not re.search(r"issue \d+|gateway-[a-z-]+", row.notes))
        or (row.status in ("not planned", "refused") and len(row.notes) < 10)
    ]
    assert not vague, "name the issue or plugin, or say why not:\n" + "\n".join(vague)


def test_every_served_route_is_in_the_doc_as_supported(served_routes: set[tuple[str, str]]) -> None:
    documented = doc_routes()
    missing = sorted(f"{m} {p}" for m, p in served_routes - set(documented))
    assert missing == [], f"add these routes to {DOC.name}: {missing}"
    not_supported = sorted(
        f"line {documented[r].line}: {r[0]} {r[1]} is {documented[r].status}"
        for r in served_routes & set(documented)
        if documented[r].status != "supported"
    )
    assert not not_supported, "these routes are served now, mark them supported:\n" + "\n".join(not_supported)


def test_every_route_the_doc_calls_supported_is_served(served_routes: set[tuple[str, str]]) -> None:
    unserved = sorted(
        f"line {row.line}: {method} {path}"
        for (method, path), row in doc_routes().items()
        if row.status == "supported" and (method, path) not in served_routes
    )
    assert not unserved, "the doc calls these supported, but nothing serves them:\n" + "\n".join(unserved)
