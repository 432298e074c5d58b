"""Loading Debian's p11-kit-client.so with python-pkcs11 against a server of our choosing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CLIENT_MODULES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
)


def client_module() -> str:
    for candidate in CLIENT_MODULES:
        if Path(candidate).exists():
            return candidate
    pytest.fail(
        "p11-kit-client.so is missing: run scripts/install-pkcs11-tools.sh (as root)",
        pytrace=False,
    )


def connect(address: str) -> Any:
    """python-pkcs11's library object over p11-kit-client.so, loaded afresh so that the client
    spawns ``address`` (``|command ...``): p11-kit reads P11_KIT_SERVER_ADDRESS in
    C_GetFunctionList, so the module is unloaded and loaded again."""
    import pkcs11

    module = client_module()
    os.environ["P11_KIT_SERVER_ADDRESS"] = address
    pkcs11.unload(module)
    return pkcs11.lib(module)


def disconnect() -> None:
    import pkcs11

    pkcs11.unload(client_module())
    os.environ.pop("P11_KIT_SERVER_ADDRESS", None)
