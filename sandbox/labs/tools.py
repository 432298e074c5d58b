"""The lab panels' actions: what the sandbox does on the learner's behalf in a lab.

Each action runs through ``sandbox_call`` like any console command, as the account root (or
the analyst in lab 3), so it shows in the audit logs and the graders see its effects. HSM
actions log in with the credentials the learner types and close the session afterwards;
passwords are never stored.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..engine import (
    CloudHsm,
    Decision,
    HsmError,
    KmsError,
    OffsetClock,
    Pkcs11Error,
    SandboxEngine,
    SealingError,
    create_ca,
    sandbox_sealer,
    sign_csr,
)
from ..models import SandboxAccount, SandboxFile
from ..services import ANALYST_USER, file_save, sandbox_call
from .kms_labs import PACKAGE_SUFFIX

PACKAGE_FORMAT = "sandbox-envelope/1"
ANALYST_OPERATIONS = ("Encrypt", "GenerateDataKeyWithoutPlaintext", "DescribeKey")
TRUST_ANCHOR_FILE = "customerCA.crt"
LAB_CA_FILE = "lab-ca.crt"


class LabToolError(Exception):
    """A lab action could not run; the message says why and what to do."""


def file_bytes(account: SandboxAccount, name: str) -> bytes:
    content = (
        SandboxFile.objects.filter(account=account, name=name)
        .values_list("content", flat=True)
        .first()
    )
    if content is None:
        raise LabToolError(f"There is no file named {name} in your sandbox.")
    return bytes(content)


def engine_error_text(error: Exception) -> str:
    code = getattr(error, "code", type(error).__name__)
    message = getattr(error, "message", "") or str(error)
    return f"{code}: {message}"


# --- lab 2: envelope encryption -----------------------------------------------------------------


@dataclass
class EnvelopeSealed:
    package_name: str
    key_arn: str
    plaintext_data_key_b64: str  # shown once, on purpose: the lab teaches what it is
    encrypted_data_key_b64: str
    original_size: int
    ciphertext_size: int


@dataclass
class EnvelopeOpened:
    package_name: str
    decrypted_name: str
    identical: bool
    original_sha256: str
    decrypted_sha256: str


def envelope_encrypt(
    *, account: SandboxAccount, file_name: str, key_id: str, context: dict[str, str]
) -> EnvelopeSealed:
    """GenerateDataKey, AES-256-GCM the file locally, save ``<file>.envelope.json``."""
    content = file_bytes(account, file_name)
    if file_name.endswith(PACKAGE_SUFFIX):
        raise LabToolError("Pick the original file, not a package.")
    request: dict[str, Any] = {"KeyId": key_id, "KeySpec": "AES_256"}
    if context:
        request["EncryptionContext"] = context
    answer = sandbox_call(
        account=account, action=lambda engine: engine.kms_call("GenerateDataKey", request)
    )
    data_key: bytes = answer["Plaintext"]
    iv = os.urandom(12)
    ciphertext = AESGCM(data_key).encrypt(iv, content, None)
    package = {
        "format": PACKAGE_FORMAT,
        "algorithm": "AES-256-GCM",
        "keyId": answer["KeyId"],
        "encryptionContext": context,
        "encryptedDataKey": base64.b64encode(answer["CiphertextBlob"]).decode(),
        "iv": base64.b64encode(iv).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "originalName": file_name,
        "originalSha256": hashlib.sha256(content).hexdigest(),
    }
    package_name = file_name + PACKAGE_SUFFIX
    file_save(account=account, name=package_name, content=json.dumps(package, indent=2).encode())
    return EnvelopeSealed(
        package_name=package_name,
        key_arn=answer["KeyId"],
        plaintext_data_key_b64=base64.b64encode(data_key).decode(),
        encrypted_data_key_b64=package["encryptedDataKey"],
        original_size=len(content),
        ciphertext_size=len(ciphertext),
    )


def _load_package(account: SandboxAccount, package_name: str) -> dict[str, Any]:
    try:
        package = json.loads(file_bytes(account, package_name))
        for name in ("encryptedDataKey", "iv", "ciphertext"):
            base64.b64decode(package[name], validate=True)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LabToolError(
            f"{package_name} is not an envelope package: it needs encryptedDataKey, iv and "
            "ciphertext as base64 (see the boto3 example)."
        ) from None
    if not isinstance(package.get("encryptionContext") or {}, dict):
        raise LabToolError("encryptionContext must be a JSON object.")
    return dict(package)


def envelope_decrypt(*, account: SandboxAccount, package_name: str) -> EnvelopeOpened:
    """KMS Decrypt the data key, AES-GCM decrypt locally, compare with the original."""
    package = _load_package(account, package_name)
    request: dict[str, Any] = {"CiphertextBlob": base64.b64decode(package["encryptedDataKey"])}
    if package.get("encryptionContext"):
        request["EncryptionContext"] = package["encryptionContext"]
    original_name = str(package.get("originalName") or package_name.removesuffix(PACKAGE_SUFFIX))
    expected = str(package.get("originalSha256") or "")
    original = SandboxFile.objects.filter(account=account, name=original_name).first()
    if original is not None:
        expected = original.sha256

    def action(engine: SandboxEngine) -> bytes | None:
        data_key = engine.kms_call("Decrypt", request)["Plaintext"]
        try:
            plaintext = AESGCM(data_key).decrypt(
                base64.b64decode(package["iv"]), base64.b64decode(package["ciphertext"]), None
            )
        except (InvalidTag, ValueError):
            # Keep the KMS Decrypt in the audit log: the data key was fine, the file was not.
            return None
        digest = hashlib.sha256(plaintext).hexdigest()
        engine.storage.put(
            "lab.envelope",
            package_name,
            {
                "package": package_name,
                "original_name": original_name,
                "original_sha256": expected,
                "decrypted_sha256": digest,
                "identical": bool(expected) and digest == expected,
            },
        )
        return plaintext

    plaintext = sandbox_call(account=account, action=action)
    if plaintext is None:
        raise LabToolError(
            "KMS returned the data key, but the file did not authenticate: the package was "
            "modified (AES-GCM checks every byte)."
        )
    decrypted_name = original_name[:90] + ".decrypted"
    file_save(account=account, name=decrypted_name, content=plaintext)
    digest = hashlib.sha256(plaintext).hexdigest()
    return EnvelopeOpened(
        package_name=package_name,
        decrypted_name=decrypted_name,
        identical=bool(expected) and digest == expected,
        original_sha256=expected,
        decrypted_sha256=digest,
    )


# --- lab 3: acting as the analyst --------------------------------------------------------------


@dataclass
class AnalystAttempt:
    operation: str
    key_id: str
    decision: Decision | None
    outcome: str
    ok: bool
    trace: list[str] = field(default_factory=list)


def analyst_attempt(
    *, account: SandboxAccount, key_id: str, operation: str, context: dict[str, str]
) -> AnalystAttempt:
    """Explain, then really run, one call as ``user/analyst``; both are shown."""
    if operation not in ANALYST_OPERATIONS:
        raise LabToolError(f"Pick one of {', '.join(ANALYST_OPERATIONS)}.")

    def action(engine: SandboxEngine) -> AnalystAttempt:
        try:
            decision = engine.kms.explain_access(
                engine.principal, operation, key_id, context or None
            )
        except KmsError as error:
            return AnalystAttempt(operation, key_id, None, engine_error_text(error), False)
        request: dict[str, Any] = {"KeyId": key_id}
        if operation == "Encrypt":
            request["Plaintext"] = b"lab 3: written by the analyst"
        if operation != "DescribeKey" and context:
            request["EncryptionContext"] = context
        if operation == "GenerateDataKeyWithoutPlaintext":
            request["KeySpec"] = "AES_256"
        try:
            engine.kms_call(operation, request)
        except KmsError as error:
            return AnalystAttempt(operation, key_id, decision, engine_error_text(error), False)
        return AnalystAttempt(operation, key_id, decision, f"{operation} succeeded.", True)

    attempt = sandbox_call(account=account, action=action, principal_user=ANALYST_USER)
    attempt.trace = decision_trace(attempt.decision)
    return attempt


def decision_trace(decision: Decision | None) -> list[str]:
    """The evaluation, step by step, as a learner reads it."""
    if decision is None:
        return []
    lines = [f"Request: {decision.principal} → {decision.action} on {decision.resource}"]
    if decision.source == "policy" and not decision.allowed:
        lines.append(
            f"1. Key policy: explicit Deny in statement {decision.statement_index}"
            f"{_sid(decision)} → DENY (nothing else is consulted)."
        )
    elif decision.source == "policy":
        lines.append("1. Key policy: no explicit Deny applies.")
        lines.append(
            f"2. Key policy: Allow in statement {decision.statement_index}{_sid(decision)} → ALLOW."
        )
    elif decision.source == "grant":
        lines.append("1. Key policy: no explicit Deny applies.")
        lines.append("2. Key policy: no Allow statement names this principal.")
        lines.append(f"3. Grants: grant {decision.grant_id} allows it → ALLOW.")
    elif decision.source == "iam-deny":
        lines.append("1. IAM policy of the caller: explicit Deny → DENY (nothing else counts).")
    elif decision.source == "iam":
        lines.append("1. Key policy and IAM policies: no explicit Deny applies.")
        lines.append("2. Key policy: no Allow statement names this principal.")
        lines.append(
            f"3. Key policy: statement {decision.statement_index} allows the account, so the "
            "caller's IAM policies count."
        )
        lines.append("4. IAM policy: Allow → ALLOW.")
    elif decision.source == "account":
        lines.append("1. IAM-only operation: allowed to principals of this account.")
    else:
        lines.append("1. Key policy: no explicit Deny applies.")
        lines.append("2. Key policy: no Allow statement names this principal.")
        lines.append("3. Grants: none allows it.")
        lines.append("4. Implicit deny → DENY.")
    lines.append(decision.reason)
    return lines


def _sid(decision: Decision) -> str:
    return f" (Sid {decision.statement_sid!r})" if decision.statement_sid else ""


# --- lab 5: the customer CA, HSM failures ----------------------------------------------------------

SESSION_CA = "sandbox_lab_ca"


def _ca_identity(account: SandboxAccount) -> str:
    return f"sandbox.lab-ca:{account.account_id}"


def account_now(account: SandboxAccount) -> dt.datetime:
    return OffsetClock(account.clock_offset).now()


def session_ca_create(*, account: SandboxAccount) -> dict[str, str]:
    """A customer CA for the browser session; its private key is sealed before it is kept."""
    key, certificate_pem = create_ca("Sandbox Customer CA", account_now(account))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "key": sandbox_sealer().seal(key_pem, _ca_identity(account)),
        "certificate": certificate_pem,
    }


def _session_ca_key(account: SandboxAccount, stored: dict[str, str]) -> Any:
    try:
        key_pem = sandbox_sealer().unseal(stored["key"], _ca_identity(account))
    except (SealingError, KeyError):
        raise LabToolError("The browser-session CA is gone: generate a new one.") from None
    return serialization.load_pem_private_key(key_pem, password=None)


def cluster_initialize(
    *,
    account: SandboxAccount,
    cluster_id: str,
    session_ca: dict[str, str] | None = None,
    signed_certificate: str = "",
    trust_anchor: str = "",
) -> dict[str, Any]:
    """InitializeCluster with the session CA (signing the CSR) or with the learner's PEMs."""

    def action(engine: SandboxEngine) -> tuple[dict[str, Any], str, str]:
        described = engine.hsm.describe_clusters({"Filters": {"clusterIds": [cluster_id]}})
        if not described["Clusters"]:
            raise LabToolError(f"There is no cluster {cluster_id} in your sandbox.")
        csr = described["Clusters"][0].get("Certificates", {}).get("ClusterCsr")
        certificate, anchor = signed_certificate, trust_anchor
        if session_ca is not None:
            if not csr:
                raise LabToolError(
                    "The cluster has no CSR yet: add an HSM and fast-forward until it is ACTIVE."
                )
            ca_key = _session_ca_key(account, session_ca)
            anchor = session_ca["certificate"]
            certificate = sign_csr(csr, ca_key, anchor, engine.clock.now())
        answer = engine.hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": certificate, "TrustAnchor": anchor}
        )
        return answer, certificate, anchor

    answer, certificate, anchor = sandbox_call(account=account, action=action)
    file_save(account=account, name=TRUST_ANCHOR_FILE, content=anchor.encode())
    file_save(account=account, name=f"{cluster_id}.crt", content=certificate.encode())
    return answer


