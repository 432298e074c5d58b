"""The conformance scenarios a third time: python-pkcs11 -> Debian's p11-kit-client.so ->
the p11-kit RPC protocol -> our server and client library -> the engine.

Each scenario gets a fresh cluster (a new server process). The outcomes must be the
emulator's own, except where p11-kit's client itself refuses a mechanism before sending
anything: p11-kit 0.24 (Debian 12) serializes only mechanisms without parameters plus
RSA-OAEP and RSA-PSS (``p11_rpc_mechanism_is_supported`` in rpc-message.c), so AES-GCM,
AES-CBC-PAD, AES-CTR, the AES key wraps and the hash-and-sign PSS/ECDSA variants answer
CKR_MECHANISM_INVALID from ``proto_write_mechanism``; p11-kit 0.25 and later serialize them.
"""

from __future__ import annotations

import sys

import pytest

from tests.emulator.conformance.hsm_world import PASSWORDS
from tests.emulator.conformance.test_pkcs11_conformance import (
    EXPECTED,
    SCENARIOS,
    SoftHsmToken,
    _run,
)
from tests.emulator.pkcs11.p11kit import connect, disconnect

pytestmark = pytest.mark.softhsm

ADDRESS = f"|{sys.executable} -m tests.emulator.pkcs11.direct_server"
REFUSED = "CKR_MECHANISM_INVALID"
P11KIT_CLIENT_LIMITS = {
    name: REFUSED
    for name in (
        "gcm_tampered_tag",
        "gcm_wrong_aad",
        "wrapped_blob_tampered",
        "cbc_pad_bad_length",
        "cbc_pad_bad_padding",
        "encrypt_attribute_false",
        "wrap_attribute_false",
        "wrap_non_extractable_key",
        "wrap_with_trusted_by_untrusted_key",
        "ecdsa_sha256",
        "kat_aes_gcm",
        "kat_aes_cbc_pad",
        "kat_aes_ctr",
        "kat_aes_key_wrap",
        "kat_aes_key_wrap_pad",
        "kat_aes_key_wrap_pad_of_20_bytes",
        "unwrap_then_use",
    )
}


class P11KitToken(SoftHsmToken):
    name = "p11kit"
    wrong_pin_value = "alice:not-her-password"  # the CloudHSM PIN is username:password


def _outcome(token: P11KitToken, name: str) -> object:
    """The scenario's outcome; a mechanism the client refuses while setting a scenario up
    (before its measured step) is that refusal."""
    import pkcs11

    try:
        return _run(token, name)
    except pkcs11.exceptions.MechanismInvalid:
        return REFUSED


@pytest.fixture
def p11kit_token():
    import pkcs11

    library = connect(ADDRESS)
    try:
        yield P11KitToken(pkcs11, library.get_token(), f"alice:{PASSWORDS['alice']}")
    finally:
        disconnect()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_p11kit_path_gives_the_emulator_outcome(p11kit_token, name):
    outcome = _outcome(p11kit_token, name)
    assert outcome == P11KIT_CLIENT_LIMITS.get(name, EXPECTED[name])


def test_every_client_limit_changes_an_outcome():
    # An entry whose expected outcome is already the refusal would hide nothing: drop it.
    assert all(EXPECTED[name] != REFUSED for name in P11KIT_CLIENT_LIMITS)
