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

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

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


def _file_bytes(account: SandboxAccount, name: str) -> bytes:
    content = (
        SandboxFile.objects.filter(account=account, name=name)
        .values_list("content", flat=True)
        .first()
    )
    if content is None:
        raise LabToolError(f"There is no file named {name} in your sandbox.")
    return bytes(content)


def _engine_error(error: Exception) -> str:
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
    content = _file_bytes(account, file_name)
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
        package = json.loads(_file_bytes(account, package_name))
        for name in ("encryptedDataKey", "iv", "ciphertext"):
            base64.b64decode(package[name], validate=True)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LabToolError(
            f"{package_name} is not an envelope package: it needs encryptedDataKey, iv and "
            "ciphertext as base64 (see the boto3 example)."
        ) from None
    if not isinstance(package.get("encryptionContext") or {}, dict):
        raise LabToolError("encryptionContext must be a JSON object.")
    return package


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
            return AnalystAttempt(operation, key_id, None, _engine_error(error), False)
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
            return AnalystAttempt(operation, key_id, decision, _engine_error(error), False)
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


def _session_ca_key(account: SandboxAccount, stored: dict[str, str]):
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


def _with_login(
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


def _one_key(hsm: CloudHsm, session_id: str, label: str, key_class: str | None = None) -> int:
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
        handle = _one_key(hsm, session_id, label)
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
        return _with_login(account, cluster_id, username, password, work)
    except HsmError as error:
        return HsmUse(False, [_engine_error(error)])


def hsm_read_value(
    *, account: SandboxAccount, cluster_id: str, username: str, password: str, label: str
) -> HsmUse:
    """C_GetAttributeValue(CKA_VALUE). The sandbox never displays what comes back."""

    def work(engine: SandboxEngine, hsm: CloudHsm, session_id: str) -> HsmUse:
        handle = _one_key(hsm, session_id, label)
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
        return _with_login(account, cluster_id, username, password, work)
    except HsmError as error:
        return HsmUse(False, [_engine_error(error)])


# --- lab 7: a private CA whose key lives in the HSM ------------------------------------------------------


def _der_element(data: bytes, offset: int) -> tuple[int, int]:
    """(start, end) of the DER element at ``offset``."""
    length = data[offset + 1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
        header += count
    return offset, offset + header + length


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _assemble(template: x509.Certificate, signature: bytes) -> x509.Certificate:
    """Replace a template certificate's signature (same TBS, same algorithm)."""
    der = template.public_bytes(serialization.Encoding.DER)
    inner = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    tbs_start, tbs_end = _der_element(der, inner)
    algorithm_start, algorithm_end = _der_element(der, tbs_end)
    bit_string = b"\x00" + signature
    body = (
        der[tbs_start:tbs_end]
        + der[algorithm_start:algorithm_end]
        + b"\x03"
        + _der_length(len(bit_string))
        + bit_string
    )
    return x509.load_der_x509_certificate(b"\x30" + _der_length(len(body)) + body)


def _hsm_signed(
    builder: x509.CertificateBuilder,
    public_key: Any,
    sign: Any,
) -> x509.Certificate:
    """Build with a throwaway key of the CA key's type (for the TBS and algorithm), then put
    the HSM's signature over that TBS in place of the throwaway one."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        throwaway: Any = ec.generate_private_key(public_key.curve)
        digest = {256: hashes.SHA256(), 384: hashes.SHA384()}.get(
            public_key.curve.key_size, hashes.SHA512()
        )
    elif isinstance(public_key, rsa.RSAPublicKey):
        throwaway = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        digest = hashes.SHA256()
    else:
        raise LabToolError("The CA key must be an RSA or EC key pair.")
    template = builder.sign(throwaway, digest)
    return _assemble(template, sign(template.tbs_certificate_bytes, digest))


def _hsm_signature(hsm: CloudHsm, session_id: str, handle: int, public_key: Any):
    def sign(data: bytes, digest: hashes.HashAlgorithm) -> bytes:
        suffix = {"sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}[digest.name]
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            raw = hsm.sign(session_id, handle, f"CKM_ECDSA_{suffix}", data)
            half = len(raw) // 2
            return encode_dss_signature(
                int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            )
        return hsm.sign(session_id, handle, f"CKM_{suffix}_RSA_PKCS", data)

    return sign


@dataclass
class IssuedCertificate:
    subject: str
    ca_file: str
    leaf_file: str
    generated_csr: bool


def pki_issue(
    *,
    account: SandboxAccount,
    cluster_id: str,
    username: str,
    password: str,
    ca_label: str,
    csr_pem: str = "",
    common_name: str = "www.example.test",
) -> IssuedCertificate:
    """Self-sign the CA certificate and issue a leaf for the CSR, both signed in the HSM."""
    generated = not csr_pem.strip()
    if generated:
        server_key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .sign(server_key, hashes.SHA256())
        )
    else:
        try:
            csr = x509.load_pem_x509_csr(csr_pem.strip().encode())
        except ValueError:
            raise LabToolError("That is not a PEM certificate signing request.") from None
        if not csr.is_signature_valid:
            raise LabToolError("The CSR's own signature does not verify.")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject_cn = str(names[0].value) if names else common_name
    now = account_now(account)

    def work(engine: SandboxEngine, hsm: CloudHsm, session_id: str) -> tuple[str, str]:
        handle = _one_key(hsm, session_id, ca_label, "private-key")
        public_key = serialization.load_pem_public_key(
            hsm.get_public_key_pem(session_id, handle).encode()
        )
        sign = _hsm_signature(hsm, session_id, handle, public_key)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Sandbox Lab CA {ca_label}")])
        ca_builder = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        )
        ca_certificate = _hsm_signed(ca_builder, public_key, sign)
        leaf_builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(ca_name)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(subject_cn)]), critical=False)
        )
        leaf = _hsm_signed(leaf_builder, public_key, sign)
        engine.storage.put(
            "lab.pki",
            "issued",
            {
                "issued": True,
                "subject": subject_cn,
                "ca_label": ca_label,
                "cluster_id": cluster_id,
                "verified": False,
            },
        )
        pem = serialization.Encoding.PEM
        return (
            ca_certificate.public_bytes(pem).decode(),
            leaf.public_bytes(pem).decode(),
        )

    try:
        ca_pem, leaf_pem = _with_login(account, cluster_id, username, password, work)
    except HsmError as error:
        raise LabToolError(_engine_error(error)) from None
    leaf_file = f"{subject_cn[:80]}.crt"
    file_save(account=account, name=LAB_CA_FILE, content=ca_pem.encode())
    file_save(account=account, name=leaf_file, content=leaf_pem.encode())
    return IssuedCertificate(subject_cn, LAB_CA_FILE, leaf_file, generated)


def pki_verify(*, account: SandboxAccount, leaf_file: str, ca_file: str = LAB_CA_FILE) -> list[str]:
    """Verify leaf ← CA ← itself, and that the CA key is a private key held in an HSM."""
    try:
        ca = x509.load_pem_x509_certificate(_file_bytes(account, ca_file))
        leaf = x509.load_pem_x509_certificate(_file_bytes(account, leaf_file))
    except ValueError:
        raise LabToolError("Both files must be PEM certificates.") from None
    lines = []
    try:
        ca.verify_directly_issued_by(ca)
        lines.append(f"{ca_file}: self-signed signature verifies.")
        leaf.verify_directly_issued_by(ca)
        lines.append(f"{leaf_file}: issued by {ca.subject.rfc4514_string()}, signature verifies.")
    except (ValueError, TypeError, InvalidSignature):
        raise LabToolError(
            "The chain does not verify: the leaf was not signed by this CA."
        ) from None
    ca_public = ca.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def action(engine: SandboxEngine) -> bool:
        held = any(
            key.key_class == "private-key"
            and key.public_key is not None
            and base64.b64decode(key.public_key) == ca_public
            for key in engine.inventory().hsm_keys
        )
        if held:
            record = engine.storage.get("lab.pki", "issued") or {"issued": False}
            record["verified"] = True
            engine.storage.put("lab.pki", "issued", record)
        return held

    if not sandbox_call(account=account, action=action):
        raise LabToolError(
            "The chain verifies, but the CA's private key is not in one of your HSMs."
        )
    lines.append("The CA's public key matches a private key held in your HSM.")
    return lines
