"""S3 PutObject + GetObject with SSE-KMS (1 KiB) through boto3: the sandbox's S3 endpoint
against moto's server, in one run.

    .venv/bin/python benchmarks/s3_endpoint_bench.py [--seconds 5] [--clients 4] [--rounds 3]

Each round, ``--clients`` processes each put and get 1 KiB objects under SSE-KMS with a KMS key
of their target, in a loop, for ``--seconds``; one "operation" is a PutObject and the GetObject
of the same object (so the sandbox makes a KMS GenerateDataKey and a KMS Decrypt, audited, for
each). The targets alternate and the median is reported, with the ratio to moto. Shares the
KMS benchmark's server set-up (gunicorn, a temporary SQLite database, a learner's access keys).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.kms_endpoint_bench import (
    children_of,
    cpu_seconds,
    django_env,
    free_port,
    kms_client,
    prepare_learner,
    run_clients,
    start_moto,
    start_sandbox,
    stop,
    wait_for,
)

TARGET_RATIO = 2.0
BODY = b"s" * 1024


def s3_client(url: str, access_key: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _client_loop(s3_url: str, auth: tuple[str, str], key_arn: str, bucket: str, seconds, queue):
    client = s3_client(s3_url, *auth)
    name = f"bench-{os.getpid()}"

    def once(number: int) -> None:
        key = f"{name}/{number % 50}"
        client.put_object(
            Bucket=bucket, Key=key, Body=BODY, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
        )
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == BODY

    for number in range(3):
        once(number)
    done = 0
    started_cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        once(done)
        done += 1
    queue.put((done, time.process_time() - started_cpu))


def prepare_target(kms_url: str, s3_url: str, auth: tuple[str, str]) -> tuple[str, str]:
    key_arn = kms_client(kms_url, *auth).create_key(Description="s3 bench")["KeyMetadata"]["Arn"]
    s3_client(s3_url, *auth).create_bucket(Bucket="bench-bucket")
    return key_arn, "bench-bucket"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="gunicorn sync workers"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="s3-bench-"))
    env = django_env(workdir, None)
    processes = []
    try:
        print("Preparing: migrate, a learner, sandbox access keys ...", flush=True)
        credentials = prepare_learner(env)
        sandbox_port, moto_port = free_port(), free_port()
        processes += [
            start_sandbox(env, args.workers, args.threads, sandbox_port),
            start_moto(moto_port),
        ]
        wait_for(f"http://127.0.0.1:{sandbox_port}/healthz")
        wait_for(f"http://127.0.0.1:{moto_port}/moto-api/")
        base = f"http://127.0.0.1:{sandbox_port}"
        sandbox_auth = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
        moto_url = f"http://127.0.0.1:{moto_port}"
        targets = {
            "sandbox": (base + "/sandbox/s3", sandbox_auth, base + "/sandbox/kms/"),
            "moto": (moto_url, ("testing", "testing"), moto_url),
        }
        prepared = {
            name: prepare_target(kms_url, s3_url, auth)
            for name, (s3_url, auth, kms_url) in targets.items()
        }
        rates: dict[str, list[float]] = {name: [] for name in targets}
        # CPU milliseconds per put+get: the server's processes (from /proc), and the clients'.
        server_pids = dict(zip(targets, (children_of(p.pid) for p in processes), strict=True))
        server_ms: dict[str, list[float]] = {name: [] for name in targets}
        client_ms: dict[str, list[float]] = {name: [] for name in targets}
        print(
            f"Measuring: {args.rounds} rounds x {args.seconds:g} s, {args.clients} boto3 client "
            f"processes, PutObject + GetObject of 1 KiB with SSE-KMS, {os.cpu_count()} CPUs.",
            flush=True,
        )
        for round_number in range(1, args.rounds + 1):
            for name, (s3_url, auth, _) in targets.items():
                key_arn, bucket = prepared[name]
                before = cpu_seconds(server_pids[name])
                done, client_cpu = run_clients(
                    _client_loop, (s3_url, auth, key_arn, bucket, args.seconds), args.clients
                )
                after = cpu_seconds(server_pids[name])
                rates[name].append(done / args.seconds)
                client_ms[name].append(client_cpu / done * 1000)
                if before is not None and after is not None:
                    server_ms[name].append((after - before) / done * 1000)
                print(f"  round {round_number}: {name:8} {done / args.seconds:8.1f} put+get/s")
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    sandbox_rate, moto_rate = (statistics.median(rates[name]) for name in ("sandbox", "moto"))
    ratio = sandbox_rate / moto_rate
    print()
    print(f"sandbox S3 (gunicorn, boto3): {sandbox_rate:8.1f} put+get/s")
    print(f"moto server (boto3):          {moto_rate:8.1f} put+get/s")
    verdict = "met" if ratio >= TARGET_RATIO else "not met"
    print(f"sandbox / moto: {ratio:.2f}x (target >= {TARGET_RATIO:g}x: {verdict})")
    print("CPU ms per put+get (median of rounds); the clients share the 2 CPUs with the server:")
    for name in ("sandbox", "moto"):
        server = f"{statistics.median(server_ms[name]):6.2f}" if server_ms[name] else "   n/a"
        print(
            f"  {name:8} server {server}   boto3 clients {statistics.median(client_ms[name]):6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
