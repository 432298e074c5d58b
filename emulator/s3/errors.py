"""S3 errors: one class, the code and HTTP status from a table, as S3's REST API answers."""

from __future__ import annotations

from emulator.core import EngineError

__all__ = ["STATUS", "S3Error"]

#: S3 error code -> HTTP status (from the S3 API reference's error code list).
STATUS = {
    "AccessDenied": 403,
    "BadDigest": 400,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "InvalidEncryptionAlgorithmError": 400,
    "InvalidRequest": 400,
    "KeyTooLongError": 400,
    "MalformedXML": 400,
    "MethodNotAllowed": 405,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NotImplemented": 501,
    "ServerSideEncryptionConfigurationNotFoundError": 404,
    "TooManyBuckets": 400,
    "XAmzContentSHA256Mismatch": 400,
}


class S3Error(EngineError):
    """An S3 error; ``code`` is S3's (``KMS.DisabledException`` when KMS refused a call S3
    made for the caller), ``resource`` the bucket or key it concerns, for the error XML."""

    def __init__(self, code: str, message: str, *, resource: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.resource = resource
        self.status = status or STATUS.get(code, 400)