def hsm_fail(*, account: SandboxAccount, hsm_id: str) -> dict[str, Any]:
    return sandbox_call(account=account, action=lambda engine: engine.hsm.fail_hsm(hsm_id))


def hsm_replace(*, account: SandboxAccount, hsm_id: str) -> dict[str, Any]:
    return sandbox_call(account=account, action=lambda engine: engine.hsm.replace_hsm(hsm_id))


def hsm_add(*, account: SandboxAccount, cluster_id: str, zone: str) -> dict[str, Any]:
    request = {"ClusterId": cluster_id, "AvailabilityZone": zone}
    return sandbox_call(account=account, action=lambda engine: engine.hsm.create_hsm(request))


# --- HSM data plane helpers (labs 5, 6, 7) --------------------------------------------------------------


def with_login(
    account: SandboxAccount,
    cluster_id: str,
    username: str,
    password: str,
    work: Any,
) -> Any:
    """Log in as a crypto user, run ``work(hsm, session_id)``, always close the session."""

    def action(engine: SandboxEngine) -> Any:
        hsm: CloudHsm = engine.hsm
        session_id = hsm.login(cluster_id, username, password, "crypto-user")
        try:
            return work(engine, hsm, session_id)
        finally:
            # The session may have ended already (a failed call closes nothing else).
            with contextlib.suppress(HsmError):
                hsm.close_session(session_id)

    return sandbox_call(account=account, action=action)


