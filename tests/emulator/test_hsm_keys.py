"""Keys as PKCS#11 objects: generation, attributes, sharing, availability and cryptography.

Cross-checks with ``cryptography``: signatures made in the HSM verify with the exported public
key, ciphertext made offline decrypts in the HSM, and wrapped keys unwrap offline.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.cloudhsm import (
    CloudHsm,
    HsmAvailabilityError,
    Pkcs11Error,
    RoleError,
    key_reference,
)
from emulator.cloudhsm import primitives as prim
from emulator.core import SealingError
from tests.emulator.conformance.hsm_world import HsmWorld, make_world

AES_ATTRS = {"encrypt": True, "decrypt": True, "wrap": True, "unwrap": True}
EXPORTABLE = {"sensitive": False, "extractable": True}


@pytest.fixture
def world() -> HsmWorld:
    return make_world(2)


@pytest.fixture
def hsm(world) -> CloudHsm:
    return world.engine()


@pytest.fixture
def alice(world) -> str:
    return world.login("alice")


@pytest.fixture
def bob(world) -> str:
    return world.login("bob")


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def _code(call) -> str:
    with pytest.raises(Pkcs11Error) as error:
        call()
    return error.value.code


def _aes(hsm: CloudHsm, session: str, length: int = 32, **attributes) -> int:
    return hsm.generate_symmetric(
        session,
        "aes",
        length,
        label=attributes.pop("label", "k"),
        attributes={**AES_ATTRS, **attributes},
    )


def _import_aes(hsm: CloudHsm, session: str, material: bytes, **attributes) -> int:
    return hsm.import_key(
        session, "aes", material, label="imported", attributes={**AES_ATTRS, **attributes}
    )


def _rsa_pair(hsm: CloudHsm, session: str, **private) -> tuple[int, int]:
    return hsm.generate_key_pair(
        session,
        "rsa",
        modulus_bits=2048,
        label="rsa",
        public_attributes={"verify": True, "encrypt": True, "wrap": True},
        private_attributes={"sign": True, "decrypt": True, "unwrap": True, **private},
    )


def _public(hsm: CloudHsm, session: str, handle: int):
    return serialization.load_pem_public_key(hsm.get_public_key_pem(session, handle).encode())


# --- generation and defaults ---------------------------------------------------------------------


@pytest.mark.parametrize("length", [16, 24, 32])
def test_aes_keys_get_cloudhsm_cli_defaults(hsm, alice, length):
    handle = hsm.generate_symmetric(alice, "aes", length, label="defaults")
    view = hsm.describe_key(alice, handle)
    attributes = view["attributes"]
    assert view["key-reference"] == key_reference(handle)
    assert attributes["key-type"] == "aes" and attributes["class"] == "secret-key"
    assert attributes["key-length-bytes"] == length
    assert attributes["label"] == "defaults"
    assert attributes["token"] is True
    assert attributes["extractable"] is True  # CloudHSM CLI default; SoftHSM2 differs
    assert attributes["sensitive"] is True
    assert attributes["private"] is True
    assert attributes["local"] is True
    assert attributes["always-sensitive"] is True
    assert attributes["never-extractable"] is False
    assert attributes["encrypt"] is False and attributes["decrypt"] is False
    assert attributes["sign"] is True and attributes["verify"] is True
    assert attributes["wrap"] is False and attributes["unwrap"] is False
    assert attributes["trusted"] is False and attributes["wrap-with-trusted"] is False
    assert attributes["modifiable"] is True and attributes["destroyable"] is True
    assert attributes["check-value"].startswith("0x") and len(attributes["check-value"]) == 8
    info = view["key-info"]
    assert info["key-owners"] == [{"username": "alice", "key-coverage": "full"}]
    assert info["shared-users"] == [] and info["cluster-coverage"] == "full"


def test_the_check_value_is_the_aes_kcv(hsm, alice):
    handle = _import_aes(hsm, alice, bytes(16))
    assert hsm.get_attribute(alice, handle, "check-value") == "0x66e94b"
    assert hsm.get_attribute(alice, handle, "local") is False
    assert hsm.get_attribute(alice, handle, "always-sensitive") is False


@pytest.mark.parametrize(
    ("key_type", "length", "code"),
    [
        ("aes", 7, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ("aes", 20, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ("generic-secret", 0, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ("generic-secret", 801, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ("des3", 24, "CKR_KEY_TYPE_INCONSISTENT"),
    ],
)
def test_symmetric_key_sizes_are_checked(hsm, alice, key_type, length, code):
    assert _code(lambda: hsm.generate_symmetric(alice, key_type, length)) == code


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"modulus_bits": 1024}, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ({"public_exponent": 3}, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ({"public_exponent": 65538}, "CKR_ATTRIBUTE_VALUE_INVALID"),
    ],
)
def test_rsa_parameters_are_checked(hsm, alice, options, code):
    assert _code(lambda: hsm.generate_key_pair(alice, "rsa", **options)) == code


def test_unknown_curves_and_pair_types_are_refused(hsm, alice):
    assert _code(lambda: hsm.generate_key_pair(alice, "ec", curve="secp192r1")) == (
        "CKR_CURVE_NOT_SUPPORTED"
    )
    assert _code(lambda: hsm.generate_key_pair(alice, "dsa")) == "CKR_KEY_TYPE_INCONSISTENT"


@pytest.mark.parametrize(
    ("template", "code"),
    [
        ({"colour": "blue"}, "CKR_ATTRIBUTE_TYPE_INVALID"),
        ({"trusted": True}, "CKR_ATTRIBUTE_READ_ONLY"),
        ({"local": False}, "CKR_ATTRIBUTE_READ_ONLY"),
        ({"check-value": "0x000000"}, "CKR_ATTRIBUTE_READ_ONLY"),
        ({"encrypt": "maybe"}, "CKR_ATTRIBUTE_VALUE_INVALID"),
        ({"label": 7}, "CKR_ATTRIBUTE_VALUE_INVALID"),
    ],
)
def test_creation_templates_are_checked(hsm, alice, template, code):
    assert _code(lambda: hsm.generate_symmetric(alice, "aes", 16, attributes=template)) == code


def test_public_keys_cannot_be_made_sensitive(hsm, alice):
    assert (
        _code(lambda: hsm.generate_key_pair(alice, "ec", public_attributes={"sensitive": True}))
        == "CKR_ATTRIBUTE_VALUE_INVALID"
    )


def test_key_pairs_have_public_attributes(hsm, alice):
    public, private = _rsa_pair(hsm, alice)
    pub = hsm.describe_key(alice, public)["attributes"]
    priv = hsm.describe_key(alice, private)["attributes"]
    assert pub["class"] == "public-key" and priv["class"] == "private-key"
    assert pub["sensitive"] is False and priv["sensitive"] is True
    assert pub["modulus-size-bits"] == 2048 and pub["public-exponent"] == "0x10001"
    assert pub["modulus"] == priv["modulus"]
    _ec_pub, ec_priv = hsm.generate_key_pair(alice, "ec", curve="prime256v1")
    ec_attrs = hsm.describe_key(alice, ec_priv)["attributes"]
    assert ec_attrs["curve"] == "secp256r1" and ec_attrs["ec-point"].startswith("0x04")


def test_admins_and_anonymous_sessions_cannot_make_keys(hsm, world):
    with pytest.raises(RoleError):
        hsm.generate_symmetric(world.login("admin"), "aes", 16)
    anonymous = hsm.open_session(world.cluster_id)
    assert _code(lambda: hsm.generate_symmetric(anonymous, "aes", 16)) == "CKR_USER_NOT_LOGGED_IN"


def test_token_keys_need_a_read_write_session(hsm, world):
    read_only = world.login("alice", read_write=False)
    assert _code(lambda: hsm.generate_symmetric(read_only, "aes", 16)) == "CKR_SESSION_READ_ONLY"
    assert _code(lambda: hsm.generate_key_pair(read_only, "ec")) == "CKR_SESSION_READ_ONLY"
    session_key = hsm.generate_symmetric(read_only, "aes", 16, token=False)
    assert hsm.describe_key(read_only, session_key)["key-info"]["cluster-coverage"] == "session"


# --- visibility, session keys, handles -------------------------------------------------------


def test_session_keys_are_private_to_their_session_and_die_with_it(hsm, world, alice):
    handle = hsm.generate_symmetric(alice, "aes", 16, label="ephemeral", token=False)
    other = world.login("alice")
    assert hsm.find_keys(other, {"label": "ephemeral"}) == []
    assert hsm.find_keys(alice, {"label": "ephemeral"}) == [handle]
    hsm.close_session(alice)
    assert not any(k["handle"] == handle for _, k in world.storage.list("hsm.key"))


def test_logout_destroys_session_keys_and_hides_private_handles(hsm, alice):
    token_key = _aes(hsm, alice)
    session_key = hsm.generate_symmetric(alice, "aes", 16, token=False)
    hsm.logout(alice)
    for handle in (token_key, session_key):
        assert _code(lambda h=handle: hsm.describe_key(alice, h)) == "CKR_OBJECT_HANDLE_INVALID"
        assert _code(lambda h=handle: hsm.encrypt(alice, h, "CKM_AES_GCM", b"x")) == (
            "CKR_OBJECT_HANDLE_INVALID"
        )


def test_without_login_only_public_token_keys_are_found(hsm, world, alice):
    _aes(hsm, alice, label="secret-one")
    public, _private = hsm.generate_key_pair(
        alice, "ec", label="published", public_attributes={"private": False, "verify": True}
    )
    anonymous = hsm.open_session(world.cluster_id)
    assert hsm.find_keys(anonymous, {"label": "secret-one"}) == []
    assert hsm.find_keys(anonymous) == [public]
    # Visible, but still no cryptography without login.
    assert _code(lambda: hsm.verify(anonymous, public, "CKM_ECDSA_SHA256", b"d", bytes(64))) == (
        "CKR_USER_NOT_LOGGED_IN"
    )


def test_other_crypto_users_do_not_see_your_keys(hsm, alice, bob):
    handle = _aes(hsm, alice, label="alices")
    assert hsm.find_keys(bob, {"label": "alices"}) == []
    assert _code(lambda: hsm.encrypt(bob, handle, "CKM_AES_GCM", b"x")) == (
        "CKR_OBJECT_HANDLE_INVALID"
    )


def test_admins_list_every_key_but_cannot_use_them(hsm, world, alice):
    handle = _aes(hsm, alice, label="audit-me")
    admin = world.login("admin")
    assert hsm.find_keys(admin, {"label": "audit-me"}) == [handle]
    with pytest.raises(RoleError, match="only crypto users"):
        hsm.encrypt(admin, handle, "CKM_AES_GCM", b"x")
    with pytest.raises(RoleError):
        hsm.get_attribute(admin, handle, "value")


@pytest.mark.parametrize("handle", ["1", 10**6, True])
def test_bad_handles_are_object_handle_invalid(hsm, alice, handle):
    assert _code(lambda: hsm.describe_key(alice, handle)) == "CKR_OBJECT_HANDLE_INVALID"


# --- key list filters -----------------------------------------------------------------------------


def test_key_list_filters_by_attributes(hsm, alice):
    aes = _aes(hsm, alice, label="payments")
    secret = hsm.generate_symmetric(alice, "generic-secret", 32, label="payments")
    public, private = hsm.generate_key_pair(alice, "ec", label="signing")
    assert hsm.find_keys(alice, {"label": "payments"}) == [aes, secret]
    assert hsm.find_keys(alice, {"label": "payments", "key-type": "aes"}) == [aes]
    assert hsm.find_keys(alice, {"class": "private-key"}) == [private]
    assert hsm.find_keys(alice, {"encrypt": "true"}) == [aes]
    assert hsm.find_keys(alice, {"key-reference": key_reference(public)}) == [public]
    assert hsm.find_keys(alice, {"label": "nothing"}) == []
    assert hsm.find_keys(alice, {"modulus": "0x1"}) == []
    assert _code(lambda: hsm.find_keys(alice, {"colour": "blue"})) == "CKR_ATTRIBUTE_TYPE_INVALID"


# --- reading attributes ----------------------------------------------------------------------------


def test_reading_the_value_follows_sensitive_and_extractable(hsm, alice, rsa_private):
    sensitive = _aes(hsm, alice)
    readable = _aes(hsm, alice, **EXPORTABLE)
    locked = _aes(hsm, alice, sensitive=False, extractable=False)
    _public_key, private = _rsa_pair(hsm, alice)
    assert _code(lambda: hsm.get_attribute(alice, sensitive, "value")) == "CKR_ATTRIBUTE_SENSITIVE"
    assert _code(lambda: hsm.get_attribute(alice, locked, "value")) == "CKR_ATTRIBUTE_SENSITIVE"
    assert _code(lambda: hsm.get_attribute(alice, private, "value")) == "CKR_ATTRIBUTE_SENSITIVE"
    value = hsm.get_attribute(alice, readable, "value")
    assert len(value) == 32
    assert hsm.get_attribute(alice, readable, "check-value") == prim.aes_check_value(value)


def test_public_key_values_are_spki(hsm, alice):
    public, _private = _rsa_pair(hsm, alice)
    spki = hsm.get_attribute(alice, public, "value")
    assert serialization.load_der_public_key(spki).key_size == 2048


def test_unknown_or_absent_attributes(hsm, alice):
    handle = _aes(hsm, alice)
    assert _code(lambda: hsm.get_attribute(alice, handle, "colour")) == "CKR_ATTRIBUTE_TYPE_INVALID"
    assert _code(lambda: hsm.get_attribute(alice, handle, "modulus")) == (
        "CKR_ATTRIBUTE_TYPE_INVALID"
    )
    assert _code(lambda: hsm.get_public_key_pem(alice, handle)) == "CKR_KEY_TYPE_INCONSISTENT"


# --- changing attributes ------------------------------------------------------------------------


def test_sensitive_and_extractable_only_tighten(hsm, alice):
    sensitive = _aes(hsm, alice)
    assert _code(lambda: hsm.set_attribute(alice, sensitive, "sensitive", False)) == (
        "CKR_ATTRIBUTE_READ_ONLY"
    )
    loose = _aes(hsm, alice, **EXPORTABLE)
    hsm.set_attribute(alice, loose, "sensitive", True)
    hsm.set_attribute(alice, loose, "extractable", False)
    assert _code(lambda: hsm.set_attribute(alice, loose, "extractable", True)) == (
        "CKR_ATTRIBUTE_READ_ONLY"
    )
    attributes = hsm.describe_key(alice, loose)["attributes"]
    assert attributes["always-sensitive"] is False  # it was not sensitive from the start
    assert attributes["never-extractable"] is False


def test_wrap_with_trusted_and_modifiable_are_one_way(hsm, alice):
    handle = _aes(hsm, alice)
    hsm.set_attribute(alice, handle, "wrap-with-trusted", True)
    assert _code(lambda: hsm.set_attribute(alice, handle, "wrap-with-trusted", False)) == (
        "CKR_ATTRIBUTE_READ_ONLY"
    )
    hsm.set_attribute(alice, handle, "label", "renamed")
    hsm.set_attribute(alice, handle, "modifiable", False)
    assert _code(lambda: hsm.set_attribute(alice, handle, "label", "again")) == (
        "CKR_ACTION_PROHIBITED"
    )
    assert hsm.find_keys(alice, {"label": "renamed"}) == [handle]


@pytest.mark.parametrize(
    ("name", "value"),
    [("key-type", "rsa"), ("check-value", "0x1"), ("local", False), ("private", False)],
)
def test_fixed_attributes_are_read_only(hsm, alice, name, value):
    handle = _aes(hsm, alice)
    assert _code(lambda: hsm.set_attribute(alice, handle, name, value)) == "CKR_ATTRIBUTE_READ_ONLY"


def test_derive_cannot_be_set_on_rsa_or_public_keys(hsm, alice):
    public, private = _rsa_pair(hsm, alice)
    for handle in (public, private):
        assert _code(lambda h=handle: hsm.set_attribute(alice, h, "derive", True)) == (
            "CKR_ATTRIBUTE_VALUE_INVALID"
        )
    assert _code(lambda: hsm.set_attribute(alice, public, "sensitive", True)) == (
        "CKR_ATTRIBUTE_VALUE_INVALID"
    )


def test_only_admins_set_trusted_and_only_that(hsm, world, alice):
    handle = _aes(hsm, alice)
    with pytest.raises(RoleError):
        hsm.set_attribute(alice, handle, "trusted", True)
    admin = world.login("admin")
    hsm.set_attribute(admin, handle, "trusted", True)
    assert hsm.get_attribute(alice, handle, "trusted") is True
    with pytest.raises(RoleError):
        hsm.set_attribute(admin, handle, "label", "mine now")


def test_a_session_key_can_become_a_token_key(hsm, world, alice):
    handle = hsm.generate_symmetric(alice, "aes", 16, label="promote", token=False)
    hsm.set_attribute(alice, handle, "token", True)
    assert hsm.find_keys(world.login("alice"), {"label": "promote"}) == [handle]
    assert hsm.describe_key(alice, handle)["key-info"]["cluster-coverage"] == "full"
    assert _code(lambda: hsm.set_attribute(alice, handle, "token", False)) == (
        "CKR_ATTRIBUTE_READ_ONLY"
    )


def test_token_keys_cannot_change_in_a_read_only_session(hsm, world, alice):
    handle = _aes(hsm, alice)
    read_only = world.login("alice", read_write=False)
    assert _code(lambda: hsm.set_attribute(read_only, handle, "label", "x")) == (
        "CKR_SESSION_READ_ONLY"
    )
    assert _code(lambda: hsm.destroy_key(read_only, handle)) == "CKR_SESSION_READ_ONLY"


# --- destroying -----------------------------------------------------------------------------------


def test_a_destroyed_key_is_gone(hsm, alice):
    handle = _aes(hsm, alice)
    hsm.destroy_key(alice, handle)
    assert _code(lambda: hsm.encrypt(alice, handle, "CKM_AES_GCM", b"x")) == (
        "CKR_OBJECT_HANDLE_INVALID"
    )
    assert _aes(hsm, alice) != handle  # handles are not reused


def test_a_non_destroyable_key_stays(hsm, alice):
    handle = _aes(hsm, alice, destroyable=False)
    assert _code(lambda: hsm.destroy_key(alice, handle)) == "CKR_ACTION_PROHIBITED"


# --- sharing ---------------------------------------------------------------------------------------


def test_shared_users_use_but_cannot_manage_the_key(hsm, world, alice, bob):
    handle = _aes(hsm, alice, **EXPORTABLE, label="team")
    wrapping = _aes(hsm, bob, label="bobs-kek")
    hsm.share_key(alice, handle, "bob")
    assert hsm.find_keys(bob, {"label": "team"}) == [handle]
    blob = hsm.encrypt(bob, handle, "CKM_AES_GCM", b"shared use")
    assert hsm.decrypt(alice, handle, "CKM_AES_GCM", blob) == b"shared use"
    assert hsm.describe_key(bob, handle)["key-info"]["shared-users"] == [
        {"username": "bob", "key-coverage": "full"}
    ]
    for forbidden in (
        lambda: hsm.destroy_key(bob, handle),
        lambda: hsm.share_key(bob, handle, "carol"),
        lambda: hsm.unshare_key(bob, handle, "bob"),
        lambda: hsm.set_attribute(bob, handle, "label", "mine"),
        lambda: hsm.wrap_key(bob, wrapping, handle, "CKM_AES_KEY_WRAP"),
        lambda: hsm.get_attribute(bob, handle, "value"),
    ):
        with pytest.raises(RoleError, match="owner"):
            forbidden()
    hsm.unshare_key(alice, handle, "bob")
    assert hsm.find_keys(bob, {"label": "team"}) == []
    assert _code(lambda: hsm.unshare_key(alice, handle, "bob")) == "CKR_ARGUMENTS_BAD"


def test_a_key_is_shared_with_at_most_seven_users(hsm, world, alice):
    admin = world.login("admin")
    for index in range(8):
        hsm.create_user(admin, f"cu{index}", "crypto-pass", "crypto-user")
    handle = hsm.generate_symmetric(
        alice, "aes", 16, share_with=[f"cu{index}" for index in range(7)]
    )
    assert len(hsm.describe_key(alice, handle)["key-info"]["shared-users"]) == 7
    assert _code(lambda: hsm.share_key(alice, handle, "cu7")) == "CKR_ARGUMENTS_BAD"


def test_sharing_errors(hsm, alice):
    handle = _aes(hsm, alice)
    assert _code(lambda: hsm.share_key(alice, handle, "admin")) == "CKR_ARGUMENTS_BAD"
    assert _code(lambda: hsm.share_key(alice, handle, "nobody")) == "CKR_ARGUMENTS_BAD"
    assert _code(lambda: hsm.share_key(alice, handle, "alice")) == "CKR_ARGUMENTS_BAD"
    hsm.share_key(alice, handle, "bob")
    assert _code(lambda: hsm.share_key(alice, handle, "BOB")) == "CKR_ARGUMENTS_BAD"
    ephemeral = hsm.generate_symmetric(alice, "aes", 16, token=False)
    assert _code(lambda: hsm.share_key(alice, ephemeral, "bob")) == "CKR_ACTION_PROHIBITED"


# --- availability: token keys replicate to every ACTIVE HSM --------------------------------------


def test_a_single_hsm_cluster_serves_new_keys_at_once():
    world = make_world(1)
    hsm = world.engine()
    alice = world.login("alice")
    handle = _aes(hsm, alice)
    assert hsm.encrypt(alice, handle, "CKM_AES_GCM", b"ok")


def test_a_new_token_key_must_reach_two_hsms_before_use():
    world = make_world(1)
    hsm = world.engine()
    hsm.create_hsm({"ClusterId": world.cluster_id, "AvailabilityZone": "us-east-1b"})
    alice = world.login("alice")
    handle = _aes(hsm, alice)
    assert hsm.describe_key(alice, handle)["key-info"]["cluster-coverage"] == "full"
    with pytest.raises(HsmAvailabilityError, match="needs 2"):
        hsm.encrypt(alice, handle, "CKM_AES_GCM", b"too early")
    session_key = hsm.generate_symmetric(alice, "aes", 16, token=False, attributes=AES_ATTRS)
    assert hsm.encrypt(alice, session_key, "CKM_AES_GCM", b"session keys live on one HSM")
    world.advance(minutes=11)  # the second HSM is ACTIVE and synchronized
    assert hsm.encrypt(alice, handle, "CKM_AES_GCM", b"now")


def test_coverage_is_partial_while_an_hsm_lacks_the_key(hsm, world, alice):
    handle = _aes(hsm, alice)
    record = world.storage.get("hsm.key", f"{world.cluster_id}/{key_reference(handle)}")
    record["hsms"] = record["hsms"][:1]
    world.storage.put("hsm.key", f"{world.cluster_id}/{key_reference(handle)}", record)
    assert hsm.describe_key(alice, handle)["key-info"]["cluster-coverage"] == "partial"


# --- encryption --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mechanism", "params"),
    [
        ("CKM_AES_GCM", {"iv": bytes(12), "aad": b"header"}),
        ("CKM_AES_GCM", {}),
        ("CKM_AES_CBC_PAD", {"iv": bytes(16)}),
        ("CKM_AES_CTR", {"iv": bytes(16)}),
    ],
)
def test_aes_modes_round_trip(hsm, alice, mechanism, params):
    handle = _aes(hsm, alice)
    blob = hsm.encrypt(alice, handle, mechanism, b"attack at dawn", **params)
    assert blob != b"attack at dawn"
    assert hsm.decrypt(alice, handle, mechanism, blob, **params) == b"attack at dawn"


def test_hsm_aes_matches_nist_vectors_through_the_engine(hsm, alice):
    key = bytes.fromhex("feffe9928665731c6d6a8f9467308308")
    handle = _import_aes(hsm, alice, key)
    iv = bytes.fromhex("cafebabefacedbaddecaf888")
    plaintext = bytes.fromhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
    )
    blob = hsm.encrypt(alice, handle, "CKM_AES_GCM", plaintext, iv=iv)
    assert blob[-16:] == bytes.fromhex("4d5c2af327cd64a62cf35abd2ba6fab4")


def test_hsm_gcm_without_iv_prefixes_the_iv_and_matches_offline_aesgcm(hsm, alice):
    key = bytes(range(32))
    handle = _import_aes(hsm, alice, key)
    blob = hsm.encrypt(alice, handle, "CKM_AES_GCM", b"offline check", aad=b"ctx")
    assert AESGCM(key).decrypt(blob[:12], blob[12:], b"ctx") == b"offline check"
    offline_iv = bytes(12)
    offline = AESGCM(key).encrypt(offline_iv, b"made offline", b"")
    assert hsm.decrypt(alice, handle, "CKM_AES_GCM", offline, iv=offline_iv) == b"made offline"


def test_decryption_failures(hsm, alice):
    handle = _aes(hsm, alice)
    blob = hsm.encrypt(alice, handle, "CKM_AES_GCM", b"x", iv=bytes(12), aad=b"a")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    assert (
        _code(lambda: hsm.decrypt(alice, handle, "CKM_AES_GCM", tampered, iv=bytes(12), aad=b"a"))
        == "CKR_ENCRYPTED_DATA_INVALID"
    )
    assert (
        _code(lambda: hsm.decrypt(alice, handle, "CKM_AES_GCM", blob, iv=bytes(12), aad=b"b"))
        == "CKR_ENCRYPTED_DATA_INVALID"
    )
    assert _code(lambda: hsm.decrypt(alice, handle, "CKM_AES_GCM", b"short")) == (
        "CKR_ENCRYPTED_DATA_LEN_RANGE"
    )
    assert (
        _code(lambda: hsm.decrypt(alice, handle, "CKM_AES_CBC_PAD", b"x" * 17, iv=bytes(16)))
        == "CKR_ENCRYPTED_DATA_LEN_RANGE"
    )


def test_mechanism_and_key_checks(hsm, alice):
    handle = _aes(hsm, alice)
    no_encrypt = _aes(hsm, alice, encrypt=False, decrypt=False)
    assert _code(lambda: hsm.encrypt(alice, handle, "CKM_IDEA_CBC", b"x")) == (
        "CKR_MECHANISM_INVALID"
    )
    assert _code(lambda: hsm.encrypt(alice, handle, "CKM_SHA256_HMAC", b"x")) == (
        "CKR_MECHANISM_INVALID"
    )
    assert _code(lambda: hsm.encrypt(alice, handle, "CKM_RSA_PKCS_OAEP", b"x")) == (
        "CKR_KEY_TYPE_INCONSISTENT"
    )
    assert _code(lambda: hsm.encrypt(alice, no_encrypt, "CKM_AES_GCM", b"x")) == (
        "CKR_KEY_FUNCTION_NOT_PERMITTED"
    )
    assert _code(lambda: hsm.decrypt(alice, no_encrypt, "CKM_AES_GCM", bytes(40))) == (
        "CKR_KEY_FUNCTION_NOT_PERMITTED"
    )
    for mechanism in ("CKM_AES_CBC_PAD", "CKM_AES_CTR"):
        assert _code(lambda m=mechanism: hsm.encrypt(alice, handle, m, b"x")) == (
            "CKR_MECHANISM_PARAM_INVALID"
        )
        assert _code(lambda m=mechanism: hsm.decrypt(alice, handle, m, bytes(16))) == (
            "CKR_MECHANISM_PARAM_INVALID"
        )


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_offline_rsa_oaep_ciphertext_decrypts_in_the_hsm(hsm, alice, hash_name):
    public, private = _rsa_pair(hsm, alice)
    algorithm = prim.hash_algorithm(hash_name)
    offline = _public(hsm, alice, public).encrypt(
        b"from outside", padding.OAEP(padding.MGF1(algorithm), algorithm, None)
    )
    assert hsm.decrypt(alice, private, "CKM_RSA_PKCS_OAEP", offline, hash_name=hash_name) == (
        b"from outside"
    )
    inside = hsm.encrypt(alice, public, "CKM_RSA_PKCS_OAEP", b"round trip", hash_name=hash_name)
    assert hsm.decrypt(alice, private, "CKM_RSA_PKCS_OAEP", inside, hash_name=hash_name) == (
        b"round trip"
    )
    tampered = inside[:-1] + bytes([inside[-1] ^ 1])
    assert (
        _code(
            lambda: hsm.decrypt(alice, private, "CKM_RSA_PKCS_OAEP", tampered, hash_name=hash_name)
        )
        == "CKR_ENCRYPTED_DATA_INVALID"
    )


def test_hsm_oaep_ciphertext_decrypts_offline(hsm, alice, rsa_private):
    pem = rsa_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private = hsm.import_key(alice, "rsa-private", pem, attributes={"decrypt": True})
    public = hsm.import_key(
        alice,
        "rsa-public",
        rsa_private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        attributes={"encrypt": True},
    )
    blob = hsm.encrypt(alice, public, "CKM_RSA_PKCS_OAEP", b"to outside", hash_name="sha256")
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    assert rsa_private.decrypt(blob, oaep) == b"to outside"
    assert _code(lambda: hsm.encrypt(alice, private, "CKM_RSA_PKCS_OAEP", b"x")) == (
        "CKR_KEY_TYPE_INCONSISTENT"
    )


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hash_name", ["sha1", "sha224", "sha256", "sha384", "sha512"])
def test_rsa_pkcs1_signatures_verify_offline(hsm, alice, hash_name):
    public, private = _rsa_pair(hsm, alice)
    mechanism = f"CKM_{hash_name.upper()}_RSA_PKCS"
    signature = hsm.sign(alice, private, mechanism, b"message")
    _public(hsm, alice, public).verify(
        signature, b"message", padding.PKCS1v15(), prim.hash_algorithm(hash_name)
    )
    hsm.verify(alice, public, mechanism, b"message", signature)
    assert _code(lambda: hsm.verify(alice, public, mechanism, b"messagf", signature)) == (
        "CKR_SIGNATURE_INVALID"
    )


def test_ckm_rsa_pkcs_signs_a_digest_info_or_raw_data(hsm, alice):
    """CKM_RSA_PKCS, as OpenSSL's PKCS #11 engine uses it: the caller hashes and wraps the
    digest in a DigestInfo; the HSM pads and signs. Other short data is signed as given."""
    import hashlib

    public, private = _rsa_pair(hsm, alice)
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    data = digest_info + hashlib.sha256(b"message").digest()
    signature = hsm.sign(alice, private, "CKM_RSA_PKCS", data)
    assert signature == hsm.sign(alice, private, "CKM_SHA256_RSA_PKCS", b"message")
    hsm.verify(alice, public, "CKM_RSA_PKCS", data, signature)
    raw = hsm.sign(alice, private, "CKM_RSA_PKCS", b"not a digest")
    hsm.verify(alice, public, "CKM_RSA_PKCS", b"not a digest", raw)
    key = _public(hsm, alice, public).public_numbers()
    block = pow(int.from_bytes(raw, "big"), key.e, key.n).to_bytes(256, "big")
    assert block.startswith(b"\x00\x01\xff") and block.endswith(b"\x00not a digest")
    assert _code(lambda: hsm.verify(alice, public, "CKM_RSA_PKCS", b"not a digesu", raw)) == (
        "CKR_SIGNATURE_INVALID"
    )
    assert _code(lambda: hsm.sign(alice, private, "CKM_RSA_PKCS", bytes(246))) == (
        "CKR_DATA_LEN_RANGE"
    )


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
def test_rsa_pss_signatures_verify_offline(hsm, alice, hash_name):
    public, private = _rsa_pair(hsm, alice)
    algorithm = prim.hash_algorithm(hash_name)
    pss = padding.PSS(padding.MGF1(algorithm), algorithm.digest_size)
    signature = hsm.sign(alice, private, f"CKM_{hash_name.upper()}_RSA_PKCS_PSS", b"message")
    _public(hsm, alice, public).verify(signature, b"message", pss, algorithm)
    digest = prim.digest(b"message", hash_name)
    prehashed = hsm.sign(alice, private, "CKM_RSA_PKCS_PSS", digest, hash_name=hash_name)
    hsm.verify(alice, public, "CKM_RSA_PKCS_PSS", digest, prehashed, hash_name=hash_name)
    assert (
        _code(
            lambda: hsm.verify(
                alice, public, "CKM_RSA_PKCS_PSS", digest, signature[::-1], hash_name=hash_name
            )
        )
        == "CKR_SIGNATURE_INVALID"
    )


def test_prehashed_pss_needs_a_hash(hsm, alice):
    public, private = _rsa_pair(hsm, alice)
    assert _code(lambda: hsm.sign(alice, private, "CKM_RSA_PKCS_PSS", bytes(32))) == (
        "CKR_MECHANISM_PARAM_INVALID"
    )
    assert _code(lambda: hsm.verify(alice, public, "CKM_RSA_PKCS_PSS", bytes(32), bytes(256))) == (
        "CKR_MECHANISM_PARAM_INVALID"
    )


def test_offline_signatures_verify_in_the_hsm(hsm, alice, rsa_private):
    public = hsm.import_key(
        alice,
        "rsa-public",
        rsa_private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        attributes={"verify": True},
    )
    signature = rsa_private.sign(b"signed outside", padding.PKCS1v15(), hashes.SHA256())
    hsm.verify(alice, public, "CKM_SHA256_RSA_PKCS", b"signed outside", signature)
    assert (
        _code(
            lambda: hsm.verify(alice, public, "CKM_SHA256_RSA_PKCS", b"signed elsewhere", signature)
        )
        == "CKR_SIGNATURE_INVALID"
    )


@pytest.mark.parametrize(
    ("curve", "hash_name"),
    [
        ("secp256r1", "sha256"),
        ("secp384r1", "sha384"),
        ("secp521r1", "sha512"),
        ("secp256k1", "sha256"),
    ],
)
def test_ecdsa_signatures_verify_offline(hsm, alice, curve, hash_name):
    public, private = hsm.generate_key_pair(
        alice,
        "ec",
        curve=curve,
        public_attributes={"verify": True},
        private_attributes={"sign": True},
    )
    mechanism = f"CKM_ECDSA_{hash_name.upper()}"
    signature = hsm.sign(alice, private, mechanism, b"message")
    size = len(signature) // 2
    der = encode_dss_signature(
        int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    )
    _public(hsm, alice, public).verify(der, b"message", ec.ECDSA(prim.hash_algorithm(hash_name)))
    hsm.verify(alice, public, mechanism, b"message", signature)
    assert _code(lambda: hsm.verify(alice, public, mechanism, b"tampered", signature)) == (
        "CKR_SIGNATURE_INVALID"
    )
    digest = prim.digest(b"message", hash_name)
    prehashed = hsm.sign(alice, private, "CKM_ECDSA", digest)
    hsm.verify(alice, public, "CKM_ECDSA", digest, prehashed)
    hsm.verify(alice, public, "CKM_ECDSA", digest, signature)  # same digest, same check


def test_signing_needs_the_sign_attribute_and_the_right_key(hsm, alice):
    public, private = hsm.generate_key_pair(alice, "ec")  # sign/verify default to false
    assert _code(lambda: hsm.sign(alice, private, "CKM_ECDSA_SHA256", b"x")) == (
        "CKR_KEY_FUNCTION_NOT_PERMITTED"
    )
    assert _code(lambda: hsm.verify(alice, public, "CKM_ECDSA_SHA256", b"x", bytes(64))) == (
        "CKR_KEY_FUNCTION_NOT_PERMITTED"
    )
    assert _code(lambda: hsm.sign(alice, private, "CKM_SHA256_RSA_PKCS", b"x")) == (
        "CKR_KEY_TYPE_INCONSISTENT"
    )
    assert _code(lambda: hsm.sign(alice, public, "CKM_ECDSA_SHA256", b"x")) == (
        "CKR_KEY_TYPE_INCONSISTENT"
    )
    assert _code(lambda: hsm.sign(alice, private, "CKM_AES_GCM", b"x")) == "CKR_MECHANISM_INVALID"


def test_hmac_with_generic_secrets_matches_rfc4231(hsm, alice):
    key = bytes.fromhex("0b" * 20)
    handle = hsm.import_key(alice, "generic-secret", key, attributes={"sign": True, "verify": True})
    mac = hsm.sign(alice, handle, "CKM_SHA256_HMAC", b"Hi There")
    assert mac.hex() == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    hsm.verify(alice, handle, "CKM_SHA256_HMAC", b"Hi There", mac)
    assert _code(lambda: hsm.verify(alice, handle, "CKM_SHA256_HMAC", b"Hi there", mac)) == (
        "CKR_SIGNATURE_INVALID"
    )
    aes = _aes(hsm, alice)
    assert _code(lambda: hsm.sign(alice, aes, "CKM_SHA256_HMAC", b"x")) == (
        "CKR_KEY_TYPE_INCONSISTENT"
    )
    generated = hsm.generate_symmetric(
        alice, "generic-secret", 48, attributes={"sign": True, "verify": True}
    )
    hsm.verify(
        alice,
        generated,
        "CKM_SHA384_HMAC",
        b"d",
        hsm.sign(alice, generated, "CKM_SHA384_HMAC", b"d"),
    )


# --- digests and random --------------------------------------------------------------------------


def test_digests_and_random_need_only_a_session(hsm, world):
    session = hsm.open_session(world.cluster_id)
    assert hsm.digest(session, "CKM_SHA256", b"abc").hex().startswith("ba7816bf")
    assert (
        hsm.digest(session, "CKM_SHA_1", b"abc").hex() == "a9993e364706816aba3e25717850c26c9cd0d89d"
    )
    assert _code(lambda: hsm.digest(session, "CKM_MD5", b"abc")) == "CKR_MECHANISM_INVALID"
    assert len(hsm.generate_random(session, 33)) == 33
    assert _code(lambda: hsm.generate_random(session, 0)) == "CKR_ARGUMENTS_BAD"


# --- wrapping ------------------------------------------------------------------------------------


def test_aes_key_wrap_unwraps_with_cryptography(hsm, alice):
    kek = bytes(range(32))
    wrapping = _import_aes(hsm, alice, kek)
    payload = _aes(hsm, alice, **EXPORTABLE)
    value = hsm.get_attribute(alice, payload, "value")
    wrapped = hsm.wrap_key(alice, wrapping, payload, "CKM_AES_KEY_WRAP")
    assert keywrap.aes_key_unwrap(kek, wrapped) == value
    padded = hsm.wrap_key(alice, wrapping, payload, "CKM_AES_KEY_WRAP_PAD")
    assert keywrap.aes_key_unwrap_with_padding(kek, padded) == value
    gcm = hsm.wrap_key(alice, wrapping, payload, "CKM_AES_GCM")
    assert AESGCM(kek).decrypt(gcm[:12], gcm[12:], b"") == value


def test_offline_wrapped_keys_unwrap_in_the_hsm(hsm, alice):
    kek = bytes(range(16))
    wrapping = _import_aes(hsm, alice, kek)
    secret = bytes(range(100, 132))
    for mechanism, blob in (
        ("CKM_AES_KEY_WRAP", keywrap.aes_key_wrap(kek, secret)),
        ("CKM_AES_KEY_WRAP_PAD", keywrap.aes_key_wrap_with_padding(kek, secret)),
    ):
        handle = hsm.unwrap_key(
            alice, wrapping, blob, mechanism, key_type="aes", attributes={"encrypt": True}
        )
        attributes = hsm.describe_key(alice, handle)["attributes"]
        assert (
            attributes["local"] is False
            and attributes["owner" if False else "class"] == "secret-key"
        )
        assert hsm.get_attribute(alice, handle, "check-value") == prim.aes_check_value(secret)
        iv = bytes(12)
        assert hsm.encrypt(alice, handle, "CKM_AES_GCM", b"m", iv=iv) == AESGCM(secret).encrypt(
            iv, b"m", b""
        )


def test_private_keys_wrap_as_pkcs8_and_come_back(hsm, alice, rsa_private):
    wrapping = _aes(hsm, alice)
    pem = rsa_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private = hsm.import_key(alice, "rsa-private", pem, attributes={"sign": True})
    wrapped = hsm.wrap_key(alice, wrapping, private, "CKM_AES_KEY_WRAP_PAD")
    restored = hsm.unwrap_key(
        alice,
        wrapping,
        wrapped,
        "CKM_AES_KEY_WRAP_PAD",
        key_type="rsa",
        key_class="private-key",
        attributes={"sign": True},
    )
    signature = hsm.sign(alice, restored, "CKM_SHA256_RSA_PKCS", b"back again")
    assert signature == rsa_private.sign(b"back again", padding.PKCS1v15(), hashes.SHA256())


def test_rsa_oaep_wraps_secret_keys(hsm, alice, rsa_private):
    pem = rsa_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    unwrapping = hsm.import_key(alice, "rsa-private", pem, attributes={"unwrap": True})
    wrapping = hsm.import_key(
        alice,
        "rsa-public",
        rsa_private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        attributes={"wrap": True},
    )
    payload = _aes(hsm, alice, **EXPORTABLE)
    wrapped = hsm.wrap_key(alice, wrapping, payload, "CKM_RSA_PKCS_OAEP", hash_name="sha256")
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    assert rsa_private.decrypt(wrapped, oaep) == hsm.get_attribute(alice, payload, "value")
    restored = hsm.unwrap_key(
        alice, unwrapping, wrapped, "CKM_RSA_PKCS_OAEP", key_type="aes", hash_name="sha256"
    )
    assert hsm.get_attribute(alice, restored, "check-value") == hsm.get_attribute(
        alice, payload, "check-value"
    )
    tampered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    assert (
        _code(
            lambda: hsm.unwrap_key(
                alice, unwrapping, tampered, "CKM_RSA_PKCS_OAEP", key_type="aes", hash_name="sha256"
            )
        )
        == "CKR_WRAPPED_KEY_INVALID"
    )
    _pub, private_payload = _rsa_pair(hsm, alice)
    assert (
        _code(lambda: hsm.wrap_key(alice, wrapping, private_payload, "CKM_RSA_PKCS_OAEP"))
        == "CKR_KEY_NOT_WRAPPABLE"
    )


def test_wrap_rules(hsm, world, alice):
    wrapping = _aes(hsm, alice)
    no_wrap = _aes(hsm, alice, wrap=False)
    extractable = _aes(hsm, alice)
    locked = _aes(hsm, alice, extractable=False)
    guarded = _aes(hsm, alice, **{"wrap-with-trusted": True})
    twenty = hsm.generate_symmetric(alice, "generic-secret", 20)
    public, _private = _rsa_pair(hsm, alice)
    assert _code(lambda: hsm.wrap_key(alice, no_wrap, extractable, "CKM_AES_KEY_WRAP")) == (
        "CKR_KEY_FUNCTION_NOT_PERMITTED"
    )
    assert _code(lambda: hsm.wrap_key(alice, wrapping, locked, "CKM_AES_KEY_WRAP")) == (
        "CKR_KEY_UNEXTRACTABLE"
    )
    assert _code(lambda: hsm.wrap_key(alice, wrapping, guarded, "CKM_AES_KEY_WRAP")) == (
        "CKR_KEY_NOT_WRAPPABLE"
    )
    assert _code(lambda: hsm.wrap_key(alice, wrapping, twenty, "CKM_AES_KEY_WRAP")) == (
        "CKR_KEY_SIZE_RANGE"
    )
    assert _code(lambda: hsm.wrap_key(alice, wrapping, public, "CKM_AES_KEY_WRAP_PAD")) == (
        "CKR_KEY_NOT_WRAPPABLE"
    )
    assert _code(lambda: hsm.wrap_key(alice, wrapping, extractable, "CKM_AES_CBC_PAD")) == (
        "CKR_MECHANISM_INVALID"
    )
    assert _code(lambda: hsm.wrap_key(alice, wrapping, extractable, "CKM_RSA_PKCS_OAEP")) == (
        "CKR_KEY_TYPE_INCONSISTENT"
    )
    hsm.set_attribute(world.login("admin"), wrapping, "trusted", True)
    assert hsm.wrap_key(alice, wrapping, guarded, "CKM_AES_KEY_WRAP")


def test_unwrap_rules(hsm, alice):
    unwrapping = _aes(hsm, alice)
    no_unwrap = _aes(hsm, alice, unwrap=False)
    payload = _aes(hsm, alice)
    wrapped = hsm.wrap_key(alice, unwrapping, payload, "CKM_AES_KEY_WRAP")
    padded = hsm.wrap_key(alice, unwrapping, payload, "CKM_AES_KEY_WRAP_PAD")
    gcm = hsm.wrap_key(alice, unwrapping, payload, "CKM_AES_GCM")
    for mechanism, blob in (
        ("CKM_AES_KEY_WRAP", wrapped),
        ("CKM_AES_KEY_WRAP_PAD", padded),
        ("CKM_AES_GCM", gcm),
    ):
        tampered = blob[:-1] + bytes([blob[-1] ^ 1])
        assert (
            _code(
                lambda m=mechanism, t=tampered: hsm.unwrap_key(
                    alice, unwrapping, t, m, key_type="aes"
                )
            )
            == "CKR_WRAPPED_KEY_INVALID"
        )
    restored = hsm.unwrap_key(alice, unwrapping, gcm, "CKM_AES_GCM", key_type="aes")
    assert hsm.get_attribute(alice, restored, "check-value") == hsm.get_attribute(
        alice, payload, "check-value"
    )
    assert (
        _code(lambda: hsm.unwrap_key(alice, no_unwrap, wrapped, "CKM_AES_KEY_WRAP", key_type="aes"))
        == "CKR_KEY_FUNCTION_NOT_PERMITTED"
    )
    generic = hsm.generate_symmetric(alice, "generic-secret", 20, attributes=EXPORTABLE)
    wrapped_20 = hsm.wrap_key(alice, unwrapping, generic, "CKM_AES_KEY_WRAP_PAD")
    assert (
        _code(
            lambda: hsm.unwrap_key(
                alice, unwrapping, wrapped_20, "CKM_AES_KEY_WRAP_PAD", key_type="aes"
            )
        )
        == "CKR_WRAPPED_KEY_INVALID"
    )
    assert (
        _code(
            lambda: hsm.unwrap_key(
                alice,
                unwrapping,
                wrapped,
                "CKM_AES_KEY_WRAP",
                key_type="rsa",
                key_class="private-key",
            )
        )
        == "CKR_WRAPPED_KEY_INVALID"
    )
    assert (
        _code(
            lambda: hsm.unwrap_key(
                alice,
                unwrapping,
                wrapped,
                "CKM_AES_KEY_WRAP",
                key_type="rsa",
                key_class="public-key",
            )
        )
        == "CKR_TEMPLATE_INCONSISTENT"
    )


# --- import ----------------------------------------------------------------------------------


def test_import_validates_material(hsm, alice):
    weak = rsa.generate_private_key(65537, 1024).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ec_der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert _code(lambda: hsm.import_key(alice, "aes", bytes(7))) == "CKR_ATTRIBUTE_VALUE_INVALID"
    assert (
        _code(lambda: hsm.import_key(alice, "rsa-private", weak)) == "CKR_ATTRIBUTE_VALUE_INVALID"
    )
    assert (
        _code(lambda: hsm.import_key(alice, "rsa-private", ec_der)) == "CKR_KEY_TYPE_INCONSISTENT"
    )
    assert _code(lambda: hsm.import_key(alice, "ec-private", b"junk")) == (
        "CKR_ATTRIBUTE_VALUE_INVALID"
    )
    assert _code(lambda: hsm.import_key(alice, "ec-public", b"junk")) == (
        "CKR_ATTRIBUTE_VALUE_INVALID"
    )
    assert _code(lambda: hsm.import_key(alice, "des", bytes(8))) == "CKR_KEY_TYPE_INCONSISTENT"
    handle = hsm.import_key(alice, "ec-private", ec_der, attributes={"sign": True})
    assert hsm.describe_key(alice, handle)["attributes"]["curve"] == "secp256r1"


# --- material at rest ---------------------------------------------------------------------------


def test_key_material_is_sealed_at_rest(hsm, world, alice):
    handle = _aes(hsm, alice, **EXPORTABLE)
    value = hsm.get_attribute(alice, handle, "value")
    dumped = json.dumps([record for _, record in world.storage.list("hsm.key")])
    for encoding in (value.hex(), base64.b64encode(value).decode()):
        assert encoding not in dumped
    assert encoding not in json.dumps(hsm.audit_events())


def test_sealed_material_is_bound_to_its_key(hsm, world, alice):
    first = _aes(hsm, alice)
    second = _aes(hsm, alice)
    first_id = f"{world.cluster_id}/{key_reference(first)}"
    second_id = f"{world.cluster_id}/{key_reference(second)}"
    record = world.storage.get("hsm.key", second_id)
    record["material"] = world.storage.get("hsm.key", first_id)["material"]
    world.storage.put("hsm.key", second_id, record)
    with pytest.raises(SealingError):
        hsm.encrypt(alice, second, "CKM_AES_GCM", b"x")


def test_errors_never_carry_key_material(hsm, alice):
    handle = _aes(hsm, alice, **EXPORTABLE)
    value = hsm.get_attribute(alice, handle, "value")
    with pytest.raises(Pkcs11Error) as error:
        hsm.decrypt(alice, handle, "CKM_AES_GCM", bytes(40))
    text = repr(error.value) + str(error.value)
    assert value.hex() not in text and "CKR_ENCRYPTED_DATA_INVALID" in text
