"""The cluster certificate ceremony: the HSM's CSR, and checking what the customer signed.

On AWS the first HSM of a new cluster makes a key pair that never leaves it and publishes a
certificate signing request (``Certificates.ClusterCsr``). The customer signs it with their own
CA and calls InitializeCluster with the signed certificate and the CA certificate (the trust
anchor). Here the same checks are real X.509 checks with ``cryptography``.

:func:`create_ca` and :func:`sign_csr` are helpers for labs and tests that play the customer.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .errors import CloudHsmInvalidRequestException

__all__ = ["create_ca", "make_cluster_csr", "sign_csr", "verify_cluster_certificate"]


def make_cluster_csr(cluster_id: str, hsm_id: str) -> tuple[bytes, str]:
    """A new RSA-2048 cluster key and its CSR: (PKCS#8 DER private key, CSR PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Emulated CloudHSM"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, hsm_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster_id} HSM:{hsm_id}"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return der, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _load_certificate(pem: str, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CloudHsmInvalidRequestException(
            f"The {what} is not a valid PEM-encoded X.509 certificate."
        ) from None


def _public_der(certificate_or_csr: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return certificate_or_csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify_cluster_certificate(
    csr_pem: str, signed_cert_pem: str, trust_anchor_pem: str, now: dt.datetime
) -> None:
    """Check the InitializeCluster inputs; raise CloudHsmInvalidRequestException with a reason.

    The trust anchor must be a self-signed CA certificate, the signed certificate must carry the
    CSR's public key, must have been signed by the trust anchor, and must be valid ``now``.
    """
    csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
    certificate = _load_certificate(signed_cert_pem, "signed cluster certificate")
    anchor = _load_certificate(trust_anchor_pem, "trust anchor")
    try:
        anchor.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature):
        raise CloudHsmInvalidRequestException(
            "The trust anchor must be a self-signed certificate of the issuing CA."
        ) from None
    if _public_der(certificate) != _public_der(csr):
        raise CloudHsmInvalidRequestException(
            "The signed certificate does not match the cluster CSR: its public key is not the "
            "cluster's."
        )
    if certificate.issuer != anchor.subject:
        raise CloudHsmInvalidRequestException(
            "The signed certificate was not issued by the trust anchor (issuer name differs)."
        )
    try:
        certificate.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature):
        raise CloudHsmInvalidRequestException(
            "The signed certificate's signature does not verify with the trust anchor's key."
        ) from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise CloudHsmInvalidRequestException("The signed certificate is not valid at this time.")


def create_ca(
    common_name: str, now: dt.datetime, *, days: int = 3650
) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A customer CA for labs: a P-256 key and its self-signed certificate PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sign_csr(
    csr_pem: str,
    ca_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    ca_cert_pem: str,
    now: dt.datetime,
    *,
    days: int = 365,
) -> str:
    """Sign the cluster CSR with the customer CA, as the customer does before initializing."""
    csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode("ascii"))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
