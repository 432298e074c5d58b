"""Throughput of the CloudHSM emulator against raw ``cryptography`` calls, in one run.

Prints medians of several rounds of HSM AES-GCM (1 KB) encryption and RSA-2048 signing through
the engine (a logged-in crypto user, token keys, in-memory storage) as ratios against the same
primitive called directly. The engine's extra work per call: load the session, cluster and key
records, check roles and availability, unseal the key, and append an audit event.

Target: RSA-2048 signing at >= 0.80 of raw (printed, not asserted).

Run: .venv/bin/python benchmarks/engine_hsm.py [--rounds 7] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.cloudhsm import CloudHsm, provision_active_cluster
from emulator.core import Host, ManualClock, MemoryStorage, Sealer, SystemRandom

RSA_TARGET = 0.80
PAYLOAD = os.urandom(1024)
MESSAGE = b"benchmark message to sign" * 4


def ops_per_second(call: Callable[[], object], seconds: float) -> float:
    """Run ``call`` repeatedly for about ``seconds``; return calls per second."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(10):
            call()
        count += 10
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def paired_rates(
    raw: Callable[[], object], engine: Callable[[], object], rounds: int, seconds: float
) -> tuple[float, float, float]:
    """Median raw rate, engine rate and per-round ratio; each round measures both back to back
    so a noisy machine biases both sides alike."""
    raw()
    engine()
    raw_rates, engine_rates, ratios = [], [], []
    for _ in range(rounds):
        raw_rate = ops_per_second(raw, seconds)
        engine_rate = ops_per_second(engine, seconds)
        raw_rates.append(raw_rate)
        engine_rates.append(engine_rate)
        ratios.append(engine_rate / raw_rate)
    return statistics.median(raw_rates), statistics.median(engine_rates), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one round")
    args = parser.parse_args()

    storage, clock = MemoryStorage(), ManualClock()
    hsm = CloudHsm(Host(storage, clock, SystemRandom(), Sealer(os.urandom(32))))
    cluster_id = provision_active_cluster(
        hsm,
        clock.advance,
        clock.now,
        hsm_count=2,
        admin_password="bench-admin-pw",
        crypto_users={"bench": "bench-user-pw"},
    )
    session = hsm.login(cluster_id, "bench", "bench-user-pw")
    aes = hsm.generate_symmetric(
        session, "aes", 32, label="bench-aes", attributes={"encrypt": True, "decrypt": True}
    )
    rsa_key = rsa.generate_private_key(65537, 2048)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = hsm.import_key(
        session, "rsa-private", pem, label="bench-rsa", attributes={"sign": True}
    )
    aes_material = os.urandom(32)
    raw_aead = AESGCM(aes_material)

    def raw_gcm() -> bytes:
        return raw_aead.encrypt(os.urandom(12), PAYLOAD, None)

    def hsm_gcm() -> bytes:
        return hsm.encrypt(session, aes, "CKM_AES_GCM", PAYLOAD)

    def raw_sign() -> bytes:
        return rsa_key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())

    def hsm_sign() -> bytes:
        return hsm.sign(session, signer, "CKM_SHA256_RSA_PKCS", MESSAGE)

    # Sanity: the engine's signature is the same deterministic PKCS#1 v1.5 signature.
    assert hsm_sign() == raw_sign()

    print(f"CloudHSM emulator benchmark: {args.rounds} paired rounds of {args.seconds:.2f}s each")
    print(f"{'operation (medians)':<28}{'raw ops/s':>12}{'engine ops/s':>14}{'ratio':>8}")
    ratios = {}
    for name, raw, engine in (
        ("AES-GCM encrypt (1 KB)", raw_gcm, hsm_gcm),
        ("RSA-2048 sign (PKCS#1 v1.5)", raw_sign, hsm_sign),
    ):
        raw_rate, engine_rate, ratios[name] = paired_rates(raw, engine, args.rounds, args.seconds)
        print(f"{name:<28}{raw_rate:>12,.0f}{engine_rate:>14,.0f}{ratios[name]:>8.2f}")
    rsa_ratio = ratios["RSA-2048 sign (PKCS#1 v1.5)"]
    verdict = "met" if rsa_ratio >= RSA_TARGET else "not met"
    print(f"target: RSA-2048 signing >= {RSA_TARGET:.2f} of raw -> {rsa_ratio:.2f} ({verdict})")
    print("note: AES-GCM on 1 KB takes microseconds raw, so the engine's fixed per-call cost")
    print("      (records, role checks, unsealing, audit) dominates its ratio.")


if __name__ == "__main__":
    main()
