"""Helpers the benchmarks share: a database, processes from the repository, numbers."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def database_url(folder: Path) -> str:
    """Use the PostgreSQL of scripts/with-postgres.sh if it runs, else a SQLite file."""
    return os.environ.get("INTAKE_TEST_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}"


def engine_name(url: str) -> str:
    """Name the engine of a database URL for the results."""
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def prepared_app(folder: Path, **overrides: Any) -> Any:
    """Create the schema and load the example newsroom (the tests' own helper)."""
    from tests.conftest import make_app

    return make_app(folder, SQLALCHEMY_DATABASE_URI=database_url(folder), **overrides)


def environment(folder: Path, **extra: str) -> dict[str, str]:
    """Settings for processes started from the repository (gunicorn, the worker)."""
    return {
        **os.environ,
        "INTAKE_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url(folder),
        "INTAKE_INSTANCE": str(folder / "instance"),
        "RATELIMIT_ENABLED": "false",
        **extra,
    }


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start one of the repository's commands in the background."""
    return subprocess.Popen(  # noqa: S603 - our own venv's programs
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for_http(url: str, seconds: float = 60) -> None:
    """Wait until a URL answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {seconds} s")


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident memory (VmHWM) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def pss_mb(pid: int) -> float:
    """Return a process's proportional set size in MB (shared pages split among sharers)."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    match = re.search(r"Pss:\s+(\d+) kB", rollup)
    return int(match.group(1)) / 1024 if match else 0.0


def children(pid: int) -> list[int]:
    """Return the direct children of a process."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def percentile(values: list[float], share: float) -> float:
    """Return the value below which `share` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]


def scratch() -> Path:
    """Return a fresh folder for one benchmark's files."""
    return Path(tempfile.mkdtemp(prefix="intake-bench-"))
