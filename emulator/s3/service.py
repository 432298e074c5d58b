"""``S3``: buckets and objects of one account and Region, every object encrypted at rest the
way S3 does it.

- **SSE-S3** (``AES256``, the default since January 2023): a data key per object, kept sealed
  by "S3" (here the host's Sealer).
- **SSE-KMS** (``aws:kms``): S3 calls KMS ``GenerateDataKey`` on the caller's behalf with the
  encryption context ``{"aws:s3:arn": "arn:aws:s3:::bucket/key"}`` and keeps the encrypted data
  key with the object; ``GetObject`` calls KMS ``Decrypt`` with the same context, so a disabled
  key stops reads (``KMS.DisabledException``). Those KMS calls are the caller's, in the KMS
  audit log with ``invokedBy`` s3.amazonaws.com, as in CloudTrail.
- **S3 Bucket Keys**: one KMS data key per bucket (context: the bucket's ARN), reused for an
  hour of writes; each object's key is derived from it (HKDF), so many ``PutObject`` calls make
  one ``GenerateDataKey``. Reads still ask KMS to decrypt the bucket key, so disabling the KMS
  key stops them at once (S3 itself may keep a bucket key for a while).
- **SSE-C**: the caller sends the AES-256 key with each request; S3 keeps only a salted HMAC
  of it to check the next request's key, never the key.

The engine knows nothing of HTTP: ``sandbox/s3_api.py`` maps S3's REST protocol onto it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import zlib
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from emulator.core import Host, RandomSource, ServiceState, b64d, b64e
from emulator.kms import Kms, KmsError
from emulator.s3.errors import S3Error

__all__ = ["S3", "CustomerKey", "ObjectHead", "SseRequest"]

BUCKET = "s3.bucket"
OBJECT = "s3.object"
USAGE = "s3.usage"  # bytes stored, so a PutObject need not read every object
BUCKET_KEY_SECONDS = 3600
MAX_KEY_LENGTH = 180  # the sandbox stores "bucket/key" in a 255-character id
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
INVOKED_BY = "s3.amazonaws.com"


@dataclasses.dataclass(frozen=True)
class CustomerKey:
    """SSE-C: the x-amz-server-side-encryption-customer-* headers of one request."""

    algorithm: str
    key: bytes
    key_md5: str  # base64 MD5 of the key, as sent


@dataclasses.dataclass(frozen=True)
class SseRequest:
    """What a PutObject asks for; unset members fall back to the bucket's default."""

    algorithm: str | None = None  # AES256 or aws:kms
    kms_key_id: str | None = None
    context: dict[str, str] | None = None
    bucket_key: bool | None = None
    customer: CustomerKey | None = None


@dataclasses.dataclass(frozen=True)
class ObjectHead:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: float
    content_type: str
    sse: str  # AES256, aws:kms, or "" for SSE-C
    kms_key_arn: str | None = None
    bucket_key: bool = False
    customer_algorithm: str | None = None
    customer_key_md5: str | None = None
    checksum_crc32: str | None = None


