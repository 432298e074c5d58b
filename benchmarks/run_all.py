"""`make bench`: every benchmark, one after another, each printing ratios to its own baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "lessons_bench.py",
    "signed_in_bench.py",
    "mixed_load_bench.py",
    "review_bench.py",
    "engine_kms.py",
    "engine_hsm.py",
    "kms_endpoint_bench.py",
    "s3_endpoint_bench.py",
    "pkcs11_bench.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n### {name}", flush=True)
        result = subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nBenchmarks that could not run: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
