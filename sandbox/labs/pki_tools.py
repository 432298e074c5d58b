"""Lab 7's private CA whose signing key lives in the HSM: certificates assembled around
signatures the HSM makes, and a chain check that the CA key is held in one of the learner's
HSMs."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from ..engine import (
    CloudHsm,
    HsmError,
    SandboxEngine,
)
from ..models import SandboxAccount
from ..services import file_save, sandbox_call
from .tools import (
    LAB_CA_FILE,
    LabToolError,
    account_now,
    engine_error_text,
    file_bytes,
    one_key,
    with_login,
)

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
        digest: Any = {
            256: hashes.SHA256(),
            384: hashes.SHA384(),
        }.get(public_key.curve.key_size, hashes.SHA512())
    elif isinstance(public_key, rsa.RSAPublicKey):
        throwaway = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        digest = hashes.SHA256()
    else:
        raise LabToolError("The CA key must be an RSA or EC key pair.")
    template = builder.sign(throwaway, digest)
    return _assemble(template, sign(template.tbs_certificate_bytes, digest))


def _hsm_signature(
    hsm: CloudHsm, session_id: str, handle: int, public_key: Any
) -> Callable[[bytes, hashes.HashAlgorithm], bytes]:
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
        handle = one_key(hsm, session_id, ca_label, "private-key")
        public_key: Any = serialization.load_pem_public_key(
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
        ca_pem, leaf_pem = with_login(account, cluster_id, username, password, work)
    except HsmError as error:
        raise LabToolError(engine_error_text(error)) from None
    leaf_file = f"{subject_cn[:80]}.crt"
    file_save(account=account, name=LAB_CA_FILE, content=ca_pem.encode())
    file_save(account=account, name=leaf_file, content=leaf_pem.encode())
    return IssuedCertificate(subject_cn, LAB_CA_FILE, leaf_file, generated)


def pki_verify(*, account: SandboxAccount, leaf_file: str, ca_file: str = LAB_CA_FILE) -> list[str]:
    """Verify leaf ← CA ← itself, and that the CA key is a private key held in an HSM."""
    try:
        ca = x509.load_pem_x509_certificate(file_bytes(account, ca_file))
        leaf = x509.load_pem_x509_certificate(file_bytes(account, leaf_file))
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
