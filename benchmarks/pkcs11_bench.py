"""PKCS #11 round trips per second: the sandbox cluster through p11-kit against SoftHSM2.

    .venv/bin/python benchmarks/pkcs11_bench.py [--seconds 5] [--rounds 3]

One run measures, with the same binding (python-pkcs11) and the same single-threaded loop:

* **sandbox**: python-pkcs11 -> Debian's p11-kit-client.so -> ``manage.py hsm_client`` (the
  CloudHSM client library) -> HTTP with SigV4 -> the app under gunicorn on a temporary SQLite
  database -> the account's row lock, the engine and the HSM audit log: the whole path a
  learner's PKCS #11 application takes;
* **softhsm**: python-pkcs11 -> SoftHSM2's libsofthsm2.so, in process, on a temporary token;
* **direct**: python-pkcs11 -> p11-kit-client.so -> the same client library, with the engine
  in that process on memory storage (no HTTP, no database): what the protocol and the library
  cost, separated from the per-call HTTP request, SigV4 and database transaction.

Operations: C_Sign with CKM_SHA256_RSA_PKCS (RSA-2048, 32 bytes of data), C_Encrypt with
CKM_AES_GCM (1 KiB), and, because p11-kit 0.24's client cannot carry CKM_AES_GCM (it
serializes no GCM parameters), C_Sign with CKM_SHA256_HMAC over 1 KiB as the symmetric
round trip it can carry. Each target runs ``--rounds`` times, interleaved; medians are
reported with the ratio sandbox / softhsm. A script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.kms_endpoint_bench import (
    PYTHON,
    ROOT,
    django_env,
    free_port,
    manage,
    prepare_learner,
    start_sandbox,
    stop,
    wait_for,
)

CLIENT_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
)
TARGETS = {"rsa-2048 sign": 0.5, "aes-gcm 1 KiB encrypt": 0.2}
ALICE = "alice:alice-pass-1"
SETUP = """
from django.contrib.auth import get_user_model
from sandbox.services import sandbox_for
from tests.sandbox.conftest import build_active_cluster
account = sandbox_for(get_user_model().objects.get(username="bench-learner"))
print(build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b")))
"""


def rate(operation: Callable[[], Any], seconds: float) -> float:
    operation()  # warm up (and fail early)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        operation()
        done += 1
    return done / (time.perf_counter() - start)


def operations(session: Any) -> dict[str, Callable[[], Any] | str]:
    """The three loops on one logged-in session; a string says why one cannot run."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism

    _public, private = session.generate_keypair(KeyType.RSA, 2048, store=False)
    aes = session.generate_key(KeyType.AES, 256, store=False)
    hmac_key = session.create_object(
        {
            Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
            Attribute.VALUE: os.urandom(32),
            Attribute.TOKEN: False,
            Attribute.SIGN: True,
        }
    )
    data, block = b"d" * 32, b"k" * 1024
    from pkcs11.mechanisms import GCMParams

    def gcm() -> bytes:
        param = GCMParams(os.urandom(12), None, 128)
        result: bytes = aes.encrypt(block, mechanism=Mechanism.AES_GCM, mechanism_param=param)
        return result

    found: dict[str, Callable[[], Any] | str] = {
        "rsa-2048 sign": lambda: private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS),
        "hmac-sha256 1 KiB sign": lambda: hmac_key.sign(block, mechanism=Mechanism.SHA256_HMAC),
    }
    try:
        gcm()
        found["aes-gcm 1 KiB encrypt"] = gcm
    except pkcs11.exceptions.MechanismInvalid:
        found["aes-gcm 1 KiB encrypt"] = "refused by the p11-kit 0.24 client (no GCM parameters)"
    return found


def softhsm_session(workdir: Path) -> Any:
    import pkcs11

    module = next(path for path in SOFTHSM_MODULES if Path(path).exists())
    (workdir / "tokens").mkdir()
    config = workdir / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {workdir / 'tokens'}\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(config)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "bench",
            "--so-pin",
            "12345678",
            "--pin",
            "87654321",
        ],
        check=True,
        capture_output=True,
    )
    token = pkcs11.lib(module).get_token(token_label="bench")
    return token.open(rw=True, user_pin="87654321")


