"""Where each benchmarked request spends its time: the WSGI app called in-process under
cProfile, with the benchmark's database and cookies.

Run ``python benchmarks/profile_paths.py PATHS.json`` with the benchmark's environment; the
file holds ``[{"name", "method", "url", "body", "headers"}, ...]``. For each path it prints
the in-process time per request (without the profiler) and the project's own functions that
take the most of it (cumulative, with the profiler). POSTs are sent as they are: a path whose
repeat writes (a console command) writes here too.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")

import django

django.setup()

from django.core.wsgi import get_wsgi_application

REQUESTS = 100
SHOWN = 8
OWN_CODE = tuple(str(ROOT / package) for package in ("accounts", "content", "quizzes", "sandbox",
                                                     "studyapp", "emulator"))  # fmt: skip

app = get_wsgi_application()


def call(method: str, url: str, body: bytes, headers: dict[str, str]) -> str:
    path, _, query = url.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "wsgi.errors": sys.stderr,
    }  # fmt: skip
    for name, value in headers.items():
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    status: list[str] = []
    b"".join(app(environ, lambda line, _headers, *_: status.append(line)))
    return status[0]


def own_functions(profile: cProfile.Profile, requests: int) -> list[str]:
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, function), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(OWN_CODE):
            where = f"{Path(filename).relative_to(ROOT)}:{line} {function}"
            rows.append((cumulative, calls, where))
    rows.sort(reverse=True)
    return [
        f"    {cumulative / requests * 1000:7.3f} ms  {calls / requests:6.1f} calls  {where}"
        for cumulative, calls, where in rows[:SHOWN]
    ]


def main() -> None:
    paths = json.loads(Path(sys.argv[1]).read_text())
    print(f"== Where the time goes (in-process, {REQUESTS} requests each; profiled: our code) ==")
    for path in paths:
        body = path.get("body", "").encode()
        arguments = (path["method"], path["url"], body, path.get("headers", {}))
        for _ in range(10):
            status = call(*arguments)
        started = time.perf_counter()
        for _ in range(REQUESTS):
            call(*arguments)
        elapsed = (time.perf_counter() - started) / REQUESTS * 1000
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(REQUESTS):
            call(*arguments)
        profile.disable()
        print(f"{path['name']}: {elapsed:.2f} ms per request in-process ({status})")
        print("\n".join(own_functions(profile, REQUESTS)))


if __name__ == "__main__":
    main()
