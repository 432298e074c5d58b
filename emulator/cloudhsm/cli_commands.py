"""The commands of the CloudHSM CLI look-alike (:mod:`.cli`): one handler per command and
the table that maps each command's words to it. A command's usage line is its whole
specification: the options it takes, which are flags and which are required.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable
from typing import Any

from .engine import CloudHsm, KeyHandle, Role, key_reference
from .errors import Pkcs11Error

JSON = dict[str, Any]


class CliError(Exception):
    """A usage error in the command line itself (unknown command, missing option)."""


@dataclasses.dataclass
class CliContext:
    """What the console remembers between commands."""

    cluster_id: str
    session_id: str | None = None

    def to_dict(self) -> JSON:
        return {"cluster_id": self.cluster_id, "session_id": self.session_id}

    @classmethod
    def from_dict(cls, data: JSON) -> CliContext:
        return cls(cluster_id=str(data["cluster_id"]), session_id=data.get("session_id"))


Options = dict[str, list[str]]
Handler = Callable[[CloudHsm, CliContext, Options], Any]


# --- option helpers ------------------------------------------------------------------------------


def _one(options: Options, name: str, default: str | None = None) -> str:
    values = options.get(name)
    if not values:
        if default is None:
            raise CliError(f"missing {name}")
        return default
    if len(values) != 1:
        raise CliError(f"{name} takes one value")
    return values[0]


def _int(options: Options, name: str, default: int | None = None) -> int:
    text = _one(options, name, None if default is None else str(default))
    try:
        return int(text, 0)
    except ValueError:
        raise CliError(f"{name} must be a number") from None


def _b64(options: Options, name: str) -> bytes:
    try:
        return base64.b64decode(_one(options, name), validate=True)
    except (binascii.Error, ValueError):
        raise CliError(f"{name} must be base64") from None


def _pairs(options: Options, name: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in options.get(name, []):
        if "=" not in item:
            raise CliError(f"{name} takes NAME=VALUE pairs, got {item!r}")
        key, value = item.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def _role(text: str) -> Role:
    if text == "admin":
        return "admin"
    if text == "crypto-user":
        return "crypto-user"
    raise CliError("--role must be admin or crypto-user")


def _session(context: CliContext) -> str:
    if context.session_id is None:
        raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "User is not logged in; run login first")
    return context.session_id


def _filters(options: Options, name: str) -> dict[str, object]:
    filters: dict[str, object] = {}
    for item in options.get(name, []):
        if "=" not in item:
            raise CliError(f"{name} takes attr.NAME=VALUE or key-reference=0x...")
        key, value = item.split("=", 1)
        if key.startswith("attr."):
            filters[key[5:]] = value
        elif key == "key-reference":
            filters["key-reference"] = value
        else:
            raise CliError(f"unknown filter {key!r}: use attr.NAME=VALUE or key-reference=...")
    return filters


def _single_key(engine: CloudHsm, context: CliContext, options: Options, name: str) -> KeyHandle:
    session_id = _session(context)
    filters = _filters(options, name)
    if not filters:
        raise CliError(f"{name} is required, e.g. {name} attr.label=my-key")
    handles = engine.find_keys(session_id, filters)
    if not handles:
        raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", "Key not found with the given filter")
    if len(handles) > 1:
        raise Pkcs11Error(
            "CKR_ARGUMENTS_BAD", f"{len(handles)} keys match the filter; narrow it down"
        )
    return handles[0]


def _key_output(engine: CloudHsm, context: CliContext, handle: KeyHandle) -> JSON:
    return engine.describe_key(_session(context), handle)


# --- handlers ------------------------------------------------------------------------------------


def _login(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    username, role = _one(options, "--username"), _role(_one(options, "--role"))
    password = _one(options, "--password")
    if context.session_id is not None:
        try:
            info = engine.session_info(context.session_id)
        except Pkcs11Error:
            context.session_id = None  # the stored session has ended; start afresh
        else:
            if info["username"] is not None:
                raise Pkcs11Error("CKR_USER_ALREADY_LOGGED_IN", "Already logged in; log out first")
    context.session_id = engine.login(context.cluster_id, username, password, role)
    return {"username": username.lower(), "role": role}


def _logout(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    session_id = _session(context)
    engine.logout(session_id)
    engine.close_session(session_id)
    context.session_id = None
    return "Logout successful"


def _cluster_activate(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    engine.activate_cluster(context.cluster_id, _one(options, "--password"))
    return "Cluster activation successful"


def _cluster_hsm_info(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    clusters = engine.describe_clusters({"Filters": {"clusterIds": [context.cluster_id]}})
    if not clusters["Clusters"]:
        raise Pkcs11Error("CKR_TOKEN_NOT_PRESENT", "no such cluster")
    return {
        "hsms": [
            {
                "vendor": "Emulated CloudHSM",
                "model": hsm["HsmType"],
                "hsm-id": hsm["HsmId"],
                "availability-zone": hsm["AvailabilityZone"],
                "state": hsm["State"],
            }
            for hsm in clusters["Clusters"][0]["Hsms"]
        ]
    }


def _user_list(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    return {"users": engine.list_users(context.cluster_id)}


def _user_create(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    username, role = _one(options, "--username"), _role(_one(options, "--role"))
    engine.create_user(
        _session(context),
        username,
        _one(options, "--password"),
        role,
        approval=options.get("--approval", [None])[0],
    )
    return {"username": username.lower(), "role": role}


def _user_delete(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    username, role = _one(options, "--username"), _role(_one(options, "--role"))
    engine.delete_user(
        _session(context), username, role, approval=options.get("--approval", [None])[0]
    )
    return {"username": username.lower(), "role": role}


def _user_change_password(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    username, role = _one(options, "--username"), _role(_one(options, "--role"))
    engine.change_password(
        _session(context),
        username,
        _one(options, "--password"),
        approval=options.get("--approval", [None])[0],
    )
    return {"username": username.lower(), "role": role}


def _quorum_generate(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    service = _one(options, "--service")
    return {"token": engine.quorum_generate(_session(context), service), "service": service}


def _quorum_approve(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    token = _one(options, "--token")
    return {"token": token, "approvals": engine.quorum_approve(_session(context), token)}


def _quorum_list(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    return {"tokens": engine.quorum_tokens(_session(context))}


def _quorum_set_value(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    service, value = _one(options, "--service"), _int(options, "--value")
    engine.set_quorum_value(
        _session(context), service, value, approval=options.get("--approval", [None])[0]
    )
    return "Set quorum value successful"


def _generate_symmetric(key_type: str) -> Callable[[CloudHsm, CliContext, Options], Any]:
    def handler(engine: CloudHsm, context: CliContext, options: Options) -> Any:
        handle = engine.generate_symmetric(
            _session(context),
            key_type,
            _int(options, "--key-length-bytes"),
            label=_one(options, "--label"),
            attributes=_pairs(options, "--attributes"),
            token="--session" not in options,
            share_with=options.get("--share-crypto-users", []),
        )
        return {"key": _key_output(engine, context, handle)}

    return handler


def _generate_pair(key_type: str) -> Callable[[CloudHsm, CliContext, Options], Any]:
    def handler(engine: CloudHsm, context: CliContext, options: Options) -> Any:
        session_id = _session(context)
        public_attributes: dict[str, object] = {"label": _one(options, "--public-label")}
        public_attributes.update(_pairs(options, "--public-attributes"))
        private_attributes: dict[str, object] = {"label": _one(options, "--private-label")}
        private_attributes.update(_pairs(options, "--private-attributes"))
        public, private = engine.generate_key_pair(
            session_id,
            key_type,
            modulus_bits=_int(options, "--modulus-size-bits", 2048),
            public_exponent=_int(options, "--public-exponent", 65537),
            curve=_one(options, "--curve", "secp256r1"),
            public_attributes=public_attributes,
            private_attributes=private_attributes,
            token="--session" not in options,
            share_with=options.get("--share-crypto-users", []),
        )
        return {
            "public_key": _key_output(engine, context, public),
            "private_key": _key_output(engine, context, private),
        }

    return handler


def _key_list(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    if context.session_id is None:
        raise Pkcs11Error("CKR_USER_NOT_LOGGED_IN", "User is not logged in; run login first")
    handles = engine.find_keys(context.session_id, _filters(options, "--filter"))
    limit = _int(options, "--max-items", len(handles) or 1)
    shown = handles[:limit]
    if "--verbose" in options:
        matched = [_key_output(engine, context, handle) for handle in shown]
    else:
        matched = []
        for handle in shown:
            view = _key_output(engine, context, handle)
            matched.append(
                {
                    "key-reference": view["key-reference"],
                    "attributes": {"label": view["attributes"].get("label", "")},
                }
            )
    return {
        "matched_keys": matched,
        "total_key_count": len(handles),
        "returned_key_count": len(shown),
    }


def _key_set_attribute(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    handle = _single_key(engine, context, options, "--filter")
    engine.set_attribute(
        _session(context), handle, _one(options, "--name"), _one(options, "--value")
    )
    return {"message": "Attribute set successfully"}


def _key_share(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    handle = _single_key(engine, context, options, "--filter")
    engine.share_key(_session(context), handle, _one(options, "--username"))
    return {"message": "Key shared successfully"}


def _key_unshare(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    handle = _single_key(engine, context, options, "--filter")
    engine.unshare_key(_session(context), handle, _one(options, "--username"))
    return {"message": "Key unshared successfully"}


def _key_delete(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    handle = _single_key(engine, context, options, "--filter")
    engine.destroy_key(_session(context), handle)
    return {"message": "Key deleted successfully"}


def _key_generate_file(engine: CloudHsm, context: CliContext, options: Options) -> Any:
    handle = _single_key(engine, context, options, "--filter")
    return {
        "key-reference": key_reference(handle),
        "pem": engine.get_public_key_pem(_session(context), handle),
    }


_WRAP_CLI = {
    "aes-gcm": "CKM_AES_GCM",
    "aes-no-pad": "CKM_AES_KEY_WRAP",
    "aes-key-wrap-pad": "CKM_AES_KEY_WRAP_PAD",
    "rsa-oaep": "CKM_RSA_PKCS_OAEP",
}


def _key_wrap(mechanism: str) -> Callable[[CloudHsm, CliContext, Options], Any]:
    def handler(engine: CloudHsm, context: CliContext, options: Options) -> Any:
        payload = _single_key(engine, context, options, "--payload-filter")
        wrapping = _single_key(engine, context, options, "--wrapping-filter")
        wrapped = engine.wrap_key(
            _session(context),
            wrapping,
            payload,
            _WRAP_CLI[mechanism],
            hash_name=_one(options, "--hash-function", "sha256"),
        )
        return {
            "payload_key_reference": key_reference(payload),
            "wrapping_key_reference": key_reference(wrapping),
            "wrapped_key_data": base64.b64encode(wrapped).decode("ascii"),
        }

    return handler


_KEY_TYPE_CLASS = {
    "aes": ("aes", "secret-key"),
    "generic-secret": ("generic-secret", "secret-key"),
    "rsa-private": ("rsa", "private-key"),
    "ec-private": ("ec", "private-key"),
}


def _key_unwrap(mechanism: str) -> Callable[[CloudHsm, CliContext, Options], Any]:
    def handler(engine: CloudHsm, context: CliContext, options: Options) -> Any:
        type_class = _one(options, "--key-type-class")
        if type_class not in _KEY_TYPE_CLASS:
            raise CliError(f"--key-type-class must be one of {', '.join(_KEY_TYPE_CLASS)}")
        key_type, key_class = _KEY_TYPE_CLASS[type_class]
        wrapped = _b64(options, "--data")
        unwrapping = _single_key(engine, context, options, "--filter")
        handle = engine.unwrap_key(
            _session(context),
            unwrapping,
            wrapped,
            _WRAP_CLI[mechanism],
            key_type=key_type,
            key_class=key_class,
            label=_one(options, "--label"),
            attributes=_pairs(options, "--attributes"),
            token="--session" not in options,
            hash_name=_one(options, "--hash-function", "sha256"),
        )
        return {"key": _key_output(engine, context, handle)}

    return handler


def _sign_mechanism(scheme: str, options: Options) -> tuple[str, str | None]:
    """(PKCS#11 mechanism, hash for prehashed PSS) for ``crypto sign|verify <scheme>``."""
    hash_name = _one(options, "--hash-function", "sha256").lower()
    suffix = {"sha1": "SHA1", "sha224": "SHA224", "sha256": "SHA256", "sha384": "SHA384"}
    suffix["sha512"] = "SHA512"
    if hash_name not in suffix:
        raise CliError("--hash-function must be sha1, sha224, sha256, sha384 or sha512")
    digest = _one(options, "--data-type", "raw") == "digest"
    h = suffix[hash_name]
    if scheme == "rsa-pkcs":
        if digest:
            raise CliError("rsa-pkcs here signs raw data; use --data-type raw")
        return f"CKM_{h}_RSA_PKCS", None
    if scheme == "rsa-pkcs-pss":
        return ("CKM_RSA_PKCS_PSS", hash_name) if digest else (f"CKM_{h}_RSA_PKCS_PSS", None)
    if scheme == "ecdsa":
        return ("CKM_ECDSA", None) if digest else (f"CKM_ECDSA_{h}", None)
    return f"CKM_{h}_HMAC", None


def _crypto_sign(scheme: str) -> Callable[[CloudHsm, CliContext, Options], Any]:
    def handler(engine: CloudHsm, context: CliContext, options: Options) -> Any:
        handle = _single_key(engine, context, options, "--key-filter")
        mechanism, hash_name = _sign_mechanism(scheme, options)
        signature = engine.sign(
            _session(context), handle, mechanism, _b64(options, "--data"), hash_name=hash_name
        )
        return {
            "key-reference": key_reference(handle),
            "signature": base64.b64encode(signature).decode("ascii"),
        }

    return handler


def _crypto_verify(scheme: str) -> Callable[[CloudHsm, CliContext, Options], Any]:
    def handler(engine: CloudHsm, context: CliContext, options: Options) -> Any:
        handle = _single_key(engine, context, options, "--key-filter")
        mechanism, hash_name = _sign_mechanism(scheme, options)
        engine.verify(
            _session(context),
            handle,
            mechanism,
            _b64(options, "--data"),
            _b64(options, "--signature"),
            hash_name=hash_name,
        )
        return {"message": "Signature verified successfully"}

    return handler


# --- the command table ---------------------------------------------------------------------------


_APPROVAL = "[--approval <TOKEN>]"
_PAIR_OPTIONS = (
    "[--session] [--public-attributes NAME=VALUE ...] [--private-attributes NAME=VALUE ...] "
    "[--share-crypto-users U ...]"
)
_USER = "--username <U> --role <admin|crypto-user>"
# (summary, usage, handler): the usage line says everything (see cli.command_from_usage).
TABLE: list[tuple[str, str, Handler]] = [
    ("Log in to the cluster", f"login {_USER} --password <PASSWORD>", _login),
    ("Log out of the cluster", "logout", _logout),
    (
        "Activate a new cluster: the unactivated admin sets its password",
        "cluster activate --password <PASSWORD>",
        _cluster_activate,
    ),
    ("List the HSMs in the cluster", "cluster hsm-info", _cluster_hsm_info),
    ("List the users", "user list", _user_list),
    ("Create a user (admin)", f"user create {_USER} --password <P> {_APPROVAL}", _user_create),
    ("Delete a user (admin)", f"user delete {_USER} {_APPROVAL}", _user_delete),
    (
        "Change your password, or (admin) another user's, which also unlocks it",
        f"user change-password {_USER} --password <P> {_APPROVAL}",
        _user_change_password,
    ),
    (
        "Generate a quorum token for a service (admin)",
        "quorum token-sign generate --service <user|quorum>",
        _quorum_generate,
    ),
    (
        "Approve another admin's quorum token (stands in for signing the token file)",
        "quorum token-sign approve --token <TOKEN>",
        _quorum_approve,
    ),
    ("List live quorum tokens", "quorum token-sign list", _quorum_list),
    (
        "Set M for a quorum service (admin)",
        f"quorum token-sign set-quorum-value --service <user|quorum> --value <M> {_APPROVAL}",
        _quorum_set_value,
    ),
    (
        "List keys you can see",
        "key list [--filter attr.NAME=VALUE ...] [--max-items N] [--verbose]",
        _key_list,
    ),
    (
        "Change one attribute of a key you own (admins: trusted only)",
        "key set-attribute --filter attr.NAME=VALUE --name <ATTRIBUTE> --value <VALUE>",
        _key_set_attribute,
    ),
    (
        "Share a key you own with a crypto user",
        "key share --filter attr.NAME=VALUE --username <U> [--role crypto-user]",
        _key_share,
    ),
    (
        "Stop sharing a key",
        "key unshare --filter attr.NAME=VALUE --username <U> [--role crypto-user]",
        _key_unshare,
    ),
    ("Delete a key you own", "key delete --filter attr.NAME=VALUE", _key_delete),
    (
        "Show the public key of a key pair as PEM",
        "key generate-file [--encoding pem] --filter attr.NAME=VALUE",
        _key_generate_file,
    ),
    (
        "Generate an RSA key pair",
        "key generate-asymmetric-pair rsa --public-label <L> --private-label <L> "
        f"--modulus-size-bits <2048..> --public-exponent <65537> {_PAIR_OPTIONS}",
        _generate_pair("rsa"),
    ),
    (
        "Generate an EC key pair",
        "key generate-asymmetric-pair ec --public-label <L> --private-label <L> "
        f"--curve <secp256r1|secp384r1|secp521r1|secp256k1> {_PAIR_OPTIONS}",
        _generate_pair("ec"),
    ),
]
for _key_type in ("aes", "generic-secret"):
    TABLE.append(
        (
            f"Generate a {_key_type} key",
            f"key generate-symmetric {_key_type} --label <L> --key-length-bytes <N> [--session] "
            "[--attributes NAME=VALUE ...] [--share-crypto-users U ...]",
            _generate_symmetric(_key_type),
        )
    )
for _mechanism in _WRAP_CLI:
    TABLE.append(
        (
            f"Wrap (export) a key with {_mechanism}",
            f"key wrap {_mechanism} --payload-filter attr.NAME=VALUE "
            "--wrapping-filter attr.NAME=VALUE [--hash-function sha256]",
            _key_wrap(_mechanism),
        )
    )
    TABLE.append(
        (
            f"Unwrap (import) a key wrapped with {_mechanism}",
            f"key unwrap {_mechanism} --filter attr.NAME=VALUE --data <BASE64> "
            "--key-type-class <aes|generic-secret|rsa-private|ec-private> --label <L> "
            "[--session] [--attributes NAME=VALUE ...] [--hash-function sha256]",
            _key_unwrap(_mechanism),
        )
    )
for _scheme in ("rsa-pkcs", "rsa-pkcs-pss", "ecdsa", "hmac"):
    TABLE.append(
        (
            f"Sign with {_scheme}",
            f"crypto sign {_scheme} --key-filter attr.NAME=VALUE [--hash-function <sha256>] "
            "--data <BASE64> [--data-type raw|digest]",
            _crypto_sign(_scheme),
        )
    )
    TABLE.append(
        (
            f"Verify a {_scheme} signature",
            f"crypto verify {_scheme} --key-filter attr.NAME=VALUE [--hash-function <sha256>] "
            "--data <BASE64> --signature <BASE64> [--data-type raw|digest]",
            _crypto_verify(_scheme),
        )
    )
