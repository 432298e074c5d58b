"""A real PKCS #11 application against the learner's sandbox cluster, through the live test
server: python-pkcs11 loads Debian's p11-kit-client.so, which spawns ``manage.py hsm_client``,
which reaches the cluster over the sandbox's HSM endpoint with the learner's access key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox.models import SandboxEvent
from sandbox.services import access_key_create
from tests.emulator.pkcs11.p11kit import (
    client_module,
    connect,
    disconnect,
    lab_9_commands,
    shell_in,
)
from tests.sandbox.conftest import ALICE_PASSWORD, build_active_cluster, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.softhsm]

ROOT = Path(__file__).resolve().parents[2]
PIN = f"alice:{ALICE_PASSWORD}"


def bridge_address(live_server, cluster_id: str, *, script: bool = False) -> str:
    """``manage.py hsm_client``, or (``script``) the Django-free script lab 9 shows."""
    endpoint = live_server.url + "/sandbox/cloudhsm/client/"
    program = (
        ROOT / "scripts" / "cloudhsm_client.py" if script else f"{ROOT / 'manage.py'} hsm_client"
    )
    return f"|{sys.executable} {program} --cluster {cluster_id} --endpoint {endpoint}"


@pytest.fixture
def aws_environment(monkeypatch):
    def use(access_key_id: str, secret: str) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.setenv("AWS_REGION", "us-east-1")

    return use


@pytest.fixture
def cluster_id(account):
    return build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b"))


@pytest.fixture
def token(live_server, credentials, cluster_id, aws_environment):
    aws_environment(*credentials)
    library = connect(bridge_address(live_server, cluster_id))
    try:
        yield library.get_token()
    finally:
        disconnect()
        import threading
        import time

        print("THREADS", [t.name for t in threading.enumerate()])
        time.sleep(2)
        print("THREADS", [t.name for t in threading.enumerate()])


def test_the_slot_and_token_are_the_learners_cluster(token, cluster_id):
    import pkcs11

    assert token.label == cluster_id
    assert token.manufacturer_id.startswith("Amazon Web Services")
    assert pkcs11.TokenFlag.LOGIN_REQUIRED in token.flags
    assert pkcs11.TokenFlag.USER_PIN_INITIALIZED in token.flags
    mechanisms = set(token.slot.get_mechanisms())
    assert {pkcs11.Mechanism.AES_KEY_GEN, pkcs11.Mechanism.SHA256_RSA_PKCS} <= mechanisms


def test_login_errors_and_logout(token):
    import pkcs11

    with pytest.raises(pkcs11.exceptions.PinIncorrect):
        token.open(user_pin="alice:wrong-password")
    with pytest.raises(pkcs11.exceptions.PinIncorrect):
        token.open(user_pin="no-colon-here")
    with token.open(rw=True) as anonymous, pytest.raises(pkcs11.exceptions.UserNotLoggedIn):
        anonymous.generate_key(pkcs11.KeyType.AES, 256)
    with token.open(rw=True, user_pin=PIN) as session:
        assert session.generate_key(pkcs11.KeyType.AES, 128).key_length == 128
    with token.open(rw=True) as after, pytest.raises(pkcs11.exceptions.UserNotLoggedIn):
        after.generate_key(pkcs11.KeyType.AES, 256)


def test_keys_made_through_pkcs11_are_the_consoles_keys(token, account, client, learner):
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

    with token.open(rw=True, user_pin=PIN) as session:
        session.generate_key(KeyType.AES, 256, label="from-pkcs11", store=True)
        found = list(session.get_objects({Attribute.LABEL: "from-pkcs11"}))
        assert [key.object_class for key in found] == [ObjectClass.SECRET_KEY]
        public, private = session.generate_keypair(KeyType.RSA, 2048, label="p11-rsa", store=True)
        signature = private.sign(b"release notes", mechanism=Mechanism.SHA256_RSA_PKCS)
        assert public.verify(b"release notes", signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        assert not public.verify(b"release nots", signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        # The signature verifies offline with the public key read through PKCS #11.
        modulus = int.from_bytes(public[Attribute.MODULUS], "big")
        exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        from cryptography.hazmat.primitives.asymmetric import rsa

        offline = rsa.RSAPublicNumbers(exponent, modulus).public_key()
        offline.verify(signature, b"release notes", padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            _ = private[Attribute.PRIVATE_EXPONENT]

    listed = run(account, f"login --username alice --role crypto-user --password {ALICE_PASSWORD}")
    listed = run(account, "key list --filter attr.label=from-pkcs11")
    assert "from-pkcs11" in listed.output
    run(account, "logout")
    operations = set(
        SandboxEvent.objects.filter(account=account, log="hsm").values_list("operation", flat=True)
    )
    assert {"KeyGenerateSymmetric", "KeyGenerateAsymmetricPair", "Sign"} <= operations
    # lab5-key from the console, and the three made here, in the architecture view
    client.force_login(learner)
    assert "4 token keys" in client.get("/sandbox/").content.decode()


def test_a_console_key_is_usable_through_pkcs11(token, account):
    from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass

    run(account, f"login --username alice --role crypto-user --password {ALICE_PASSWORD}")
    run(
        account,
        "key generate-asymmetric-pair ec --public-label cli-ec-pub --private-label cli-ec "
        "--curve secp256r1 --private-attributes sign=true --public-attributes verify=true",
    )
    run(account, "logout")
    with token.open(rw=True, user_pin=PIN) as session:
        private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC, label="cli-ec")
        public = session.get_key(ObjectClass.PUBLIC_KEY, KeyType.EC, label="cli-ec-pub")
        digest = session.digest(b"firmware image", mechanism=Mechanism.SHA256)
        signature = private.sign(digest, mechanism=Mechanism.ECDSA)
        assert public.verify(digest, signature, mechanism=Mechanism.ECDSA)
        # lab5-key, the console's AES key, leaves the HSM only wrapped (RSA-OAEP) and comes
        # back as a new key with the same value.
        wrap_pub, wrap_priv = session.generate_keypair(
            KeyType.RSA,
            2048,
            public_template={Attribute.WRAP: True, Attribute.ENCRYPT: True},
            private_template={Attribute.UNWRAP: True, Attribute.DECRYPT: True},
        )
        lab_key = session.get_key(ObjectClass.SECRET_KEY, KeyType.AES, label="lab5-key")
        oaep = (Mechanism.SHA256, MGF.SHA256, None)
        blob = wrap_pub.wrap_key(lab_key, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep)
        copy = wrap_priv.unwrap_key(
            ObjectClass.SECRET_KEY,
            KeyType.AES,
            blob,
            mechanism=Mechanism.RSA_PKCS_OAEP,
            mechanism_param=oaep,
            label="lab5-copy",
            template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
        )
        assert copy[Attribute.CHECK_VALUE] == lab_key[Attribute.CHECK_VALUE]
        ciphertext = wrap_pub.encrypt(
            b"a data key", mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep
        )
        assert (
            wrap_priv.decrypt(ciphertext, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep)
            == b"a data key"
        )
        copy.destroy()
        assert list(session.get_objects({Attribute.LABEL: "lab5-copy"})) == []


def test_another_learners_cluster_is_not_reachable(
    live_server, cluster_id, other_account, aws_environment
):
    import pkcs11

    key, secret = access_key_create(account=other_account)
    aws_environment(key.access_key_id, secret)
    library = connect(bridge_address(live_server, cluster_id))
    try:
        (slot,) = library.get_slots()
        with pytest.raises(pkcs11.exceptions.TokenNotPresent):
            slot.get_token()
    finally:
        disconnect()


def test_lab_9_with_pkcs11_tool_and_openssl(
    live_server, client, learner, account, credentials, cluster_id, tmp_path
):
    """Lab 9 end to end: the page shows this cluster's setup; pkcs11-tool lists the slot,
    logs in, makes a key pair and signs; openssl verifies offline; the grader agrees."""
    from sandbox.labs import grade, lab_by_slug, lab_state
    from sandbox.services import file_save

    lab = lab_by_slug("cloudhsm-client-pkcs11")
    assert not grade(lab, lab_state(account=account)).passed_slugs
    client.force_login(learner)
    page = client.get(f"/sandbox/labs/{lab.slug}/").content.decode()
    assert f"cloudhsm_client.py --cluster {cluster_id}" in page and credentials[0] in page
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials[0],
        "AWS_SECRET_ACCESS_KEY": credentials[1],
        "AWS_REGION": "us-east-1",
        "P11_KIT_SERVER_ADDRESS": bridge_address(live_server, cluster_id, script=True),
        "MODULE": client_module(),
    }

    shell = shell_in(env, tmp_path)
    lab_9_commands(shell, cluster_id, PIN)
    # OpenSSL's own PKCS #11 support (libp11's engine) signs with the same HSM key.
    pin = PIN.replace(":", "%3A")
    shell(
        "PKCS11_MODULE_PATH=$MODULE openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "
        f"'pkcs11:object=release-signer;type=private;pin-value={pin}' -out by-openssl.sig "
        "release.txt"
    )
    assert "Verified OK" in shell(
        "openssl dgst -sha256 -verify signer.pem -signature by-openssl.sig release.txt"
    )
    graded = grade(lab, lab_state(account=account))
    assert graded.passed_slugs == ["connect", "login", "keypair", "sign"]
    for name in ("release.txt", "release.txt.sig"):
        file_save(account=account, name=name, content=(tmp_path / name).read_bytes())
    assert grade(lab, lab_state(account=account)).complete
    file_save(account=account, name="release.txt", content=b"version 1.1\n")
    check = grade(lab, lab_state(account=account)).results[-1].check
    assert not check.passed and "does not verify" in check.detail


def test_an_unreachable_or_refusing_endpoint_is_explained_on_stderr(
    live_server, credentials, cluster_id
):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials[0],
        "AWS_SECRET_ACCESS_KEY": "not-the-secret",
        "AWS_REGION": "us-east-1",
        "P11_KIT_SERVER_ADDRESS": bridge_address(live_server, cluster_id, script=True),
    }

    def list_token_slots() -> str:
        done = subprocess.run(
            ["pkcs11-tool", "--module", client_module(), "--list-token-slots"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stderr

    assert "refused the call: InvalidSignatureException" in list_token_slots()
    env["P11_KIT_SERVER_ADDRESS"] = env["P11_KIT_SERVER_ADDRESS"].replace(
        live_server.url, "http://127.0.0.1:9"
    )
    assert "cannot reach the HSMs at http://127.0.0.1:9" in list_token_slots()
