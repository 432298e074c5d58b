"""The sandbox's S3 endpoint: S3's REST protocol (path-style, XML) for boto3 and the AWS CLI,
signed with SigV4 by the same access keys as the KMS endpoint.

``/sandbox/s3/`` lists buckets, ``/sandbox/s3/<bucket>`` is a bucket (``?encryption`` its
default encryption, ``?list-type=2`` its listing), ``/sandbox/s3/<bucket>/<key>`` an object.
Point a client at it with ``endpoint_url=.../sandbox/s3`` and path-style addressing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import uuid
import xml.etree.ElementTree as ET  # builds responses; requests are parsed by defusedxml
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted_xml
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .engine import CustomerKey, ObjectHead, S3Error, SandboxEngine, SseRequest
from .signed_api import ApiError, authenticate, read_body, run_as_key, signed_api_view, throttle

logger = logging.getLogger(__name__)

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_OBJECT_REQUEST = 1024 * 1024 + 1
# SigV4 failures as S3 names them (the KMS endpoint keeps AWS's JSON-protocol names).
_AUTH_CODES = {
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "UnrecognizedClientException": ("InvalidAccessKeyId", 403),
    "IncompleteSignatureException": ("AuthorizationHeaderMalformed", 400),
    "MissingAuthenticationTokenException": ("AccessDenied", 403),
    "ThrottlingException": ("SlowDown", 503),
}

Handler = Callable[[SandboxEngine], HttpResponse]


@signed_api_view
def s3_endpoint(request: HttpRequest, bucket: str = "", key: str = "") -> HttpResponse:
    request_id = uuid.uuid4().hex[:16].upper()
    try:
        response = _handle(request, bucket, key)
    except ApiError as error:
        code, status = _AUTH_CODES.get(error.code, (error.code, error.status))
        response = _error(request, code, error.message, status, bucket or "/")
    except S3Error as error:
        response = _error(request, error.code, error.message, error.status, error.resource)
    except Exception:
        logger.exception("sandbox S3 endpoint failed (request %s)", request_id)
        response = _error(request, "InternalError", "We encountered an internal error.", 500, "")
    response["x-amz-request-id"] = request_id
    return response


def _handle(request: HttpRequest, bucket: str, key: str) -> HttpResponse:
    body = read_body(request, MAX_OBJECT_REQUEST)
    _check_payload_hash(request.headers.get("x-amz-content-sha256"), body)
    access_key = authenticate(request, body, service="s3")
    throttle(access_key, service="s3", limit=settings.SANDBOX_KMS_RATE_LIMIT)
    handler = _route(request, bucket, key, body)
    return run_as_key(access_key, handler)


def _check_payload_hash(declared: str | None, body: bytes) -> None:
    if declared is None:
        raise ApiError("InvalidRequest", "Missing required header x-amz-content-sha256.", 400)
    if declared == "UNSIGNED-PAYLOAD":
        return
    if declared.startswith("STREAMING-"):
        raise S3Error("NotImplemented", "Chunked (streaming) uploads are not emulated.")
    if declared != hashlib.sha256(body).hexdigest():
        raise S3Error(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )


def _route(request: HttpRequest, bucket: str, key: str, body: bytes) -> Handler:
    method, query = request.method or "GET", request.GET
    if not bucket:
        if method == "GET":
            return _list_buckets
    elif not key:
        if "encryption" in query:
            return _bucket_encryption(method, bucket, body)
        if method == "PUT":
            return _empty(lambda engine: engine.s3.create_bucket(bucket), location=f"/{bucket}")
        if method == "HEAD":
            return _empty(lambda engine: engine.s3.head_bucket(bucket))
        if method == "DELETE":
            return _empty(lambda engine: engine.s3.delete_bucket(bucket), status=204)
        if method == "GET":
            return _list_objects(bucket, query)
    else:
        return _object(request, method, bucket, key, body)
    raise S3Error("MethodNotAllowed", f"The {method} method is not allowed here.")


# --- buckets ---------------------------------------------------------------------------------


def _list_buckets(engine: SandboxEngine) -> HttpResponse:
    root = _element("ListAllMyBucketsResult")
    owner = ET.SubElement(root, "Owner")
    _text(owner, "ID", engine.account.account_id)
    buckets = ET.SubElement(root, "Buckets")
    for data in engine.s3.list_buckets():
        entry = ET.SubElement(buckets, "Bucket")
        _text(entry, "Name", data["name"])
        _text(entry, "CreationDate", _iso(data["created"]))
    return _xml(root)


def _bucket_encryption(method: str, bucket: str, body: bytes) -> Handler:
    if method == "PUT":
        algorithm, kms_key_id, bucket_key = _encryption_rule(body)
        return _empty(
            lambda engine: engine.s3.put_bucket_encryption(
                bucket, algorithm, kms_key_id, bucket_key
            )
        )
    if method == "GET":
        return lambda engine: _encryption_xml(engine.s3.get_bucket_encryption(bucket))
    if method == "DELETE":
        return _empty(lambda engine: engine.s3.delete_bucket_encryption(bucket), status=204)
    raise S3Error("MethodNotAllowed", f"The {method} method is not allowed here.")


def _encryption_rule(body: bytes) -> tuple[str, str | None, bool]:
    root = _parse_xml(body)
    rule = _child(root, "Rule")
    if rule is None:
        raise S3Error("MalformedXML", "A ServerSideEncryptionConfiguration needs one Rule.")
    default = _child(rule, "ApplyServerSideEncryptionByDefault")
    algorithm = _child_text(default, "SSEAlgorithm") if default is not None else None
    if not algorithm:
        raise S3Error("MalformedXML", "The Rule needs ApplyServerSideEncryptionByDefault.")
    kms_key_id = _child_text(default, "KMSMasterKeyID") if default is not None else None
    return algorithm, kms_key_id or None, _child_text(rule, "BucketKeyEnabled") == "true"


def _encryption_xml(rule: dict[str, Any]) -> HttpResponse:
    root = _element("ServerSideEncryptionConfiguration")
    entry = ET.SubElement(root, "Rule")
    default = ET.SubElement(entry, "ApplyServerSideEncryptionByDefault")
    _text(default, "SSEAlgorithm", rule["algorithm"])
    if rule.get("kms_key_id"):
        _text(default, "KMSMasterKeyID", rule["kms_key_id"])
    _text(entry, "BucketKeyEnabled", "true" if rule.get("bucket_key") else "false")
    return _xml(root)


def _list_objects(bucket: str, query: Any) -> Handler:
    try:
        max_keys = min(1000, max(0, int(query.get("max-keys", 1000))))
    except ValueError:
        raise S3Error("InvalidArgument", "max-keys must be an integer.") from None
    token = query.get("continuation-token")
    start_after = _token_key(token) if token else query.get("start-after", "")
    prefix = query.get("prefix", "")

    def handler(engine: SandboxEngine) -> HttpResponse:
        heads, truncated = engine.s3.list_objects(
            bucket, prefix=prefix, start_after=start_after, max_keys=max_keys
        )
        root = _element("ListBucketResult")
        for name, value in (("Name", bucket), ("Prefix", prefix), ("KeyCount", len(heads))):
            _text(root, name, str(value))
        _text(root, "MaxKeys", str(max_keys))
        _text(root, "IsTruncated", "true" if truncated else "false")
        if token:
            _text(root, "ContinuationToken", token)
        if truncated and heads:
            _text(root, "NextContinuationToken", base64.b64encode(heads[-1].key.encode()).decode())
        for head in heads:
            entry = ET.SubElement(root, "Contents")
            _text(entry, "Key", head.key)
            _text(entry, "LastModified", _iso(head.last_modified))
            _text(entry, "ETag", head.etag)
            _text(entry, "Size", str(head.size))
            _text(entry, "StorageClass", "STANDARD")
        return _xml(root)

    return handler


def _token_key(token: str) -> str:
    try:
        return base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect.") from None


# --- objects ---------------------------------------------------------------------------------


def _object(request: HttpRequest, method: str, bucket: str, key: str, body: bytes) -> Handler:
    customer = _customer_key(request)
    if method == "PUT":
        sse = _sse_request(request, customer)
        content_type = request.headers.get("Content-Type") or "binary/octet-stream"
        checksum = request.headers.get("x-amz-checksum-crc32")
        _check_md5(request.headers.get("Content-MD5"), body)
        return lambda engine: _head_response(
            engine.s3.put_object(
                bucket, key, body, content_type=content_type, sse=sse, checksum_crc32=checksum
            ),
            with_body=False,
        )
    if method == "GET":
        return lambda engine: _get_response(*engine.s3.get_object(bucket, key, customer=customer))
    if method == "HEAD":
        return lambda engine: _head_response(
            engine.s3.head_object(bucket, key, customer=customer), with_body=True
        )
    if method == "DELETE":
        return _empty(lambda engine: engine.s3.delete_object(bucket, key), status=204)
    raise S3Error("MethodNotAllowed", f"The {method} method is not allowed here.")


def _sse_request(request: HttpRequest, customer: CustomerKey | None) -> SseRequest:
    headers = request.headers
    context_header = headers.get("x-amz-server-side-encryption-context")
    context = None
    if context_header:
        try:
            context = json.loads(base64.b64decode(context_header, validate=True))
        except (binascii.Error, ValueError):
            raise S3Error(
                "InvalidArgument", "The encryption context must be base64-encoded JSON."
            ) from None
        if not isinstance(context, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in context.items()
        ):
            raise S3Error("InvalidArgument", "The encryption context must map strings to strings.")
    bucket_key = headers.get("x-amz-server-side-encryption-bucket-key-enabled")
    return SseRequest(
        algorithm=headers.get("x-amz-server-side-encryption"),
        kms_key_id=headers.get("x-amz-server-side-encryption-aws-kms-key-id"),
        context=context,
        bucket_key=None if bucket_key is None else bucket_key.lower() == "true",
        customer=customer,
    )


def _customer_key(request: HttpRequest) -> CustomerKey | None:
    prefix = "x-amz-server-side-encryption-customer-"
    algorithm = request.headers.get(prefix + "algorithm")
    key, key_md5 = request.headers.get(prefix + "key"), request.headers.get(prefix + "key-MD5")
    if algorithm is None and key is None:
        return None
    if not (algorithm and key and key_md5):
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the algorithm, the key and its MD5.",
        )
    try:
        secret = base64.b64decode(key, validate=True)
    except binascii.Error:
        raise S3Error("InvalidArgument", "The SSE-C key must be base64-encoded.") from None
    return CustomerKey(algorithm=algorithm, key=secret, key_md5=key_md5)


def _check_md5(declared: str | None, body: bytes) -> None:
    if declared is None:
        return
    digest = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
    if declared != digest:
        raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")


def _head_response(head: ObjectHead, *, with_body: bool) -> HttpResponse:
    response = HttpResponse(status=200)
    response["ETag"] = head.etag
    if with_body:  # HEAD: the headers a GET would send
        response["Content-Type"] = head.content_type
        response["Last-Modified"] = formatdate(head.last_modified, usegmt=True)
        response["Content-Length"] = str(head.size)
    if head.sse:
        response["x-amz-server-side-encryption"] = head.sse
    if head.kms_key_arn:
        response["x-amz-server-side-encryption-aws-kms-key-id"] = head.kms_key_arn
    if head.bucket_key:
        response["x-amz-server-side-encryption-bucket-key-enabled"] = "true"
    if head.customer_algorithm:
        response["x-amz-server-side-encryption-customer-algorithm"] = head.customer_algorithm
        response["x-amz-server-side-encryption-customer-key-MD5"] = str(head.customer_key_md5)
    return response


def _get_response(head: ObjectHead, body: bytes) -> HttpResponse:
    response = _head_response(head, with_body=True)
    response.content = body
    return response


# --- XML -------------------------------------------------------------------------------------


def _parse_xml(body: bytes) -> ET.Element:
    try:
        root: ET.Element = parse_untrusted_xml(body)
        return root
    except (ET.ParseError, DefusedXmlException):
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema.",
        ) from None


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    found = parent.find(f"{{{NAMESPACE}}}{name}")
    return found if found is not None else parent.find(name)


def _child_text(parent: ET.Element, name: str) -> str | None:
    found = _child(parent, name)
    return found.text.strip() if found is not None and found.text else None


def _element(name: str) -> ET.Element:
    return ET.Element(name, xmlns=NAMESPACE)


def _text(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, name).text = value


def _iso(timestamp: float) -> str:
    when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _xml(root: ET.Element, status: int = 200) -> HttpResponse:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return HttpResponse(body, status=status, content_type="application/xml")


def _empty(
    action: Callable[[SandboxEngine], object], *, status: int = 200, location: str | None = None
) -> Handler:
    """A handler that runs ``action`` and answers with no body."""

    def handler(engine: SandboxEngine) -> HttpResponse:
        action(engine)
        response = HttpResponse(status=status)
        if location:
            response["Location"] = location
        return response

    return handler


def _error(
    request: HttpRequest, code: str, message: str, status: int, resource: str
) -> HttpResponse:
    if request.method == "HEAD":  # S3 sends no body with a HEAD's error
        return HttpResponse(status=status)
    root = ET.Element("Error")
    _text(root, "Code", code)
    _text(root, "Message", message)
    if resource:
        _text(root, "Resource", resource)
    return _xml(root, status)
