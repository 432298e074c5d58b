"""Run the app under gunicorn on loopback and load it with wrk (Debian package).

Shared by the HTTP benchmarks: each measures its pages against the ``/ping`` ceiling in the
same run, so machine noise cancels out in the ratio.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class WrkResult:
    requests_per_second: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studyapp.settings",
        "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SANDBOX_MASTER_KEY": "YmVuY2htYXJrLW9ubHktbWFzdGVyLWtleS0zMmJ5dGU=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }


def run_script(env: dict[str, str], script: str, *args: str) -> str:
    """Run one of the project's Python scripts with ``env``; its standard output."""
    result = subprocess.run(
        [PYTHON, script, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def manage(env: dict[str, str], *args: str) -> str:
    return run_script(env, "manage.py", *args)


@contextlib.contextmanager
def prepared_database() -> Iterator[dict[str, str]]:
    """A throwaway SQLite database, migrated, with lessons and the starter bank."""
    with tempfile.TemporaryDirectory() as folder:
        env = bench_env(f"sqlite:///{folder}/bench.sqlite3")
        env["STATIC_ROOT"] = f"{folder}/static"
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "load_demo")
        yield env


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON, "-m", "gunicorn", "studyapp.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--log-level", "warning", "--access-logfile", "-" if False else "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/ping", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


_LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _to_ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _LATENCY_UNITS[match.group(2)]


def wrk(
    url: str,
    *,
    seconds: int = 5,
    connections: int = 8,
    headers: dict[str, str] | None = None,
    script: str | None = None,
) -> WrkResult:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: run scripts/install-wrk.sh")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = _to_ms(re.search(r"99%\s+(\S+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses under load")
    return WrkResult(rps, p99)


def median_of(runs: int, measure) -> WrkResult:
    results = [measure() for _ in range(runs)]
    return WrkResult(
        statistics.median(r.requests_per_second for r in results),
        statistics.median(r.p99_ms for r in results),
    )


def report(name: str, result: WrkResult, ceiling: WrkResult, target: float) -> None:
    ratio = result.requests_per_second / ceiling.requests_per_second
    verdict = "met" if ratio >= target else "NOT met"
    print(
        f"{name:<32} {result.requests_per_second:9.0f} req/s  p99 {result.p99_ms:7.1f} ms   "
        f"ratio {ratio:5.2f} of ceiling (target ≥ {target:.2f}: {verdict})"
    )
