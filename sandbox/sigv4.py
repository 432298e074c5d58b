"""AWS Signature Version 4 verification for the sandbox KMS endpoint (header form only).

Pure functions over the request's parts; the caller looks up the secret by access key id.
The canonical request is rebuilt the way botocore builds it: the full request path (so the
``/sandbox/kms/`` prefix is part of what was signed), the sorted query string, the signed
headers trimmed and lower-cased, and the SHA-256 of the body (boto3 sends no body-hash header).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = dt.timedelta(minutes=15)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)

_CREDENTIAL = re.compile(
    r"^(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request$"
)


class SigV4Error(Exception):
    """A request that fails authentication, named by the AWS error type to send back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that SigV4 covers."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    normalize_path: bool = True  # S3 signs the path as sent, without resolving dot segments


def parse_authorization(header: str) -> Authorization:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    if not header:
        raise SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error(
            "IncompleteSignatureException",
            f"Unsupported AWS 'algorithm': '{algorithm}'. Only {ALGORITHM} is accepted.",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in fields]
    if missing:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Authorization header requires "
            + ", ".join(f"'{name}'" for name in missing)
            + f" parameter. Authorization={header[:200]}",
        )
    match = _CREDENTIAL.match(fields["Credential"])
    if not match:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Credential should be scoped to a valid region, service and date: "
            f"'{fields['Credential'][:200]}'.",
        )
    signed = tuple(name.strip().lower() for name in fields["SignedHeaders"].split(";") if name)
    if "host" not in signed:
        raise SigV4Error(
            "InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization."
        )
    return Authorization(
        access_key_id=match["akid"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=signed,
        signature=fields["Signature"].lower(),
    )


def request_time(headers: Mapping[str, str]) -> tuple[str, dt.datetime]:
    """The signed timestamp (``X-Amz-Date``, basic ISO 8601) as text and as a datetime."""
    amz_date = headers.get("x-amz-date", "")
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ) from None
    return amz_date, when


def check_freshness(amz_date: str, when: dt.datetime, now: dt.datetime) -> None:
    """AWS accepts a signature for 15 minutes either side of its own clock."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if when < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime("%Y%m%dT%H%M%SZ")
        raise SigV4Error(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {earliest} ({stamp} - 15 min.)",
        )
    if when > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime("%Y%m%dT%H%M%SZ")
        raise SigV4Error(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than {latest} "
            f"({stamp} + 15 min.)",
        )


def canonical_uri(path: str) -> str:
    """botocore's normalisation for every service but S3: resolve dot segments, then quote."""
    normalized = posixpath.normpath(path) if path else "/"
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    if path.endswith("/") and not normalized.endswith("/"):
        normalized += "/"
    return quote(normalized, safe="/~")


def canonical_query(query_string: str) -> str:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    encoded = sorted((quote(key, safe="-_.~"), quote(value, safe="-_.~")) for key, value in pairs)
    return "&".join(f"{key}={value}" for key, value in encoded)


def canonical_request(request: SignedRequest, signed_headers: tuple[str, ...]) -> str:
    header_lines = []
    for name in sorted(set(signed_headers)):
        value = request.headers.get(name, "")
        header_lines.append(f"{name}:{' '.join(value.split())}")
    payload_hash = (
        request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    )
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.path)
            if request.normalize_path
            else quote(request.path or "/", safe="/~"),
            canonical_query(request.query_string),
            "\n".join(header_lines) + "\n",
            ";".join(sorted(set(signed_headers))),
            payload_hash,
        ]
    )


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def expected_signature(
    request: SignedRequest, auth: Authorization, amz_date: str, secret: str
) -> str:
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            auth.scope,
            hashlib.sha256(canonical_request(request, auth.signed_headers).encode()).hexdigest(),
        ]
    )
    key = signing_key(secret, auth.date, auth.region, auth.service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    request: SignedRequest,
    *,
    service: str,
    credentials_for: Callable[[str], tuple[str, str | tuple[str, ...]] | None],
    now: dt.datetime,
) -> Authorization:
    """Check a request's signature; return its parsed Authorization or raise SigV4Error.

    ``credentials_for(access_key_id)`` returns ``(secret, region)`` of an active key, or None
    when the key is unknown or revoked (reported, as AWS does, as
    ``UnrecognizedClientException``).
    """
    auth = parse_authorization(request.headers.get("authorization", ""))
    if "x-amz-security-token" in request.headers:
        raise SigV4Error(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    amz_date, when = request_time(request.headers)
    if auth.date != amz_date[:8]:
        raise SigV4Error(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if auth.service != service:
        raise SigV4Error(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'. ",
        )
    credentials = credentials_for(auth.access_key_id)
    if credentials is None:
        raise SigV4Error(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    secret, region = credentials
    regions = (region,) if isinstance(region, str) else region
    if auth.region not in regions:
        raise SigV4Error(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{auth.region}'. "
            f"This sandbox account lives in '{regions[0]}'"
            + (
                f" (and keeps multi-Region replicas in '{regions[1]}')."
                if len(regions) > 1
                else "."
            ),
        )
    check_freshness(amz_date, when, now)
    expected = expected_signature(request, auth, amz_date, secret)
    if not hmac.compare_digest(expected, auth.signature):
        raise SigV4Error("InvalidSignatureException", SIGNATURE_MISMATCH)
    return auth
