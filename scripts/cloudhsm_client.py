"""The CloudHSM client for PKCS #11 applications, without Django: what p11-kit spawns.

    P11_KIT_SERVER_ADDRESS="|.venv/bin/python scripts/cloudhsm_client.py --cluster cluster-... \\
        --endpoint http://127.0.0.1:8000/sandbox/cloudhsm/client/"

Same as ``python manage.py hsm_client``; needs only the engine package and botocore.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator.cloudhsm.pkcs11.bridge import main

if __name__ == "__main__":
    sys.exit(main())
