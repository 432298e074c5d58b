"""Engine KMS Encrypt+Decrypt of 1 KB against raw AES-GCM, in one run.

Run: ``python benchmarks/engine_kms.py``. Prints pairs per second for both, their ratio
(median of several rounds each) and whether the ratio meets the target. Not an assertion:
the numbers depend on the machine; the ratio is what to watch.

The baseline is what any AES-GCM service must do per pair: a fresh 12-byte nonce, encrypt
1 KB with 30 bytes of associated data, decrypt it, with the AESGCM object already built. The
engine pair is ``kms.encrypt`` + ``kms.decrypt`` on a symmetric key with an encryption
context, over ``MemoryStorage``, as the root principal: validation, tick, key lookup, key
policy evaluation, sealing format, audit records and all.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from emulator.core import MemoryStorage, Sealer, SystemClock, SystemRandom  # noqa: E402
from emulator.kms import Kms  # noqa: E402

TARGET_RATIO = 0.10
ROUNDS = 7
PAIRS_PER_ROUND = 2000
ROOT = "arn:aws:iam::111122223333:root"
PLAINTEXT = os.urandom(1024)
CONTEXT = {"purpose": "benchmark", "tenant": "t-1"}


def pairs_per_second(pair: Callable[[], None]) -> float:
    """Median rate over ROUNDS rounds of PAIRS_PER_ROUND pairs (after a warm-up round)."""
    for _ in range(PAIRS_PER_ROUND // 10):
        pair()
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(PAIRS_PER_ROUND):
            pair()
        rates.append(PAIRS_PER_ROUND / (time.perf_counter() - start))
    return statistics.median(rates)


def raw_pair_factory() -> Callable[[], None]:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    aad = b'{"purpose":"benchmark","tenant":"t-1"}'

    def pair() -> None:
        nonce = os.urandom(12)
        blob = aead.encrypt(nonce, PLAINTEXT, aad)
        if aead.decrypt(nonce, blob, aad) != PLAINTEXT:
            raise AssertionError("raw AES-GCM round trip failed")

    return pair


def engine_pair_factory() -> tuple[Callable[[], None], MemoryStorage]:
    storage = MemoryStorage()
    kms = Kms(storage, SystemClock(), SystemRandom(), Sealer(os.urandom(32)))
    key_id = kms.create_key(ROOT)["KeyMetadata"]["KeyId"]

    def pair() -> None:
        blob = kms.encrypt(
            ROOT, {"KeyId": key_id, "Plaintext": PLAINTEXT, "EncryptionContext": CONTEXT}
        )["CiphertextBlob"]
        result = kms.decrypt(ROOT, {"CiphertextBlob": blob, "EncryptionContext": CONTEXT})
        if result["Plaintext"] != PLAINTEXT:
            raise AssertionError("engine round trip failed")

    return pair, storage


def main() -> None:
    raw = pairs_per_second(raw_pair_factory())
    engine_pair, storage = engine_pair_factory()
    engine = pairs_per_second(engine_pair)
    ratio = engine / raw
    print("KMS engine benchmark: Encrypt+Decrypt of 1 KB with an encryption context")
    print(f"  raw cryptography AESGCM : {raw:12,.0f} pairs/s")
    print(f"  engine Kms (MemoryStorage): {engine:10,.0f} pairs/s")
    print(f"  audit events recorded   : {len(storage.events('kms')):12,}")
    print(f"  ratio engine/raw        : {ratio:12.3f}  (median of {ROUNDS} rounds each)")
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  target ratio >= {TARGET_RATIO:.2f}   : {verdict}")


if __name__ == "__main__":
    main()
