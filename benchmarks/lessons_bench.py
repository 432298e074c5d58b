"""Lesson page throughput against the /ping ceiling, under gunicorn, loaded with wrk."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadtest import gunicorn, median_of, prepared_database, report, wrk


def main() -> None:
    with prepared_database() as env, gunicorn(env) as base:
        wrk(base + "/lessons/cloudhsm-vs-kms/", seconds=1)  # warm up
        ceiling = median_of(3, lambda: wrk(base + "/ping"))
        lesson = median_of(3, lambda: wrk(base + "/lessons/cloudhsm-vs-kms/"))
        listing = median_of(3, lambda: wrk(base + "/lessons/"))
    print("== Lessons (gunicorn, 2 workers, wrk 8 connections, median of 3 x 5 s) ==")
    report("ceiling: /ping", ceiling, ceiling, 1.0)
    report("lesson page", lesson, ceiling, 0.5)
    report("lesson list", listing, ceiling, 0.5)


if __name__ == "__main__":
    main()
