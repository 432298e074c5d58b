"""Loading Debian's p11-kit-client.so with python-pkcs11 against a server of our choosing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
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


def shell_in(env: dict[str, str], cwd: Path) -> Callable[[str], str]:
    """A shell line runner in ``cwd`` with ``env``; a failing line fails the test."""

    def shell(line: str) -> str:
        done = subprocess.run(
            line, shell=True, env=env, cwd=cwd, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    return shell


def lab_9_commands(shell: Callable[[str], str], cluster_id: str, pin: str) -> None:
    """Lab 9's steps as a learner types them ($MODULE set): list the slot, log in, make a key
    pair, sign release.txt, and verify the signature offline with openssl."""
    tool = "pkcs11-tool --module $MODULE"
    login = f"{tool} --login --pin {pin}"
    assert cluster_id in shell(f"{tool} --list-slots")
    shell(f"{tool} --list-objects")
    shell(f"{login} --list-objects")
    shell(f"{login} --keypairgen --key-type rsa:2048 --label release-signer --id 09")
    shell("echo 'version 1.0' > release.txt")
    shell(
        f"{login} --sign --id 09 --mechanism SHA256-RSA-PKCS --input-file release.txt "
        "--output-file release.txt.sig"
    )
    shell(f"{tool} --read-object --type pubkey --id 09 --output-file signer.der")
    shell("openssl pkey -pubin -inform DER -in signer.der -out signer.pem")
    assert "Verified OK" in shell(
        "openssl dgst -sha256 -verify signer.pem -signature release.txt.sig release.txt"
    )
