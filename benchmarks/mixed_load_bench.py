"""Load test: 64 connections for 60 s of mixed signed-in learner traffic, on SQLite and again
on PostgreSQL with Redis (sessions and cache), as deployed. Passes with zero errors.

The mix, per request: 30 % the review page, 20 % an answer submit (each a different due card
of one of several learners: a real answer, a card update and a review log), 15 % the keyword
drill, 20 % a lesson, 15 % ``aws kms encrypt`` in a learner's sandbox console. Errors are
wrk's socket errors (connect, read, write, timeout) and every response that is not a 200 (each
request of the mix answers 200 when it works; a redirect would mean a lost session).
Prints requests per second and latency percentiles for each database.

``python benchmarks/mixed_load_bench.py [--seconds 60] [--connections 64]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadtest import bench_env, gunicorn, manage, run_script
from benchmarks.signed_in_bench import lua_string

LEARNERS = 4
CARDS = 1500
WORKERS = 4
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"


@contextlib.contextmanager
def sqlite_env() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        yield bench_env(f"sqlite:///{folder}/load.sqlite3") | {"STATIC_ROOT": f"{folder}/static"}


@contextlib.contextmanager
def postgres_env() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL database and a Redis database emptied before and after."""
    import psycopg
    import redis

    name = f"load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    try:
        with tempfile.TemporaryDirectory() as folder:
            yield bench_env(f"postgres://postgres@127.0.0.1:5432/{name}") | {
                "REDIS_URL": REDIS_URL,
                "STATIC_ROOT": f"{folder}/static",
            }
    finally:
        cache.flushdb()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reachable(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def mixed_script(folder: Path, setups: list[dict], starter: dict, lesson_url: str) -> str:
    """A wrk script: each request drawn from the mix; each thread posts its own answer bodies."""
    bodies = [body for setup in setups for body in setup["answer_bodies"]]
    owners = [n for n, setup in enumerate(setups) for _ in setup["answer_bodies"]]
    halves = []
    for thread in range(2):
        path = folder / f"bodies-{thread}.txt"
        path.write_text(
            "".join(f"{owners[i] + 1} {bodies[i]}\n" for i in range(thread, len(bodies), 2))
        )
        halves.append(lua_string(str(path)))

    def table(headers: dict[str, str]) -> str:
        return (
            "{" + ", ".join(f"[{lua_string(k)}]={lua_string(v)}" for k, v in headers.items()) + "}"
        )

    learners = ",\n".join(table(setup["headers"]) for setup in setups)
    get = table({"Cookie": setups[0]["headers"]["Cookie"]})
    script = folder / "mixed.lua"
    script.write_text(
        f"""
local learners = {{
{learners}
}}
local get_headers = {get}
local starter = {table(starter["headers"])}
local starter_get = {table({"Cookie": starter["headers"]["Cookie"]})}
local files = {{{", ".join(halves)}}}
local started = 0
local threads = {{}}
function setup(thread)
  thread:set("id", started)
  started = started + 1
  table.insert(threads, thread)
end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("not_ok") end
  local out = io.open({lua_string(str(folder / "not-ok.txt"))}, "w")
  out:write(tostring(total))
  out:close()
end
function init(args)
  bodies, who, sent, not_ok = {{}}, {{}}, 0, 0
  for line in io.lines(files[id + 1]) do
    local space = string.find(line, " ", 1, true)
    who[#who + 1] = tonumber(string.sub(line, 1, space - 1))
    bodies[#bodies + 1] = string.sub(line, space + 1)
  end
  math.randomseed(1234 + id)
end
function request()
  local roll = math.random(100)
  if roll <= 30 then
    return wrk.format("GET", {lua_string(setups[0]["review_url"])}, get_headers)
  elseif roll <= 50 and sent < #bodies then
    sent = sent + 1
    return wrk.format("POST", {lua_string(setups[0]["answer_url"])}, learners[who[sent]], bodies[sent])
  elseif roll <= 65 then
    return wrk.format("GET", "/drill/", starter_get)
  elseif roll <= 85 then
    return wrk.format("GET", {lua_string(lesson_url)}, starter_get)
  else
    return wrk.format("POST", {lua_string(starter["console_url"])}, starter, {lua_string(starter["console_body"])})
  end
end
"""
    )
    return str(script)


def run_wrk(url: str, *, seconds: int, connections: int, script: str) -> dict:
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
        "-s", script, url,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = {"non-2xx/3xx": int(non_2xx.group(1)) if non_2xx else 0}
    if socket_errors:
        for kind, count in zip(
            ("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True
        ):
            errors[kind] = int(count)
    errors["not 200 (e.g. signed out)"] = int(Path(script).with_name("not-ok.txt").read_text())
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "latency": percentiles,
        "errors": errors,
    }


def load(label: str, env: dict[str, str], seconds: int, connections: int) -> bool:
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "load_demo")
    setups = [
        json.loads(
            run_script(env, "benchmarks/review_setup.py", "--cards", str(CARDS),
                       "--username", f"load-learner-{n}", "--seed", str(n))
        )
        for n in range(LEARNERS)
    ]  # fmt: skip
    starter = json.loads(run_script(env, "benchmarks/signed_in_setup.py"))
    lesson = manage(env, "shell", "--no-imports", "-c", _FIRST_LESSON).strip()
    with tempfile.TemporaryDirectory() as folder:
        script = mixed_script(Path(folder), setups, starter, lesson)
        with gunicorn(env, workers=WORKERS) as base:
            result = run_wrk(base + "/", seconds=seconds, connections=connections, script=script)
    errors = sum(result["errors"].values())
    latency = ", ".join(f"p{k} {v}" for k, v in sorted(result["latency"].items()))
    detail = ", ".join(f"{kind} {count}" for kind, count in result["errors"].items())
    print(
        f"{label:28} {result['requests']:7d} requests  {result['rps']:7.1f} req/s  {latency}"
        f"  errors: {errors} ({detail})"
    )
    return errors == 0


_FIRST_LESSON = (
    "from content.models import Lesson; from django.urls import reverse; "
    "print(reverse('lesson_detail', args=[Lesson.objects.order_by('order').first().slug]))"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/install-wrk.sh")
    print(
        f"== Mixed learner load (gunicorn, {WORKERS} sync workers, wrk 2 threads"
        f" {arguments.connections} connections, {arguments.seconds} s) =="
    )
    with sqlite_env() as env:
        passed = load("SQLite", env, arguments.seconds, arguments.connections)
    if reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379):
        with postgres_env() as env:
            passed &= load("PostgreSQL + Redis", env, arguments.seconds, arguments.connections)
    else:
        print("PostgreSQL + Redis: not reachable on 127.0.0.1:5432 / :6379, not run")
    print("zero errors: " + ("yes" if passed else "NO"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