class S3(ServiceState):
    """S3 of one account and Region. It keeps no audit log of its own (CloudTrail's S3 data
    events are opt-in); the KMS calls it makes for SSE-KMS are in KMS's, ``invokedBy`` S3."""

    def __init__(
        self,
        host: Host,
        account_id: str,
        region: str,
        *,
        kms: Kms,
        principal: str,
        max_buckets: int = 10,
        max_object_bytes: int = 1024 * 1024,
        max_total_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        super().__init__(host, account_id, region)
        self._kms = kms
        self._principal = principal
        self.max_buckets = max_buckets
        self.max_object_bytes = max_object_bytes
        self.max_total_bytes = max_total_bytes

    # --- buckets ---------------------------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        if not _BUCKET_NAME.match(bucket) or ".." in bucket or _IP_ADDRESS.match(bucket):
            raise S3Error(
                "InvalidBucketName",
                "Bucket names are 3 to 63 lowercase letters, digits, dots and hyphens, "
                "starting and ending with a letter or digit.",
                resource=bucket,
            )
        if self._bucket_or_none(bucket) is not None:
            raise S3Error(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already "
                "own it.",
                resource=bucket,
            )
        if len(self._storage.list(BUCKET)) >= self.max_buckets:
            raise S3Error(
                "TooManyBuckets",
                f"You have attempted to create more buckets than allowed ({self.max_buckets} "
                "in this sandbox).",
                resource=bucket,
            )
        self._storage.put(BUCKET, bucket, {"name": bucket, "created": self._now()})

    def head_bucket(self, bucket: str) -> None:
        self._bucket(bucket)

    def delete_bucket(self, bucket: str) -> None:
        self._bucket(bucket)
        if self._objects_of(bucket):
            raise S3Error(
                "BucketNotEmpty", "The bucket you tried to delete is not empty.", resource=bucket
            )
        self._storage.delete(BUCKET, bucket)

    def list_buckets(self) -> list[dict[str, Any]]:
        buckets = [data for _, data in self._storage.list(BUCKET)]
        return sorted(buckets, key=lambda data: data["name"])

    def put_bucket_encryption(
        self, bucket: str, algorithm: str, kms_key_id: str | None, bucket_key: bool
    ) -> None:
        data = self._bucket(bucket)
        self._check_algorithm(algorithm, kms_key_id)
        data["encryption"] = {
            "algorithm": algorithm,
            "kms_key_id": kms_key_id,
            "bucket_key": bucket_key,
        }
        self._storage.put(BUCKET, bucket, data)

    def get_bucket_encryption(self, bucket: str) -> dict[str, Any]:
        """The default encryption rule; every bucket has one (SSE-S3 unless changed)."""
        rule = self._bucket(bucket).get("encryption")
        return rule or {"algorithm": "AES256", "kms_key_id": None, "bucket_key": False}

    def delete_bucket_encryption(self, bucket: str) -> None:
        data = self._bucket(bucket)
        data.pop("encryption", None)
        self._storage.put(BUCKET, bucket, data)

    # --- objects ---------------------------------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = "binary/octet-stream",
        sse: SseRequest | None = None,
        checksum_crc32: str | None = None,
    ) -> ObjectHead:
        bucket_data = self._bucket(bucket)
        self._check_key(bucket, key)
        if len(body) > self.max_object_bytes:
            raise S3Error(
                "EntityTooLarge",
                f"Your proposed upload exceeds the maximum allowed size ({self.max_object_bytes}"
                " bytes in this sandbox).",
                resource=f"{bucket}/{key}",
            )
        if checksum_crc32 is not None and checksum_crc32 != crc32(body):
            raise S3Error(
                "BadDigest",
                "The CRC32 you specified did not match the calculated checksum.",
                resource=f"{bucket}/{key}",
            )
        growth = self._check_total(bucket, key, len(body))
        record = self._encrypt(bucket_data, key, body, sse or SseRequest())
        record.update(
            {
                "size": len(body),
                "etag": '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"',
                "last_modified": self._now(),
                "content_type": content_type,
                "crc32": crc32(body),
            }
        )
        self._storage.put(OBJECT, f"{bucket}/{key}", record)
        self._add_used(growth)  # only once the object is stored: a refused PUT adds nothing
        return _head(bucket, key, record)

    def get_object(
        self, bucket: str, key: str, *, customer: CustomerKey | None = None
    ) -> tuple[ObjectHead, bytes]:
        record = self._object(bucket, key)
        return _head(bucket, key, record), self._decrypt(bucket, key, record, customer)

    def head_object(
        self, bucket: str, key: str, *, customer: CustomerKey | None = None
    ) -> ObjectHead:
        record = self._object(bucket, key)
        if "customer_hmac" in record:
            self._customer_key_checked(bucket, key, record, customer)
        return _head(bucket, key, record)

    def delete_object(self, bucket: str, key: str) -> None:
        self._bucket(bucket)
        old = self._storage.get(OBJECT, f"{bucket}/{key}")
        if old is not None:  # S3 answers 204 also when there was no such object
            self._storage.delete(OBJECT, f"{bucket}/{key}")
            self._add_used(-old["size"])

    def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", max_keys: int = 1000
    ) -> tuple[list[ObjectHead], bool]:
        """Keys after ``start_after`` under ``prefix``, in order; and whether more follow."""
        self._bucket(bucket)
        heads = sorted(
            (
                _head(bucket, key, record)
                for key, record in self._objects_of(bucket)
                if key.startswith(prefix) and key > start_after
            ),
            key=lambda head: head.key,
        )
        return heads[:max_keys], len(heads) > max_keys

    # --- encryption ------------------------------------------------------------------------

    def _encrypt(
        self, bucket_data: dict[str, Any], key: str, body: bytes, sse: SseRequest
    ) -> dict[str, Any]:
        arn = object_arn(bucket_data["name"], key)
        if sse.customer is not None:
            if sse.algorithm is not None or sse.kms_key_id is not None:
                raise S3Error(
                    "InvalidArgument",
                    "Server Side Encryption with Customer provided key is incompatible with "
                    "the encryption method specified.",
                    resource=arn,
                )
            secret = _checked_customer_key(sse.customer)
            salt = self._random.token_bytes(16)
            return {
                "customer_hmac": b64e(salt + _customer_hmac(salt, secret)),
                "customer_algorithm": sse.customer.algorithm,
                "customer_key_md5": sse.customer.key_md5,
                **_sealed_data(self._random, secret, body, arn),
            }
        default = self.get_bucket_encryption(bucket_data["name"])
        algorithm = sse.algorithm or default["algorithm"]
        kms_key_id = sse.kms_key_id or (default["kms_key_id"] if algorithm == "aws:kms" else None)
        if sse.algorithm is None and sse.kms_key_id is not None:
            algorithm = "aws:kms"
        self._check_algorithm(algorithm, kms_key_id)
        if algorithm == "AES256":
            data_key = self._random.token_bytes(32)
            return {
                "sse": "AES256",
                "sealed_key": self._sealer.seal(data_key, f"s3-object:{arn}"),
                **_sealed_data(self._random, data_key, body, arn),
            }
        bucket_key = sse.bucket_key if sse.bucket_key is not None else default["bucket_key"]
        context = {**(sse.context or {}), "aws:s3:arn": arn}
        if bucket_key:
            return self._encrypt_with_bucket_key(bucket_data, str(kms_key_id), key, body)
        generated = self._kms_call(
            "generate_data_key",
            {"KeyId": kms_key_id, "KeySpec": "AES_256", "EncryptionContext": context},
            arn,
        )
        return {
            "sse": "aws:kms",
            "kms_key_arn": generated["KeyId"],
            "kms_blob": b64e(generated["CiphertextBlob"]),
            "kms_context": context,
            **_sealed_data(self._random, generated["Plaintext"], body, arn),
        }

    def _encrypt_with_bucket_key(
        self, bucket_data: dict[str, Any], kms_key_id: str, key: str, body: bytes
    ) -> dict[str, Any]:
        bucket = bucket_data["name"]
        arn = object_arn(bucket, key)
        cached = bucket_data.get("bucket_keys", {}).get(kms_key_id)
        now = self._now()
        if cached is None or now - cached["created"] >= BUCKET_KEY_SECONDS:
            context = {"aws:s3:arn": bucket_arn(bucket)}
            generated = self._kms_call(
                "generate_data_key",
                {"KeyId": kms_key_id, "KeySpec": "AES_256", "EncryptionContext": context},
                arn,
            )
            cached = {
                "kms_key_arn": generated["KeyId"],
                "kms_blob": b64e(generated["CiphertextBlob"]),
                "sealed": self._sealer.seal(generated["Plaintext"], f"s3-bucket-key:{bucket}"),
                "created": now,
            }
            bucket_data.setdefault("bucket_keys", {})[kms_key_id] = cached
            self._storage.put(BUCKET, bucket, bucket_data)
        bucket_secret = self._sealer.unseal(cached["sealed"], f"s3-bucket-key:{bucket}")
        salt = self._random.token_bytes(16)
        return {
            "sse": "aws:kms",
            "kms_key_arn": cached["kms_key_arn"],
            "kms_blob": cached["kms_blob"],
            "kms_context": {"aws:s3:arn": bucket_arn(bucket)},
            "bucket_key_salt": b64e(salt),
            **_sealed_data(self._random, _object_key(bucket_secret, salt, arn), body, arn),
        }

    def _decrypt(
        self, bucket: str, key: str, record: dict[str, Any], customer: CustomerKey | None
    ) -> bytes:
        arn = object_arn(bucket, key)
        if "customer_hmac" in record:
            secret = self._customer_key_checked(bucket, key, record, customer)
        elif customer is not None:
            raise S3Error(
                "InvalidRequest",
                "The encryption parameters are not applicable to this object.",
                resource=arn,
            )
        elif record["sse"] == "AES256":
            secret = self._sealer.unseal(record["sealed_key"], f"s3-object:{arn}")
        else:
            plain = self._kms_call(
                "decrypt",
                {
                    "CiphertextBlob": b64d(record["kms_blob"]),
                    "EncryptionContext": record["kms_context"],
                },
                arn,
            )["Plaintext"]
            salt = record.get("bucket_key_salt")
            secret = _object_key(plain, b64d(salt), arn) if salt else plain
        nonce, sealed = b64d(record["nonce"]), b64d(record["data"])
        return AESGCM(secret).decrypt(nonce, sealed, arn.encode())

    def _customer_key_checked(
        self, bucket: str, key: str, record: dict[str, Any], customer: CustomerKey | None
    ) -> bytes:
        arn = object_arn(bucket, key)
        if customer is None:
            raise S3Error(
                "InvalidRequest",
                "The object was stored using a form of Server Side Encryption. The correct "
                "parameters must be provided to retrieve the object.",
                resource=arn,
            )
        secret = _checked_customer_key(customer)
        stored = b64d(record["customer_hmac"])
        if not hmac.compare_digest(stored[16:], _customer_hmac(stored[:16], secret)):
            raise S3Error(
                "AccessDenied",
                "The provided customer key does not match the key the object was stored with.",
                resource=arn,
            )
        return secret

    def _kms_call(self, method: str, params: dict[str, Any], arn: str) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._kms, method)(self._principal, params)
        except KmsError as error:
            if error.code == "AccessDeniedException":
                raise S3Error("AccessDenied", error.message, resource=arn) from None
            raise S3Error(f"KMS.{error.code}", error.message, resource=arn, status=400) from None
        return result

    def _check_algorithm(self, algorithm: str, kms_key_id: str | None) -> None:
        if algorithm not in ("AES256", "aws:kms"):
            raise S3Error(
                "InvalidArgument",
                f"The encryption method specified is not supported: {algorithm[:40]}. Use "
                "AES256 or aws:kms (aws:kms:dsse is not emulated).",
            )
        if algorithm == "aws:kms" and not kms_key_id:
            raise S3Error(
                "InvalidArgument",
                "This sandbox has no AWS managed key aws/s3: name your KMS key with "
                "SSEKMSKeyId (--ssekms-key-id).",
            )
        if algorithm == "AES256" and kms_key_id:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with AWS KMS key id is only valid with aws:kms.",
            )

    # --- records ---------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _bucket_or_none(self, bucket: str) -> dict[str, Any] | None:
        return self._storage.get(BUCKET, bucket)

    def _bucket(self, bucket: str) -> dict[str, Any]:
        data = self._bucket_or_none(bucket)
        if data is None:
            raise S3Error("NoSuchBucket", "The specified bucket does not exist", resource=bucket)
        return data

    def _object(self, bucket: str, key: str) -> dict[str, Any]:
        self._bucket(bucket)
        record = self._storage.get(OBJECT, f"{bucket}/{key}")
        if record is None:
            raise S3Error("NoSuchKey", "The specified key does not exist.", resource=key)
        return record

    def _objects_of(self, bucket: str) -> list[tuple[str, dict[str, Any]]]:
        prefix = bucket + "/"
        return [
            (object_id[len(prefix) :], data)
            for object_id, data in self._storage.list(OBJECT)
            if object_id.startswith(prefix)
        ]

    def _check_key(self, bucket: str, key: str) -> None:
        if not key or len(key.encode()) > MAX_KEY_LENGTH:
            raise S3Error(
                "KeyTooLongError",
                f"Object keys are 1 to {MAX_KEY_LENGTH} bytes in this sandbox (S3 allows 1024).",
                resource=f"{bucket}/{key[:40]}",
            )

    def _used_bytes(self) -> int:
        usage = self._storage.get(USAGE, "bytes")
        return int(usage["bytes"]) if usage else 0

    def _add_used(self, delta: int) -> None:
        self._storage.put(USAGE, "bytes", {"bytes": max(0, self._used_bytes() + delta)})

    def _check_total(self, bucket: str, key: str, size: int) -> int:
        """The object's growth of the sandbox's storage, refused past the quota."""
        old = self._storage.get(OBJECT, f"{bucket}/{key}")
        delta = size - (old["size"] if old else 0)
        if delta > 0 and self._used_bytes() + delta > self.max_total_bytes:
            raise S3Error(
                "EntityTooLarge",
                f"This sandbox keeps at most {self.max_total_bytes} bytes of objects; delete "
                "some first.",
                resource=f"{bucket}/{key}",
            )
        return delta


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def crc32(body: bytes) -> str:
    """The base64 big-endian CRC32 that the x-amz-checksum-crc32 header carries."""
    return base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode("ascii")


