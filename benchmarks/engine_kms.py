"""Engine KMS Encrypt+Decrypt of 1 KB against raw AES-GCM, measured in one run.

Run: ``python benchmarks/engine_kms.py``. Prints pairs per second for both, their ratio
(medians of several interleaved rounds, so a busy machine slows both alike) and whether the
ratio meets the target. Not an assertion: the ratio is what to watch.

Baseline: what any AES-GCM service does per pair, with the AESGCM object already built: a
fresh 12-byte nonce, encrypt 1 KB with the encryption context as associated data, decrypt.
Engine: ``kms.encrypt`` + ``kms.decrypt`` of 1 KB with an encryption context on a symmetric
key, as the account root, over ``MemoryStorage``: tick, validation, key lookup, key policy
evaluation, the blob format and two audit records per pair.

A second, informational engine line runs the same pairs over a ``Storage`` that copies
records with a JSON-specific copier instead of ``copy.deepcopy`` (what ``MemoryStorage`` in
``emulator/core.py`` does); it shows how much of the engine's time is storage copying.

A third, informational line builds a fresh ``Kms`` for every call over one shared
``MemoryStorage`` and ``Sealer``, as the sandbox app does per HTTP request: no per-object
memo survives from one call to the next (key material is unsealed on every call).
"""

from __future__ import annotations

import builtins
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.core import Host, MemoryStorage, Sealer, Storage, SystemClock, SystemRandom
from emulator.kms import Kms

TARGET_RATIO = 0.10
ROUNDS = 9
PAIRS_PER_ROUND = 1500
ROOT = "arn:aws:iam::111122223333:root"
PLAINTEXT = os.urandom(1024)
CONTEXT = {"purpose": "benchmark", "tenant": "t-1"}
CONTEXT_BYTES = b'{"purpose":"benchmark","tenant":"t-1"}'

Pair = Callable[[], None]


def _json_copy(value: Any) -> Any:
    if type(value) is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_json_copy(item) for item in value]
    return value


class JsonCopyStorage:
    """``MemoryStorage`` semantics (records returned as copies) with a faster copy."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        record = self._objects.get(kind, {}).get(object_id)
        return _json_copy(record) if record is not None else None

    def put(self, kind: str, object_id: str, data: dict[str, Any]) -> None:
        self._objects.setdefault(kind, {})[object_id] = _json_copy(data)

    def delete(self, kind: str, object_id: str) -> None:
        self._objects.get(kind, {}).pop(object_id, None)

    def list(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        items = self._objects.get(kind, {})
        return [(key, _json_copy(items[key])) for key in sorted(items)]

    def append_event(self, log: str, event: dict[str, Any]) -> None:
        self._events.setdefault(log, []).append(_json_copy(event))

    def events(self, log: str) -> builtins.list[dict[str, Any]]:
        # builtins.list: inside this class "list" names the method above.
        copied: builtins.list[dict[str, Any]] = _json_copy(self._events.get(log, []))
        return copied


def raw_pair() -> Pair:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def pair() -> None:
        nonce = os.urandom(12)
        blob = aead.encrypt(nonce, PLAINTEXT, CONTEXT_BYTES)
        if aead.decrypt(nonce, blob, CONTEXT_BYTES) != PLAINTEXT:
            raise AssertionError("raw AES-GCM round trip failed")

    return pair


def engine_pair(storage: Storage) -> Pair:
    kms = Kms(Host(storage, SystemClock(), SystemRandom(), Sealer(os.urandom(32))))
    key_id = kms.create_key(ROOT)["KeyMetadata"]["KeyId"]
    encrypt = {"KeyId": key_id, "Plaintext": PLAINTEXT, "EncryptionContext": CONTEXT}

    def pair() -> None:
        blob = kms.encrypt(ROOT, encrypt)["CiphertextBlob"]
        result = kms.decrypt(ROOT, {"CiphertextBlob": blob, "EncryptionContext": CONTEXT})
        if result["Plaintext"] != PLAINTEXT:
            raise AssertionError("engine round trip failed")

    return pair


def fresh_engine_pair(storage: Storage) -> Pair:
    clock, random, sealer = SystemClock(), SystemRandom(), Sealer(os.urandom(32))
    key_id = Kms(Host(storage, clock, random, sealer)).create_key(ROOT)["KeyMetadata"]["KeyId"]
    encrypt = {"KeyId": key_id, "Plaintext": PLAINTEXT, "EncryptionContext": CONTEXT}

    def pair() -> None:
        blob = Kms(Host(storage, clock, random, sealer)).encrypt(ROOT, encrypt)["CiphertextBlob"]
        decrypt = {"CiphertextBlob": blob, "EncryptionContext": CONTEXT}
        result = Kms(Host(storage, clock, random, sealer)).decrypt(ROOT, decrypt)
        if result["Plaintext"] != PLAINTEXT:
            raise AssertionError("engine round trip failed")

    return pair


def rate(pair: Pair, count: int) -> float:
    # CPU time of this process, not wall time: on a shared machine other processes' load
    # would otherwise land on whichever side happened to be running.
    start = time.process_time()
    for _ in range(count):
        pair()
    return count / (time.process_time() - start)


def main() -> None:
    pairs = {
        "raw": raw_pair(),
        "engine": engine_pair(MemoryStorage()),
        "engine_json_copy": engine_pair(JsonCopyStorage()),
        "engine_fresh": fresh_engine_pair(MemoryStorage()),
    }
    rates: dict[str, list[float]] = {name: [] for name in pairs}
    for pair in pairs.values():
        rate(pair, PAIRS_PER_ROUND // 10)  # warm up caches and allocators
    for _ in range(ROUNDS):
        for name, pair in pairs.items():
            # The raw pair is ~50x faster: run it longer so each round lasts about as long.
            rates[name].append(rate(pair, PAIRS_PER_ROUND * (20 if name == "raw" else 1)))
    median = {name: statistics.median(values) for name, values in rates.items()}
    ratio = median["engine"] / median["raw"]
    print("KMS engine benchmark: Encrypt+Decrypt of 1 KB with an encryption context")
    print(f"  raw cryptography AESGCM           : {median['raw']:>10,.0f} pairs/s")
    print(f"  engine Kms over MemoryStorage     : {median['engine']:>10,.0f} pairs/s")
    print(f"  ratio engine/raw (median of {ROUNDS})   : {ratio:>10.3f}")
    print(
        f"  target ratio >= {TARGET_RATIO:.2f}              : {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
    )
    print(
        f"  (info) engine over a JSON-copy Storage: {median['engine_json_copy']:,.0f} pairs/s, "
        f"ratio {median['engine_json_copy'] / median['raw']:.3f}"
    )
    print(
        f"  (info) fresh Kms per call (sandbox-style): {median['engine_fresh']:,.0f} pairs/s, "
        f"ratio {median['engine_fresh'] / median['raw']:.3f}"
    )


if __name__ == "__main__":
    main()
