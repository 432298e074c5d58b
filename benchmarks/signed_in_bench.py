"""The signed-in product against the /ping ceiling: a signed-in "ok", the review page, answer
submit, the dashboard, a mock-exam question and a sandbox console command (issue 11's table).

Runs the app under gunicorn on loopback and loads it with wrk; then calls the same paths
in-process under cProfile (``profile_paths.py``) to show where their time goes.

The signed-in "ok" is ``/ping`` with a learner's session cookie: the time-zone middleware
reads the user on every request, so it pays the session and user reads of any signed-in
page, and nothing else. The dashboard, exam and console learner (``signed_in_setup.py``)
studies the starter bank with a month of history, has a mock exam in progress and a KMS key
in the sandbox; each console POST runs ``aws kms encrypt`` and keeps it in the transcript.

Answer submit: Every POST is a real answer:
each body answers a different due card (a card update plus a review log), never a cheap
duplicate or a refusal. wrk runs two threads and the measurement three times, so the bodies
are split into one slice per run and thread (Lua state is per thread and per wrk process: a
shared list would be posted once per thread and per run, and every repeat is a duplicate
submission that writes nothing). The bodies come from several heavy learners, each with
``CARDS`` due cards, so there are more bodies than any run can post; the script counts what
the server answered and what was written, and says so if any POST was not a real answer.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadtest import (
    gunicorn,
    manage,
    median_of,
    prepared_database,
    report,
    run_script,
    wrk,
)

#: Due cards per learner: a heavy learner's backlog.
CARDS = 2000
#: Learners whose cards the POSTs answer (the review page is read as the first one).
LEARNERS = 6
SECONDS = 5
RUNS = 3
THREADS = 2  # loadtest.wrk runs wrk -t2
WARMUP_BODIES = 300


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def body_slices(setups: list[dict]) -> tuple[list[tuple[int, str]], list[list[tuple[int, str]]]]:
    """(warm-up bodies, one slice per run and thread), learners interleaved in each."""
    bodies = []
    longest = max(len(setup["answer_bodies"]) for setup in setups)
    for index in range(longest):
        for learner, setup in enumerate(setups):
            if index < len(setup["answer_bodies"]):
                bodies.append((learner, setup["answer_bodies"][index]))
    warmup, rest = bodies[:WARMUP_BODIES], bodies[WARMUP_BODIES:]
    count = RUNS * THREADS
    return warmup, [rest[i::count] for i in range(count)]


def answer_script(folder: Path, name: str, setups: list[dict], slices: list[list]) -> str:
    """A wrk script whose thread ``i`` posts the bodies of ``slices[i]``, each once."""
    files = []
    for index, bodies in enumerate(slices):
        path = folder / f"{name}-{index}.txt"
        path.write_text("".join(f"{learner + 1} {body}\n" for learner, body in bodies))
        files.append(lua_string(str(path)))
    headers = ",\n".join(
        "{"
        + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in s["headers"].items())
        + "}"
        for s in setups
    )
    result = folder / f"{name}.json"
    script = folder / f"{name}.lua"
    script.write_text(
        f"""
local learners = {{
{headers}
}}
local files = {{{", ".join(files)}}}
local url = {lua_string(setups[0]["answer_url"])}
local threads = {{}}
local started = 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
  table.insert(threads, thread)
end

