"""Multi-worker mode: every worker writes its samples to files in one directory; a scrape merges them.

prometheus_client's multiprocess mode is chosen per process by ``PROMETHEUS_MULTIPROC_DIR``.  The
directory is, in order: ``plugins.prometheus.multiprocess_dir``, ``PROMETHEUS_MULTIPROC_DIR``, or —
when this process is a worker started by a process manager (``gateway --workers N``: uvicorn spawns
workers) — a per-run directory named after the parent process, which all sibling workers compute
alike.  Directories of runs whose parent is gone are removed at start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

RUN_DIR_PREFIX = "gateway-prometheus-"

# prometheus_client picks its multiprocess mode when it is imported, and treats a variable that is
# set but empty as "multiprocess, files in the current directory"; an empty value means unset here
if os.environ.get("PROMETHEUS_MULTIPROC_DIR") == "":
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks (pid plus this is unique across reboots' pid reuse)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_run_dirs(root: Path) -> None:
    for path in root.glob(RUN_DIR_PREFIX + "*"):
        try:
            pid = int(path.name[len(RUN_DIR_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def choose_directory(configured: str | None) -> str | None:
    """The multiprocess directory for this process, or ``None`` for single-process mode."""
    if configured:
        return configured
    from_env = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if from_env:
        return from_env
    if multiprocessing.parent_process() is None:
        return None
    parent = os.getppid()
    root = Path(tempfile.gettempdir())
    _remove_stale_run_dirs(root)
    return str(root / f"{RUN_DIR_PREFIX}{parent}-{_start_ticks(parent)}")


def enable(directory: str) -> None:
    """Switch prometheus_client to multiprocess values backed by ``directory`` (before creating metrics)."""
    os.makedirs(directory, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()


def mark_dead() -> None:
    """Drop this worker's live gauges (in-flight) from the shared directory at shutdown."""
    from prometheus_client import multiprocess

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)
