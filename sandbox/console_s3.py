"""``aws s3api ...`` in the console: the AWS CLI's S3 commands on the account's emulated S3.

The parsed call (``sandbox.aws_cli``) is mapped onto ``emulator.s3.S3``; the answer is the
JSON the AWS CLI prints (timestamps as epoch seconds until ``aws_cli_output`` shows them).
``get-object``'s outfile becomes a file of the sandbox. SSE-C needs binary keys on every
request: use boto3 for it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from .aws_cli import AwsCliCall
from .engine import S3, ObjectHead, S3Error, SandboxEngine, SseRequest
from .models import SandboxAccount
from .services import file_save, sandbox_call

JSON = dict[str, Any]


def run_s3api(account: SandboxAccount, call: AwsCliCall, user: str) -> JSON:
    runner = OPERATIONS.get(call.operation)
    if runner is None:
        raise S3Error(
            "NotImplemented",
            f"The sandbox does not emulate {call.operation}. It supports: "
            + ", ".join(sorted(OPERATIONS))
            + ".",
        )
    params = call.params

    def action(engine: SandboxEngine) -> tuple[JSON, bytes | None]:
        return runner(engine.s3, params)

    result, body = sandbox_call(account=account, action=action, principal_user=user)
    if body is not None:
        try:
            file_save(account=account, name=call.extras["outfile"], content=body)
        except ValidationError as error:
            raise S3Error("InvalidRequest", " ".join(error.messages)) from None
    return result


def _head_json(head: ObjectHead, *, metadata: bool) -> JSON:
    shown: JSON = {"ETag": head.etag}
    if metadata:
        shown.update(
            {
                "AcceptRanges": "bytes",
                "LastModified": head.last_modified,
                "ContentLength": head.size,
                "ContentType": head.content_type,
            }
        )
    if head.sse:
        shown["ServerSideEncryption"] = head.sse
    if head.kms_key_arn:
        shown["SSEKMSKeyId"] = head.kms_key_arn
    if head.bucket_key:
        shown["BucketKeyEnabled"] = True
    if metadata:
        shown["Metadata"] = {}
    return shown


def _context(params: JSON) -> dict[str, str] | None:
    encoded = params.get("SSEKMSEncryptionContext")
    if not encoded:
        return None
    try:
        context = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise S3Error(
            "InvalidArgument", "--ssekms-encryption-context must be base64-encoded JSON."
        ) from None
    if not isinstance(context, dict):
        raise S3Error("InvalidArgument", "The encryption context must be a JSON object.")
    return {str(key): str(value) for key, value in context.items()}


def _put_object(s3: S3, params: JSON) -> tuple[JSON, None]:
    if "SSECustomerKey" in params:
        raise S3Error("NotImplemented", "SSE-C needs binary keys on each request: use boto3.")
    sse = SseRequest(
        algorithm=params.get("ServerSideEncryption"),
        kms_key_id=params.get("SSEKMSKeyId"),
        context=_context(params),
        bucket_key=params.get("BucketKeyEnabled"),
    )
    body = base64.b64decode(params.get("Body", ""))
    content_type = params.get("ContentType") or "binary/octet-stream"
    head = s3.put_object(params["Bucket"], params["Key"], body, content_type=content_type, sse=sse)
    return _head_json(head, metadata=False), None


def _get_object(s3: S3, params: JSON) -> tuple[JSON, bytes]:
    head, body = s3.get_object(params["Bucket"], params["Key"])
    return _head_json(head, metadata=True), body


def _head_object(s3: S3, params: JSON) -> tuple[JSON, None]:
    return _head_json(s3.head_object(params["Bucket"], params["Key"]), metadata=True), None


def _list_objects(s3: S3, params: JSON) -> tuple[JSON, None]:
    bucket, prefix = params["Bucket"], params.get("Prefix", "")
    max_keys = params.get("MaxKeys", 1000)
    heads, truncated = s3.list_objects(
        bucket, prefix=prefix, start_after=params.get("StartAfter", ""), max_keys=max_keys
    )
    shown: JSON = {"IsTruncated": truncated, "Name": bucket, "Prefix": prefix}
    if heads:
        shown["Contents"] = [
            {
                "Key": head.key,
                "LastModified": head.last_modified,
                "ETag": head.etag,
                "Size": head.size,
                "StorageClass": "STANDARD",
            }
            for head in heads
        ]
    shown.update({"MaxKeys": max_keys, "KeyCount": len(heads)})
    return shown, None


def _put_bucket_encryption(s3: S3, params: JSON) -> tuple[JSON, None]:
    rules = params["ServerSideEncryptionConfiguration"].get("Rules") or []
    if len(rules) != 1:
        raise S3Error("MalformedXML", "A ServerSideEncryptionConfiguration needs one Rule.")
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    if not default.get("SSEAlgorithm"):
        raise S3Error("MalformedXML", "The Rule needs ApplyServerSideEncryptionByDefault.")
    s3.put_bucket_encryption(
        params["Bucket"],
        default["SSEAlgorithm"],
        default.get("KMSMasterKeyID"),
        bool(rules[0].get("BucketKeyEnabled")),
    )
    return {}, None


def _get_bucket_encryption(s3: S3, params: JSON) -> tuple[JSON, None]:
    rule = s3.get_bucket_encryption(params["Bucket"])
    default: JSON = {"SSEAlgorithm": rule["algorithm"]}
    if rule.get("kms_key_id"):
        default["KMSMasterKeyID"] = rule["kms_key_id"]
    shown = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": rule["bucket_key"]}
    return {"ServerSideEncryptionConfiguration": {"Rules": [shown]}}, None


def _create_bucket(s3: S3, params: JSON) -> tuple[JSON, None]:
    s3.create_bucket(params["Bucket"])
    return {"Location": "/" + params["Bucket"]}, None


def _list_buckets(s3: S3, params: JSON) -> tuple[JSON, None]:
    buckets = [{"Name": b["name"], "CreationDate": b["created"]} for b in s3.list_buckets()]
    return {"Buckets": buckets, "Owner": {"ID": s3.account_id}}, None


def _nothing(action: Callable[[S3, JSON], object]) -> Callable[[S3, JSON], tuple[JSON, None]]:
    def run(s3: S3, params: JSON) -> tuple[JSON, None]:
        action(s3, params)
        return {}, None

    return run


OPERATIONS: dict[str, Callable[[S3, JSON], tuple[JSON, bytes | None]]] = {
    "CreateBucket": _create_bucket,
    "DeleteBucket": _nothing(lambda s3, p: s3.delete_bucket(p["Bucket"])),
    "HeadBucket": _nothing(lambda s3, p: s3.head_bucket(p["Bucket"])),
    "ListBuckets": _list_buckets,
    "PutObject": _put_object,
    "GetObject": _get_object,
    "HeadObject": _head_object,
    "DeleteObject": _nothing(lambda s3, p: s3.delete_object(p["Bucket"], p["Key"])),
    "ListObjectsV2": _list_objects,
    "PutBucketEncryption": _put_bucket_encryption,
    "GetBucketEncryption": _get_bucket_encryption,
    "DeleteBucketEncryption": _nothing(lambda s3, p: s3.delete_bucket_encryption(p["Bucket"])),
}