def _sealed_data(random: RandomSource, secret: bytes, body: bytes, arn: str) -> dict[str, str]:
    nonce = random.token_bytes(12)
    return {"nonce": b64e(nonce), "data": b64e(AESGCM(secret).encrypt(nonce, body, arn.encode()))}


def _object_key(bucket_secret: bytes, salt: bytes, arn: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=arn.encode())
    return hkdf.derive(bucket_secret)


def _checked_customer_key(customer: CustomerKey) -> bytes:
    if customer.algorithm != "AES256":
        raise S3Error(
            "InvalidEncryptionAlgorithmError",
            "The encryption request you specified is not valid. The valid value is AES256.",
        )
    if len(customer.key) != 32:
        raise S3Error("InvalidArgument", "The secret key was invalid for the specified algorithm.")
    digest = base64.b64encode(hashlib.md5(customer.key, usedforsecurity=False).digest()).decode()
    if digest != customer.key_md5:
        raise S3Error(
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        )
    return customer.key


def _customer_hmac(salt: bytes, secret: bytes) -> bytes:
    return hmac.new(salt, secret, hashlib.sha256).digest()


def _head(bucket: str, key: str, record: dict[str, Any]) -> ObjectHead:
    return ObjectHead(
        bucket=bucket,
        key=key,
        size=record["size"],
        etag=record["etag"],
        last_modified=record["last_modified"],
        content_type=record["content_type"],
        sse=record.get("sse", ""),
        kms_key_arn=record.get("kms_key_arn"),
        bucket_key="bucket_key_salt" in record,
        customer_algorithm=record.get("customer_algorithm"),
        customer_key_md5=record.get("customer_key_md5"),
        checksum_crc32=record.get("crc32"),
    )
