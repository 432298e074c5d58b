"""HSM keys: generation, import, search, attributes, sharing and destruction, with the
PKCS#11 attribute rules (:mod:`.attributes`), token vs session keys and the availability
quorum of a new token key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import attributes as attrs
from . import key_material, sessions
from . import primitives as prim
from .errors import HsmAvailabilityError, Pkcs11Error, RoleError
from .state import (
    JSON,
    MAX_SHARED_USERS,
    Audit,
    Context,
    HsmState,
    KeyHandle,
    b64,
    key_reference,
    parse_key_reference,
    unb64,
)


def _visible(ctx: Context, key: JSON) -> bool:
    if key["session_id"] is not None:
        return bool(key["session_id"] == ctx.session_id)
    if not key["attributes"]["private"]:
        return True
    if ctx.role == "admin":
        return True
    username = ctx.username
    return username is not None and (key["owner"] == username or username in key["shared"])


def load_key(engine: HsmState, ctx: Context, handle: KeyHandle) -> JSON:
    if not isinstance(handle, int) or isinstance(handle, bool):
        raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", "a key handle is an integer")
    key = engine._storage.get("hsm.key", engine._key_id(ctx.cluster["ClusterId"], handle))
    if key is None or not _visible(ctx, key):
        raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", f"no key {key_reference(handle)}")
    return key


def use_key(engine: HsmState, ctx: Context, handle: KeyHandle) -> JSON:
    """A key the logged-in crypto user may use (owner or shared), available enough."""
    key = load_key(engine, ctx, handle)
    me = sessions.require_crypto_user(engine, ctx)
    shared_token_key = key["attributes"]["private"] and key["session_id"] is None
    if shared_token_key and key["owner"] != me and me not in key["shared"]:
        raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", "the key is not shared with you")
    _check_availability(ctx.cluster, key)
    return key


def own_key(engine: HsmState, ctx: Context, handle: KeyHandle, what: str) -> JSON:
    key = use_key(engine, ctx, handle)
    if key["owner"] != ctx.username:
        raise RoleError(f"only the key's owner can {what}; it is shared with you")
    return key


def _check_availability(cluster: JSON, key: JSON) -> None:
    """Token keys must be on two ACTIVE HSMs before use, unless the cluster has one HSM."""
    if key["session_id"] is not None:
        return
    hsms = cluster["_"]["hsms"]
    holding = 0
    for hsm_id in key["hsms"]:
        hsm = hsms.get(hsm_id)
        if hsm is not None and hsm.get("state") == "ACTIVE":
            holding += 1
    if holding >= 2:  # enough for any cluster: the members only matter below two
        return
    members = sum(1 for hsm in hsms.values() if hsm["state"] != "DELETE_IN_PROGRESS")
    needed = 2 if members >= 2 else 1
    if holding < needed:
        raise HsmAvailabilityError(
            "CKR_DEVICE_ERROR",
            f"key availability check failed: the key is on {holding} ACTIVE HSM(s) "
            f"and needs {needed}; wait for a new HSM to become ACTIVE or add one",
        )


def _require_writable(ctx: Context, token: bool) -> None:
    if token and not ctx.session["read_write"]:
        raise Pkcs11Error("CKR_SESSION_READ_ONLY", "token keys need a read/write session")


def store_new_key(
    engine: HsmState,
    ctx: Context,
    *,
    key_class: str,
    key_type: str,
    material: bytes | None,
    public_der: bytes | None,
    template: Mapping[str, object] | None,
    token: bool,
    extra: Mapping[str, Any],
    local: bool,
    share_with: list[str] | None = None,
    save_cluster: bool = True,
) -> KeyHandle:
    owner = sessions.require_crypto_user(engine, ctx)
    attributes = attrs.defaults(key_class, key_type)
    attributes["token"] = token
    attrs.apply_template(attributes, template, key_class=key_class)
    _require_writable(ctx, bool(attributes["token"]))
    attributes["local"] = local
    attributes["always-sensitive"] = local and bool(attributes["sensitive"])
    attributes["never-extractable"] = local and not attributes["extractable"]
    if key_class == "public-key":
        attributes.pop("always-sensitive")
        attributes.pop("never-extractable")
    attributes.update(extra)
    cluster = ctx.cluster
    handle = int(cluster["_"]["next_handle"])
    cluster["_"]["next_handle"] = handle + 1
    cluster_id = cluster["ClusterId"]
    is_token = bool(attributes["token"])
    key: JSON = {
        "cluster_id": cluster_id,
        "handle": handle,
        "owner": owner,
        "shared": [],
        "session_id": None if is_token else ctx.session_id,
        "hsms": sessions.active_hsms(cluster) if is_token else [ctx.session["hsm_id"]],
        "attributes": attributes,
        "material": engine._seal(cluster_id, handle, material) if material is not None else None,
        "public": b64(public_der) if public_der is not None else None,
    }
    for username in share_with or []:
        _add_share(engine, ctx, key, username)
    engine._put_key(key)
    if save_cluster:
        engine._put_cluster(cluster)
    return handle


def _add_share(engine: HsmState, ctx: Context, key: JSON, username: str) -> None:
    name = username.lower()
    user = engine._storage.get("hsm.user", engine._user_id(ctx.cluster["ClusterId"], name))
    if user is None or user["role"] != "crypto-user":
        raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"{name} is not a crypto user")
    if key["session_id"] is not None:
        raise Pkcs11Error("CKR_ACTION_PROHIBITED", "session keys cannot be shared")
    if name == key["owner"] or name in key["shared"]:
        raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"the key is already available to {name}")
    if len(key["shared"]) >= MAX_SHARED_USERS:
        raise Pkcs11Error(
            "CKR_ARGUMENTS_BAD", f"a key can be shared with at most {MAX_SHARED_USERS} users"
        )
    key["shared"].append(name)


def generate_symmetric(
    engine: HsmState,
    session_id: str,
    key_type: str,
    length_bytes: int,
    *,
    label: str = "",
    attributes: Mapping[str, object] | None = None,
    token: bool = True,
    share_with: list[str] | None = None,
) -> KeyHandle:
    """CloudHSM CLI ``key generate-symmetric aes|generic-secret``.

    AES keys are 16, 24 or 32 bytes; generic secrets 1 to 800 bytes. ``attributes`` uses
    CloudHSM CLI names (``{"encrypt": True}``); ``token=False`` makes a session key.
    """
    with sessions.key_call(engine, "KeyGenerateSymmetric", session_id) as (ctx, audit):
        sessions.require_crypto_user(engine, ctx)
        if key_type == "aes":
            if length_bytes not in prim.AES_KEY_LENGTHS:
                raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "AES keys are 16/24/32 bytes")
        elif key_type == "generic-secret":
            if not isinstance(length_bytes, int) or not 1 <= length_bytes <= 800:
                raise Pkcs11Error(
                    "CKR_ATTRIBUTE_VALUE_INVALID", "generic secrets are 1 to 800 bytes"
                )
        else:
            raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"not a symmetric key type: {key_type}")
        template = dict(attributes or {})
        template.setdefault("label", label)
        material = engine._random.token_bytes(length_bytes)
        handle = store_new_key(
            engine,
            ctx,
            key_class="secret-key",
            key_type=key_type,
            material=material,
            public_der=None,
            template=template,
            token=token,
            extra=secret_extras(key_type, material),
            local=True,
            share_with=share_with,
        )
        audit.target = sessions.key_target(ctx, handle)
        audit.detail = {"key_type": key_type, "length_bytes": length_bytes}
        return handle


def secret_extras(key_type: str, material: bytes) -> JSON:
    check = (
        prim.aes_check_value(material)
        if key_type == "aes"
        else "0x" + hashlib.sha1(material, usedforsecurity=False).hexdigest()[:6]
    )
    return {"key-length-bytes": len(material), "check-value": check}


def public_extras(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> JSON:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    extras: JSON = {"check-value": "0x" + hashlib.sha1(der, usedforsecurity=False).hexdigest()[:6]}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        extras["modulus"] = hex(numbers.n)
        extras["modulus-size-bits"] = public_key.key_size
        extras["public-exponent"] = hex(numbers.e)
    else:
        point = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        extras["ec-point"] = "0x" + point.hex()
        extras["curve"] = public_key.curve.name
    return extras


def generate_key_pair(
    engine: HsmState,
    session_id: str,
    key_type: str,
    *,
    modulus_bits: int = 2048,
    public_exponent: int = 65537,
    curve: str = "secp256r1",
    label: str = "",
    public_attributes: Mapping[str, object] | None = None,
    private_attributes: Mapping[str, object] | None = None,
    token: bool = True,
    share_with: list[str] | None = None,
) -> tuple[KeyHandle, KeyHandle]:
    """CloudHSM CLI ``key generate-asymmetric-pair rsa|ec``: returns (public, private).

    RSA moduli are at least 2048 bits with an odd public exponent >= 65537; EC curves are
    secp256r1 (prime256v1), secp384r1, secp521r1 and secp256k1.
    """
    with sessions.key_call(engine, "KeyGenerateAsymmetricPair", session_id) as (ctx, audit):
        sessions.require_crypto_user(engine, ctx)
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if key_type == "rsa":
            if not isinstance(modulus_bits, int) or modulus_bits < 2048 or modulus_bits > 8192:
                raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "RSA keys are 2048 to 8192 bits")
            if public_exponent < 65537 or public_exponent % 2 == 0:
                raise Pkcs11Error(
                    "CKR_ATTRIBUTE_VALUE_INVALID", "the public exponent must be odd, >= 65537"
                )
            private_key = rsa.generate_private_key(public_exponent, modulus_bits)
            audit.detail = {"key_type": "rsa", "modulus_bits": modulus_bits}
        elif key_type == "ec":
            if curve not in prim.CURVES:
                raise Pkcs11Error("CKR_CURVE_NOT_SUPPORTED", f"unsupported curve {curve!r}")
            private_key = ec.generate_private_key(prim.CURVES[curve]())
            audit.detail = {"key_type": "ec", "curve": curve}
        else:
            raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"not a key pair type: {key_type}")
        return _store_pair(
            engine,
            ctx,
            key_type,
            private_key,
            label=label,
            public_attributes=public_attributes,
            private_attributes=private_attributes,
            token=token,
            local=True,
            share_with=share_with,
            audit=audit,
        )


def _store_pair(
    engine: HsmState,
    ctx: Context,
    key_type: str,
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    label: str,
    public_attributes: Mapping[str, object] | None,
    private_attributes: Mapping[str, object] | None,
    token: bool,
    local: bool,
    share_with: list[str] | None,
    audit: Audit,
) -> tuple[KeyHandle, KeyHandle]:
    public_key = private_key.public_key()
    public_der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    extras = public_extras(public_key)
    public_template = {"label": label, **(public_attributes or {})}
    private_template = {"label": label, **(private_attributes or {})}
    # Validate both templates before anything is stored.
    for template, key_class in (
        (public_template, "public-key"),
        (private_template, "private-key"),
    ):
        probe = attrs.defaults(key_class, key_type)
        attrs.apply_template(probe, template, key_class=key_class)
        _require_writable(ctx, bool(template.get("token", token)))
    public_handle = store_new_key(
        engine,
        ctx,
        key_class="public-key",
        key_type=key_type,
        material=None,
        public_der=public_der,
        template=public_template,
        token=token,
        extra=extras,
        local=local,
        save_cluster=False,
    )
    private_handle = store_new_key(
        engine,
        ctx,
        key_class="private-key",
        key_type=key_type,
        material=private_der,
        public_der=public_der,
        template=private_template,
        token=token,
        extra=extras,
        local=local,
        share_with=share_with,
    )
    audit.target = sessions.key_target(ctx, private_handle)
    return public_handle, private_handle


def import_key(
    engine: HsmState,
    session_id: str,
    key_type: str,
    material: bytes,
    *,
    label: str = "",
    attributes: Mapping[str, object] | None = None,
    token: bool = True,
) -> KeyHandle:
    """Import plaintext key material (CloudHSM CLI ``key import``).

    ``aes``: 16/24/32 raw bytes; ``generic-secret``: 1 to 800 raw bytes; ``rsa-private``
    or ``ec-private``: PKCS#8 DER or PEM; ``rsa-public`` or ``ec-public``: SPKI DER or PEM.
    Imported keys have local=false.
    """
    with sessions.key_call(engine, "KeyImport", session_id) as (ctx, audit):
        sessions.require_crypto_user(engine, ctx)
        audit.detail = {"key_type": key_type}
        if key_type in ("aes", "generic-secret"):
            ok = (
                len(material) in prim.AES_KEY_LENGTHS
                if key_type == "aes"
                else 1 <= len(material) <= 800
            )
            if not ok:
                raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", f"wrong {key_type} key length")
            handle = store_new_key(
                engine,
                ctx,
                key_class="secret-key",
                key_type=key_type,
                material=bytes(material),
                public_der=None,
                template={"label": label, **(attributes or {})},
                token=token,
                extra=secret_extras(key_type, bytes(material)),
                local=False,
            )
        elif key_type in ("rsa-private", "ec-private"):
            private_key = key_material.load_private(material, key_type.split("-")[0])
            handle = store_new_key(
                engine,
                ctx,
                key_class="private-key",
                key_type=key_type.split("-")[0],
                material=private_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                public_der=private_key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
                template={"label": label, **(attributes or {})},
                token=token,
                extra=public_extras(private_key.public_key()),
                local=False,
            )
        elif key_type in ("rsa-public", "ec-public"):
            public_key = key_material.load_public(material, key_type.split("-")[0])
            handle = store_new_key(
                engine,
                ctx,
                key_class="public-key",
                key_type=key_type.split("-")[0],
                material=None,
                public_der=public_key.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
                template={"label": label, **(attributes or {})},
                token=token,
                extra=public_extras(public_key),
                local=False,
            )
        else:
            raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", f"cannot import {key_type!r}")
        audit.target = sessions.key_target(ctx, handle)
        return handle


def find_keys(
    engine: HsmState, session_id: str, filters: Mapping[str, object] | None = None
) -> list[KeyHandle]:
    """C_FindObjects / ``key list --filter attr.NAME=VALUE``: handles of visible keys.

    Without login only public (private=false) token keys are found; that is not an error.
    A ``key-reference`` filter matches one handle.
    """
    with sessions.key_call(engine, "KeyList", session_id) as (ctx, audit):
        wanted = dict(filters or {})
        reference = wanted.pop("key-reference", None)
        for name in wanted:
            if name not in attrs.OUTPUT_ORDER:
                raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"unknown attribute {name!r}")
        found = []
        for key in engine._keys(ctx.cluster["ClusterId"]):
            if not _visible(ctx, key):
                continue
            if reference is not None and key["handle"] != parse_key_reference(str(reference)):
                continue
            if attrs.matches(key["attributes"], wanted):
                found.append(int(key["handle"]))
        audit.detail = {"filters": {k: str(v) for k, v in wanted.items()}, "found": len(found)}
        return sorted(found)


def describe_key(engine: HsmState, session_id: str, handle: KeyHandle) -> JSON:
    """A key as CloudHSM CLI shows it: ``key-reference``, ``key-info`` (owners, shared
    users, coverage) and ``attributes``. Never includes key material."""
    with sessions.key_call(engine, "KeyDescribe", session_id, handle) as (ctx, _audit):
        return _key_view(engine, ctx.cluster, load_key(engine, ctx, handle))


def _key_view(engine: HsmState, cluster: JSON, key: JSON) -> JSON:
    active = set(sessions.active_hsms(cluster))
    on = set(key["hsms"]) & active
    if key["session_id"] is not None:
        coverage = "session"
    else:
        coverage = "full" if active and active <= on else "partial"
    attributes = key["attributes"]
    ordered = {name: attributes[name] for name in attrs.OUTPUT_ORDER if name in attributes}
    return {
        "key-reference": key_reference(key["handle"]),
        "key-info": {
            "key-owners": [{"username": key["owner"], "key-coverage": coverage}],
            "shared-users": [
                {"username": name, "key-coverage": coverage} for name in key["shared"]
            ],
            "key-quorum-values": {"manage-key-quorum-value": 0, "use-key-quorum-value": 0},
            "cluster-coverage": coverage,
        },
        "attributes": ordered,
    }


def get_attribute(engine: HsmState, session_id: str, handle: KeyHandle, name: str) -> Any:
    """C_GetAttributeValue for one attribute (CloudHSM CLI name).

    ``value`` reads key material: raw bytes of a secret key, PKCS#8 DER of a private key,
    SPKI DER of a public key. A sensitive or non-extractable key answers
    CKR_ATTRIBUTE_SENSITIVE; only the owner may read it.
    """
    with sessions.key_call(engine, "KeyGetAttribute", session_id, handle) as (ctx, audit):
        audit.detail = {"attribute": name}
        key = load_key(engine, ctx, handle)
        if name != "value":
            if name not in attrs.OUTPUT_ORDER:
                raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"unknown attribute {name!r}")
            if name not in key["attributes"]:
                raise Pkcs11Error("CKR_ATTRIBUTE_TYPE_INVALID", f"the key has no {name}")
            return key["attributes"][name]
        if key["attributes"]["class"] == "public-key":
            return unb64(key["public"])
        sessions.require_crypto_user(engine, ctx)
        if key["attributes"]["sensitive"] or not key["attributes"]["extractable"]:
            raise Pkcs11Error("CKR_ATTRIBUTE_SENSITIVE", "the key value cannot be revealed")
        key = own_key(engine, ctx, handle, "read its value")
        return engine._unseal(key)


def get_public_key_pem(engine: HsmState, session_id: str, handle: KeyHandle) -> str:
    """The SubjectPublicKeyInfo PEM of a public or private key (``key generate-file``)."""
    with sessions.key_call(engine, "KeyGetPublic", session_id, handle) as (ctx, _audit):
        key = load_key(engine, ctx, handle)
        if key["public"] is None:
            raise Pkcs11Error("CKR_KEY_TYPE_INCONSISTENT", "a secret key has no public key")
        public = serialization.load_der_public_key(unb64(key["public"]))
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def set_attribute(
    engine: HsmState, session_id: str, handle: KeyHandle, name: str, value: object
) -> None:
    """CloudHSM CLI ``key set-attribute``: the owner changes an attribute; an admin may set
    only ``trusted``. One-way attributes only tighten (CKR_ATTRIBUTE_READ_ONLY otherwise);
    a key with modifiable=false answers CKR_ACTION_PROHIBITED."""
    with sessions.key_call(engine, "KeySetAttribute", session_id, handle) as (ctx, audit):
        audit.detail = {"attribute": name, "value": str(value)}
        if ctx.role == "admin":
            if name != "trusted":
                raise RoleError("admins can set only the trusted attribute")
            key = load_key(engine, ctx, handle)
        else:
            if name == "trusted":
                raise RoleError("only an admin can set the trusted attribute")
            key = own_key(engine, ctx, handle, "change its attributes")
        _require_writable(ctx, bool(key["session_id"] is None or name == "token"))
        if not key["attributes"]["modifiable"]:
            raise Pkcs11Error("CKR_ACTION_PROHIBITED", "the key is not modifiable")
        new_value = attrs.check_change(key["attributes"], name, value)
        if key["attributes"]["class"] == "public-key" and name in ("sensitive",) and new_value:
            raise Pkcs11Error("CKR_ATTRIBUTE_VALUE_INVALID", "public keys are never sensitive")
        if name == "token" and new_value and key["session_id"] is not None:
            key["session_id"] = None
            key["hsms"] = sessions.active_hsms(ctx.cluster)
        key["attributes"][name] = new_value
        engine._put_key(key)


def share_key(engine: HsmState, session_id: str, handle: KeyHandle, username: str) -> None:
    """CloudHSM CLI ``key share``: the owner shares a token key with a crypto user (at
    most 7); shared users use the key but cannot delete, share, export or change it."""
    with sessions.key_call(engine, "KeyShare", session_id, handle) as (ctx, audit):
        audit.detail = {"username": username}
        key = own_key(engine, ctx, handle, "share it")
        _add_share(engine, ctx, key, username)
        engine._put_key(key)


def unshare_key(engine: HsmState, session_id: str, handle: KeyHandle, username: str) -> None:
    """CloudHSM CLI ``key unshare``."""
    with sessions.key_call(engine, "KeyUnshare", session_id, handle) as (ctx, audit):
        audit.detail = {"username": username}
        key = own_key(engine, ctx, handle, "unshare it")
        name = username.lower()
        if name not in key["shared"]:
            raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"the key is not shared with {name}")
        key["shared"].remove(name)
        engine._put_key(key)


def destroy_key(engine: HsmState, session_id: str, handle: KeyHandle) -> None:
    """C_DestroyObject / ``key delete``: owner only; destroyable=false refuses."""
    with sessions.key_call(engine, "KeyDelete", session_id, handle) as (ctx, _audit):
        key = own_key(engine, ctx, handle, "delete it")
        _require_writable(ctx, key["session_id"] is None)
        if not key["attributes"]["destroyable"]:
            raise Pkcs11Error("CKR_ACTION_PROHIBITED", "the key is not destroyable")
        engine._delete_key(key)
