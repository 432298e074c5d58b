"""The emulated Amazon S3 of one sandbox account: buckets, objects and server-side encryption
(SSE-S3, SSE-KMS through the account's KMS, S3 Bucket Keys, SSE-C). See :mod:`.service`."""

from emulator.s3.errors import S3Error
from emulator.s3.service import S3, CustomerKey, ObjectHead, SseRequest

__all__ = ["S3", "CustomerKey", "ObjectHead", "S3Error", "SseRequest"]