function init(args)
  bodies, who = {{}}, {{}}
  for line in io.lines(files[id + 1]) do
    local space = string.find(line, " ", 1, true)
    who[#who + 1] = tonumber(string.sub(line, 1, space - 1))
    bodies[#bodies + 1] = string.sub(line, space + 1)
  end
  sent, answered, stale, other, reused = 0, 0, 0, 0, 0
end

function request()
  sent = sent + 1
  if sent > #bodies then reused = reused + 1 end
  local i = (sent - 1) % #bodies + 1
  return wrk.format("POST", url, learners[who[i]], bodies[i])
end

function response(status, headers, body)
  if status == 200 and string.find(body, 'data-mode="feedback"', 1, true) then
    answered = answered + 1
  elseif string.find(body, "already answered that card", 1, true) then
    stale = stale + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = {{answered = 0, stale = 0, other = 0, reused = 0, bodies = 0}}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      if key == "bodies" then
        totals[key] = totals[key] + #thread:get("bodies")
      else
        totals[key] = totals[key] + thread:get(key)
      end
    end
  end
  local out = io.open({lua_string(str(result))}, "w")
  out:write(string.format(
    '{{"requests": %d, "answered": %d, "stale": %d, "other": %d, "reused": %d, "bodies": %d}}',
    summary.requests, totals.answered, totals.stale, totals.other, totals.reused, totals.bodies))
  out:close()
end
"""
    )
    return str(script)


def logs_written(env: dict[str, str]) -> int:
    return int(manage(env, "shell", "--no-imports", "-c", _COUNT_LOGS).strip())


def main() -> None:
    with prepared_database() as env, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setups = [
            json.loads(
                run_script(
                    env,
                    "benchmarks/review_setup.py",
                    "--cards",
                    str(CARDS),
                    "--username",
                    "bench-learner" if n == 0 else f"bench-learner-{n + 1}",
                )
            )
            for n in range(LEARNERS)
        ]
        cookie = {"Cookie": setups[0]["headers"]["Cookie"]}
        warmup, slices = body_slices(setups)
        runs: list[dict] = []

        def submit():
            run = len(runs)
            name = f"run{run}"
            script = answer_script(
                folder, name, setups, slices[run * THREADS : (run + 1) * THREADS]
            )
            before = logs_written(env)
            result = wrk(base + setups[0]["answer_url"], seconds=SECONDS, script=script)
            counts = json.loads((folder / f"{name}.json").read_text())
            counts["written"] = logs_written(env) - before
            runs.append(counts)
            return result

        starter = json.loads(run_script(env, "benchmarks/signed_in_setup.py"))
        starter_cookie = {"Cookie": starter["headers"]["Cookie"]}
        console = console_script(folder, starter)
        with gunicorn(env) as base:
            wrk(base + setups[0]["review_url"], seconds=1, headers=cookie)  # warm up
            warm = answer_script(folder, "warmup", setups, [warmup[0::2], warmup[1::2]])
            wrk(base + setups[0]["answer_url"], seconds=1, script=warm)
            ceiling = median_of(RUNS, lambda: wrk(base + "/ping", seconds=SECONDS))
            signed_in = median_of(RUNS, lambda: wrk(base + "/ping", headers=starter_cookie))
            page = median_of(RUNS, lambda: wrk(base + setups[0]["review_url"], headers=cookie))
            submit_result = median_of(RUNS, submit)
            others = {
                name: median_of(RUNS, lambda url=url: wrk(base + url, headers=starter_cookie))
                for name, url in [
                    ("dashboard", starter["dashboard_url"]),
                    ("exam", starter["exam_url"]),
                ]
            }
            others["console"] = median_of(
                RUNS, lambda: wrk(base + starter["console_url"], script=console)
            )
        profile_text = profiles(env, folder, setups[0], starter)

    print(
        f"== Review (gunicorn, 2 workers, wrk {THREADS} threads 8 connections,"
        f" median of {RUNS} x {SECONDS} s) =="
    )
    report("ceiling: /ping", ceiling, ceiling, 1.0)
    report('signed-in "ok" (/ping + session)', signed_in, ceiling, 0.8)
    report("review page (signed in)", page, ceiling, 0.4)
    report("answer submit (htmx)", submit_result, ceiling, 0.3)
    report("dashboard", others["dashboard"], ceiling, 0.3)
    report("mock exam question page", others["exam"], ceiling, 0.3)
    report("console: aws kms encrypt (htmx)", others["console"], ceiling, 0.2)
    total = {key: sum(run[key] for run in runs) for key in runs[0]}
    print(
        f"answer POSTs: {total['requests']} completed in {RUNS} runs, {total['bodies']} distinct"
        f" bodies ({LEARNERS} learners x {CARDS} due cards, {len(warmup)} more to warm up)"
    )
    print(
        f"  server replies: {total['answered']} feedback, {total['stale']} refused as"
        f" answered elsewhere (stale), {total['other']} other"
    )
    print(
        f"  review logs written: {total['written']}"
        " (wrk stops counting with up to 8 requests in flight, which still write)"
    )
    honest = (
        total["reused"] == 0
        and total["stale"] == 0
        and total["other"] == 0
        and total["written"] >= total["answered"]
    )
    if honest:
        print("  every POST answered a different due card: all were real answers")
    else:
        print(
            f"  NOT all real answers: {total['reused']} POSTs reused a body (duplicates),"
            f" {total['answered'] - total['written']} more feedback replies than answers written"
        )
    print()
    print(profile_text, end="")
    print("(answer submit is not profiled in-process: its bodies are used up by the wrk runs)")


def console_script(folder: Path, starter: dict) -> str:
    """A wrk script that POSTs the starter learner's console command."""
    headers = ", ".join(
        f"[{lua_string(k)}] = {lua_string(v)}" for k, v in starter["headers"].items()
    )
    script = folder / "console.lua"
    script.write_text(
        f"""
local headers = {{{headers}}}
local body = {lua_string(starter["console_body"])}
function request()
  return wrk.format("POST", {lua_string(starter["console_url"])}, headers, body)
end
"""
    )
    return str(script)


def profiles(env: dict[str, str], folder: Path, setup: dict, starter: dict) -> str:
    """Where each path's time goes, in-process (``profile_paths.py``)."""
    cookie = {"Cookie": setup["headers"]["Cookie"]}
    starter_cookie = {"Cookie": starter["headers"]["Cookie"]}
    paths = [
        {"name": 'signed-in "ok"', "method": "GET", "url": "/ping", "headers": starter_cookie},
        {"name": "review page", "method": "GET", "url": setup["review_url"], "headers": cookie},
        {"name": "dashboard", "method": "GET", "url": starter["dashboard_url"],
         "headers": starter_cookie},
        {"name": "exam page", "method": "GET", "url": starter["exam_url"],
         "headers": starter_cookie},
        {"name": "console encrypt", "method": "POST", "url": starter["console_url"],
         "body": starter["console_body"], "headers": starter["headers"]},
    ]  # fmt: skip
    listing = folder / "paths.json"
    listing.write_text(json.dumps(paths))
    return run_script(env, "benchmarks/profile_paths.py", str(listing))


_COUNT_LOGS = (
    "from quizzes.models import ReviewLog; "
    "print(ReviewLog.objects.filter(user__username__startswith='bench-learner').count())"
)


if __name__ == "__main__":
    main()