def sandbox_session(port: int, cluster_id: str, keys: dict[str, str]) -> Any:
    import pkcs11

    os.environ.update(
        AWS_ACCESS_KEY_ID=keys["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=keys["SecretAccessKey"],
        AWS_REGION=keys["Region"],
        P11_KIT_SERVER_ADDRESS=(
            f"|{PYTHON} -m emulator.cloudhsm.pkcs11 --cluster {cluster_id} "
            f"--endpoint http://127.0.0.1:{port}/sandbox/cloudhsm/client/"
        ),
        PYTHONPATH=str(ROOT),
    )
    return pkcs11.lib(CLIENT_MODULE).get_token().open(rw=True, user_pin=ALICE)


def direct_session(workdir: Path) -> Any:
    import pkcs11

    # p11-kit reads the address when the module is loaded: a copy is a second instance.
    module = workdir / "p11-kit-client-direct.so"
    shutil.copyfile(CLIENT_MODULE, module)
    os.environ["P11_KIT_SERVER_ADDRESS"] = f"|{PYTHON} -m tests.emulator.pkcs11.direct_server"
    return pkcs11.lib(str(module)).get_token().open(rw=True, user_pin=ALICE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not Path(CLIENT_MODULE).exists() or not shutil.which("softhsm2-util"):
        print("Needs p11-kit-client.so and SoftHSM2: run scripts/install-pkcs11-tools.sh")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="pkcs11-bench-"))
    env = django_env(workdir, None)
    env["SANDBOX_HSM_RATE_LIMIT"] = "1000000000"
    # Plain HTTP on loopback: the client's calls carry PINs, so production insists on HTTPS.
    env["SECURE_SSL_REDIRECT"] = "0"
    server = None
    try:
        print("Preparing: migrate, a learner with an ACTIVE cluster, an access key ...", flush=True)
        keys = prepare_learner(env)
        cluster_id = manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]
        port = free_port()
        # Sync workers, as the README deploys it (gthread adds latency for a lone client).
        server = start_sandbox(env, workers=2, threads=1, port=port)
        wait_for(f"http://127.0.0.1:{port}/healthz")
        print(f"Cluster {cluster_id}; server on port {port}.", flush=True)
        sandbox = operations(sandbox_session(port, cluster_id, keys))
        loops = {
            "sandbox": sandbox,
            "softhsm": operations(softhsm_session(workdir)),
            "direct": operations(direct_session(workdir)),
        }
        names = list(loops["softhsm"])
        rates: dict[tuple[str, str], list[float]] = {}
        print(f"Measuring: {args.rounds} rounds x {args.seconds:g} s per operation and target.")
        for _ in range(args.rounds):
            for name in names:
                for target, table in loops.items():
                    loop = table[name]
                    if callable(loop):
                        rates.setdefault((target, name), []).append(rate(loop, args.seconds))
        print(
            f"\n{'operation':<26}{'sandbox/s':>12}{'softhsm/s':>12}{'ratio':>9}{'target':>9}"
            f"{'direct/s':>11}{'direct ratio':>14}"
        )
        for name in names:
            soft = statistics.median(rates[("softhsm", name)])
            ours = loops["sandbox"][name]
            target = TARGETS.get(name)
            wanted = f">= {target}" if target else "-"
            if isinstance(ours, str):
                print(f"{name:<26}{'n/a':>12}{soft:>12.0f}{'n/a':>9}{wanted:>9}  {ours}")
                continue
            mine = statistics.median(rates[("sandbox", name)])
            direct = statistics.median(rates[("direct", name)])
            print(
                f"{name:<26}{mine:>12.0f}{soft:>12.0f}{mine / soft:>9.3f}{wanted:>9}"
                f"{direct:>11.0f}{direct / soft:>14.3f}"
            )
        print(
            "\nThe sandbox path is one HTTP request per C_Sign / C_Encrypt (C_*Init and the "
            "size query are answered by the client library); SoftHSM2 runs in process."
        )
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
