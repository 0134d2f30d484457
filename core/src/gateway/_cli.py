"""The ``gateway`` command.

gateway --config config.yaml --port 4000      serve (also: --host, --workers, --server)
gateway --version / gateway --help            the version; every command and the serve options
gateway check-config [--strict] config.yaml   validate a config file and exit (--strict: fail on unavailable deployments)
gateway plugins [--check|--catalog]           list installed plugins and their hooks (or all known ones)
gateway new-plugin NAME --kind guardrail      start a plugin from the template (plugin-template kit)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway._errors import ConfigError, PluginError

if TYPE_CHECKING:
    from gateway._gateway import Gateway

SUBCOMMANDS = ("serve", "check-config", "plugins")


def _serve_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        default=os.environ.get("GATEWAY_CONFIG") or os.environ.get("CONFIG_FILE_PATH"),
        help="the YAML config file (LiteLLM format)",
    )
    parser.add_argument(
        "--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "4000")), help="port (default 4000)")
    parser.add_argument(
        "--workers",
        "--num_workers",
        type=int,
        default=int(os.environ.get("NUM_WORKERS", "1")),
        help="worker processes (shared state needs REDIS_URL)",
    )
    parser.add_argument("--server", choices=("uvicorn", "hypercorn"), default="uvicorn")
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve without a master key or auth plugin on a non-loopback address",
    )
    parser.add_argument("--log-format", choices=("json", "console"), default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="An OpenAI-compatible LLM gateway.")
    parser.add_argument("--version", "-V", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    _serve_parser(sub.add_parser("serve", help="serve the gateway (the default command)"))
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("file")
    check.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) when a deployment cannot be served, for example no installed plugin serves its provider",
    )
    plugins = sub.add_parser("plugins", help="list installed plugins and the hooks they implement")
    plugins.add_argument("--check", action="store_true", help="import every plugin and report its start-up cost")
    plugins.add_argument("--json", action="store_true")
    plugins.add_argument(
        "--catalog", action="store_true", help="list this project's plugin distributions and what each adds"
    )
    # listed for --help only: main() hands "new-plugin" to gateway._scaffold before parsing
    sub.add_parser(
        "new-plugin",
        help="start a plugin package from the template: gateway new-plugin NAME --kind KIND",
        add_help=False,
    )
    db = sub.add_parser("db", help="apply or show the SQL migrations of installed plugins (needs gateway[sql])")
    db.add_argument(
        "action",
        choices=("upgrade", "current"),
        help="upgrade: apply pending migrations; current: show each plugin's revision and what is pending",
    )
    db.add_argument(
        "--config",
        "-c",
        default=os.environ.get("GATEWAY_CONFIG"),
        help="the config file (its database_url, or DATABASE_URL, or gateway.db next to it)",
    )
    db.add_argument(
        "--allow-destructive",
        action="store_true",
        help="also apply migrations marked destructive (they may delete data; back up first)",
    )
    return parser


#: what bare ``gateway`` (no config file anywhere) says, instead of serving no models
NO_CONFIG = (
    "no config file: pass one with --config FILE (or set GATEWAY_CONFIG); to try the gateway, run `make run` "
    "in a clone (examples/default.yaml: mock models, master key sk-1234); docs/install.md has a minimal config, "
    "and `gateway --help` lists the options"
)


def _print_help() -> None:
    """The commands, then the serve options: serving is what ``gateway`` does without a command."""
    build_parser().print_help()
    serve = argparse.ArgumentParser(prog="gateway [serve]", add_help=False, description="Serve the gateway.")
    _serve_parser(serve)
    print()
    serve.print_help()


def _version() -> str:
    from gateway import __version__

    return f"gateway {__version__} (Python {sys.version.split()[0]})"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] in (["-h"], ["--help"]):
        _print_help()
        return 0
    if args_list[:1] in (["-V"], ["--version"]):
        print(_version())
        return 0
    if not args_list or args_list[0].startswith("-") and args_list[0] not in ("-h", "--help"):
        args_list = ["serve", *args_list]
    # subcommands contributed by plugins (new-plugin, db ...) are looked up lazily
    if args_list and args_list[0] == "new-plugin":
        from gateway._scaffold import main as new_plugin_main

        return new_plugin_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "check-config":
            return _check_config(args.file, strict=args.strict)
        if args.command == "plugins":
            if args.catalog:
                return _catalog()
            return _plugins(args.check, args.json)
        if args.command == "db":
            return _db(args)
    except (ConfigError, PluginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    build_parser().print_help()
    return 0


def _serve(args: argparse.Namespace) -> int:
    if not args.config:  # a gateway with no models would serve nothing (and start a database in this folder)
        raise ConfigError(NO_CONFIG)
    from gateway._server import serve

    return serve(
        config=args.config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        server=args.server,
        allow_unauthenticated=args.allow_unauthenticated,
        log_format=args.log_format,
    )


def _check_config(path: str, *, strict: bool = False) -> int:
    from gateway._gateway import Gateway

    gateway = Gateway(path)
    groups = gateway.router.groups
    print(f"{path}: OK — {len(gateway.deployments)} deployments in {len(groups)} model groups: {', '.join(groups)}")
    unavailable = _unavailable_deployments(gateway, strict)
    for key, why in gateway.keys_without_effect:
        print(f"  note: {key} has no effect here: {why}")
    return 1 if strict and unavailable else 0


def _unavailable_deployments(gateway: Gateway, strict: bool) -> list[str]:
    """Print the deployments that cannot be served (the gateway starts without them); their lines."""
    lines = [
        f"model group {d.model_group!r} (deployment {d.id}) is unavailable: {d.unavailable}"
        for d in gateway.deployments
        if d.unavailable is not None
    ]
    for line in lines:
        print(f"  {'error' if strict else 'warning'}: {line}")
    return lines


#: a plugin whose import takes longer than this gets a hint to import lazily
SLOW_IMPORT_SECONDS = 0.1


def _plugins(check: bool, as_json: bool) -> int:
    """List installed plugins; with ``check``, report each one's import time and fail on broken ones.

    Plugins are imported in entry-point order, so a plugin's time includes the dependencies that
    no plugin before it imported (the first user of pydantic pays for pydantic).
    """
    import time

    from gateway._plugins import PluginManager

    started = time.perf_counter()
    pm = PluginManager()
    pm.load_builtins()
    builtins_seconds = time.perf_counter() - started
    pm.load_entrypoints(strict=False)
    total_seconds = time.perf_counter() - started
    records = sorted(pm.records.values(), key=lambda r: (r.builtin, r.name))
    failed = pm.failed()
    if as_json:
        import orjson

        print(orjson.dumps([r.__dict__ for r in records], option=orjson.OPT_INDENT_2).decode())
        return 1 if failed else 0
    for r in records:
        origin = "built in" if r.builtin else f"{r.distribution} {r.version or ''}".strip()
        line = f"{r.name:<22} {r.status:<9} {origin}"
        if check and r.status == "loaded" and not r.builtin:
            line += f"  import {r.import_seconds * 1000:.1f} ms"
            if r.import_seconds > SLOW_IMPORT_SECONDS:
                line += "  (slow: import heavy libraries inside the functions that use them)"
        print(line)
        if r.hooks:
            print(f"{'':<22} hooks: {', '.join(r.hooks)}")
        if r.error:
            print(f"{'':<22} error: {r.error.splitlines()[0]}")
    if check:
        plugin_seconds = sum(r.import_seconds for r in records if not r.builtin)
        print(
            f"start-up: {total_seconds * 1000:.0f} ms to load everything: core {builtins_seconds * 1000:.0f} ms, "
            f"plugin imports {plugin_seconds * 1000:.0f} ms, entry-point scan and registration the rest"
        )
        if failed:
            print(f"{len(failed)} plugin(s) failed to import: {', '.join(r.name for r in failed)}")
    return 1 if check and failed else 0


def _catalog() -> int:
    """The one table of this project's distributions (where "pip install gateway-X" hints come from)."""
    from gateway._catalog import CATALOG

    for d in CATALOG:
        adds = [
            f"{kind}: {', '.join(names)}"
            for kind in ("providers", "guardrails", "sinks")
            if (names := getattr(d, kind))
        ]
        print(f"{d.name:<30} plugin {d.entry_point:<22} {'; '.join(adds)}")
    return 0


def _db(args: argparse.Namespace) -> int:
    import asyncio

    from gateway._gateway import Gateway

    try:
        from gateway import storage
        from gateway.storage._migrations import registry
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gateway = Gateway(args.config)
    if not registry(gateway):
        print("no installed plugin registers database migrations (for example gateway-virtual-keys)")
        return 0

    async def run() -> int:
        try:
            if args.action == "upgrade":
                applied = await storage.upgrade(gateway, allow_destructive=args.allow_destructive)
                print("\n".join(f"applied {rev}" for rev in applied) or "already up to date")
            report = await storage.current(gateway)
        except storage.MigrationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            await storage.get_engine(gateway).dispose()
        for name, status in report.items():
            line = f"{name:<20} current {','.join(status['current']) or '(empty)'}  head {','.join(status['head'])}"
            if status["pending"]:
                line += f"  pending {','.join(status['pending'])}"
            if status["destructive_pending"]:
                line += f"  (destructive: {','.join(status['destructive_pending'])}: needs --allow-destructive)"
            print(line)
        return 0

    return asyncio.run(run())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