def one_key(hsm: CloudHsm, session_id: str, label: str, key_class: str | None = None) -> int:
    filters: dict[str, object] = {"label": label}
    if key_class:
        filters["class"] = key_class
    handles = hsm.find_keys(session_id, filters)
    if not handles:
        raise Pkcs11Error("CKR_OBJECT_HANDLE_INVALID", f"no key labelled {label!r} is visible")
    if len(handles) > 1:
        raise Pkcs11Error("CKR_ARGUMENTS_BAD", f"{len(handles)} keys are labelled {label!r}")
    return handles[0]


@dataclass
class HsmUse:
    ok: bool
    lines: list[str]


def hsm_use_key(
    *, account: SandboxAccount, cluster_id: str, username: str, password: str, label: str
) -> HsmUse:
    """AES-GCM encrypt and decrypt a test message with a key (C_Encrypt, C_Decrypt)."""
    message = b"Sandbox test message"

    def work(engine: SandboxEngine, hsm: CloudHsm, session_id: str) -> HsmUse:
        handle = one_key(hsm, session_id, label)
        info = hsm.session_info(session_id)
        blob = hsm.encrypt(session_id, handle, "CKM_AES_GCM", message)
        back = hsm.decrypt(session_id, handle, "CKM_AES_GCM", blob)
        return HsmUse(
            back == message,
            [
                f"Session on {info['hsm_id']} as {info['username']}.",
                f"C_Encrypt (CKM_AES_GCM): {len(message)} bytes → {len(blob)} bytes "
                "(IV + ciphertext + tag).",
                "C_Decrypt: round trip " + ("OK." if back == message else "FAILED."),
            ],
        )

    try:
        used: HsmUse = with_login(account, cluster_id, username, password, work)
        return used
    except HsmError as error:
        return HsmUse(False, [engine_error_text(error)])


def hsm_read_value(
    *, account: SandboxAccount, cluster_id: str, username: str, password: str, label: str
) -> HsmUse:
    """C_GetAttributeValue(CKA_VALUE). The sandbox never displays what comes back."""

    def work(engine: SandboxEngine, hsm: CloudHsm, session_id: str) -> HsmUse:
        handle = one_key(hsm, session_id, label)
        value = hsm.get_attribute(session_id, handle, "value")
        size = len(value) if isinstance(value, (bytes, bytearray)) else 0
        return HsmUse(
            True,
            [
                f"The HSM returned the key's value ({size} bytes): this key is neither "
                "sensitive nor non-extractable. The sandbox does not display key material."
            ],
        )

    try:
        used: HsmUse = with_login(account, cluster_id, username, password, work)
        return used
    except HsmError as error:
        return HsmUse(False, [engine_error_text(error)])
